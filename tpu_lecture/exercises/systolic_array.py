"""Checked exercises of notebook 04 · The systolic array. Every answer is computed here from the package: the
closed forms of ``tpu_lecture.sim`` (held equal to the stepped simulator by the tests) for the answers, the
stepped simulator itself where an exercise says "predict, then run"."""

from __future__ import annotations

from functools import cache

import numpy as np

from tpu_lecture import energy, hardware
from tpu_lecture.exercises.checker import AnswerFormatError, Exercise, Mistake, name_key
from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim.array import SystolicArray, SystolicRun, expected_counts, schedule
from tpu_lecture.sim.machines import matrix_cycles, scalar_cycles

MXU = 128  # one MXU of TPU v2 … v5 is a 128×128 array (Cloud TPU system architecture docs)
V6E_MXU = hardware.get("TPU v6e").mxu[0]  # exercise 1: a v6e's MXU is 256×256 (the hardware table's source)
BATCH = 320  # exercise 2: rows streamed through one 128×128 tile (section 6 prints 128, 256, 512, …)
TILED = (256, 384, 640)  # exercises 3 and 4: A (256×384) @ W (384×640) on the MXU
SMALL = (6, 3, 8)  # exercise 5: 6 activation rows, a 3×3 weight matrix, an 8×8 array
INFERENCE = (1, 4096, 4096)  # exercise 6: one activation row through a 4096×4096 layer
FLOWS = ("weight_stationary", "output_stationary", "input_stationary")
LAYER = (3072, 2048)  # exercises 9 and 10: the lecture's largest MLP layer, K → N (tpu_lecture.models)


def _ints(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-4, 5, size=shape)


@cache
def _square_run() -> SystolicRun:
    """Exercise 1, stepped: 256×256 @ 256×256 on a v6e's 256×256 MXU, double-buffered."""
    n = V6E_MXU
    return SystolicArray(n).matmul(_ints((n, n), 1), _ints((n, n), 2), keep_frames=False)


@cache
def _small_run() -> SystolicRun:
    """Exercise 5, stepped with frames: a 3×3 weight matrix on an 8×8 array."""
    m, k, side = SMALL
    return SystolicArray(side).matmul(_ints((m, k), 3), _ints((k, k), 4))


def _square_cycles(n: int = V6E_MXU) -> int:
    return matrix_cycles(n, n, n, n, n).cycles


def _batch_utilization() -> float:
    """Exercise 2, in percent: one full tile, BATCH rows, loading included."""
    return 100 * matrix_cycles(BATCH, MXU, MXU, MXU, MXU).utilization


def _folds() -> int:
    return schedule(*TILED, MXU, MXU).folds


def _tiled_cycles(load: str | None = None) -> int:
    return schedule(*TILED, MXU, MXU, load=load).cycles


def _busiest() -> int:
    """Exercise 5: the most PEs that did a MAC in any one cycle, read from the run's frames."""
    run = _small_run()
    return max(int(run.frame(t).active.sum()) for t in range(run.cycles))


def _cycles_by_flow() -> dict[str, int]:
    return {flow: schedule(*INFERENCE, MXU, MXU, flow).cycles for flow in FLOWS}


def _fewest_cycles() -> str:
    cycles = _cycles_by_flow()
    return min(cycles, key=cycles.get)


def _same_dataflow(given, right: str) -> bool:
    """A dataflow's name or alias, however spaced or cased ("input_stationary", "Input stationary", "IS")."""
    if not isinstance(given, str):
        raise AnswerFormatError(f"type the dataflow's name in quotes, such as \"output-stationary\", not {given!r}")
    flow = dataflows.get(right)
    return name_key(given) in {name_key(n) for n in (flow.name, *flow.aliases)}


