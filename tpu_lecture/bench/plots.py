"""Plots of benchmark results: times against size, speed-ups over a baseline, results on a chip's roofline.

matplotlib is imported inside the plotting functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench.record import BenchmarkResult, compare


def plot_times(results: Iterable[BenchmarkResult]) -> Any:
    """Median time against size, log-log, one line per runtime and dtype; one panel per workload."""
    import matplotlib.pyplot as plt

    results = [r for r in results if r.size is not None and r.workload is not None]
    if not results:
        raise ValueError("no sized results to plot: plot_times needs results of add/matmul sweeps")
    workloads = list(dict.fromkeys(r.workload for r in results))
    fig, axes = plt.subplots(1, len(workloads), figsize=(6 * len(workloads), 4.5), squeeze=False)
    for ax, workload in zip(axes[0], workloads):
        lines: dict[str, list[BenchmarkResult]] = {}
        for r in results:
            if r.workload == workload:
                flags = (" no sync" if not r.synchronized else "") + (" + copy" if r.includes_transfer else "")
                lines.setdefault(f"{r.runtime_label} {r.dtype}{flags}", []).append(r)
        for label, points in lines.items():
            points.sort(key=lambda r: r.size)
            ax.loglog([r.size for r in points], [r.median for r in points], marker="o", label=label)
        sizes = sorted({r.size for r in results if r.workload == workload})
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.set_xticks([], minor=True)
        ax.set_xlabel("n (matrices are n x n)")
        ax.set_ylabel("median time per call (s)")
        ax.set_title(workload)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_speedup(results: Iterable[BenchmarkResult], baseline: str | None = None) -> Any:
    """Bars: how many times faster each runtime ran each case than the baseline runtime (log scale)."""
    import matplotlib.pyplot as plt

    table = compare(results, baseline)
    others = [c for c in table.columns if c != table.baseline]
    cases = [case for case, cells in table.rows if table.baseline in cells and any(c in cells for c in others)]
    if not others or not cases:
        raise ValueError("no case ran both on the baseline and on another runtime: nothing to compare")
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cases) + 2), 4.5))
    width = 0.8 / len(others)
    for i, column in enumerate(others):
        values = [table.speedup(case, column) or 0 for case in cases]
        xs = [j + (i - (len(others) - 1) / 2) * width for j in range(len(cases))]
        ax.bar(xs, values, width=width, label=column)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(f"speed-up over {table.baseline}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_roofline(chip: hardware.Chip | str, results: Iterable[BenchmarkResult] = ()) -> Any:
    """The chip's roofline, min(peak, bandwidth x intensity), with measured results placed on it."""
    import matplotlib.pyplot as plt

    if isinstance(chip, str):
        chip = hardware.match(chip) or hardware.get(chip)
    if not isinstance(chip, hardware.Chip):
        raise TypeError(f"chip must be a hardware.Chip or a chip's name, not {type(chip).__name__}")
    ridge = chip.ridge_point
    points = [r for r in results if r.intensity is not None]
    intensities = [r.intensity for r in points] + [ridge]
    low, high = min(intensities) / 10, max(intensities) * 10
    xs = [low * (high / low) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(xs, [chip.attainable_flops(x) for x in xs], color="black",
              label=f"{chip.name} roofline ({chip.peak_dtype} peak)")
    ax.axvline(ridge, color="gray", linestyle=":", label=f"ridge point {ridge:.0f} FLOPs/byte")
    for r in points:
        ax.scatter([r.intensity], [r.flops_per_s], zorder=3, label=f"{r.case} · {r.runtime_label}")
    ax.set_xlabel("arithmetic intensity (FLOPs per byte)")
    ax.set_ylabel("FLOP/s")
    ax.set_title(f"Roofline of {chip.name}")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig
