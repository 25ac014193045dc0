"""The peak a result is compared with: the peak of the number format the multiplies ran in, never another.

A float32 matrix product does not always multiply in float32. JAX's and TensorFlow's default precision lets an
NVIDIA GPU with tensor cores for TF32 (Ampere and later: the chip table lists a ``tfloat32`` peak) round the
inputs to TF32, and a TPU multiplies float32 matrices in bfloat16 passes (the JAX documentation's "Matmul
precision" page; TensorFlow's ``enable_tensor_float_32_execution``). So ``% of peak`` takes the peak of the format
that ran: TF32 for a default-precision float32 product on such a GPU, float32 at ``precision="highest"``, and no
peak at all for a float32 product on a TPU, which has no float32 matrix peak: it is said, not divided by a wrong one.
"""

from __future__ import annotations

from typing import Any

from tpu_lecture import hardware

HIGHEST = "highest"  # full float32 products: the precision NumPy always computes in
DEFAULT = "default"  # the framework's default: TF32 on a GPU that has it, bfloat16 passes on a TPU
ELEMENTWISE = ("add", "scale", "triad", "chain", "copy")  # vector work: no matrix unit, no TF32, no bfloat16 passes


def precision_level(precision: str | None) -> str:
    """'highest' or 'default' from a stored precision such as 'default (TF32)', 'highest', 'float32'."""
    text = (precision or DEFAULT).lower()
    return HIGHEST if text.startswith((HIGHEST, "float32", "f32")) else DEFAULT


def multiply_format(chip: hardware.Chip, dtype: str, precision: str | None = None,
                    workload: str | None = None) -> tuple[str | None, str | None]:
    """(the number format whose peak applies, None and why where the table has no peak for what ran). Work
    other than element-wise (``ELEMENTWISE``) counts as matrix products, as training is."""
    dtype = hardware.DTYPE_NAMES.get(dtype.lower(), dtype.lower())
    ran = dtype
    if dtype == "float32" and workload not in ELEMENTWISE and precision_level(precision) == DEFAULT:
        if chip.kind == "gpu" and chip.peak("tfloat32") is not None:
            ran = "tfloat32"
        elif chip.kind == "tpu":
            return None, ("a TPU multiplies float32 matrices in bfloat16 passes and has no float32 peak: "
                          "compare the bfloat16 run with the bfloat16 peak")
    if chip.peak(ran) is not None:
        return ran, None
    if chip.kind == "tpu" and ran == "float32":
        return None, "a TPU has no float32 matrix peak (its float32 products run as bfloat16 passes)"
    return None, f"the chip table gives no {ran} peak for {chip.name}"


def peak_fields(chip: hardware.Chip | None, dtype: str | None = None, precision: str | None = None,
                workload: str | None = None, per_device: bool = True) -> dict[str, Any]:
    """A result's peak fields for a run of ``dtype`` on ``chip``: chip, peak_flops, peak_dtype, peak_bandwidth,
    peak_is_estimate and, where no peak applies, peak_note. ``dtype=None`` (a run of unknown format) takes the
    chip's headline peak and says so."""
    if chip is None:
        return {}
    fields: dict[str, Any] = {"chip": None if chip.estimate else chip.name, "peak_bandwidth": chip.memory_bandwidth,
                              "peak_is_estimate": chip.estimate}
    if dtype is None:
        ran = chip.peak_dtype
        note = f"the run's number format is unknown: {ran} is the chip's headline peak"
    else:
        ran, note = multiply_format(chip, dtype, precision, workload)
    peak = None if ran is None else chip.peak(ran, per_device=per_device)
    fields.update(peak_flops=peak, peak_dtype=ran, peak_note=note)
    return fields


def share_of_peak(flops_per_s: float, chip: hardware.Chip, number_format: str) -> float:
    """``flops_per_s`` as a fraction of ``chip``'s peak in ``number_format``, the format the work ran in; raises
    ``ValueError`` where the chip table has no peak in that format, rather than dividing by another format's."""
    fmt = hardware.DTYPE_NAMES.get(number_format.lower(), number_format.lower())
    peak = chip.peak(fmt)
    if peak is None:
        known = ", ".join(chip.peaks)
        raise ValueError(f"{chip.name} has no {fmt} peak in the chip table (it has {known}): a share of another "
                         "format's peak compares unlike things; compare with the memory roof or leave it out")
    return flops_per_s / peak
