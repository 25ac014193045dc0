"""float32, float16 and bfloat16: bit layouts, range and precision, rounding, and the MXU's rule of
bfloat16 multiplies with float32 accumulation.

bfloat16 is float32 with the low 16 mantissa bits cut off: the same 8 exponent bits (so the same
range, up to about 3.4e38) but 7 mantissa bits instead of 23 (so about 2–3 decimal digits).
float16 spends its bits the other way: 10 mantissa bits but only 5 exponent bits, so it overflows
above 65504. Everything here is numpy plus ml_dtypes (numpy's bfloat16 type); no framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

FORMAT_NAMES = ("float32", "float16", "bfloat16")

_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _dtype(fmt: str) -> Any:
    if fmt not in _DTYPES:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMAT_NAMES)}")
    return _DTYPES[fmt]


# ---------------------------------------------------------------------------------------------
# The formats
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatInfo:
    """Bits, range and precision of a floating-point format, read off the format itself (finfo)."""

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    bias: int
    max_finite: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float

    sign_bits = 1

    def __repr__(self) -> str:
        return (
            f"{self.name}: 1 sign + {self.exponent_bits} exponent + {self.mantissa_bits} mantissa bits; "
            f"max {self.max_finite:.8g}, smallest normal {self.smallest_normal:.8g}, "
            f"eps 2^{int(math.log2(self.eps))} = {self.eps:.8g}"
        )


def format_info(fmt: str) -> FormatInfo:
    """The layout and limits of ``fmt``; ``eps`` is the gap between 1 and the next larger number."""
    info = ml_dtypes.finfo(_dtype(fmt))
    return FormatInfo(
        name=fmt,
        bits=int(info.bits),
        exponent_bits=int(info.nexp),
        mantissa_bits=int(info.nmant),
        bias=2 ** (int(info.nexp) - 1) - 1,
        max_finite=float(info.max),
        smallest_normal=float(info.smallest_normal),
        smallest_subnormal=float(info.smallest_subnormal),
        eps=float(info.eps),
    )


FORMATS = {fmt: format_info(fmt) for fmt in FORMAT_NAMES}


# ---------------------------------------------------------------------------------------------
# Rounding float32 to bfloat16 with integer operations
# ---------------------------------------------------------------------------------------------


def _real_array(x: Any, name: str = "x") -> np.ndarray:
    array = np.asarray(x)
    if array.dtype == ml_dtypes.bfloat16:
        return array.astype(np.float32)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype} (from {type(x).__name__})")
    return array


def to_bfloat16(x: Any) -> Any:
    """Round float32 values to the nearest bfloat16 (ties to even), returned as float32 values.

    The float32 bit pattern is split in two halves: the high 16 bits are the bfloat16, the low 16
    bits are what is dropped. Adding 0x7FFF (plus 1 if the kept half is odd) carries into the high
    half exactly when the dropped half is more than a half ulp, or exactly half with an odd kept
    half: round to nearest, ties to even. Overflow carries into the exponent and gives infinity, as
    it should. NaN is kept a (quiet) NaN with its sign: without that, rounding could turn a NaN
    with a small payload into infinity.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        f32 = np.asarray(_real_array(x), dtype=np.float32)
    bits = f32.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    with np.errstate(over="ignore"):
        rounded = (bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)
    is_nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    quiet_nan = (bits & np.uint32(0x80000000)) | np.uint32(0x7FC00000)
    result = np.where(is_nan, quiet_nan, rounded).astype(np.uint32).view(np.float32)
    return result[()] if result.ndim == 0 else result


# ---------------------------------------------------------------------------------------------
# Bit fields
# ---------------------------------------------------------------------------------------------


def _stored(value: Any, fmt: str) -> tuple[int, float]:
    """(bit pattern, value actually stored) of ``value`` in ``fmt``; bfloat16 is made from float32,
    as an accelerator does."""
    _dtype(fmt)
    with np.errstate(over="ignore", invalid="ignore"):
        if fmt == "float16":
            half = np.float16(value)
            return int(half.view(np.uint16)), float(half)
        single = np.float32(value)
    if fmt == "bfloat16":
        single = to_bfloat16(single)
        return int(single.view(np.uint32)) >> 16, float(single)
    return int(single.view(np.uint32)), float(single)


