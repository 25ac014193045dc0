"""Checked exercises of notebook 08 · Benchmark #2: the lecture's MLP on CIFAR-10. Every answer is computed here from
the package: the MLP's closed-form MACs, the hardware table, the cycle model and the H200 reference results shipped
with it (never from this runtime's training speed, which differs from one machine to the next)."""

from __future__ import annotations

import numpy as np

from tpu_lecture import data, hardware, macs
from tpu_lecture.bench import training
from tpu_lecture.bench.store import reference_results
from tpu_lecture.exercises.checker import Exercise, Mistake
from tpu_lecture.models import MLP_CLASSES, MLP_INPUTS, MLP_WIDTHS
from tpu_lecture.sim.machines import matrix_cycles

BATCH = 1024  # the lecture's global batch
RATE_BATCH = 2048  # exercise 1: the batch whose achieved FLOP/s section 9 does not print
ODD_BATCH, CORES = 1024, 3  # exercise 2: the lecture's batch on a machine with three GPUs
PREDICT = 4096  # exercise 3: the batch whose samples/s the fitted line predicts
ROWS_PER_CORE = 160  # exercise 5: a global batch of 1280 over a TPU v2-8's 8 cores
SPEEDUP = 3  # exercise 4: the products this many times as fast (no cell prints its saving)


def _h200_sweep() -> dict[int, float]:
    """The H200 reference's samples/s by batch size (the lecture's MLP on JAX, median of epochs 2-3)."""
    return {r.params["batch_size"]: r.items_per_s for r in reference_results()
            if r.workload == "mlp_epoch" and r.device_kind == "gpu" and r.params.get("series") == "batch sweep"}


def _achieved_tflops(batch: int = RATE_BATCH) -> float:
    """The H200's achieved training TFLOP/s at ``batch``: samples/s × training FLOPs per sample."""
    return _h200_sweep()[batch] * _train_flops() / 1e12


def _fit() -> tuple[float, float]:
    """Step time = fixed + batch × per sample, fitted to the H200 sweep from batch 128 to 2048 (seconds)."""
    sweep = {b: rate for b, rate in _h200_sweep().items() if b <= 2048}
    batches = np.array(list(sweep), dtype=float)
    per_sample, fixed = np.polyfit(batches, batches / np.array(list(sweep.values())), 1)
    return float(fixed), float(per_sample)


def _predicted(batch: int = PREDICT) -> float:
    fixed, per_sample = _fit()
    return batch / (fixed + batch * per_sample)


def _train_flops() -> int:
    """Training FLOPs per sample by the exact count (section 4): forward, and backward every product but the
    pixels' gradient, 1 MAC = 2 FLOPs."""
    return macs.mlp_training_flops_per_sample()


def _rule_of_thumb_flops() -> int:
    """Training FLOPs per sample by the 3 × forward estimate, which counts the pixels' gradient too."""
    return 3 * macs.macs_to_flops(macs.mlp_macs_per_sample())


def _matmul_share_percent() -> float:
    """The share of the H200's step of 1024 that its matrix products need at the peak of the format that ran."""
    _, peak = training.peak_for(hardware.get("H200"), "float32")
    return 100 * (BATCH * _train_flops() / peak) / (BATCH / _h200_sweep()[BATCH])


def _saved_percent() -> float:
    """Amdahl: products ``SPEEDUP`` times as fast, nothing else changed: the share of the step time saved."""
    return _matmul_share_percent() * (1 - 1 / SPEEDUP)


def _mxu_busy_percent(rows: int = ROWS_PER_CORE, array: int = 128) -> float:
    """The MLP's forward products on one weight-stationary array, by the cycle model: MACs / (PEs × cycles), every
    cycle counted, loading the weights included (as notebooks 05 and 08 count them)."""
    sizes = [MLP_INPUTS, *MLP_WIDTHS, MLP_CLASSES]
    runs = [matrix_cycles(rows, a, b, array, array) for a, b in zip(sizes, sizes[1:])]
    return 100 * sum(r.macs for r in runs) / (array * array * sum(r.cycles for r in runs))