def _worked_square() -> str:
    run, n = _square_run(), V6E_MXU
    return (f"The tile shifts in first: {n} cycles, one row of weights per cycle. Then the 3n − 2 of section 4: "
            f"the last activation row enters at compute cycle {n - 1}, the skew delays its last value by "
            f"{n - 1} more and it crosses {n - 1} columns, so {3 * n - 2} compute cycles. One fold has nothing "
            f"to hide its load behind: {n} + {3 * n - 2} = {_square_cycles()} cycles, double-buffered or not, "
            f"as {MXU} + {3 * MXU - 2} = {_square_cycles(MXU)} for section 6's 128×128 MXU.\n\n"
            f"The stepped simulator: `tl.SystolicArray({n}).matmul(A, W, keep_frames=False)` gives `run.cycles` = "
            f"{run.cycles} (`run.compute_cycles` = {run.compute_cycles}, `run.load_cycles` = {run.load_cycles}). "
            f"Utilization {run.macs:,} / ({n * n:,} · {run.cycles}) = {run.utilization:.1%}; a scalar machine would "
            f"need {scalar_cycles(n, n, n):,} cycles, one per MAC.")


def _worked_batch() -> str:
    plan = matrix_cycles(BATCH, MXU, MXU, MXU, MXU)
    return (f"{BATCH} rows through one full tile are in flight for M + R + C − 2 = {BATCH} + 128 + 128 − 2 = "
            f"{plan.compute_cycles} cycles, after {plan.load_cycles} cycles of loading the tile: {plan.cycles} "
            f"cycles. Every PE does one MAC per row, {BATCH} in all, so the utilization is "
            f"{BATCH} / {plan.cycles} = {plan.utilization:.1%} (`tl.matrix_cycles({BATCH}, 128, 128, 128, 128)"
            f".utilization`). Over the compute cycles alone it would be {BATCH} / {plan.compute_cycles} = "
            f"{plan.compute_utilization:.1%}, the compute utilization.")


def _worked_folds() -> str:
    m, k, n = TILED
    return (f"W is {k}×{n}: cut into 128×128 tiles, that is ceil({k}/128) × ceil({n}/128) = {-(-k // MXU)} × "
            f"{-(-n // MXU)} = {_folds()} folds (`tl.schedule({m}, {k}, {n}, 128, 128).folds`). The {m} rows of A "
            "are not cut: all of them stream through every tile, which is what weight-stationary means. The "
            "partial results of the tiles that share output columns are added outside the array.")


def _worked_tiled() -> str:
    m, k, n = TILED
    folds, fold = _folds(), m + 2 * MXU - 2
    pitch = max(m, 3 * MXU - 1)
    return (f"Each of the {folds} folds is in flight for {m} + 128 + 128 − 2 = {fold} cycles. Double-buffered, the "
            f"next tile may start shifting in once the control signal has crossed the array, so a fold starts "
            f"every max(M, 2R + C − 1) = max({m}, 383) = {pitch} cycles: 128 (the first load) + {folds - 1} · "
            f"{pitch} + {fold} (the last fold) = {_tiled_cycles():,} cycles (`tl.expected_cycles({m}, {k}, {n}, 128, "
            f"128)`).\n\nSerially each fold pays its load: {folds} · (128 + {fold}) = {_tiled_cycles('serial'):,} "
            f"cycles, {_tiled_cycles('serial') / _tiled_cycles():.2f}× as many.")


def _worked_busiest() -> str:
    m, k, side = SMALL
    run = _small_run()
    return (f"Only PEs that hold a weight ever do a MAC, and a {k}×{k} weight matrix occupies {k * k} of the "
            f"{side * side} PEs: at most {k * k} are busy in any cycle, however many rows stream through. The "
            f"frames agree: `max(run.frame(t).active.sum() for t in range(run.cycles))` = {_busiest()}. So the "
            f"utilization can never pass {k * k}/{side * side} = {k * k / side ** 2:.1%}; this run, with {m} rows and "
            f"its loading, reaches {run.utilization:.1%}.")


def _worked_flow() -> str:
    cycles = _cycles_by_flow()
    listed = ", ".join(f"{flow.replace('_', '-')} {c:,}" for flow, c in cycles.items())
    return (f"`tl.expected_cycles(1, 4096, 4096, 128, 128, flow)`: {listed} cycles. Weight-stationary cuts the "
            f"4096×4096 weights into 32 · 32 = 1,024 tiles, and a single row of activations streams through each "
            "for one cycle of work: the fill, the drain and the load (which one row cannot hide) are paid 1,024 "
            "times. Input-stationary holds the one activation row instead (32 folds of 128 values) and streams the "
            "4,096 weight columns past it, so each fold does 4,096 cycles of work for one fill and one drain.")


