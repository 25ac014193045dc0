"""Checked exercises of notebook 07 · TensorFlow on TPUs. Every answer is computed here from the package: the
hardware table (TensorCores and framework devices per chip), the batch rules of ``data``, the precision module;
none needs TensorFlow, so the checks run on a Colab TPU runtime (JAX only) too."""

from __future__ import annotations

import numpy as np

from tpu_lecture import data, hardware, precision
from tpu_lecture.exercises.checker import Exercise, Mistake

BOARD = 8  # "v4-8": for v2, v3 and v4 the number in an accelerator type counts TensorCores (Cloud TPU docs)
BATCH = 1024  # the lecture's global batch
SLICES = ((1.0, 2.0, 3.0), (4.0,))  # exercise 3: replica 0 gets three samples, replica 1 one
W, TARGET_W = 0.5, 2.0  # the all-reduce demo's model y = w x, learning w = 2 from w = 0.5
STEP_MS, ROUND_TRIP_MS, STEPS_PER_EXECUTION = 0.2, 1.0, 100  # exercise 4 (made-up numbers)
WEIGHT = 4.0  # exercise 5: a weight whose vanishing update no cell prints (section 8 prints 2⁻⁸, a weight of 1.0's)


def _devices(chip: str = "TPU v4", board: int = BOARD) -> int:
    """Framework devices of a Cloud TPU board named by its TensorCores: chips × devices per chip."""
    spec = hardware.get(chip)
    return board // spec.tensorcores * spec.devices_per_chip


def _dropped(samples: int = data.CIFAR10_TRAIN, batch: int = BATCH) -> int:
    """Images left out per epoch when every batch must have the same shape (``drop_remainder=True``)."""
    x = np.zeros((samples, 1), dtype=np.uint8)
    return samples - len(data.whole_batches(x, batch_size=batch)[0])


def _slice_gradient(xs: tuple[float, ...]) -> float:
    """d/dw of the mean squared error of y = w x against y = 2x on one replica's samples."""
    x = np.asarray(xs)
    return float(np.mean(2 * (W * x - TARGET_W * x) * x))


def _mean_of_replica_gradients() -> float:
    return float(np.mean([_slice_gradient(s) for s in SLICES]))


def _whole_batch_gradient() -> float:
    return _slice_gradient(tuple(x for s in SLICES for x in s))


def _busy_percent(steps: int = STEPS_PER_EXECUTION) -> float:
    """The share of the time the TPU computes when ``steps`` steps share one return to the host."""
    return 100 * steps * STEP_MS / (steps * STEP_MS + ROUND_TRIP_MS)


def _vanishing(weight: float = WEIGHT, fmt: str = "bfloat16") -> float:
    """The largest update to a weight (a power of two) stored in ``fmt`` that rounds away: half the gap to the next
    number up, a tie that rounds to the even neighbour, the weight itself (the confirmation rounds it)."""
    return weight * precision.format_info(fmt).eps / 2


def _worked_devices() -> str:
    lines = []
    for name in ("TPU v3", "TPU v4"):
        spec = hardware.get(name)
        lines.append(f"{name}-8: {BOARD} TensorCores ÷ {spec.tensorcores} per chip = {BOARD // spec.tensorcores} "
                     f"chips, each {spec.devices_per_chip} device(s): {_devices(name)} devices")
    megacore = [c.name for c in hardware.chips("tpu") if c.tensorcores == 2 and c.devices_per_chip == 1]
    single = [c.name for c in hardware.chips("tpu") if c.tensorcores == 1 and c.name != "TPU v1"]
    unknown = [c.name for c in hardware.chips("tpu") if c.devices_per_chip is None]
    return ("; ".join(lines) + f". On {' and '.join(megacore)} the two TensorCores of a chip are one device to "
            "the framework (\"megacore\", Cloud TPU system architecture docs; "
            "`hardware.get(\"TPU v4\").devices_per_chip`), "
            f"so `TPUStrategy` makes {_devices()} replicas and each gets {BATCH // _devices()} samples of {BATCH}; "
            f"on a v3-8 it made 8 replicas of {BATCH // 8}. Not every later chip is megacore: {', '.join(single)} "
            "have one TensorCore per chip"
            + (f", and the table does not say how {', '.join(unknown)} chips show up" if unknown else "") + ".")


def _worked_dropped() -> str:
    full, last = divmod(data.CIFAR10_TRAIN, BATCH)
    return (f"{data.CIFAR10_TRAIN:,} = {full} × {BATCH} + {last}: {full} full batches and a last one of {last}. "
            f"Without `drop_remainder` the training step is compiled twice per run (for {BATCH} and for {last}); "
            f"with it once, and the {_dropped()} images of the last batch ({_dropped() / data.CIFAR10_TRAIN:.1%}) "
            "are left out of that epoch (`data.whole_batches` does the same for arrays). Shuffled each epoch, "
            "different images are left out each time.")


def _worked_slices() -> str:
    g0, g1 = (_slice_gradient(s) for s in SLICES)
    return (f"With w = {W} the gradient of the mean squared error on a slice is 2 (w − 2) · mean(x²): "
            f"{g0:+.1f} on {{1, 2, 3}} and {g1:+.1f} on {{4}}, whose mean is {_mean_of_replica_gradients():+.1f}, "
            f"not the whole batch's {_whole_batch_gradient():+.1f}. The all-reduce averages the replicas' means, "
            "so the lone sample weighs as much as the other three together: replicas need equal slices, which is "
            "one more reason for a global batch that splits evenly.")


