"""Checked exercises of notebook 02 · Matrix operations. Every answer is computed here from the package: the MAC
counters, the hardware table, the roofline, and the precision module's MXU rule and all-bfloat16 product on the
notebook's own inputs."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from tpu_lecture import hardware, macs, precision, roofline
from tpu_lecture.exercises.checker import Exercise, Mistake

BIGGER = 1024  # exercise 1: the checked product for N = 1024
ACCELERATOR_N = 4096  # the notebook's product on an accelerator: N×N @ N×N
CHIP = "TPU v5e"  # Colab's free TPU
CHECKED = (512, 0)  # exercise 4: the notebook's N on a CPU and its SEED


def _product_flops(n: int = ACCELERATOR_N) -> int:
    return macs.macs_to_flops(macs.matmul_macs(n, n, n))


def _least_ms(chip: str = CHIP, n: int = ACCELERATOR_N) -> float:
    """The shortest time the chip's roofline allows for an n³ bfloat16 product, in milliseconds."""
    spec = hardware.get(chip)
    rate = spec.attainable_flops(roofline.matmul_intensity(n, n, n, 2))
    return 1e3 * _product_flops(n) / rate


def _checked_product() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notebook's N×N inputs on a CPU (same seed) and their float64 product."""
    n, seed = CHECKED
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n), dtype=np.float32)
    Y = rng.standard_normal((n, n), dtype=np.float32)
    return X, Y, X.astype(np.float64) @ Y.astype(np.float64)


def _relative_error(result: np.ndarray, reference: np.ndarray) -> float:
    """‖result − reference‖ / ‖reference‖ (Frobenius norms), as the notebook measures it."""
    return float(np.linalg.norm(result.astype(np.float64) - reference) / np.linalg.norm(reference))


@cache
def _errors() -> dict[str, float]:
    """The relative errors of the MXU's rule (bfloat16 inputs, float32 sums) and of all-bfloat16 arithmetic."""
    X, Y, reference = _checked_product()
    return {"mxu": _relative_error(precision.mxu_matmul(X, Y), reference),
            "all bfloat16": _relative_error(precision.bfloat16_matmul(X, Y), reference)}


def _digit(error: float) -> int:
    """The significant digit that a relative error first changes: 2.4e-3 changes the third."""
    return -math.floor(math.log10(error))


def _ordinal(digit: int) -> str:
    return {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}.get(digit, f"{digit}th")


def _digit_moved() -> int:
    return _digit(_errors()["all bfloat16"])


def _flops_per_add_flop(n: int = ACCELERATOR_N) -> int:
    return _product_flops(n) // (n * n)  # an element-wise add does one FLOP per element


def _worked_macs() -> str:
    n = BIGGER
    return (f"An N×N @ N×N product does N · N · N MACs: `tl.macs.matmul_macs({n}, {n}, {n})` = "
            f"{macs.matmul_macs(n, n, n):,} MACs ({macs.macs_to_flops(macs.matmul_macs(n, n, n)):,} FLOPs). That is "
            f"{macs.matmul_macs(n, n, n) // macs.matmul_macs(512, 512, 512)}× the 512³ product: doubling every "
            "dimension multiplies the work by 2³.")


def _worked_time() -> str:
    spec, n = hardware.get(CHIP), ACCELERATOR_N
    intensity = roofline.matmul_intensity(n, n, n, 2)
    return (f"{n}³ MACs are {_product_flops():,} FLOPs (1 MAC = 2 FLOPs). In bfloat16 the product moves 3 · {n}² "
            f"elements of 2 bytes, {intensity:,.0f} FLOPs per byte, right of the {CHIP}'s ridge point of "
            f"{spec.ridge_point:.0f}: compute-bound (notebook 05), so the peak of {spec.peak_flops / 1e12:.0f} "
            f"TFLOP/s is the limit. {_product_flops():,} / {spec.peak_flops:.3g} FLOP/s = {_least_ms():.3f} ms. A "
            "measured time is longer: no kernel runs at the peak, and the first call compiles.")