def _worked_rate() -> str:
    forward = macs.mlp_macs_per_sample()
    return (f"Forward, the MLP does {forward:,} MACs per sample (`tl.mlp_macs_per_sample()`) = {2 * forward:,} FLOPs; "
            f"training, counted exactly (section 4: no gradient for the pixels), {_train_flops() / 1e6:.1f} MFLOP per "
            "sample. The reference trained "
            f"{_h200_sweep()[RATE_BATCH]:,.0f} samples/s at batch {RATE_BATCH}: × {_train_flops() / 1e6:.1f} MFLOP = "
            f"{_achieved_tflops():.1f} TFLOP/s, against {_achieved_tflops(BATCH):.1f} at batch {BATCH}, and still "
            f"{100 * _achieved_tflops() * 1e12 / training.peak_for(hardware.get('H200'), 'float32')[1]:.1f}% of the "
            "TF32 peak.")


def _worked_odd_batch() -> str:
    batch, sentence = data.per_replica_batch(ODD_BATCH, CORES)
    return (f"{ODD_BATCH} = {CORES} × {ODD_BATCH // CORES} + {ODD_BATCH % CORES}: it does not split over {CORES} "
            f"replicas, so `data.per_replica_batch({ODD_BATCH}, {CORES})` rounds it down to the nearest multiple: "
            f"\"{sentence}\". With {batch} every replica gets the same slice, so one compiled program serves them "
            "all and the all-reduce averages gradients of equal weight (notebook 07).")


def _worked_predicted() -> str:
    fixed, per_sample = _fit()
    measured = _h200_sweep()[PREDICT]
    return (f"The line fitted to the H200 sweep (batch 128 to 2048, `np.polyfit` of step time against batch) is "
            f"{fixed * 1e3:.2f} ms + batch × {per_sample * 1e6:.2f} µs. At batch {PREDICT} a step takes "
            f"{(fixed + PREDICT * per_sample) * 1e3:.1f} ms, so {PREDICT} / that = {_predicted():,.0f} samples/s; an "
            f"infinite batch approaches 1 / {per_sample * 1e6:.2f} µs = {1 / per_sample:,.0f}. The reference measured "
            f"{measured:,.0f} at {PREDICT}: below the line, so something grows faster than the batch there (host "
            "memory traffic for 50 MB batches, caches, the input copy no longer overlapping the compute).")


def _worked_amdahl() -> str:
    h200 = hardware.get("H200")
    fmt, peak = training.peak_for(h200, "float32")
    step_ms = 1e3 * BATCH / _h200_sweep()[BATCH]
    matmul_ms = 1e3 * BATCH * _train_flops() / peak
    return (f"A step of {BATCH} took {step_ms:.2f} ms on the H200 ({BATCH} / {_h200_sweep()[BATCH]:,.0f} samples/s). "
            f"Its products, {BATCH} × {_train_flops() / 1e6:.1f} MFLOP, need {matmul_ms:.3f} ms at the "
            f"{peak / 1e12:g} TFLOP/s {fmt} peak: {_matmul_share_percent():.1f}% of the step. {SPEEDUP} times as fast "
            f"saves {SPEEDUP - 1}/{SPEEDUP} of that, {matmul_ms * (1 - 1 / SPEEDUP):.3f} ms = "
            f"{_saved_percent():.2f}% of the step (Amdahl: the other "
            f"{100 - _matmul_share_percent():.0f}% is unchanged). That is why the reference found mixed bfloat16 no "
            "faster for this MLP.")


def _worked_busy() -> str:
    spacing = 2 * 128 + 128 - 1
    return (f"Double-buffered, the MXU starts a fold every max(M, 2R + C − 1) = max(M, {spacing}) cycles: the next "
            f"tile of weights is shifted in while a fold computes, and the folds overlap only as far as that allows. "
            f"With M = {ROWS_PER_CORE} rows a full fold does {ROWS_PER_CORE} × 128 × 128 MACs in {spacing} cycles "
            f"of 128 × 128 PEs: {ROWS_PER_CORE} / {spacing} = {100 * ROWS_PER_CORE / spacing:.1f}% (the lecture's "
            f"128 rows: {_mxu_busy_percent(128):.1f}%). Summed over the "
            f"MLP's layers by the cycle model (`tl.matrix_cycles` per layer, MACs over 128² × every cycle, loading "
            f"included): "
            f"{_mxu_busy_percent():.1f}%. From M = {spacing} rows on the folds follow back to back: all {BATCH} rows "
            f"on one core keep it {_mxu_busy_percent(BATCH):.1f}% busy.")


