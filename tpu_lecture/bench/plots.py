"""Plots of benchmark results: times against size, speed-ups over a baseline, results on a chip's roofline,
and several chips' rooflines on one figure with workloads placed at their intensities.

matplotlib is imported inside the plotting functions; colours come from :mod:`tpu_lecture.viz.style`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tpu_lecture import hardware, roofline
from tpu_lecture.bench.record import BenchmarkResult, compare, format_label, format_rate
from tpu_lecture.viz import style


def rule_label(result: BenchmarkResult) -> str:
    """A series' format as run and timing rule, short enough for a legend: 'TF32, synced, compiled, measured'."""
    return ", ".join((format_label(result.format_as_run), "synced" if result.synchronized else "NO SYNC",
                      "compile incl." if result.includes_compile else "compiled",
                      "EXTRAPOLATED" if result.extrapolated else "measured")
                     + ((" + copy",) if result.includes_transfer else ()))


def plot_times(results: Iterable[BenchmarkResult]) -> Any:
    """Median time against size, log-log, one line per runtime, format as run and timing rule (the legend says
    which); one panel per workload; NOISY timings drawn hollow."""
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
                lines.setdefault(f"{r.runtime_label} ({rule_label(r)})", []).append(r)
        for label, points in lines.items():
            points.sort(key=lambda r: r.size)
            line, = ax.loglog([r.size for r in points], [r.median for r in points], marker="o", label=label)
            noisy = [r for r in points if r.noisy]
            if noisy:
                ax.scatter([r.size for r in noisy], [r.median for r in noisy], s=36, facecolors="white",
                           edgecolors=line.get_color(), zorder=3)
        if any(r.noisy for r in results if r.workload == workload):
            ax.scatter([], [], s=36, facecolors="white", edgecolors=style.INK, label="hollow: NOISY (spread above 20%)")
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
    """Bars: how many times faster each runtime ran each case than the baseline runtime (log scale). A case is one
    format as run and one timing rule (``BenchmarkResult.case``); a speed-up that lies within the two timings'
    spreads is drawn hollow and hatched: inconclusive, not a result."""
    import matplotlib.pyplot as plt

    table = compare(results, baseline)
    others = [c for c in table.columns if c != table.baseline]
    cases = [case for case, cells in table.rows if table.baseline in cells and any(c in cells for c in others)]
    if not others or not cases:
        raise ValueError("no case ran both on the baseline and on another runtime: nothing to compare")
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(cases) + 2), 4.5))
    width = 0.8 / len(others)
    colors = itertools.cycle(style.SERIES)
    hollow = False
    for i, column in enumerate(others):
        color = next(colors)
        ratios = [table.ratio(case, column) for case in cases]
        xs = [j + (i - (len(others) - 1) / 2) * width for j in range(len(cases))]
        solid = [r is not None and r.verdict != "inconclusive" for r in ratios]
        values = [0 if r is None else r.ratio for r in ratios]
        if any(solid):
            ax.bar([x for x, s in zip(xs, solid) if s], [v for v, s in zip(values, solid) if s], width=width,
                   color=color, label=column)
        unsure = [(x, v) for x, v, s, r in zip(xs, values, solid, ratios) if not s and r is not None]
        if unsure:
            hollow = True
            ax.bar([x for x, _ in unsure], [v for _, v in unsure], width=width, facecolor="white", edgecolor=color,
                   hatch="//", label=None if any(solid) else column)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(cases, rotation=30, ha="right", fontsize="small")
    ax.set_ylabel(f"speed-up over {table.baseline}")
    handles, _ = ax.get_legend_handles_labels()
    if hollow:
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor="white", edgecolor=style.INK, hatch="//",
                             label="hatched: inconclusive (within the spreads)"))
    ax.legend(handles=handles, fontsize="small")
    fig.tight_layout()
    return fig