def _fold_weight_reads() -> int:
    """Exercise 9: the weights one output-stationary fold (128 rows of A × 128 columns of W) reads from its buffer."""
    return expected_counts(MXU, LAYER[0], MXU, MXU, MXU, "os").weight_reads


def _energy_at_batch_one() -> dict[str, energy.EnergySplit]:
    return {split.label.replace("-", "_"): split for split in energy.compare(1, *LAYER, MXU, MXU)[:3]}


def _least_energy() -> str:
    splits = _energy_at_batch_one()
    return min(splits, key=lambda flow: splits[flow].per_mac_pj)


def _worked_fold_reads() -> str:
    k, n = LAYER
    whole = {flow: schedule(1024, k, n, MXU, MXU, flow).counts.weight_reads for flow in ("os", "ws")}
    return (f"Output-stationary keeps a 128×128 block of outputs in the PEs and streams both operands past it: each "
            f"of the 128 columns takes all K = {k:,} of its weights from the top, one per cycle, so the fold reads "
            f"{k:,} · 128 = {_fold_weight_reads():,} weights (`tl.expected_counts(128, {k}, 128, 128, 128, \"os\")"
            f".weight_reads`), each used by the 128 rows of outputs it passes. For the whole layer at batch 1024 "
            f"there are 8 blocks of rows, and each reads every weight again: {whole['os']:,} weight reads, against "
            f"weight-stationary's {whole['ws']:,} (each weight once, used by all 1024 rows). That is why the TPU "
            "holds its weights and streams the batch.")


def _worked_energy() -> str:
    splits = _energy_at_batch_one()
    listed = ", ".join(f"{flow.replace('_', '-')} {split.per_mac_pj:.0f} pJ" for flow, split in splits.items())
    best = splits[_least_energy()]
    ws = schedule(1, *LAYER, MXU, MXU, "ws").counts
    return (f"`tl.energy.compare(1, {LAYER[0]}, {LAYER[1]})`, per MAC: {listed}. At batch 1 every weight does one "
            f"MAC, whatever the dataflow, so no dataflow can reuse a weight: DRAM takes {best.share('DRAM'):.0%} of "
            f"the winner's energy, one DRAM read per weight. What is left decides: weight-stationary also shifts each "
            f"weight down to its row before its one use ({ws.weight_hops / ws.weight_reads:.1f} hops per weight on "
            "average) and moves every 32-bit partial sum down the array; input-stationary moves the partial sums "
            "too; output-stationary keeps its sums in place and moves only the one activation row across.")


