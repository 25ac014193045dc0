"""A benchmark result: the record of one timing, its serialisation to and from JSON, and tables that compare
runtimes side by side. Storing results (and upgrading old records) is :mod:`tpu_lecture.bench.store`'s.

One Colab runtime has a GPU or a TPU, never both: results saved in one runtime are loaded in another and
compared side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from html import escape
from typing import Any

from tpu_lecture import roofline

SCHEMA = 1  # the version of the stored record, written as its "schema" field

# --- one result ---------------------------------------------------------------------------------------------

@dataclass
class BenchmarkResult:
    """The timing of one workload on one device: seconds per call and everything needed to compare it.

    ``spread`` is the relative interquartile range, (q3 - q1) / median of the samples: 0.02 means the
    middle half of the calls lay within 2% of the median's size. ``derived`` lists fields computed from
    reported figures rather than measured (a reference time computed from a reported TFLOP/s).
    """

    name: str
    median: float  # seconds per call
    min: float | None = None
    max: float | None = None
    spread: float | None = None
    samples: tuple[float, ...] = ()
    first_call: float | None = None  # the first warm-up call: includes compilation
    flops: float | None = None  # per call, 1 MAC = 2 FLOPs
    bytes_moved: float | None = None  # per call: bytes read plus bytes written
    items: float | None = None  # things processed per call (training samples, characters)
    item_unit: str | None = None
    synchronized: bool = True
    includes_transfer: bool = False  # the host-to-device copy of the inputs is inside the timing
    workload: str | None = None
    shape: tuple[int, ...] | None = None
    size: int | None = None
    dtype: str | None = None
    precision: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    device: str | None = None  # as the runtime reports it: "NVIDIA H200", "TPU v5 lite", the CPU's model
    device_kind: str | None = None  # "cpu", "gpu" or "tpu"
    framework: str | None = None  # "numpy", "tensorflow", "jax"
    framework_version: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    chip: str | None = None  # the hardware table's chip the peak comes from
    peak_flops: float | None = None  # per device
    peak_dtype: str | None = None
    peak_bandwidth: float | None = None
    peak_is_estimate: bool = False
    date: str | None = None
    package_version: str | None = None
    environment: str | None = None
    host: str | None = None
    source: str | None = None
    derived: tuple[str, ...] = ()
    reported: dict[str, float] = field(default_factory=dict)
    note: str | None = None

    @property
    def flops_per_s(self) -> float | None:
        return None if self.flops is None else self.flops / self.median

    @property
    def bytes_per_s(self) -> float | None:
        return None if self.bytes_moved is None else self.bytes_moved / self.median

    @property
    def items_per_s(self) -> float | None:
        return None if self.items is None else self.items / self.median

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity: FLOPs per byte moved."""
        if self.flops is None or not self.bytes_moved:
            return None
        return roofline.arithmetic_intensity(self.flops, self.bytes_moved)

    @property
    def percent_of_peak(self) -> float | None:
        """Achieved FLOP/s as a percentage of the device's peak (in ``peak_dtype``), None if unknown."""
        if self.flops_per_s is None or not self.peak_flops:
            return None
        return 100 * self.flops_per_s / self.peak_flops

    @property
    def percent_of_bandwidth(self) -> float | None:
        """Achieved bytes/s as a percentage of the device's memory bandwidth, None if unknown."""
        if self.bytes_per_s is None or not self.peak_bandwidth:
            return None
        return 100 * self.bytes_per_s / self.peak_bandwidth

    @property
    def runtime_label(self) -> str:
        """Where it ran: device, framework and version, the day, and the series of a sweep it belongs to."""
        framework = " ".join(p for p in (self.framework, self.framework_version) if p) or "unknown framework"
        parts = [self.device or "unknown device", framework]
        if self.date:
            parts.append(self.date[:10])
        if self.params.get("series"):
            parts.append(str(self.params["series"]))
        return " · ".join(parts)

    @property
    def case(self) -> str:
        """What was run, independent of where: the row of a comparison."""
        label = self.name
        if not self.synchronized and "no sync" not in label:
            label += " (no sync)"
        if self.includes_transfer and "copy" not in label:
            label += " + copy"
        return label

    def rate(self) -> str:
        """The rate that matters for this workload: bytes/s for memory-bound work, else FLOP/s or items/s."""
        intensity = self.intensity
        if self.bytes_per_s is not None and (self.flops_per_s is None or (intensity is not None and intensity < 1)):
            return format_rate(self.bytes_per_s, "B/s")
        if self.flops_per_s is not None:
            return format_rate(self.flops_per_s, "FLOP/s")
        if self.items_per_s is not None:
            return format_rate(self.items_per_s, f"{self.item_unit or 'items'}/s")
        return ""

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (lists for tuples), with its schema version."""
        record = asdict(self)
        record["samples"] = list(self.samples)
        record["shape"] = None if self.shape is None else list(self.shape)
        record["derived"] = list(self.derived)
        return {"schema": SCHEMA, **record}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BenchmarkResult:
        """A result from a record of the current schema (``store.upgrade`` brings older ones up to it);
        raises ValueError naming the field that is wrong."""
        return cls(**parse_record(record))

    def __repr__(self) -> str:
        where = self.runtime_label
        stats = f"median {format_seconds(self.median)}"
        if self.min is not None and self.max is not None:
            stats += f" (min {format_seconds(self.min)}, max {format_seconds(self.max)}"
            if self.spread is not None:
                stats += f", spread {100 * self.spread:.1f}%"
            stats += f", {len(self.samples)} samples)" if self.samples else ")"
        parts = [stats]
        if self.rate():
            parts.append(self.rate())
        if self.percent_of_peak is not None:
            estimate = ", estimated" if self.peak_is_estimate else ""
            parts.append(f"{self.percent_of_peak:.3g}% of {self.peak_dtype} peak{estimate}")
        if not self.synchronized:
            parts.append("UNSYNCHRONISED: measures only the launch")
        if self.derived:
            parts.append(f"derived: {', '.join(self.derived)}")
        return f"BenchmarkResult({self.name!r} on {where}: {'; '.join(parts)})"


# --- reading a stored record -------------------------------------------------------------------------------

_NUMBERS = ("min", "max", "spread", "first_call", "flops", "bytes_moved", "items", "peak_flops", "peak_bandwidth")
_FLAGS = ("synchronized", "includes_transfer", "peak_is_estimate")
_DICTS = ("params", "reported", "versions")


def parse_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a stored record as ``BenchmarkResult`` takes them: unknown keys dropped, numbers as floats,
    lists as tuples; raises ValueError for a record that is not one."""
    if not isinstance(record, Mapping):
        raise ValueError(f"a result record must be a JSON object, not {type(record).__name__}")
    known = {f.name for f in fields(BenchmarkResult)}
    data = {k: v for k, v in record.items() if k in known}
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise ValueError("the record has no 'name'")
    data["samples"] = tuple(float(x) for x in data.get("samples") or ())
    data["derived"] = tuple(str(x) for x in data.get("derived") or ())
    data.update({k: float(data[k]) for k in _NUMBERS if data.get(k) is not None})
    for key in _FLAGS:
        if key in data and not isinstance(data[key], bool):
            raise ValueError(f"{key} must be true or false, not {data[key]!r}")
    if data.get("shape") is not None:
        data["shape"] = tuple(int(s) for s in data["shape"])
    data.update({k: dict(data.get(k) or {}) for k in _DICTS})
    median = data.get("median")
    if isinstance(median, bool) or not isinstance(median, (int, float)) or not median > 0 or math.isinf(median):
        raise ValueError(f"median must be a positive number of seconds, not {median!r}")
    return data


def format_seconds(seconds: float) -> str:
    """A duration with a unit a person reads at a glance: '0.97 ms', '373 ms', '45.1 µs', '1.2 s'."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_rate(value: float, unit: str) -> str:
    """A rate with an SI prefix: '689 TFLOP/s', '3.32 TB/s'."""
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


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