@dataclass(frozen=True)
class BitFields:
    """A number as ``fmt`` stores it: sign, exponent and mantissa bits, and the value they mean."""

    fmt: str
    value: float
    stored: float
    sign: str
    exponent: str
    mantissa: str

    @property
    def kind(self) -> str:
        """'normal', 'subnormal', 'zero', 'inf' or 'nan'."""
        if set(self.exponent) == {"1"}:
            return "nan" if "1" in self.mantissa else "inf"
        if set(self.exponent) == {"0"}:
            return "subnormal" if "1" in self.mantissa else "zero"
        return "normal"

    @property
    def unbiased_exponent(self) -> int | None:
        """The power of two the mantissa is scaled by (exponent bits − bias); None for 0, inf, NaN."""
        bias = FORMATS[self.fmt].bias
        if self.kind == "normal":
            return int(self.exponent, 2) - bias
        return 1 - bias if self.kind == "subnormal" else None

    def __repr__(self) -> str:
        fields = f"{self.fmt}({self.value!r}): {self.sign} | {self.exponent} | {self.mantissa}"
        if self.kind in ("normal", "subnormal"):
            lead = "1" if self.kind == "normal" else "0"
            sign = "-" if self.sign == "1" else "+"
            return f"{fields} = {sign}{lead}.{self.mantissa}b × 2^{self.unbiased_exponent} = {self.stored!r}"
        return f"{fields} = {self.stored!r}"


def bit_fields(value: float, fmt: str = "bfloat16") -> BitFields:
    """The sign, exponent and mantissa bits of ``value`` rounded to ``fmt`` (nearest, ties to even)."""
    info = format_info(fmt)
    array = _real_array(value, "value")
    if array.size != 1:
        raise ValueError(f"bit_fields takes one number, got an array of shape {array.shape}")
    value = float(array.astype(np.float64).item())
    pattern, stored = _stored(value, fmt)
    text = format(pattern, f"0{info.bits}b")
    return BitFields(fmt, value, stored, text[0], text[1 : 1 + info.exponent_bits], text[1 + info.exponent_bits :])


