"""Checked exercises of notebook 03 · Inside the TPU. Every answer is computed here from the package."""

from __future__ import annotations

import numpy as np

from tpu_lecture import hardware, precision
from tpu_lecture.exercises.checker import Exercise, Mistake

GIB = 2**30
RIDGE_CHIP = "H100"  # exercise 1: a chip whose ridge point section 3 does not print (it prints the TPUs')
ADAM_BYTES = 4 * 4  # exercise 2: a float32 weight, its gradient and Adam's two moments, per parameter
GROWTH = ("TPU v4", "Ironwood")  # exercise 5: a span whose yearly growth no cell prints
UPDATE = 3e-9 * 1e-3  # exercise 4: a gradient of 3e-9 times a learning rate of 1e-3


def _ridge(name: str = RIDGE_CHIP) -> float:
    return hardware.get(name).ridge_point


def _hbm_per_core_gib(name: str = "TPU v2") -> float:
    return hardware.get(name).memory_per_tensorcore / GIB


def _trainable_billions(name: str = "TPU v2", bytes_per_parameter: int = ADAM_BYTES) -> float:
    """Parameters (in billions) whose training state fits one TensorCore's HBM, counting nothing else."""
    return hardware.get(name).memory_per_tensorcore / bytes_per_parameter / 1e9


def _bf16(value: float) -> float:
    return float(precision.to_bfloat16(np.float32(value)))


def _holders(value: float = UPDATE) -> frozenset[str]:
    row = precision.cast_report([value])[0]
    return frozenset(f for f in precision.FORMAT_NAMES if row[f"{f}_outcome"] not in ("underflow", "overflow"))


def _growth_per_year(first: str = GROWTH[0], last: str = GROWTH[1]) -> float:
    a, b = hardware.get(first), hardware.get(last)
    return (b.peak_flops / a.peak_flops) ** (1 / (b.year - a.year))


def _years() -> int:
    return hardware.get(GROWTH[1]).year - hardware.get(GROWTH[0]).year


def _worked_ridge() -> str:
    chip, v5p = hardware.get(RIDGE_CHIP), hardware.get("TPU v5p")
    return (f"Ridge point = peak ÷ bandwidth = {chip.peak_flops / 1e12:.0f}e12 FLOP/s ÷ "
            f"{chip.memory_bandwidth / 1e9:,.0f}e9 B/s = {chip.ridge_point:.0f} FLOPs per byte "
            f"(`hardware.get(\"{RIDGE_CHIP}\").ridge_point`, {chip.peak_dtype}). TPU v5p's is "
            f"{v5p.ridge_point:.0f}: a kernel needs more FLOPs per byte to keep the {RIDGE_CHIP} busy than the v5p, "
            "whose bandwidth is high for its peak.")


def _worked_hbm() -> str:
    per_core = hardware.get("TPU v2").memory_per_tensorcore
    return (f"One TensorCore of a TPU v2 has {per_core / GIB:.0f} GiB = {per_core:,} bytes of HBM (section 4's "
            f"table: the chip's 16 GiB shared by its two TensorCores). Training with Adam keeps {ADAM_BYTES} bytes "
            f"per parameter (weight, gradient and two moments, 4 bytes each in float32): {per_core:,} / "
            f"{ADAM_BYTES} = {per_core // ADAM_BYTES:,} parameters, {_trainable_billions():.3f} billion, before "
            f"a single activation is stored. Weights alone would be {_trainable_billions(bytes_per_parameter=4):.2f} "
            "billion: training needs four times the memory of the model.")


def _hbm_table() -> str:
    return (f"A v2-8 board shows 8 cores to the framework, each with its own {_hbm_per_core_gib():.0f} GiB: a model, "
            "its training state and its batch must fit in one core's share, not in the board's 64 GiB "
            "(data parallelism copies the whole model to every core).")


def _worked_rounding() -> str:
    value = 1 + 3 * 2**-8
    return (f"bfloat16 keeps 7 mantissa bits, so above 1 its numbers are 2⁻⁷ apart: 1, 1.0078125, 1.015625, … "
            f"1 + 3 · 2⁻⁸ = {value} lies exactly half-way between 1.0078125 and 1.015625, a tie, and a tie "
            f"rounds to the neighbour whose last mantissa bit is 0 (even): 1.015625 = 1 + 2 · 2⁻⁷. "
            f"`precision.to_bfloat16` gives {_bf16(value)}; `precision.bit_fields({value})` shows the bits. "
            f"The same rule sends 1 + 2⁻⁸ down to {_bf16(1 + 2**-8)}.")


