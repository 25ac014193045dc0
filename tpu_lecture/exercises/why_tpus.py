"""Checked exercises of notebook 01 · Why TPUs? Every answer is computed here from the package."""

from __future__ import annotations

import math

import numpy as np

from tpu_lecture import hardware, macs, trends
from tpu_lecture.economics import AsicCase
from tpu_lecture.exercises.checker import Exercise, Mistake
from tpu_lecture.sim.array import SystolicArray
from tpu_lecture.sim.machines import matrix_cycles

FOLD = (5, 8, 8)  # exercise 2: a 5×8 activation matrix times 8×8 weights on an 8×8 array
LAYER = (1024, 3072, 2048)  # the MLP's first layer at batch 1024 (section 8)
ADVANCED_NRE = 3e8  # exercise 5: an NRE at the scale of a design at an advanced node (hundreds of millions of dollars:
# IBS's estimates, reported by SemiEngineering, "What Will That Chip Cost?")
DOUBLING = ("ResNet-152", "GPT-3 175B")  # exercise 6: two landmarks whose doubling time no cell prints


def _fold_run():
    m, k, n = FOLD
    A = np.arange(m * k).reshape(m, k) % 7 - 3
    W = np.arange(k * n).reshape(k, n) % 5 - 2
    return SystolicArray(8, 8).matmul(A, W)


def _batch_for(target: float = 0.99, rows: int = 128, cols: int = 128) -> int:
    """The smallest batch M at which the MLP's first layer keeps a serially loaded 128×128 array ``target`` busy."""
    _, k, n = LAYER
    m = max(1, math.floor(target * (2 * rows + cols - 2) / (1 - target)) - 2)
    while matrix_cycles(m, k, n, rows, cols, load="serial").utilization < target:
        m += 1
    return m


def _v4_clock_ghz() -> float:
    v4 = hardware.get("TPU v4")
    return v4.peak_flops / (2 * v4.macs_per_cycle) / 1e9


def _months_per_doubling(first: str, last: str) -> float:
    a, b = trends.landmark(first), trends.landmark(last)
    return 12 * (b.year - a.year) / math.log2(b.training_flops / a.training_flops)


def _worked_macs() -> str:
    m = macs.matmul_macs(64, 512, 256)
    return (f"A batch of 64 samples times a 512 × 256 weight matrix: batch × inputs × units = 64 · 512 · 256 = "
            f"{m:,} MACs (`tl.macs.matmul_macs(64, 512, 256)`), which is {macs.macs_to_flops(m):,} FLOPs.")


def _worked_fold() -> str:
    m, k, n = FOLD
    run = _fold_run()
    return (f"One fold on an R × C = 8 × 8 array: the first activation row enters, the skew adds a cycle per row "
            f"of the array, and the last result leaves at the bottom after crossing the columns: M + R + C − 2 = "
            f"{m} + 8 + 8 − 2 = {m + 8 + 8 - 2} cycles.\n\n"
            f"The simulator steps it: `tl.SystolicArray(8, 8).matmul(A, W)` with A {m}×{k} and W {k}×{n} computes "
            f"for {run.compute_cycles} cycles (`run.compute_cycles`), after {run.load_cycles} cycles of shifting the "
            f"weights in, {run.cycles} in all, for its {run.macs} MACs. 3n − 2 = 22 is the special case "
            "M = R = C = n.")


def _worked_batch() -> str:
    batch = _batch_for()
    serial = matrix_cycles(batch, LAYER[1], LAYER[2], 128, 128, load="serial")
    double = matrix_cycles(1024, LAYER[1], LAYER[2], 128, 128)
    return (f"Loaded serially, each fold first shifts its tile in (128 cycles), then streams M rows through the "
            f"128 × 128 array in M + 254 cycles, so the utilization is M / (M + 382). M / (M + 382) ≥ 0.99 means "
            f"M ≥ 0.99 · 382 / 0.01 = 37,818, and the smallest such batch is {batch:,}: "
            f"`tl.matrix_cycles({batch}, 3072, 2048, 128, 128, load=\"serial\").utilization` = "
            f"{serial.utilization:.4f}. Batch 1024 gives 1024 / 1406 = {1024 / 1406:.1%}. Double-buffered, as the "
            f"MXU is, the next tile loads while a fold computes and batch 1024 already keeps it "
            f"{double.utilization:.1%} busy.")


def _worked_clock() -> str:
    v4 = hardware.get("TPU v4")
    return (f"`hardware.get(\"TPU v4\").macs_per_cycle` = {v4.tensorcores} TensorCores × {v4.mxus_per_tensorcore} "
            f"MXUs × 128 · 128 = {v4.macs_per_cycle:,} MACs per cycle. Peak = MACs per cycle × 2 FLOPs × clock, so "
            f"the clock is {v4.peak_flops / 1e12:.0f}e12 / (2 · {v4.macs_per_cycle:,}) = {_v4_clock_ghz():.3f} GHz.")


def _advanced_case() -> AsicCase:
    return AsicCase().with_(nre=ADVANCED_NRE)


