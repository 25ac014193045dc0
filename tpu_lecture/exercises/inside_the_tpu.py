"""Checked exercises of notebook 03 · Inside the TPU. Every answer is computed here from the package."""

from __future__ import annotations

import numpy as np

from tpu_lecture import hardware, precision
from tpu_lecture.exercises.checker import Exercise, Mistake

GIB = 2**30
UPDATE = 3e-9 * 1e-3  # exercise 4: a gradient of 3e-9 times a learning rate of 1e-3


def _ridge_v5p() -> float:
    return hardware.get("TPU v5p").ridge_point


def _hbm_per_core_gib(name: str = "TPU v2") -> float:
    return hardware.get(name).memory_per_tensorcore / GIB


def _bf16(value: float) -> float:
    return float(precision.to_bfloat16(np.float32(value)))


def _holders(value: float = UPDATE) -> frozenset[str]:
    row = precision.cast_report([value])[0]
    return frozenset(f for f in precision.FORMAT_NAMES if row[f"{f}_outcome"] not in ("underflow", "overflow"))


def _growth_per_year(first: str = "TPU v2", last: str = "Ironwood") -> float:
    a, b = hardware.get(first), hardware.get(last)
    return (b.peak_flops / a.peak_flops) ** (1 / (b.year - a.year))


def _worked_ridge() -> str:
    v5p = hardware.get("TPU v5p")
    return (f"Ridge point = peak ÷ bandwidth = {v5p.peak_flops / 1e12:.0f}e12 FLOP/s ÷ "
            f"{v5p.memory_bandwidth / 1e9:,.0f}e9 B/s = {v5p.ridge_point:.0f} FLOPs per byte "
            f"(`hardware.get(\"TPU v5p\").ridge_point`). Its {v5p.macs_per_cycle:,} MACs per cycle are "
            f"{v5p.tensorcores} TensorCores × {v5p.mxus_per_tensorcore} MXUs × 16,384.")


def _worked_hbm() -> str:
    lines = []
    for name in ("TPU v2", "TPU v3"):
        chip = hardware.get(name)
        lines.append(f"{name}: {chip.memory_bytes / GIB:.0f} GiB of HBM ÷ {chip.tensorcores} TensorCores = "
                     f"{chip.memory_per_tensorcore / GIB:.0f} GiB per TensorCore")
    return ("; ".join(lines) + ". A v2-8 board (the lecture's TPU) shows 8 cores to TensorFlow, each with its own "
            "8 GiB: a model and its batch must fit in one core's share, not in the board's 64 GiB. "
            "`hardware.get(\"TPU v2\").memory_per_tensorcore` gives it in bytes.")


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
    a, b = hardware.get("TPU v2"), hardware.get("Ironwood")
    factor = b.peak_flops / a.peak_flops
    return (f"From {a.name} ({a.year}, {a.peak_flops / 1e12:.0f} TFLOP/s) to Ironwood ({b.year}, "
            f"{b.peak_flops / 1e12:,.0f} TFLOP/s, both bfloat16) the peak grew {factor:.1f}× in {b.year - a.year} "
            f"years: {factor:.1f}^(1/{b.year - a.year}) = {_growth_per_year():.2f}× per year, compounded. "
            "(v2's 45 TFLOP/s is the lecture era's figure, no longer on Google's pages.)")


EXERCISES = (
    Exercise(1, "TPU v5p's ridge point", answer=_ridge_v5p, unit="FLOPs per byte", rel_tol=0.01,
             hint="the ridge point is the peak (FLOP/s) divided by the memory bandwidth (bytes/s)",
             mistakes=(Mistake(lambda: hardware.get("TPU v5p").macs_per_cycle,
                               "that is MACs per cycle; the ridge point is peak FLOP/s ÷ bytes per second"),
                       Mistake(lambda: _ridge_v5p() / 2, "that counts MACs per byte; count FLOPs (1 MAC = 2)")),
             worked=_worked_ridge),
    Exercise(2, "HBM per TensorCore on the lecture's TPU v2", answer=_hbm_per_core_gib, unit="GiB",
             hint="a TPU v2 chip has two TensorCores, and each has its own share of the chip's HBM",
             mistakes=(Mistake(lambda: hardware.get("TPU v2").memory_bytes / GIB,
                               "that is the whole chip's HBM: two TensorCores share it"),),
             confirm=lambda: "The table: " + "; ".join(
                 f"{n} {_hbm_per_core_gib(n):.0f} GiB per TensorCore" for n in ("TPU v2", "TPU v3")) + ".",
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
    Exercise(5, "TPU peak growth per year, v2 to Ironwood", answer=_growth_per_year, unit="× per year",
             rel_tol=0.02,
             hint="take the ratio of the peaks and its n-th root, n the years between the two chips' dates",
             mistakes=(Mistake(lambda: _growth_per_year() ** 8, "that is the growth over all eight years; take "
                                                                  "its 8th root for one year"),
                       Mistake(lambda: _growth_per_year() ** 8 / 8, "growth compounds: take the 8th root, do "
                                                                      "not divide by 8")),
             worked=_worked_growth),
)