def _worked_holders() -> str:
    row = precision.cast_report([UPDATE])[0]
    parts = [f"{f}: {row[f]:.3g} ({row[f + '_outcome']})" for f in precision.FORMAT_NAMES]
    return (f"3 × 10⁻⁹ × 10⁻³ = {UPDATE:.0e}. `precision.cast_report([{UPDATE:.0e}])`: " + "; ".join(parts) +
            ". float32 and bfloat16 share 8 exponent bits and reach down to about 1.2 × 10⁻³⁸; float16's "
            "smallest subnormal is 2⁻²⁴ ≈ 6 × 10⁻⁸, so the update becomes 0 there.")


def _worked_growth() -> str:
    a, b = (hardware.get(name) for name in GROWTH)
    factor = b.peak_flops / a.peak_flops
    return (f"From {a.name} ({a.year}, {a.peak_flops / 1e12:.0f} TFLOP/s) to Ironwood ({b.year}, "
            f"{b.peak_flops / 1e12:,.0f} TFLOP/s, both bfloat16) the peak grew {factor:.1f}× in {b.year - a.year} "
            f"years: {factor:.1f}^(1/{b.year - a.year}) = {_growth_per_year():.2f}× per year, compounded: faster "
            f"than section 2's v2 to Ironwood, {_growth_per_year('TPU v2'):.2f}× a year.")


EXERCISES = (
    Exercise(1, f"the {RIDGE_CHIP}'s ridge point", answer=_ridge, unit="FLOPs per byte", rel_tol=0.01,
             hint="the ridge point is the peak (FLOP/s) divided by the memory bandwidth (bytes/s)",
             mistakes=(Mistake(lambda: _ridge("TPU v5p"), "that is TPU v5p's, printed above; the question asks for "
                                                          f"the {RIDGE_CHIP}'s"),
                       Mistake(lambda: _ridge() / 2, "that counts MACs per byte; count FLOPs (1 MAC = 2)")),
             worked=_worked_ridge),
    Exercise(2, "parameters one TPU v2 TensorCore can train with Adam", answer=_trainable_billions,
             unit="billion parameters", rel_tol=0.01,
             hint="one TensorCore's HBM in bytes (section 4's table; 1 GiB = 2³⁰ bytes) over the bytes each "
                  "parameter needs: four float32 numbers of 4 bytes",
             mistakes=(Mistake(lambda: _trainable_billions(bytes_per_parameter=4),
                               "that fits the weights alone; Adam keeps a gradient and two moments beside each"),
                       Mistake(lambda: 2 * _trainable_billions(),
                               "that is the whole chip's 16 GiB: its two TensorCores have 8 GiB each"),
                       Mistake(lambda: 8e9 / ADAM_BYTES / 1e9, "a GiB is 2³⁰ bytes, not 10⁹")),
             confirm=_hbm_table,
             worked=_worked_hbm),
    Exercise(3, "1 + 3·2⁻⁸ in bfloat16, predicted then rounded", answer=lambda: _bf16(1 + 3 * 2**-8),
             digits=7,  # a rounding question: every digit of the bfloat16 number
             hint="bfloat16's numbers above 1 are 2⁻⁷ apart; a value exactly half-way rounds to the even neighbour",
             mistakes=(Mistake(lambda: 1 + 3 * 2**-8, "bfloat16 cannot hold that: it has 7 mantissa bits, a "
                                                        "spacing of 2⁻⁷ above 1"),
                       Mistake(lambda: 1 + 2**-7, "a tie goes to the even neighbour, the one whose last "
                                                  "mantissa bit is 0")),
             confirm=lambda: f"`precision.to_bfloat16` rounds it to {_bf16(1 + 3 * 2**-8)}.",
             worked=_worked_rounding),
    Exercise(4, "which formats hold a tiny update", answer=_holders,
             hint="compare the update with each format's smallest number: float16 has 5 exponent bits, "
                  "float32 and bfloat16 have 8",
             mistakes=(Mistake(lambda: {"float32"}, "bfloat16 has float32's exponent bits, so its range too"),
                       Mistake(lambda: set(precision.FORMAT_NAMES), "float16's smallest number is about 6 × 10⁻⁸")),
             worked=_worked_holders),
    Exercise(5, "TPU peak growth per year, v4 to Ironwood", answer=_growth_per_year, unit="× per year",
             rel_tol=0.02,
             hint="take the ratio of the peaks and its n-th root, n the years between the two chips' dates",
             mistakes=(Mistake(lambda: _growth_per_year() ** _years(), "that is the growth over all the years; "
                                                                        "take its n-th root for one year"),
                       Mistake(lambda: _growth_per_year() ** _years() / _years(), "growth compounds: take the n-th "
                                                                                  "root, do not divide by n"),
                       Mistake(lambda: _growth_per_year("TPU v2"), "that is v2 to Ironwood, printed in section 2; "
                                                                   "the question starts at v4")),
             worked=_worked_growth),
)