def plot_roofline(chip: hardware.Chip | str, results: Iterable[BenchmarkResult] = (), ax: Any = None,
                  title: str | None = None) -> Any:
    """The chip's roofline, min(peak, bandwidth x intensity), one roof per number format the results ran in
    (TF32 and bfloat16 have different peaks), with the results placed on it: the sizes of one series (a runtime's
    add, or its matmul in one dtype) joined into a curve, NOISY timings drawn hollow. Draws on ``ax`` if given."""
    import matplotlib.pyplot as plt

    chip = _chip(chip)
    points = [r for r in results if r.intensity is not None and r.flops_per_s]
    formats = list(dict.fromkeys([chip.peak_dtype, *(r.format_as_run for r in points
                                                      if r.format_as_run in chip.peaks)]))
    if chip.memory_bandwidth is None:
        raise ValueError(f"{chip.name} has no memory bandwidth in the table: a roofline needs one (measure it with "
                         "bench.roofs.memory_roof and make the chip with bench.roofs.measured_chip)")
    ridges = [roofline.ridge_point(chip.peaks[f], chip.memory_bandwidth) for f in formats]
    intensities = [r.intensity for r in points] + ridges
    low, high = min(intensities) / 10, max(intensities) * 10
    xs = [low * (high / low) ** (i / 200) for i in range(201)]
    fig, ax = plt.subplots(figsize=(7.5, 4.8)) if ax is None else (ax.figure, ax)
    for fmt, ridge, dash in zip(formats, ridges, itertools.cycle(("-", "--", "-.", ":"))):
        peak = chip.peaks[fmt]
        ax.loglog(xs, [roofline.attainable_flops(x, peak, chip.memory_bandwidth) for x in xs], dash,
                  color=style.INK, lw=1.6, label=f"roof, {fmt} peak {format_rate(peak, 'FLOP/s')}"
                  + (f" ({format_label(fmt)})" if format_label(fmt) != fmt else ""))
        ax.plot(ridge, peak, "o", color=style.INK, ms=5)
    colors = _framework_colors(points)
    for label, series in _series(points).items():
        color, marker, dash = colors[series[0].framework or series[0].runtime_label], *_look(series[0])
        ax.plot([r.intensity for r in series], [r.flops_per_s for r in series], dash if len(series) > 1 else "",
                color=color, lw=1.2, alpha=0.8)
        for r in series:
            ax.plot(r.intensity, r.flops_per_s, marker, ms=6, color=color, mfc="white" if r.noisy else color, zorder=3)
        ax.plot([], [], marker + dash, color=color, label=label)
    if any(r.noisy for r in points):
        ax.plot([], [], "o", color=style.INK, mfc="white", label="hollow: NOISY (spread above 20%)")
    ax.set_xlabel("arithmetic intensity (FLOPs per byte)")
    ax.set_ylabel("FLOP/s")
    ax.set_title(title or f"Roofline of {chip.name}")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def _framework_colors(points: Sequence[BenchmarkResult]) -> dict[str, str]:
    """One colour per framework, so that a framework's add and its matmul read as the same runtime's."""
    names = dict.fromkeys(r.framework or r.runtime_label for r in points)
    return dict(zip(names, itertools.cycle(style.SERIES)))


_MARKERS = {"add": "s", "matmul": "o"}  # other workloads: a diamond; an unsynchronised timing: a cross


def _look(result: BenchmarkResult) -> tuple[str, str]:
    """A series' marker (by workload; a cross where it was not synchronised) and its line (dashed for 16 bits)."""
    marker = _MARKERS.get(result.workload or "", "D") if result.synchronized else "X"
    return marker, "--" if (result.format_as_run or "") in ("bfloat16", "float16", "tfloat32") else "-"


def _series(points: Sequence[BenchmarkResult]) -> dict[str, list[BenchmarkResult]]:
    """Results grouped into the curves of a roofline: one per runtime, workload, format as run and timing rule
    (the label says both), sorted by intensity (that is, by size)."""
    groups: dict[str, list[BenchmarkResult]] = {}
    for r in points:
        what = r.workload or r.name
        groups.setdefault(f"{what} · {r.framework or r.runtime_label} ({rule_label(r)})", []).append(r)
    return {label: sorted(found, key=lambda r: r.intensity) for label, found in groups.items()}


