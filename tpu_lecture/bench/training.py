"""Training runs as results: the number format the matrix units ran in, its peak, and where a figure came from.

A share of the peak is only honest against the peak of the format that actually ran. Keras's default
policy computes in float32, but the matrix units do not always multiply in float32: by default a TPU
multiplies float32 matrices in one bfloat16 pass and an NVIDIA GPU from Ampere on in TensorFloat-32 (JAX's
"Matmul precision" documentation; TensorFlow's ``enable_tensor_float_32_execution``: "TensorFloat-32 is
enabled by default"). ``matmul_format`` says which format that is on a chip of the hardware table, and
``result_from_training`` records a training run with the dtype and precision it trained in and the peak of
that format.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench import harness
from tpu_lecture.bench.record import BenchmarkResult
from tpu_lecture.checks import one_of

PRECISIONS = ("default", "highest")  # a framework's default matmul precision, or full float32 on request


def _dtype_name(dtype: Any) -> str:
    name = str(getattr(dtype, "name", dtype)).lower()
    return hardware.DTYPE_NAMES.get(name, name)


def matmul_format(chip: hardware.Chip | None, dtype: str = "float32", precision: str | None = "default") -> str:
    """The number format ``chip``'s matrix units multiply in when a model computes in ``dtype``.

    bfloat16 and float16 run as themselves. float32 at the default precision runs in bfloat16 on a TPU and in
    tfloat32 on a GPU whose table entry has a TF32 peak (Ampere and later); elsewhere, and at
    ``precision="highest"``, in float32.
    """
    dtype = _dtype_name(dtype)
    precision = one_of("precision", precision or "default", PRECISIONS)
    if dtype != "float32" or precision == "highest" or chip is None:
        return dtype
    if chip.kind == "tpu":
        return "bfloat16"
    if chip.kind == "gpu" and chip.peak("tfloat32") is not None:
        return "tfloat32"
    return "float32"


def peak_for(chip: hardware.Chip | None, dtype: str = "float32", precision: str | None = "default",
             per_device: bool = True) -> tuple[str, float | None]:
    """(the format that runs, the chip's peak FLOP/s in it or None where the table has none)."""
    fmt = matmul_format(chip, dtype, precision)
    return fmt, None if chip is None else chip.peak(fmt, per_device=per_device)


def result_from_training(report: Any, *, dtype: str = "float32", precision: str | None = "default",
                         **kwargs: Any) -> BenchmarkResult:
    """``harness.result_from_training`` with the dtype and precision the model trained in, and the peak
    of the format its matrix units ran in (so ``percent_of_peak`` compares like with like).

    ``dtype`` is the compute dtype of the Keras policy (``keras.config.dtype_policy().compute_dtype``);
    the other arguments are ``harness.result_from_training``'s.
    """
    result = harness.result_from_training(report, **kwargs)
    dtype = _dtype_name(dtype)
    precision = one_of("precision", precision or "default", PRECISIONS)
    if result.peak_is_estimate:  # this machine's CPU: an estimate of its float32 peak only
        fmt = matmul_format(None, dtype, precision)
        peak = result.peak_flops if fmt == result.peak_dtype else None
    elif result.chip is not None:
        chip = hardware.get(result.chip)
        fmt, chip_peak = peak_for(chip, dtype, precision, per_device=False)
        scale = (result.peak_flops or chip.peak_flops) / chip.peak_flops  # per device, as the harness chose
        peak = None if chip_peak is None else chip_peak * scale
    else:
        fmt, peak = matmul_format(None, dtype, precision), None
    return dataclasses.replace(result, dtype=dtype, precision=precision, peak_flops=peak, peak_dtype=fmt)


def measured_by(result: BenchmarkResult) -> str:
    """Where a result's figures come from, in words: the device, software and date, and who measured it."""
    versions = dict(result.versions or {})
    software = " ".join(p for p in (result.framework, result.framework_version) if p)
    if versions.get("keras"):
        software += f", Keras {versions['keras']}"
    source = result.source or ""
    who = source if source.startswith("measured by") else "measured by other scripts"
    when = f" on {result.date[:10]}" if result.date else ""
    hand = ", written into the record by hand" if (result.provenance or "").startswith("written by hand") else ""
    return f"{result.device or 'unknown device'} ({software or 'unknown software'}), {who}{when}{hand}"
