"""How far two floating-point results of the same computation may differ, and whether they do.

Two correct programs that sum the same products in another order (XLA and eager, one BLAS kernel and
another, a TPU and a GPU) do not give bit-identical results. How far apart they may be follows from the
computation, not from a tolerance picked on one machine: a length-k dot product computed in a format
with unit roundoff u, in any order, is within γ_k·Σ|aᵢbᵢ| of the exact one, γ_k = k·u / (1 − k·u)
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., 2002, §3.1, eq. 3.5). Inputs rounded
first (bfloat16 or TF32 passes) add (1 + u_in)² per product. Two results each within the bound of the
exact one are within twice the bound of each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tpu_lecture import hardware

# Unit roundoff u = 2^-(p) for a format with p significand bits (the implicit bit included): half the
# distance from 1 to the next number. IEEE 754-2019 for float16/32/64; bfloat16 keeps float32's 8 exponent
# bits and 8 significand bits (Google Cloud, "BFloat16: the secret to high performance on Cloud TPUs",
# 2019); TF32 has 11 (NVIDIA A100 Tensor Core GPU Architecture whitepaper, 2020).
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "tfloat32": 2.0**-11, "float16": 2.0**-11,
                 "bfloat16": 2.0**-8}

# What the stored outputs print of a machine's own measurement; nbval's sanitize file masks the inside of
# these brackets (tests/nbval_sanitize.cfg), so that a notebook states the bound and the verdict on every
# machine and shows this machine's measured error beside them.
VARIES = "varies by machine"


def unit_roundoff(fmt: str) -> float:
    """u of a number format by name ('float32', 'bfloat16', 'tf32', 'float16', 'float64' or an alias)."""
    name = hardware.DTYPE_NAMES.get(str(fmt).lower(), str(fmt).lower())
    if name not in UNIT_ROUNDOFF:
        raise ValueError(f"unknown number format {fmt!r}: use one of {', '.join(UNIT_ROUNDOFF)}")
    return UNIT_ROUNDOFF[name]


def gamma(k: int, u: float) -> float:
    """Higham's γ_k = k·u / (1 − k·u): the relative error bound of k roundings (needs k·u < 1)."""
    if k < 0 or k * u >= 1:
        raise ValueError(f"γ_k needs 0 ≤ k·u < 1, got k = {k}, u = {u:g}: the format is too short for k terms")
    return k * u / (1 - k * u)


def dot_error_bound(A: np.ndarray, W: np.ndarray, accumulate: str = "float32", inputs: str | None = None,
                    ) -> np.ndarray:
    """Per element of ``A @ W``: how far a computed product can be from the exact one, in any summation order.

    ``inputs`` is the format the operands are rounded to before multiplying ('bfloat16' on a TPU's MXU
    pass, 'tf32' on a GPU's Tensor Cores); None where they are multiplied as they are.
    """
    A64, W64 = np.asarray(A, dtype=np.float64), np.asarray(W, dtype=np.float64)
    if A64.ndim != 2 or W64.ndim != 2 or A64.shape[1] != W64.shape[0]:
        raise ValueError(f"A is {A64.shape} and W is {W64.shape}: need M×K and K×N matrices")
    k = A64.shape[1]
    rounding = 0.0 if inputs is None else unit_roundoff(inputs)
    relative = (1 + rounding) ** 2 * (1 + gamma(k, unit_roundoff(accumulate))) - 1
    return relative * (np.abs(A64) @ np.abs(W64))


@dataclass(frozen=True)
class Agreement:
    """Two results of one computation compared element by element with the bound they must stay within."""

    what: str
    largest: float  # the largest |got − want| measured here
    share: float  # the largest |got − want| / bound: at most 1 where the bound holds
    bound_range: tuple[float, float]  # the smallest and largest bound over the elements
    elements: int
    how: str  # how the bound was derived, in words

    @property
    def holds(self) -> bool:
        return self.share <= 1.0

    def __str__(self) -> str:
        low, high = self.bound_range
        return (f"{self.what}: |difference| ≤ {self.how}, a bound from {low:.1e} to {high:.1e} per element; "
                f"within it for all {self.elements:,} elements: {self.holds} "
                f"[{VARIES}: largest |difference| {self.largest:.1e}, {100 * self.share:.2g}% of its bound]")

    def __repr__(self) -> str:
        return f"Agreement({self.what!r}, holds={self.holds}, largest={self.largest:.2e}, share={self.share:.2g})"


def agreement(what: str, got: np.ndarray, want: np.ndarray, bound: np.ndarray | float, how: str) -> Agreement:
    """Compare ``got`` with ``want`` element by element against ``bound`` (an array or one number)."""
    got64, want64 = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got64.shape != want64.shape:
        raise ValueError(f"{what}: the results are {got64.shape} and {want64.shape}: compare results of one shape")
    limit = np.broadcast_to(np.asarray(bound, dtype=np.float64), got64.shape)
    if np.any(limit < 0) or not np.all(np.isfinite(limit)):
        raise ValueError(f"{what}: the bound must be finite and ≥ 0 everywhere")
    diff = np.abs(got64 - want64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(diff == 0, 0.0, diff / limit)
    return Agreement(what, float(diff.max(initial=0.0)), float(np.nan_to_num(share, nan=np.inf).max(initial=0.0)),
                     (float(limit.min()), float(limit.max())) if limit.size else (0.0, 0.0), int(diff.size), how)