def _chip(chip: hardware.Chip | str) -> hardware.Chip:
    """A chip, or one named as a runtime reports it ('NVIDIA H200') or as the table does ('H200')."""
    if isinstance(chip, str):
        chip = hardware.match(chip) or hardware.get(chip)
    if not isinstance(chip, hardware.Chip):
        raise TypeError(f"chip must be a hardware.Chip or a chip's name, not {type(chip).__name__}")
    return chip


def chip_colors(chips: Sequence[hardware.Chip | str]) -> dict[str, str]:
    """A colour per chip, by kind (CPUs slate, GPUs greens, TPUs sky to pink) in the order given."""
    shades = {kind: itertools.cycle(colors) for kind, colors in style.CHIP_SHADES.items()}
    fallback = itertools.cycle(style.SERIES)
    return {c.name: next(shades.get(c.kind, fallback)) for c in map(_chip, chips)}


def plot_rooflines(chips: Sequence[hardware.Chip | str], workloads: Mapping[str, float] | None = None,
                   ax: Any = None) -> Any:
    """Several chips' rooflines, min(peak, bandwidth x intensity) in TFLOP/s, with each ridge point (●) and
    ``workloads`` (name: FLOPs per byte) as dotted lines labelled along the top; the region left of the lowest
    ridge point, memory-bound on every chip, is shaded. Draws on ``ax`` if given; returns the figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    chips = [_chip(c) for c in chips]
    if not chips:
        raise ValueError("no chips to draw: pass hardware.Chip objects or chip names, e.g. ['H100', 'TPU v5e']")
    workloads = dict(workloads or {})
    fig, ax = plt.subplots(figsize=(10, 6.6)) if ax is None else (ax.figure, ax)
    intensities = [*workloads.values(), *(c.ridge_point for c in chips)]
    low, high = min(1e-2, min(intensities) / 3), max(1.6e4, max(intensities) * 6)
    colors = chip_colors(chips)
    x = np.logspace(np.log10(low), np.log10(high), 400)
    for chip in chips:
        ax.loglog(x, [chip.attainable_flops(i) / 1e12 for i in x], "--" if chip.kind == "cpu" else "-",
                  color=colors[chip.name], lw=2.2, label=chip.name)
        ax.plot(chip.ridge_point, chip.peak_flops / 1e12, "o", color=colors[chip.name], ms=7, zorder=4)
    _mark_workloads(ax, workloads)
    lowest_ridge = min(chip.ridge_point for chip in chips)
    ax.axvspan(low, lowest_ridge, color=style.AMBER_LIGHT, alpha=0.55, zorder=0)
    ax.text(low * 120, 0.013, f"left of {lowest_ridge:.0f} FLOPs/byte:\nmemory-bound on every chip",
            fontsize=9, color=style.AMBER_DARK)
    ax.set(xlim=(low, high), ylim=(1e-2, max(c.peak_flops for c in chips) / 1e12 * 1.75),
           xlabel="arithmetic intensity (FLOPs per byte)", ylabel="attainable TFLOP/s")
    ax.set_title("Rooflines: min(peak, bandwidth × intensity); ● = ridge point", loc="left", pad=10)
    ax.grid(True, which="major", color=style.GRID)
    ax.legend(loc="upper left", fontsize=9, framealpha=0.9, edgecolor=style.GRID)
    fig.tight_layout()
    return fig


def _mark_workloads(ax: Any, workloads: Mapping[str, float]) -> None:
    """Each workload as a dotted vertical line at its intensity, named on a secondary axis along the top."""
    if not workloads:
        return
    for i in workloads.values():
        ax.axvline(i, color=style.EDGE_GREY, lw=1, ls=":", zorder=1)
    top = ax.secondary_xaxis("top")
    top.set_xticks(list(workloads.values()), [f"{name} ({i:,.0f})" if i >= 10 else f"{name} ({i:.3g})"
                                              for name, i in workloads.items()],
                   rotation=30, ha="left", fontsize=8.5, color=style.INK)
    top.tick_params(length=0)
