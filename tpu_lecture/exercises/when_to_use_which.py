"""Checked exercises of notebook 05 · When to use which. Every answer is computed here from the package: the
hardware table (each figure with its source), the roofline and the MXU's cycle counts."""

from __future__ import annotations

from tpu_lecture import hardware, roofline
from tpu_lecture.exercises.checker import Exercise, Mistake
from tpu_lecture.sim.machines import matrix_cycles

BF16, FP32 = 2, 4  # bytes per element
ADD = 16384 * 16384  # benchmark #1's element-wise add, in elements (float32)
INFERENCE = (1, 4096, 4096)  # exercise 4: one input vector through a 4096×4096 bfloat16 layer
LAYER = (1024, 1024)  # exercise 5: a 1024×1024 layer on one 128×128 MXU
BUSY = 0.9  # exercise 5: the utilization asked for, loading included
MXU = 128
CROSSOVER_CHIP = "A100"  # exercise 2: a chip whose crossover section 3 does not print (it prints the H100's)
RIDGE_CHIP = "TPU v4"  # exercise 3: a chip whose ridge point no cell above prints


def _add_speedup(fast: str = "TPU v6e", slow: str = "TPU v5e") -> float:
    intensity = roofline.elementwise_add_intensity(ADD, FP32)
    return hardware.get(fast).attainable_flops(intensity) / hardware.get(slow).attainable_flops(intensity)


def _crossover_n(chip: str = CROSSOVER_CHIP, bytes_per_element: int = BF16) -> float:
    """The n at which an n³ product's intensity 2n / (3b) reaches the chip's ridge point."""
    return 3 * bytes_per_element * hardware.get(chip).ridge_point / 2


def _ridge_batch(chip: str = RIDGE_CHIP, bytes_per_element: int = BF16) -> float:
    """Weights only, a Dense layer's intensity is 2 · batch / b FLOPs per byte: the batch at the ridge point."""
    return hardware.get(chip).ridge_point * bytes_per_element / 2


INFERENCE_CHIP = "TPU v6e"  # exercise 4: a chip whose batch-1 share no cell of the notebook prints


def _inference_share(chip: str = INFERENCE_CHIP) -> float:
    """The share of the chip's peak, in percent, that the roofline allows for batch-1 inference."""
    spec = hardware.get(chip)
    intensity = roofline.matmul_intensity(*INFERENCE, BF16)
    return 100 * spec.attainable_flops(intensity) / spec.peak_flops


def _batch_for(busy: float = BUSY, load: str | None = None, figure: str = "utilization") -> int:
    """The smallest batch M at which the layer keeps one MXU ``busy`` (utilization rises with M)."""
    m = 1
    while getattr(matrix_cycles(m, *LAYER, MXU, MXU, load=load), figure) < busy:
        m += 1
    return m


def _worked_add() -> str:
    v6e, v5e = hardware.get("TPU v6e"), hardware.get("TPU v5e")
    intensity = roofline.elementwise_add_intensity(ADD, FP32)
    return (f"The add does {intensity:.4f} FLOPs per byte (1 FLOP per 3 float32 elements moved), far left of both "
            f"ridge points ({v6e.ridge_point:.0f} and {v5e.ridge_point:.0f}): memory-bound on both chips, so the "
            f"memory bandwidths decide: {v6e.memory_bandwidth / 1e9:,.0f} / {v5e.memory_bandwidth / 1e9:,.0f} GB/s = "
            f"{_add_speedup():.2f}×. The peaks ({v6e.peak_flops / 1e12:.0f} vs {v5e.peak_flops / 1e12:.0f} TFLOP/s, "
            f"{v6e.peak_flops / v5e.peak_flops:.1f}×) never come into play.")


def _worked_crossover() -> str:
    h100 = hardware.get(CROSSOVER_CHIP)
    return (f"An n³ product in b bytes per element has intensity 2n / (3b). It reaches the {CROSSOVER_CHIP}'s ridge "
            f"point of {h100.ridge_point:.0f} FLOPs per byte when n = 3b · {h100.ridge_point:.0f} / 2: n ≈ "
            f"{_crossover_n():,.0f} in bfloat16 (b = 2). In float32 (b = 4), on the same roofline, n ≈ "
            f"{_crossover_n(bytes_per_element=FP32):,.0f}: twice the bytes per element, twice the size.")


def _worked_batch() -> str:
    v6e = hardware.get(RIDGE_CHIP)
    return (f"Weights only, a Dense layer reads each weight once (2 bytes in bfloat16) and uses it for 2 FLOPs per "
            f"sample: I = 2 · batch / 2 = batch FLOPs per byte. The {RIDGE_CHIP}'s ridge point is "
            f"{v6e.peak_flops / 1e12:.0f}e12 / {v6e.memory_bandwidth / 1e9:,.0f}e9 = {v6e.ridge_point:.1f} FLOPs per "
            f"byte, so batch ≈ {_ridge_batch():.0f}. Counting the activations too lowers the intensity, so the real "
            "batch is larger.")