def show_bits(value: float) -> str:
    """A small text table of ``value`` in float32, float16 and bfloat16, side by side."""
    rows = [["format", "sign", "exponent", "mantissa", "2^e", "stored value", "rel. error"]]
    for fmt in FORMAT_NAMES:
        f = bit_fields(value, fmt)
        e = "" if f.unbiased_exponent is None else str(f.unbiased_exponent)
        rows.append([fmt, f.sign, f.exponent, f.mantissa, e, repr(f.stored), _relative_error(f.stored, f.value)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return f"value {value!r}\n" + "\n".join(lines)


def _relative_error(stored: float, value: float) -> str:
    if math.isnan(value) or math.isinf(value) or value == 0:
        return "-"
    if math.isinf(stored):
        return "overflow"
    return f"{abs(stored - value) / abs(value):.2e}"


# ---------------------------------------------------------------------------------------------
# Range: overflow and underflow
# ---------------------------------------------------------------------------------------------


def _outcome(value: float, stored: float, fmt: str) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(stored) and not math.isinf(value):
        return "overflow"
    if stored == 0 and value != 0:
        return "underflow"
    if stored != 0 and abs(stored) < FORMATS[fmt].smallest_normal:
        return "subnormal"
    return "exact" if stored == value else "rounded"


def cast_report(values: Any) -> list[dict[str, Any]]:
    """Each value stored in every format, and what happened to it there: 'exact', 'rounded',
    'subnormal' (fewer significant bits), 'overflow' (became inf) or 'underflow' (became 0)."""
    rows = []
    for value in np.asarray(_real_array(values, "values"), dtype=np.float64).ravel():
        row: dict[str, Any] = {"value": float(value)}
        for fmt in FORMAT_NAMES:
            stored = _stored(float(value), fmt)[1]
            row[fmt] = stored
            row[f"{fmt}_outcome"] = _outcome(float(value), stored, fmt)
        rows.append(row)
    return rows


def overflow_demo() -> list[dict[str, Any]]:
    """Values float16 cannot hold (above 65504) that bfloat16 holds: float16 has 5 exponent bits,
    bfloat16 has float32's 8."""
    return cast_report([65504.0, 65520.0, 70000.0, 1e5, 3e38])


def underflow_demo() -> list[dict[str, Any]]:
    """Small values: float16 loses them below about 6e-5 (subnormal) and 3e-8 (zero); bfloat16 only
    near 1e-38, like float32, but it keeps just 8 significant bits."""
    return cast_report([1e-5, 1e-7, 1e-8, 1e-39, 1e-41, 1e-46])


# ---------------------------------------------------------------------------------------------
# The MXU's matmul: bfloat16 multiplies, float32 accumulation
# ---------------------------------------------------------------------------------------------


def _matrices(A: Any, W: Any) -> tuple[np.ndarray, np.ndarray]:
    a, w = _real_array(A, "A"), _real_array(W, "W")
    for name, array in (("A", a), ("W", w)):
        if array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix, got shape {array.shape}: reshape it first")
    if a.shape[1] != w.shape[0]:
        raise ValueError(
            f"A is {a.shape[0]}x{a.shape[1]} but W is {w.shape[0]}x{w.shape[1]}: inner sizes must match"
        )
    return a.astype(np.float32), w.astype(np.float32)


def mxu_matmul(A: Any, W: Any) -> np.ndarray:
    """A @ W the way the MXU computes it: inputs rounded to bfloat16, products and sums in float32.

    A product of two bfloat16 numbers (8 significant bits each) has at most 16 significant bits,
    so it is exact in float32; only the inputs' rounding and the float32 sums lose precision.
    """
    a, w = _matrices(A, W)
    return float32_sums(to_bfloat16(a), to_bfloat16(w))


def float32_sums(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a @ w with each product rounded to float32 and summed in float32 in the order k = 0, 1, …, K − 1, as partial
    sums flow down an MXU column. One fixed order: unlike a BLAS kernel's, whose order depends on the CPU, the
    result is the same on every machine."""
    a32, w32 = np.asarray(a, dtype=np.float32), np.asarray(w, dtype=np.float32)
    total = np.zeros((a32.shape[0], w32.shape[1]), dtype=np.float32)
    for k in range(a32.shape[1]):
        total += np.outer(a32[:, k], w32[k, :])
    return total


def bfloat16_matmul(A: Any, W: Any) -> np.ndarray:
    """A @ W with everything in bfloat16: each product and each running sum rounded to bfloat16.

    This is what the MXU avoids: once a sum is large, its bfloat16 spacing exceeds the terms still
    to be added and they are lost (4096 ones sum to 256). Rounding a float32 sum of two bfloat16
    numbers to bfloat16 gives the correctly rounded bfloat16 sum, since 24 ≥ 2·8 + 2 bits.
    """
    a, w = _matrices(A, W)
    a, w = to_bfloat16(a), to_bfloat16(w)
    total = np.zeros((a.shape[0], w.shape[1]), dtype=np.float32)
    for k in range(a.shape[1]):
        total = to_bfloat16(total + to_bfloat16(np.outer(a[:, k], w[k, :])))
    return total


@dataclass(frozen=True)
class ErrorStats:
    """How far a result is from a reference: the largest absolute error, and the largest
    |error| / |reference| over the entries whose reference is not 0."""

    max_abs: float
    max_rel: float

    @classmethod
    def between(cls, result: np.ndarray, reference: np.ndarray) -> ErrorStats:
        error = np.abs(result.astype(np.float64) - reference.astype(np.float64))
        scale = np.abs(reference.astype(np.float64))
        relative = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
        return cls(float(error.max(initial=0.0)), float(relative.max(initial=0.0)))


@dataclass(frozen=True)
class MatmulError:
    """Errors of the MXU rule and of all-bfloat16 arithmetic against float32 and float64 references."""

    shape: tuple[int, int, int]
    mxu_vs_float32: ErrorStats
    mxu_vs_float64: ErrorStats
    bfloat16_vs_float32: ErrorStats
    bfloat16_vs_float64: ErrorStats
    float32_vs_float64: ErrorStats

    def __repr__(self) -> str:
        m, k, n = self.shape
        lines = [f"MatmulError({m}×{k}×{n})", f"  {'method':<36}{'reference':<11}{'max abs':>11}{'max rel':>11}"]
        for label, attribute in (
            ("MXU: bf16 × bf16, fp32 accumulate", "mxu_vs"),
            ("all bfloat16", "bfloat16_vs"),
            ("float32", "float32_vs"),
        ):
            for reference in ("float32", "float64"):
                stats = getattr(self, f"{attribute}_{reference}", None)
                if stats is not None:
                    lines.append(f"  {label:<36}{reference:<11}{stats.max_abs:>11.3g}{stats.max_rel:>11.3g}")
        return "\n".join(lines)


def matmul_error(A: Any, W: Any) -> MatmulError:
    """Compare the MXU rule (bf16 inputs, fp32 accumulation) and all-bf16 arithmetic with float32
    and float64 products of the original inputs."""
    a, w = _matrices(A, W)
    reference32 = float32_sums(a, w)  # a float32 product in one fixed order, the same on every machine
    reference64 = np.matmul(np.asarray(A, dtype=np.float64), np.asarray(W, dtype=np.float64))
    mxu, bf16 = mxu_matmul(a, w), bfloat16_matmul(a, w)
    return MatmulError(
        shape=(a.shape[0], a.shape[1], w.shape[1]),
        mxu_vs_float32=ErrorStats.between(mxu, reference32),
        mxu_vs_float64=ErrorStats.between(mxu, reference64),
        bfloat16_vs_float32=ErrorStats.between(bf16, reference32),
        bfloat16_vs_float64=ErrorStats.between(bf16, reference64),
        float32_vs_float64=ErrorStats.between(reference32, reference64),
    )