def _worked_busy() -> str:
    return (f"One step per execution: {STEP_MS} / ({STEP_MS} + {ROUND_TRIP_MS}) = {_busy_percent(1):.1f}% of the "
            f"time computing. {STEPS_PER_EXECUTION} steps per execution share one round trip: "
            f"{STEPS_PER_EXECUTION} · {STEP_MS} / ({STEPS_PER_EXECUTION} · {STEP_MS} + {ROUND_TRIP_MS}) = "
            f"{_busy_percent():.1f}%. That is `compile(steps_per_execution=...)`, the old `iterations_per_loop`.")


def _worked_vanishing() -> str:
    eps = precision.format_info("bfloat16").eps
    w, half = WEIGHT, _vanishing()
    return (f"bfloat16 keeps 7 mantissa bits, so between 1 and 2 its numbers are {eps} = 2⁻⁷ apart, and between "
            f"{w:g} and {2 * w:g} {w:g} times that: {w * eps}. An update smaller than half that gap, {half}, rounds "
            f"back to {w:g}; exactly {half} is a tie and goes to the even neighbour, {w:g} too: "
            f"`tl.to_bfloat16({w:g} + {half})` = {float(precision.to_bfloat16(w + half))}, "
            f"`tl.to_bfloat16({w:g} + {half} + 2**-10)` = "
            f"{float(precision.to_bfloat16(w + half + 2**-10))}. The bigger the weight, the bigger the updates it "
            "loses: that is why `mixed_bfloat16` keeps the variables in float32 and computes in bfloat16.")


EXERCISES = (
    Exercise(1, "devices on a TPU v4-8", answer=_devices, unit="devices",
             hint="the 8 of v4-8 counts TensorCores; count the chips, then how many devices one v4 chip shows "
                  "(`tl.hardware.get(\"TPU v4\")`)",
             mistakes=(Mistake(lambda: BOARD, "that is a v2-8 or v3-8, where each TensorCore is its own device; a v4 "
                                              "chip shows its two TensorCores as one"),
                       Mistake(lambda: BOARD * hardware.get("TPU v4").tensorcores,
                               "the 8 already counts TensorCores, not chips")),
             worked=_worked_devices),
    Exercise(2, "CIFAR-10 images left out per epoch at batch 1024", answer=_dropped, unit="images",
             hint="divide the 50,000 training images into whole batches of 1024: what is left over is dropped",
             mistakes=(Mistake(lambda: data.CIFAR10_TRAIN // BATCH, "that is the number of full batches; the "
                                                                    "question asks for the images left out"),
                       Mistake(lambda: BATCH - data.CIFAR10_TRAIN % BATCH,
                               "that is how many images the last batch lacks; it is the ones it has that are "
                               "dropped")),
             worked=_worked_dropped),
    Exercise(3, "the all-reduce of unequal slices", answer=_mean_of_replica_gradients, unit="", rel_tol=1e-6,
             hint="compute each replica's gradient 2 (w − 2) · mean(x²) on its own samples, then average the two",
             mistakes=(Mistake(_whole_batch_gradient, "that is the whole batch's gradient: the all-reduce averages "
                                                      "the two replicas' gradients, each a mean over its own slice"),
                       Mistake(lambda: sum(_slice_gradient(s) for s in SLICES),
                               "the all-reduce here takes the MEAN of the replicas' gradients, not their sum")),
             worked=_worked_slices),
    Exercise(4, "busy share at 100 steps per execution", answer=_busy_percent, unit="%", rel_tol=0.005,
             hint="100 steps of 0.2 ms share one 1 ms return to the host: compute time over total time",
             mistakes=(Mistake(lambda: _busy_percent(1), "that is one step per execution: 100 steps share one "
                                                         "round trip"),
                       Mistake(lambda: _busy_percent() / 100, "give it in per cent, not as a fraction")),
             worked=_worked_busy),
    Exercise(5, f"the largest update to a weight of {WEIGHT:g} that vanishes in bfloat16", answer=_vanishing,
             unit="", rel_tol=0.01,
             hint=f"bfloat16's numbers between 1 and 2 are 2⁻⁷ apart, and between {WEIGHT:g} and {2 * WEIGHT:g} "
                  f"{WEIGHT:g} times that; an update rounds away when the sum is nearer to {WEIGHT:g} (a tie goes to "
                  "the even neighbour)",
             mistakes=(Mistake(lambda: 2 * _vanishing(), "that is the gap itself: the weight plus the gap is a "
                                                         "bfloat16 number, so that update survives"),
                       Mistake(lambda: _vanishing(1.0), "that is for a weight of 1.0: the gaps grow with the "
                                                        f"exponent, {WEIGHT:g} times wider here"),
                       Mistake(lambda: _vanishing(fmt="float32"),
                               "that is float32's half gap; bfloat16 has 7 mantissa bits, not 23")),
             confirm=lambda: f"`tl.to_bfloat16({WEIGHT:g} + {_vanishing()})` gives "
                             f"{float(precision.to_bfloat16(WEIGHT + _vanishing()))}.",
             worked=_worked_vanishing),
)