def _worked_inference() -> str:
    m, k, n = INFERENCE
    chip = hardware.get(INFERENCE_CHIP)
    intensity = roofline.matmul_intensity(m, k, n, BF16)
    return (f"2 · {k}² FLOPs over ({k} + {k}² + {n}) · 2 bytes = {intensity:.3f} FLOPs per byte, far left of the "
            f"{INFERENCE_CHIP.removeprefix('TPU ')}'s ridge point of {chip.ridge_point:.0f}. The roofline allows "
            f"{chip.memory_bandwidth / 1e9:,.0f}e9 B/s "
            f"× {intensity:.3f} = {chip.attainable_flops(intensity) / 1e12:.2f} TFLOP/s of its "
            f"{chip.peak_flops / 1e12:.0f}: {_inference_share():.2f}% of the peak. Batch-1 inference reads every "
            "weight to use it once.")


def _worked_busy() -> str:
    k, n = LAYER
    m = _batch_for()
    dbl, before = matrix_cycles(m, k, n, MXU, MXU), matrix_cycles(m - 1, k, n, MXU, MXU)
    return (f"`tl.matrix_cycles(M, {k}, {n}, 128, 128).utilization` (double-buffered, loading included) rises with "
            f"M: {before.utilization:.2%} at M = {m - 1}, {dbl.utilization:.2%} at M = {m}. Below M = 2R + C − 1 = "
            f"{3 * MXU - 1} rows a fold is too short to hide the next tile's 128-cycle load, so the load sets the "
            f"pace; the utilization is then about M / {3 * MXU - 1}, and 90% needs about 0.9 · {3 * MXU - 1} ≈ "
            f"{0.9 * (3 * MXU - 1):.0f} rows. Loaded serially, every fold pays its load and its fill and drain: "
            f"90% would take {_batch_for(load='serial'):,} rows.")


EXERCISES = (
    Exercise(1, "TPU v6e vs v5e on the add", answer=_add_speedup, unit="times", rel_tol=0.01,
             hint="is the add memory-bound or compute-bound on these chips? Then compare the limit that binds",
             mistakes=(Mistake(lambda: hardware.get("TPU v6e").peak_flops / hardware.get("TPU v5e").peak_flops,
                               "that is the ratio of the peaks; the add never gets near either peak"),),
             worked=_worked_add),
    Exercise(2, f"where a bfloat16 matmul turns compute-bound on an {CROSSOVER_CHIP}", answer=_crossover_n,
             rel_tol=0.01,
             hint="an n³ product's intensity is 2n / (3b) FLOPs per byte; set it equal to the ridge point",
             mistakes=(Mistake(lambda: _crossover_n(bytes_per_element=FP32), "that is float32 (4 bytes); bfloat16 "
                                                                             "has 2 bytes per element"),
                       Mistake(lambda: hardware.get(CROSSOVER_CHIP).ridge_point, "that is the ridge point in FLOPs per "
                                                                        "byte; solve 2n / (3b) = ridge for n")),
             worked=_worked_crossover),
    Exercise(3, f"the MLP's batch at the {RIDGE_CHIP}'s ridge, weights only", answer=_ridge_batch, unit="samples",
             rel_tol=0.01,
             hint="weights only, a Dense layer does 2 FLOPs per weight per sample and reads b bytes per weight",
             mistakes=(Mistake(lambda: _ridge_batch() / 2, "a MAC is 2 FLOPs and a bfloat16 weight 2 bytes: the "
                                                           "intensity is 2 · batch / 2 = batch"),
                       Mistake(lambda: _ridge_batch(bytes_per_element=FP32), "that is float32; the question "
                                                                              "asks for bfloat16")),
             worked=_worked_batch),
    Exercise(4, f"batch-1 inference: the share of a {INFERENCE_CHIP}'s peak", answer=_inference_share, unit="%",
             rel_tol=0.02,
             hint="intensity = 2 · 4096² FLOPs / ((4096 + 4096² + 4096) · 2 bytes); attainable = bandwidth × "
                  "intensity, then divide by the peak",
             mistakes=(Mistake(lambda: _inference_share() / 100, "right, but as a fraction: give it in percent"),
                       Mistake(lambda: roofline.matmul_intensity(*INFERENCE, BF16), "that is the intensity in "
                                                                                    "FLOPs per byte; the question "
                                                                                    "asks for the share of the peak")),
             worked=_worked_inference),
    Exercise(5, "the batch that keeps a double-buffered MXU 90% busy", answer=_batch_for, unit="rows",
             rel_tol=0.02,  # the hint's estimate, 0.9 · 383 ≈ 345, is right to the 2% the question can ask
             hint="double-buffered, below 2R + C − 1 = 383 rows the next tile's load sets the pace, a fold every "
                  "383 cycles: the utilization is about M / 383 there; then check your guess with "
                  "`tl.matrix_cycles(M, 1024, 1024, 128, 128).utilization`",
             mistakes=(Mistake(lambda: _batch_for(load="serial"), "that is loading serially; the MXU "
                                                                  "double-buffers its weights"),
                       Mistake(lambda: 3 * MXU - 1, "at 2R + C − 1 = 383 rows every load is hidden, and the MXU is "
                                                    "already more than 90% busy")),
             confirm=lambda: f"`tl.matrix_cycles({_batch_for()}, 1024, 1024, 128, 128).utilization` = "
                             f"{matrix_cycles(_batch_for(), *LAYER, MXU, MXU).utilization:.2%}.",
             worked=_worked_busy),
)
