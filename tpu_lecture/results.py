"""Benchmark results across runtimes: a JSON-lines store, the shipped reference results, tables and plots.

One Colab runtime has a GPU or a TPU, never both: results saved in one runtime are loaded in another and
compared side by side. matplotlib is imported inside the plotting functions.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench import BenchmarkResult, format_seconds

REFERENCE_FILES = ("h200_2026-11-26.jsonl",)


# --- the results store: JSON lines -------------------------------------------------------------------------

def save_results(results: BenchmarkResult | Iterable[BenchmarkResult], path: str | os.PathLike) -> Path:
    """Append results to a JSON-lines file, one result a line, in one locked, appending write: two processes
    saving to the same file at once neither interleave nor lose lines."""
    if isinstance(results, BenchmarkResult):
        results = [results]
    lines = []
    for r in results:
        if not isinstance(r, BenchmarkResult):
            raise TypeError(f"save_results takes BenchmarkResult objects, not {type(r).__name__}")
        try:
            lines.append(json.dumps(r.to_dict(), allow_nan=False) + "\n")
        except (TypeError, ValueError) as error:
            raise TypeError(f"result {r.name!r} holds a value JSON cannot store ({error}): keep params and "
                            "reported to numbers, strings, lists and dicts") from error
    path = Path(path)
    data = "".join(lines).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _lock(fd)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)  # closing releases the lock
    return path


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: O_APPEND alone keeps each write whole
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def load_results(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[BenchmarkResult]:
    """Results from one or more JSON-lines files. A corrupt line is skipped with a warning naming the file
    and line; the rest still load. A file that cannot be read raises OSError."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    results = []
    for path in paths:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise OSError(f"cannot read results file {path}: {error.strerror or error}") from error
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                results.append(BenchmarkResult.from_dict(json.loads(line.decode("utf-8"))))
            except (ValueError, TypeError, KeyError) as error:
                warnings.warn(f"{path}:{number}: skipped a corrupt results line ({error})", stacklevel=2)
    return results


def reference_results() -> list[BenchmarkResult]:
    """The reference results shipped with the package: measured on one NVIDIA H200 (see FACTS.md), no TPU."""
    folder = Path(__file__).resolve().parent / "reference"
    return load_results([folder / name for name in REFERENCE_FILES])


# --- comparing results across runtimes -----------------------------------------------------------------------

@dataclass
class Comparison:
    """Results side by side: one row per case (what ran), one column per runtime (where it ran)."""

    columns: list[str]
    rows: list[tuple[str, dict[str, BenchmarkResult]]]
    baseline: str | None

    def speedup(self, case: str, column: str) -> float | None:
        """How many times faster ``column`` ran ``case`` than the baseline, None where either is missing."""
        cells = dict(self.rows).get(case, {})
        if self.baseline is None or column not in cells or self.baseline not in cells:
            return None
        return cells[self.baseline].median / cells[column].median

    def _cell(self, case: str, column: str, result: BenchmarkResult | None) -> str:
        if result is None:
            return "—"
        text = format_seconds(result.median)
        if result.rate():
            text += f", {result.rate()}"
        speedup = self.speedup(case, column)
        if speedup is not None and column != self.baseline:
            text += f", {speedup:.3g}x"
        if result.derived:
            text += "*"
        return text

    def to_text(self) -> str:
        """A plain-text table; columns are numbered and named underneath."""
        header = ["case"] + [f"[{i}]" for i in range(1, len(self.columns) + 1)]
        body = [[case] + [self._cell(case, c, cells.get(c)) for c in self.columns] for case, cells in self.rows]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append("")
        for i, column in enumerate(self.columns, start=1):
            mark = " (baseline of the Nx speed-ups)" if column == self.baseline else ""
            lines.append(f"[{i}] {column}{mark}")
        if any(r.derived for _, cells in self.rows for r in cells.values()):
            lines.append("* time derived from a reported rate, not measured as a time")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}{' (baseline)' if c == self.baseline else ''}</th>" for c in self.columns)
        rows = "".join(
            f"<tr><td>{escape(case)}</td>"
            + "".join(f"<td>{escape(self._cell(case, c, cells.get(c)))}</td>" for c in self.columns) + "</tr>"
            for case, cells in self.rows
        )
        return f"<table><thead><tr><th>case</th>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def __repr__(self) -> str:
        return f"Comparison({len(self.rows)} cases x {len(self.columns)} runtimes, baseline {self.baseline!r})"


def compare(results: Iterable[BenchmarkResult], baseline: str | None = None) -> Comparison:
    """Results side by side across runtimes, with speed-ups over ``baseline`` (a runtime label or a part of
    one; by default the first NumPy runtime, else the first runtime)."""
    results = list(results)
    if not results:
        raise ValueError("no results to compare: run sweep() or load_results() first")
    columns = list(dict.fromkeys(r.runtime_label for r in results))
    rows: dict[str, dict[str, BenchmarkResult]] = {}
    for r in results:
        rows.setdefault(r.case, {})[r.runtime_label] = r
    if baseline is None:
        numpy_columns = [r.runtime_label for r in results if r.framework == "numpy"]
        chosen = numpy_columns[0] if numpy_columns else columns[0]
    else:
        matches = [c for c in columns if c == baseline] or [c for c in columns if baseline.lower() in c.lower()]
        if len(matches) != 1:
            what = "matches none" if not matches else f"matches {len(matches)}"
            raise ValueError(f"baseline {baseline!r} {what} of the runtimes: {'; '.join(columns)}")
        chosen = matches[0]
    return Comparison(columns, list(rows.items()), chosen)


def format_table(results: Iterable[BenchmarkResult]) -> str:
    """One line per result: case, runtime, median, spread, rate and % of peak."""
    header = ["benchmark", "runtime", "median", "spread", "rate", "% of peak"]
    rows = []
    for r in results:
        spread = "" if r.spread is None else f"{100 * r.spread:.1f}%"
        if r.percent_of_bandwidth is not None and r.workload == "add":
            peak = f"{r.percent_of_bandwidth:.3g}% of bandwidth"
        elif r.percent_of_peak is not None:
            peak = f"{r.percent_of_peak:.3g}% of {r.peak_dtype}" + (" (est.)" if r.peak_is_estimate else "")
        else:
            peak = ""
        rows.append([r.case, r.runtime_label, format_seconds(r.median), spread, r.rate(), peak])
    if not rows:
        return "no results"
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- plots (matplotlib imported inside) ----------------------------------------------------------------------

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