def _worked_asic() -> str:
    case = _advanced_case()
    one_asic = case.per_chip(case.asic_price, case.asic_watts)
    return (f"With the notebook's figures, each general-purpose chip's worth of work costs "
            f"${case.general_per_unit:,.0f} on general-purpose chips (price plus {case.years:g} years of energy) "
            f"and ${case.asic_per_unit:,.0f} on custom chips (one ASIC at ${one_asic:,.0f} "
            f"does the work of {case.speedup:g}). The ASIC saves ${case.general_per_unit - case.asic_per_unit:,.0f} "
            f"per unit, so the ${case.nre:,.0f} NRE is paid back after {case.nre:,.0f} / "
            f"{case.general_per_unit - case.asic_per_unit:,.0f} = {case.break_even:,.0f} units "
            f"(`tl.AsicCase().with_(nre={ADVANCED_NRE:.0e}).break_even`): "
            f"{case.break_even / AsicCase().break_even:.0f} times the $1 million floor's, and why only a job of "
            "Google's volume pays for a custom chip.")


def _worked_doubling() -> str:
    a, b = (trends.landmark(name) for name in DOUBLING)
    factor = b.training_flops / a.training_flops
    return (f"{b.name} took {b.training_flops:.3g} FLOPs, {a.name} {a.training_flops:.2g}: {factor:.3g} times as "
            f"much, or log2({factor:.3g}) = {math.log2(factor):.1f} doublings in {b.year - a.year} years, one every "
            f"{12 * (b.year - a.year)} / {math.log2(factor):.1f} = {_months_per_doubling(*DOUBLING):.1f} months. "
            "Moore's law doubles transistors about every 24 months.")


EXERCISES = (
    Exercise(1, "MACs of a dense layer", answer=lambda: macs.matmul_macs(64, 512, 256), unit="MACs",
             hint="a dense layer does batch × inputs × units MACs (section 5)",
             mistakes=(Mistake(lambda: macs.macs_to_flops(macs.matmul_macs(64, 512, 256)),
                               "that is the FLOP count; 1 MAC = 2 FLOPs, and the question asks for MACs"),
                       Mistake(lambda: 512 * 256, "that is one sample's MACs; the batch has 64 samples")),
             worked=_worked_macs),
    Exercise(2, "one fold, predicted then simulated", answer=lambda: _fold_run().compute_cycles, unit="cycles",
             hint="a fold computes for M + R + C − 2 cycles: M rows of activations stream through an R × C array",
             mistakes=(Mistake(lambda: 3 * 8 - 2, "3n − 2 is the case M = R = C = n; here only M = 5 rows stream "
                                                   "through the 8 × 8 array"),
                       Mistake(lambda: _fold_run().macs, "that is the number of MACs; the question asks for cycles"),
                       Mistake(lambda: _fold_run().cycles, "that counts the 8 cycles of loading the weights too; "
                                                           "the question asks for the compute cycles")),
             confirm=lambda: f"The simulator stepped it: {_fold_run().compute_cycles} compute cycles "
                             f"(and {_fold_run().load_cycles} before them, loading the weights).",
             worked=_worked_fold),
    Exercise(3, "the batch that keeps a serially loaded MXU 99% busy", answer=_batch_for, unit="rows",
             rel_tol=0.002,
             hint="loaded serially, a fold takes 128 load cycles plus M + 254: utilization M / (M + 382); solve "
                  "M / (M + 382) ≥ 0.99 for M",
             mistakes=(Mistake(lambda: 1024, "batch 1024 is section 8's: about 73% busy when loaded serially"),
                       Mistake(lambda: 25_146, "that forgets the 128 cycles of loading each tile: M / (M + 254) "
                                               "is the compute-only utilization")),
             worked=_worked_batch),
    Exercise(4, "TPU v4's clock from its peak", answer=_v4_clock_ghz, unit="GHz", rel_tol=0.01,
             hint="peak FLOP/s = MACs per cycle × 2 FLOPs per MAC × clock",
             mistakes=(Mistake(lambda: 2 * _v4_clock_ghz(), "a MAC is 2 FLOPs: divide by 2 × MACs per cycle"),
                       Mistake(lambda: 1e9 * _v4_clock_ghz(), "right, but in Hz: give the clock in GHz")),
             worked=_worked_clock),
    Exercise(5, "when a $300 million chip pays off", answer=lambda: _advanced_case().break_even,
             unit="chips' worth of work", rel_tol=0.01,
             hint="break-even = NRE / (cost per unit of work on general chips − cost per unit on ASICs), each "
                  "chip's cost being its price plus its energy over its life",
             mistakes=(Mistake(lambda: ADVANCED_NRE / AsicCase().general_price,
                               "the ASICs themselves and the energy cost money too: divide the NRE by what each "
                               "unit of work saves"),),
             worked=_worked_asic),
    Exercise(6, "how fast training compute doubled, ResNet-152 to GPT-3",
             answer=lambda: _months_per_doubling(*DOUBLING),
             unit="months", rel_tol=0.03,
             hint="count the doublings, log2(GPT-3's FLOPs / ResNet-152's), and divide the months between them by it",
             mistakes=(Mistake(lambda: 24.0, "two years is Moore's law for transistors; training compute grew "
                                             "much faster"),),
             worked=_worked_doubling),
)
