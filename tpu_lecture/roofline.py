"""Roofline arithmetic: arithmetic intensity, the ridge point, and the FLOP/s a kernel can attain.

A kernel that does F FLOPs while moving B bytes has intensity F/B; on a chip with peak P FLOP/s and
memory bandwidth BW bytes/s it can reach at most min(P, BW · F/B). Below the ridge point P/BW it is
memory-bound, above it compute-bound.
"""

from __future__ import annotations

from tpu_lecture.checks import positive, whole_number
from tpu_lecture.macs import macs_to_flops, matmul_macs


def arithmetic_intensity(flops: float, bytes_moved: float) -> float:
    """FLOPs done per byte moved to or from memory."""
    return positive("flops", flops, allow_zero=True) / positive("bytes_moved", bytes_moved)


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """The intensity (FLOPs/byte) where a kernel stops being memory-bound and becomes compute-bound."""
    return positive("peak_flops", peak_flops) / positive("bandwidth", bandwidth)


def attainable_flops(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The roofline: FLOP/s reachable at this intensity, min(peak, intensity · bandwidth)."""
    intensity = positive("intensity", intensity, allow_zero=True)
    return min(positive("peak_flops", peak_flops), intensity * positive("bandwidth", bandwidth))


def matmul_intensity(m: int, k: int, n: int, bytes_per_element: float) -> float:
    """Intensity of an M×K×N product that reads A and W once and writes the result once:
    2·M·K·N FLOPs over (M·K + K·N + M·N) elements."""
    flops = macs_to_flops(matmul_macs(m, k, n))
    elements = m * k + k * n + m * n
    return arithmetic_intensity(flops, elements * positive("bytes_per_element", bytes_per_element))


def elementwise_add_intensity(n_elements: int, bytes_per_element: float) -> float:
    """Intensity of c = a + b: 1 FLOP per element, 3 elements moved (two reads, one write)."""
    n_elements = whole_number("n_elements", n_elements)
    return arithmetic_intensity(n_elements, 3 * n_elements * positive("bytes_per_element", bytes_per_element))