EXERCISES = (
    Exercise(1, "the H200's achieved FLOP/s at batch 2048", answer=_achieved_tflops, unit="TFLOP/s", rel_tol=0.01,
             hint="samples per second (section 7's sweep) × training FLOPs per sample, the exact count of "
                  "section 4 (1 MAC = 2 FLOPs)",
             mistakes=(Mistake(lambda: _h200_sweep()[RATE_BATCH] * _rule_of_thumb_flops() / 1e12,
                               "that is the 3 × forward estimate: section 4's exact count skips the pixels' gradient"),
                       Mistake(lambda: _h200_sweep()[RATE_BATCH] * macs.macs_to_flops(macs.mlp_macs_per_sample())
                               / 1e12, "that is the forward pass only: training adds the backward products"),
                       Mistake(lambda: _achieved_tflops() / 2, "a MAC is 2 FLOPs: count FLOPs, not MACs"),
                       Mistake(lambda: _achieved_tflops() * 1e12, "right, but in FLOP/s: give it in TFLOP/s")),
             worked=_worked_rate),
    Exercise(2, "the lecture's batch on three GPUs", answer=lambda: data.per_replica_batch(ODD_BATCH, CORES)[0],
             unit="samples",
             hint="a global batch must split evenly over the replicas: round it down to a multiple of 3",
             mistakes=(Mistake(lambda: ODD_BATCH, "1024 = 3 × 341 + 1: it does not split into equal slices"),
                       Mistake(lambda: ODD_BATCH + CORES - ODD_BATCH % CORES,
                               "the package rounds down, never up: there are only 1024 samples to share"),
                       Mistake(lambda: ODD_BATCH // CORES, "that is one replica's slice; the question asks for the "
                                                           "global batch")),
             worked=_worked_odd_batch),
    Exercise(3, "the fitted line's prediction at batch 4096", answer=_predicted, unit="samples/s", rel_tol=0.02,
             hint="fit step time = fixed + batch × per sample to the sweep from 128 to 2048 (section 9 prints the "
                  "fit), then samples/s = batch / step time",
             mistakes=(Mistake(lambda: _h200_sweep()[PREDICT], "that is the measurement; the question asks what "
                                                               "the line predicts"),
                       Mistake(lambda: 1 / _fit()[1], "that is the limit of an infinite batch, where the fixed cost "
                                                      "vanishes")),
             worked=_worked_predicted),
    Exercise(4, f"Amdahl: products {SPEEDUP} times as fast", answer=_saved_percent, unit="% of the step", rel_tol=0.03,
             hint="the step time is the products' time plus everything else; only the products get faster",
             mistakes=(Mistake(lambda: 50.0, "only the matrix products get faster, and they are a small part of "
                                             "the step"),
                       Mistake(_matmul_share_percent, f"that is the products' whole share; {SPEEDUP} times as fast "
                                                      f"saves {SPEEDUP - 1}/{SPEEDUP} of it")),
             worked=_worked_amdahl),
    Exercise(5, f"MXU busy with {ROWS_PER_CORE} rows per core, predicted then modelled", answer=_mxu_busy_percent,
             unit="%",
             rel_tol=0.015,  # the hint's one full fold, M / 383, is within 1.5% of the sum over layers
             hint="double-buffered, a fold starts every max(M, 2R + C − 1) cycles; with M rows a full fold keeps "
                  "the array M / max(M, 2R + C − 1) busy",
             mistakes=(Mistake(lambda: 100.0, f"{ROWS_PER_CORE} rows more than fill the array's 128 rows, but each "
                                              "fold needs cycles to shift its weights in and to drain, and the rows "
                                              "are too few to hide them"),
                       Mistake(lambda: _mxu_busy_percent(128), "that is 128 rows per core, the lecture's batch "
                                                               f"of 1024; {8 * ROWS_PER_CORE} over 8 cores gives "
                                                               f"{ROWS_PER_CORE}")),
             confirm=lambda: f"The cycle model: {_mxu_busy_percent():.1f}% at {ROWS_PER_CORE} rows per core, "
                             f"{_mxu_busy_percent(BATCH):.1f}% at {BATCH} (section 8's `mxu_utilization`).",
             worked=_worked_busy),
)
