"""Checked exercises of notebook 02 · Matrix operations. Every answer is computed here from the package: the MAC
counters, the hardware table, and the MXU's bfloat16 rule (``precision.mxu_matmul``) on the notebook's product."""

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


@cache
def _bf16_error() -> float:
    """The relative error of one bfloat16 pass on the notebook's N×N product, against float64 (Frobenius norms)."""
    n, seed = CHECKED
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n), dtype=np.float32)
    Y = rng.standard_normal((n, n), dtype=np.float32)
    reference = X.astype(np.float64) @ Y.astype(np.float64)
    moved = precision.mxu_matmul(X, Y).astype(np.float64) - reference
    return float(np.linalg.norm(moved) / np.linalg.norm(reference))


def _digit_moved() -> int:
    """The significant digit that a relative error first changes: 2.4e-3 changes the third."""
    return -math.floor(math.log10(_bf16_error()))


def _flops_per_add_flop(n: int = ACCELERATOR_N) -> float:
    return _product_flops(n) / (n * n)  # an element-wise add does one FLOP per element


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
    return (f"bfloat16 keeps 8 significant bits, so rounding an input to it moves it by up to 2⁻⁸ ≈ 0.004 of its "
            f"value (2.4 decimal digits). Summed over K = {CHECKED[0]} products those errors partly cancel. "
            f"`tl.mxu_matmul(X, Y)` on the notebook's {CHECKED[0]}×{CHECKED[0]} matrices: relative error "
            f"{_bf16_error():.2e}, which first changes the product in its significant digit number "
            f"{_digit_moved()}. TF32, with 3 more mantissa bits, moves it about 8 times less.")


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
    Exercise(4, "which digit one bfloat16 pass moves, predicted then computed", answer=_digit_moved,
             hint="bfloat16 keeps 8 significant bits: each input is rounded by up to 2⁻⁸ ≈ 0.004 of its value",
             mistakes=(Mistake(lambda: _digit_moved() + 1, "that is TF32's, with 10 mantissa bits; bfloat16 keeps 7"),
                       Mistake(lambda: _digit_moved() - 1, "an error of 1% would move the second digit; 2⁻⁸ is "
                                                           "smaller than that")),
             confirm=lambda: f"`tl.mxu_matmul` on the notebook's product: relative error {_bf16_error():.2e}.",
             worked=_worked_digit),
)