def _worked_digit() -> str:
    errors, n = _errors(), CHECKED[0]
    mxu_digit, sum_digit = _ordinal(_digit(errors["mxu"])), _ordinal(_digit_moved())
    return (f"A bfloat16 number keeps 8 significant bits. The MXU rounds only the inputs to it, each by up to 2⁻⁸ ≈ "
            f"0.004 of its value, and those independent errors partly cancel in its float32 sums: relative error "
            f"{errors['mxu']:.2e} on the {n}×{n} product, which changes its {mxu_digit} significant digit. Rounded "
            f"to bfloat16 after each of the {n} additions, the running sum loses up to 2⁻⁸ of itself every time, "
            f"and these errors pile up: `tl.precision.bfloat16_matmul(X, Y)` is off by "
            f"{errors['all bfloat16']:.2e}, {errors['all bfloat16'] / errors['mxu']:.0f} times more, which changes "
            f"the {sum_digit} significant digit. That is why the MXU multiplies in bfloat16 but adds in float32.")


def _worked_ratio() -> str:
    n = ACCELERATOR_N
    return (f"`a + b` on two {n}×{n} matrices does one addition per element: {n * n:,} FLOPs. `a @ b` does "
            f"{_product_flops():,} FLOPs (2 per MAC, N³ MACs). The ratio is 2N³ / N² = 2N = "
            f"{_flops_per_add_flop():,.0f}, while both read and write the same 3 · N² elements: this is why the "
            "matmul keeps an accelerator busy and the add only its memory (notebook 05's arithmetic intensity).")


EXERCISES = (
    Exercise(1, f"MACs of the {BIGGER}×{BIGGER} product", answer=lambda: macs.matmul_macs(BIGGER, BIGGER, BIGGER),
             unit="MACs", hint="an N×N @ N×N product does N multiply-accumulates for each of its N² outputs",
             mistakes=(Mistake(lambda: _product_flops(BIGGER), "that is the FLOP count; 1 MAC = 2 FLOPs, and the "
                                                               "question asks for MACs"),
                       Mistake(lambda: BIGGER**2, "that is the number of outputs; each needs N MACs"),
                       Mistake(lambda: 8, "that is how many times more than N = 512; the question asks for the MACs")),
             worked=_worked_macs),
    Exercise(2, f"the least time for the {ACCELERATOR_N}³ bfloat16 product on a {CHIP}", answer=_least_ms,
             unit="ms", rel_tol=0.01,
             hint="time ≥ FLOPs / peak FLOP/s when the product is compute-bound; count 2 FLOPs per MAC",
             mistakes=(Mistake(lambda: _least_ms() / 2, "that counts MACs; the peak is in FLOP/s, and 1 MAC = 2 FLOPs"),
                       Mistake(lambda: _least_ms() / 1e3, "right, but in seconds: give it in milliseconds")),
             worked=_worked_time),
    Exercise(3, "FLOPs of a matmul per FLOP of an add", answer=_flops_per_add_flop, unit="FLOPs per add FLOP",
             hint="count the FLOPs of both on N×N matrices: the add does N², the product 2 per MAC",
             mistakes=(Mistake(lambda: _flops_per_add_flop() / 2, "that compares MACs with additions; a MAC is "
                                                                  "2 FLOPs"),
                       Mistake(lambda: _product_flops(), "that is the product's FLOPs; divide by the add's N²")),
             worked=_worked_ratio),
    Exercise(4, "the digit all-bfloat16 sums move, predicted then computed", answer=_digit_moved,
             hint="each of the N additions rounds the running sum to 8 significant bits; do these errors cancel "
                  "or pile up, compared with the MXU's rounding of the inputs alone?",
             mistakes=(Mistake(lambda: _digit(_errors()["mxu"]), "that is the MXU's rule, with float32 sums; "
                                                                 "rounding every sum to bfloat16 loses more"),
                       Mistake(lambda: _digit_moved() + 2, "that is TF32's, with 10 mantissa bits and float32 sums")),
             confirm=lambda: f"`tl.precision.bfloat16_matmul` on the {CHECKED[0]}×{CHECKED[0]} product of section 3: "
                             f"relative error {_errors()['all bfloat16']:.2e} (the MXU's rule: "
                             f"{_errors()['mxu']:.2e}).",
             worked=_worked_digit),
)
