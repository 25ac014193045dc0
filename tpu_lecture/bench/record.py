"""A benchmark result: the record of one timing, its serialisation to and from JSON, and tables that compare
runtimes side by side. Storing results (and upgrading old records) is :mod:`tpu_lecture.bench.store`'s.

One Colab runtime has a GPU or a TPU, never both: results saved in one runtime are loaded in another and
compared side by side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from html import escape
from typing import Any

from tpu_lecture import hardware, roofline
from tpu_lecture.bench import schema

SCHEMA = schema.SCHEMA  # the version of the stored record, written as its "schema" field
SPREAD_LIMIT = 0.2  # a spread (relative IQR) above this marks a timing NOISY: shown as such, never used silently
ELEMENTWISE = ("add", "scale", "triad", "chain", "copy")  # vector work: no matrix unit, no TF32, no bfloat16 passes
FORMAT_LABELS = {"tfloat32": "TF32"}  # how a number format is printed where its table name is not the usual one
_DTYPES = {"fp32": "float32", "f32": "float32", "tf32": "tfloat32", "bf16": "bfloat16", "fp16": "float16"}


def format_label(fmt: str | None) -> str:
    """A number format as a person reads it: 'TF32' for the table's 'tfloat32', 'unknown format' for None."""
    return "unknown format" if fmt is None else FORMAT_LABELS.get(fmt, fmt)

# --- one result ---------------------------------------------------------------------------------------------