EXERCISES = (
    Exercise(1, "cycles of one 256×256 fold on a v6e's MXU, loading included", answer=_square_cycles, unit="cycles",
             hint="first the tile shifts in, one row per cycle (R cycles); then the fold computes for 3n − 2 cycles",
             mistakes=(Mistake(lambda: 3 * V6E_MXU - 2, "that is the compute cycles alone; the tile must shift in "
                                                        "first"),
                       Mistake(lambda: _square_cycles(MXU), "that is the 128×128 MXU's fold; a v6e's MXU is 256×256"),
                       Mistake(lambda: scalar_cycles(V6E_MXU, V6E_MXU, V6E_MXU), "that is the number of MACs (n³), "
                                                                                 "the cycles of a scalar machine"),
                       Mistake(lambda: V6E_MXU, "n cycles would need every PE busy in every cycle: the wave must fill "
                                                "and drain the array, and the weights must shift in")),
             confirm=lambda: f"The stepped simulator took {_square_run().cycles} cycles: "
                             f"{_square_run().load_cycles} loading, {_square_run().compute_cycles} computing.",
             worked=_worked_square),
    Exercise(2, f"utilization of a batch of {BATCH} through one tile", answer=_batch_utilization, unit="%",
             rel_tol=0.003,
             hint="utilization = useful MACs / (PEs × all cycles); the cycles are the load (R) plus M + R + C − 2",
             mistakes=(Mistake(lambda: _batch_utilization() / 100, "right, but as a fraction: give it in percent"),
                       Mistake(lambda: 100 * matrix_cycles(BATCH, MXU, MXU, MXU, MXU).compute_utilization,
                               "that is the compute utilization; count the cycles of loading the tile too")),
             worked=_worked_batch),
    Exercise(3, "folds of a tiled product", answer=_folds, unit="folds",
             hint="weight-stationary cuts W (K×N) into 128×128 tiles; the rows of A are not cut, they stream",
             mistakes=(Mistake(lambda: 2 * _folds(), "the 256 rows of A are not cut into folds: all of them "
                                                     "stream through each weight tile"),
                       Mistake(lambda: -(-TILED[1] // MXU) + -(-TILED[2] // MXU),
                               "the tiles form a grid: multiply the tiles along K by the tiles along N")),
             worked=_worked_folds),
    Exercise(4, "cycles of that product, double-buffered", answer=_tiled_cycles, unit="cycles",
             hint="double-buffered, a fold starts every max(M, 2R + C − 1) cycles; add the first load and the "
                  "last fold's M + R + C − 2",
             mistakes=(Mistake(lambda: _tiled_cycles("serial"), "that is serial loading: double-buffered, the "
                                                                "next tile shifts in while a fold computes"),
                       Mistake(lambda: _folds() * (TILED[0] + 2 * MXU - 2), "folds overlap: the next may start "
                                                                            "before the last result of this one "
                                                                            "leaves; and the first load counts")),
             confirm=lambda: f"`tl.SystolicArray(128).matmul(A, W).cycles` steps the same {_tiled_cycles():,}.",
             worked=_worked_tiled),
    Exercise(5, "the busiest cycle of a small weight matrix", answer=_busiest, unit="PEs",
             hint="which PEs can do a MAC at all? Only those that hold a weight",
             mistakes=(Mistake(lambda: SMALL[2] ** 2, "the 8×8 array has 64 PEs, but a 3×3 weight matrix "
                                                      "occupies only some of them"),
                       Mistake(lambda: SMALL[1], "the wave crosses diagonally, but a full 3×3 tile can be busy at "
                                                 "once when enough rows stream")),
             confirm=lambda: f"The stepped frames show {_busiest()} busy PEs in the busiest cycle.",
             worked=_worked_busiest),
    Exercise(6, "the dataflow for batch-1 inference", answer=_fewest_cycles, same=_same_dataflow,
             hint="which operand is smallest here? The dataflow that keeps it in the PEs streams the big one past "
                  "it with one fill and drain per fold",
             mistakes=(Mistake(lambda: "weight_stationary", "with one row of activations every one of the 1,024 "
                                                            "weight tiles does one cycle of work"),
                       Mistake(lambda: "output_stationary", "close, but its folds stream K = 4,096 values and then "
                                                            "shift their outputs out")),
             worked=_worked_flow),
    Exercise(9, "weight reads of an output-stationary fold", answer=_fold_weight_reads, unit="weights",
             hint="output-stationary holds a 128×128 block of outputs; every output column needs all K of its "
                  "weights, streamed in from the top",
             mistakes=(Mistake(lambda: MXU * MXU, "that is a weight-stationary tile, read once; output-stationary "
                                                  "streams the weights instead of holding them"),
                       Mistake(lambda: LAYER[0] * LAYER[1], "that is the whole weight matrix; one fold covers 128 "
                                                            "of its columns")),
             worked=_worked_fold_reads),
    Exercise(10, "the dataflow that spends the least energy at batch 1", answer=_least_energy, same=_same_dataflow,
             hint="at batch 1 each weight does one MAC in every dataflow; compare what else moves: the weights "
                  "into place, the partial sums down the array",
             mistakes=(Mistake(lambda: "weight_stationary", "it holds weights, but at batch 1 each is used once: "
                                                            "it pays to shift every weight into place for one MAC"),),
             worked=_worked_energy),
)