@dataclass
class BenchmarkResult:
    """The timing of one workload on one device: seconds per call and everything needed to compare it.

    ``spread`` is the relative interquartile range, (q3 - q1) / median of the samples: 0.02 means the
    middle half of the calls lay within 2% of the median's size; above ``SPREAD_LIMIT`` the result is
    ``noisy``. ``derived`` lists fields computed from reported figures rather than measured (a reference
    time computed from a reported TFLOP/s). ``peak_dtype`` is the number format whose peak ``peak_flops``
    is (TF32 for a default float32 product on a recent GPU); ``peak_note`` says why there is none.
    ``extra`` keeps keys of a stored record that this version does not know, to write them back unchanged.
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
    includes_compile: bool = False  # the timing holds the first call's tracing and compiling
    extrapolated: bool = False  # the time is scaled from a shorter run, not measured as a whole
    number_format: str | None = None  # the format the arithmetic ran in, where known ("tfloat32" for TF32)
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
    peak_flops: float | None = None  # per device, in peak_dtype
    peak_dtype: str | None = None  # the number format the multiplies ran in ("tfloat32" for TF32)
    peak_bandwidth: float | None = None
    peak_is_estimate: bool = False
    peak_note: str | None = None  # why there is no peak to compare with, where there is none
    method: str | None = None  # how the median was found, where not from one series of calls
    repeats: int | None = None  # timed calls behind the median, where the samples are not stored
    sync_method: str | None = None  # how the device was waited for: "block_until_ready", ".numpy()", "none"
    form_factor: str | None = None  # of the accelerator: "SXM5", "PCIe", "NVL", a TPU slice
    provenance: str | None = None  # "measured by tpu_lecture.bench" or why the record falls short of that
    date: str | None = None
    package_version: str | None = None
    environment: str | None = None
    host: str | None = None
    source: str | None = None
    derived: tuple[str, ...] = ()
    reported: dict[str, float] = field(default_factory=dict)
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

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
        """Achieved FLOP/s as a percentage of the device's peak in ``peak_dtype``, None where unknown or where
        ``peak_dtype`` is not the format as run (a share of another format's peak is not a share of anything)."""
        if self.flops_per_s is None or not self.peak_flops:
            return None
        if self.peak_dtype and self.format_as_run and self.peak_dtype != self.format_as_run:
            return None
        return 100 * self.flops_per_s / self.peak_flops

    @property
    def percent_of_bandwidth(self) -> float | None:
        """Achieved bytes/s as a percentage of the device's memory bandwidth, None if unknown."""
        if self.bytes_per_s is None or not self.peak_bandwidth:
            return None
        return 100 * self.bytes_per_s / self.peak_bandwidth

    @property
    def format_as_run(self) -> str | None:
        """The number format the arithmetic ran in: ``number_format`` where stored, else found from the dtype, the
        precision and where it ran (a default-precision float32 product on a GPU with a TF32 peak runs in TF32, on
        a TPU in bfloat16 passes; element-wise work and CPUs run in the dtype itself)."""
        if self.number_format:
            return _DTYPES.get(self.number_format.lower(), self.number_format.lower())
        if self.dtype is None:
            return None
        dtype = _DTYPES.get(self.dtype.lower(), self.dtype.lower())
        precision = (self.precision or "default").lower()
        if dtype != "float32" or self.workload in ELEMENTWISE or precision.startswith(("highest", "float32")):
            return dtype
        if "tf32" in precision or self.peak_dtype == "tfloat32":
            return "tfloat32"
        if self.device_kind == "tpu":
            return "bfloat16"
        chip = hardware.match(self.device) if self.device_kind == "gpu" and self.device else None
        return "tfloat32" if chip is not None and chip.peak("tfloat32") is not None else dtype

    @property
    def timing_rule(self) -> str:
        """How the time was taken, in the three respects a fair comparison must share: 'synchronised, compile
        excluded, measured' (or unsynchronised, compile included, extrapolated)."""
        return ", ".join(("synchronised" if self.synchronized else "unsynchronised",
                          "compile included" if self.includes_compile else "compile excluded",
                          "extrapolated" if self.extrapolated else "measured"))

    @property
    def like_key(self) -> tuple[str | None, bool, bool, bool]:
        """What two results must share to be compared: the format as run and the timing rule."""
        return (self.format_as_run, self.synchronized, self.includes_compile, self.extrapolated)

    @property
    def noisy(self) -> bool:
        """Whether the calls spread more than ``SPREAD_LIMIT``: a timing to re-measure, not to conclude from."""
        return self.spread is not None and self.spread > SPREAD_LIMIT

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
        """What was run, independent of where: the row of a comparison. It names the format as run where that is
        not the dtype ('matmul 8192x8192x8192 float32 (TF32)') and every timing rule but the usual one, so a
        table never puts a TF32 run beside a float32 one, or a compiling run beside a compiled one."""
        label = self.name.replace(" (highest precision)", "")
        fmt, dtype = self.format_as_run, _DTYPES.get((self.dtype or "").lower(), (self.dtype or "").lower())
        if fmt is not None and dtype and fmt != dtype and f"({format_label(fmt)})" not in label:
            label += f" ({format_label(fmt)})"
        if not self.synchronized and "no sync" not in label:
            label += " (no sync)"
        if self.includes_transfer and "copy" not in label:
            label += " + copy"
        if self.includes_compile and "compile" not in label:
            label += " (compile included)"
        if self.extrapolated and "extrapolated" not in label:
            label += " (extrapolated)"
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
        """The record as JSON-ready values (lists for tuples), with its schema version and the unknown keys it
        was loaded with."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        record.update(samples=list(self.samples), shape=None if self.shape is None else list(self.shape),
                      derived=list(self.derived), params=dict(self.params), versions=dict(self.versions),
                      reported=dict(self.reported))
        return {**self.extra, "schema": SCHEMA, **record}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BenchmarkResult:
        """A result from a record of the current schema (``store.upgrade`` brings older ones up to it), checked
        field by field; raises ``schema.RecordError`` naming the field that is wrong."""
        data = schema.validate(record)
        if "median" not in data:
            raise schema.RecordError("the record has no 'median' (seconds per call)")
        return usable(cls(**data))

    def __repr__(self) -> str:
        stats = f"median {format_seconds(self.median)}"
        if self.min is not None and self.max is not None:
            stats += f" (min {format_seconds(self.min)}, max {format_seconds(self.max)}"
            if self.spread is not None:
                stats += f", spread {100 * self.spread:.1f}%"
            stats += f", {len(self.samples)} samples)" if self.samples else ")"
        parts = [stats]
        if self.noisy:
            parts.append(f"NOISY: spread above {SPREAD_LIMIT:.0%}, re-measure before concluding")
        if self.rate():
            parts.append(self.rate())
        if self.percent_of_peak is not None:
            estimate = ", estimated" if self.peak_is_estimate else ""
            parts.append(f"{self.percent_of_peak:.3g}% of {self.peak_dtype} peak{estimate}")
        elif self.flops is not None and self.peak_note:
            parts.append(f"no % of peak: {self.peak_note}")
        if self.format_as_run is not None and self.format_as_run != _DTYPES.get((self.dtype or "").lower(), self.dtype):
            parts.append(f"ran in {format_label(self.format_as_run)}")
        if not self.synchronized:
            parts.append("UNSYNCHRONISED: measures only the launch")
        if self.includes_compile:
            parts.append("compile included")
        if self.extrapolated:
            parts.append("EXTRAPOLATED from a shorter run")
        if self.derived:
            parts.append(f"derived: {', '.join(self.derived)}")
        return f"BenchmarkResult({self.name!r} on {self.runtime_label}: {'; '.join(parts)})"


def usable(result: BenchmarkResult) -> BenchmarkResult:
    """``result`` itself once every figure that tables, plots and the repr read from it is a finite number;
    raises ``schema.RecordError`` where one is not (FLOPs so large that FLOP/s overflow, say)."""
    try:
        figures = [result.flops_per_s, result.bytes_per_s, result.items_per_s, result.intensity,
                   result.percent_of_peak, result.percent_of_bandwidth]
        repr(result)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise schema.RecordError(f"the record's figures cannot be computed: {error}") from None
    if any(f is not None and not math.isfinite(f) for f in figures):
        raise schema.RecordError("the record's figures overflow: a rate computed from it is not a finite number")
    return result


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


def format_ratio(ratio: float) -> str:
    """A ratio as a person says it: '1.15x', '2.4x', '385x'."""
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.3g}x"


class UnlikeComparison(ValueError):
    """Two results that differ in number format or timing rule, compared where only like with like may be."""


def differences(this: BenchmarkResult, other: BenchmarkResult) -> tuple[str, ...]:
    """How two results differ in what a fair comparison must share, each as 'this against other': the format
    as run ('TF32 against float32', where both are known), the sync, the compile, measured or extrapolated; ()
    for like with like."""
    found = []
    if None not in (this.format_as_run, other.format_as_run) and this.format_as_run != other.format_as_run:
        found.append(f"{format_label(this.format_as_run)} against {format_label(other.format_as_run)}")
    for (mine, theirs), words in (((this.synchronized, other.synchronized), ("synchronised", "unsynchronised")),
                                  ((this.includes_compile, other.includes_compile),
                                   ("compile included", "compile excluded")),
                                  ((this.extrapolated, other.extrapolated), ("extrapolated", "measured"))):
        if mine != theirs:
            found.append(f"{words[0] if mine else words[1]} against {words[1] if mine else words[0]}")
    return tuple(found)


@dataclass(frozen=True)
class SpeedRatio:
    """How one timing compares with another, worded so that it holds whichever way it goes.

    ``ratio`` is the other's time over this one's (above 1: this one is faster). Within ``margin`` (10%, or the
    two timings' spreads added, where larger) they are "about as fast" — or, where a timing is NOISY, the
    comparison is "inconclusive": the ratio lies within the noise. Beyond the margin the difference stands even
    for noisy timings. Never "0.4x faster": a slowdown is called one. ``unlike`` names how the two sides differ
    in format or timing rule (see ``differences``); it is printed with the ratio, never left out.
    """

    ratio: float
    margin: float
    noisy: bool = False
    unlike: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """'faster', 'slower', 'about as fast' or 'inconclusive'."""
        if self.ratio >= 1 + self.margin:
            return "faster"
        if self.ratio <= 1 / (1 + self.margin):
            return "slower"
        return "inconclusive" if self.noisy else "about as fast"

    @property
    def conclusive(self) -> bool:
        """Whether the ratio is a result: not inconclusive (noise) and between like and like."""
        return self.verdict != "inconclusive" and not self.unlike

    @property
    def speedup(self) -> float | None:
        """The ratio where it is a result to state, None where it is inconclusive."""
        return None if self.verdict == "inconclusive" else self.ratio

    def _unlike(self) -> str:
        return f" [not like for like: {'; '.join(self.unlike)}]" if self.unlike else ""

    def __str__(self) -> str:
        verdict = self.verdict
        if verdict == "faster":
            return f"{format_ratio(self.ratio)} faster" + self._unlike()
        if verdict == "slower":
            return f"{format_ratio(1 / self.ratio)} slower" + self._unlike()
        if verdict == "about as fast":
            return f"about as fast (within {self.margin:.0%})" + self._unlike()
        return (f"inconclusive: a timing spread above {SPREAD_LIMIT:.0%} and a time ratio ({self.ratio:.3g}) within "
                f"the spreads ({self.margin:.0%})" + self._unlike())

    def sentence(self, this: str, other: str) -> str:
        """The comparison as a sentence that holds: '8 steps ran 1.15x faster than 1 step', '... ran about as
        fast as ... (within 10%)', '... against ...: inconclusive: ...'."""
        return _sentence(self, this, other)


def _sentence(ratio: SpeedRatio, this: str, other: str) -> str:
    verdict = ratio.verdict
    if verdict in ("faster", "slower"):
        return f"{this} ran {ratio} than {other}"
    if verdict == "about as fast":
        return f"{this} ran about as fast as {other} (within {ratio.margin:.0%}){ratio._unlike()}"
    return f"{this} against {other}: {ratio}"


def speed_ratio(this: BenchmarkResult | float, other: BenchmarkResult | float, margin: float = 0.1, *,
                unlike: str = "label") -> SpeedRatio:
    """How fast ``this`` ran compared with ``other`` (results, or times in seconds). Two results that differ in
    format as run or timing rule are labelled so (``unlike="label"``) or refused (``unlike="refuse"``, raising
    ``UnlikeComparison``)."""
    if unlike not in ("label", "refuse"):
        raise ValueError(f"unlike must be 'label' or 'refuse', not {unlike!r}")
    spread = sum(r.spread or 0.0 for r in (this, other) if isinstance(r, BenchmarkResult))
    noisy = any(r.noisy for r in (this, other) if isinstance(r, BenchmarkResult))
    seconds = [r.median if isinstance(r, BenchmarkResult) else float(r) for r in (this, other)]
    if not all(s > 0 and math.isfinite(s) for s in seconds):
        raise ValueError(f"times to compare must be positive seconds, not {seconds}")
    found = differences(this, other) if all(isinstance(r, BenchmarkResult) for r in (this, other)) else ()
    if found and unlike == "refuse":
        raise UnlikeComparison(f"{this.name} and {other.name} are not like for like ({'; '.join(found)}): compare "
                               "runs of one number format and one timing rule, or pass unlike='label'")
    return SpeedRatio(seconds[1] / seconds[0], max(margin, spread), noisy, found)


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

    def ratio(self, case: str, column: str) -> SpeedRatio | None:
        """The comparison of ``column`` with the baseline on ``case``, its verdict decided with the spreads (a
        row holds results of one format as run and one timing rule: see ``BenchmarkResult.case``)."""
        cells = dict(self.rows).get(case, {})
        if self.baseline is None or column not in cells or self.baseline not in cells:
            return None
        return speed_ratio(cells[column], cells[self.baseline])

    def conclusive_speedup(self, case: str, column: str) -> float | None:
        """``speedup`` where the spreads let it stand, None where it is missing or inconclusive."""
        ratio = self.ratio(case, column)
        return None if ratio is None else ratio.speedup

    def _cell(self, case: str, column: str, result: BenchmarkResult | None) -> str:
        if result is None:
            return "—"
        text = format_seconds(result.median)
        if result.rate():
            text += f", {result.rate()}"
        ratio = self.ratio(case, column)
        if ratio is not None and column != self.baseline:
            text += ", inconclusive" if ratio.verdict == "inconclusive" else f", {ratio.ratio:.3g}x"
        if result.derived:
            text += "*"
        if result.noisy:
            text += " (noisy)"
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
        if any(r.noisy for _, cells in self.rows for r in cells.values()):
            lines.append(f"(noisy): the calls spread more than {SPREAD_LIMIT:.0%}; re-measure before concluding")
        if any(self.ratio(case, c) is not None and self.ratio(case, c).verdict == "inconclusive"
               for case, _ in self.rows for c in self.columns if c != self.baseline):
            lines.append("inconclusive: the speed-up lies within the two timings' spreads; no result")
        lines.append("each row is one number format as run and one timing rule (rows name any other: TF32, no sync, "
                     "compile included, extrapolated)")
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
        spread = "" if r.spread is None else f"{100 * r.spread:.1f}%" + (" NOISY" if r.noisy else "")
        if r.percent_of_bandwidth is not None and r.workload == "add":
            peak = f"{r.percent_of_bandwidth:.3g}% of bandwidth"
        elif r.percent_of_peak is not None:
            peak = f"{r.percent_of_peak:.3g}% of {r.peak_dtype}" + (" (est.)" if r.peak_is_estimate else "")
        elif r.flops is not None and r.peak_note:
            peak = f"none: {r.peak_note.split(':')[0]}"
        else:
            peak = ""
        rows.append([r.case, r.runtime_label, format_seconds(r.median), spread, r.rate(), peak])
    if not rows:
        return "no results"
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


