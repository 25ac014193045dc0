"""The timing harness: warm-up, device sync, repeats, statistics, FLOP/s and bytes/s, % of peak.

``benchmark(fn, *args)`` times ``fn(*args)`` the way an accelerator must be timed: after warm-up (the first
call compiles), waiting for the device to finish every call (accelerators run asynchronously), repeating
until a target time is filled. Results carry full metadata, are appended to JSON-lines files in one runtime
and loaded in another, and compared in tables and plots. Frameworks are imported only when used.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from html import escape
from pathlib import Path
from typing import Any

from tpu_lecture import counters, hardware

BYTES_PER_ELEMENT = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
FRAMEWORKS = ("numpy", "tensorflow", "jax")
REFERENCE_FILES = ("h200_2026-11-26.jsonl",)


class BenchmarkError(RuntimeError):
    """The function under test raised; the message names the benchmark, the original error is its cause."""


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
        return counters.arithmetic_intensity(self.flops, self.bytes_moved)

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
        record = asdict(self)
        record["samples"] = list(self.samples)
        record["shape"] = None if self.shape is None else list(self.shape)
        record["derived"] = list(self.derived)
        return {"schema": 1, **record}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> BenchmarkResult:
        """A result from a stored record. Missing times are derived from reported rates and marked derived;
        FLOPs and bytes of the lecture's workloads are computed from their shape; the peak comes from the chip."""
        if not isinstance(record, Mapping):
            raise ValueError(f"a result record must be a JSON object, not {type(record).__name__}")
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in record.items() if k in known}
        if not isinstance(data.get("name"), str) or not data["name"]:
            raise ValueError("the record has no 'name'")
        data["samples"] = tuple(float(x) for x in data.get("samples") or ())
        data["derived"] = tuple(str(x) for x in data.get("derived") or ())
        for key in ("min", "max", "spread", "first_call", "flops", "bytes_moved", "items", "peak_flops",
                    "peak_bandwidth"):
            if data.get(key) is not None:
                data[key] = float(data[key])
        for key in ("synchronized", "includes_transfer", "peak_is_estimate"):
            if key in data and not isinstance(data[key], bool):
                raise ValueError(f"{key} must be true or false, not {data[key]!r}")
        if data.get("shape") is not None:
            data["shape"] = tuple(int(s) for s in data["shape"])
        data["params"] = dict(data.get("params") or {})
        data["reported"] = dict(data.get("reported") or {})
        data["versions"] = dict(data.get("versions") or {})
        countable = data.get("workload") in WORKLOADS and data.get("shape") and data.get("dtype") in BYTES_PER_ELEMENT
        if countable and data.get("flops") is None and data.get("bytes_moved") is None:
            data["flops"], data["bytes_moved"] = workload_counts(data["workload"], data["shape"], data["dtype"])
        if data.get("median") is None:
            data["median"] = _median_from_reported(data)
            data["derived"] = (*data["derived"], "median")
        median = data["median"]
        if isinstance(median, bool) or not isinstance(median, (int, float)) or not median > 0 or math.isinf(median):
            raise ValueError(f"median must be a positive number of seconds, not {median!r}")
        if data.get("peak_flops") is None and data.get("chip"):
            chip = hardware.match(data["chip"])
            if chip is not None:
                data["peak_flops"] = chip.peak_flops_per_device
                data["peak_dtype"] = chip.peak_dtype
                data["peak_bandwidth"] = chip.memory_bandwidth
        return cls(**data)

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


def _median_from_reported(data: Mapping[str, Any]) -> float:
    reported = data["reported"]
    for rate, work in (("flops_per_s", "flops"), ("items_per_s", "items"), ("bytes_per_s", "bytes_moved")):
        if reported.get(rate) and data.get(work):
            return data[work] / reported[rate]
    raise ValueError("the record has no 'median' and no reported rate (flops_per_s, items_per_s, bytes_per_s) "
                     "with the matching amount of work to derive it from")


# --- statistics and formatting ------------------------------------------------------------------------------

def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, min, max and spread, the relative interquartile range (q3 - q1) / median, of timing samples."""
    if not samples:
        raise ValueError("no samples to summarize: time at least one call")
    median = statistics.median(samples)
    if len(samples) >= 2:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        q1 = q3 = samples[0]
    spread = (q3 - q1) / median if median > 0 else 0.0
    return {"median": median, "min": min(samples), "max": max(samples), "spread": spread}


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


# --- synchronisation -------------------------------------------------------------------------------------------

def _no_sync(out: Any) -> None:
    """NumPy and plain Python finish their work before returning: nothing to wait for."""


def _sync_jax(out: Any) -> None:
    import jax

    jax.block_until_ready(out)


def _sync_tensorflow(out: Any) -> None:
    import tensorflow as tf

    tf.test.experimental.sync_devices()


SYNCS: dict[str, Callable[[Any], None]] = {
    "numpy": _no_sync, "python": _no_sync, "jax": _sync_jax, "tensorflow": _sync_tensorflow,
}


def framework_of(value: Any) -> str | None:
    """'numpy', 'jax', 'tensorflow' or 'python' for a value (or the first element of a tuple/list/dict)."""
    if isinstance(value, Mapping):
        value = next(iter(value.values()), None)
    elif isinstance(value, (tuple, list)):
        value = value[0] if value else None
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return "python"
    module = type(value).__module__.split(".")[0]
    if module in ("jax", "jaxlib"):
        return "jax"
    if module in ("tensorflow", "tf_keras"):
        return "tensorflow"
    if module in ("numpy", "ml_dtypes"):
        return "numpy"
    return None


def _framework_to_wait_for(out: Any, args: tuple) -> str | None:
    """The result's framework; for a function that returns nothing (an in-place update), its inputs'."""
    found = framework_of(out)
    if found == "python" and framework_of(args) in ("jax", "tensorflow"):
        return framework_of(args)
    return found


# --- the harness ------------------------------------------------------------------------------------------------

def _check_count(label: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be a whole number, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{label} must be at least {minimum}, not {value}")
    return value


def _check_amount(label: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{label} must be a number (per call), not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{label} must be a finite number >= 0 per call, not {value}")
    return float(value)


def benchmark(
    fn: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    warmup: int = 2,
    repeat: int | None = None,
    target_time: float = 0.5,
    min_repeat: int = 5,
    max_repeat: int = 1000,
    flops: float | None = None,
    bytes: float | None = None,
    items: float | None = None,
    item_unit: str | None = None,
    sync: bool | Callable[[Any], None] = True,
    framework: str | None = None,
    device: Any = None,
    timer: Callable[[], float] = time.perf_counter,
    info: Mapping[str, Any] | None = None,
) -> BenchmarkResult:
    """Time ``fn(*args)``: ``warmup`` untimed calls, then timed calls, each waiting for the device to finish.

    Repeats: ``repeat`` calls if given, else as many as fill ``target_time`` seconds (at least ``min_repeat``,
    at most ``max_repeat``). ``flops``/``bytes``/``items`` are per call. ``sync=True`` waits the way the
    framework needs (JAX: ``block_until_ready``; TensorFlow: ``sync_devices``; NumPy: nothing), found from
    ``framework`` or the result's type; a callable is used as the sync itself; ``sync=False`` times only the
    launch, to show that mistake, and the result says so. ``device`` (a name, a ``hardware.Chip`` or a
    ``devices.Device``; found from the result when None) gives the peak for ``percent_of_peak``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function to time, not {type(fn).__name__}")
    name = name or getattr(fn, "__name__", "benchmark")
    _check_count("warmup", warmup, 0)
    if repeat is not None:
        _check_count("repeat", repeat, 1)
    _check_count("min_repeat", min_repeat, 1)
    _check_count("max_repeat", max_repeat, min_repeat)
    if isinstance(target_time, bool) or not isinstance(target_time, (int, float)):
        raise TypeError(f"target_time must be a number of seconds, not {type(target_time).__name__}")
    if not math.isfinite(target_time) or target_time <= 0:
        raise ValueError(f"target_time must be a positive number of seconds, not {target_time}")
    flops, bytes_moved, items = (_check_amount(k, v) for k, v in (("flops", flops), ("bytes", bytes),
                                                                     ("items", items)))
    if not (isinstance(sync, bool) or callable(sync)):
        raise TypeError(f"sync must be True, False or a function that waits for a result, not {sync!r}")
    if framework is not None and framework not in SYNCS:
        raise ValueError(f"unknown framework {framework!r}: use one of {', '.join(sorted(SYNCS))}")
    from tpu_lecture.devices import Device

    if device is not None and not isinstance(device, (str, hardware.Chip, Device)):
        raise TypeError(f"device must be a name, a hardware.Chip or a devices.Device, not {type(device).__name__}")
    taken = _MEASURED & set(info or {})
    if taken:
        raise ValueError(f"info cannot set {', '.join(sorted(taken))}: benchmark() measures or finds those; "
                         "pass flops=, bytes=, items=, device= as arguments")

    waiter: Callable[[Any], None] | None = None if sync is True else (sync or _no_sync)

    def call(phase: str, index: int) -> Any:
        nonlocal waiter, framework
        try:
            out = fn(*args)
            if waiter is None:
                framework = framework or _framework_to_wait_for(out, args)
                if framework is None:
                    raise TypeError(f"cannot tell how to wait for a {type(out).__name__} result: pass "
                                    "framework='jax'/'tensorflow'/'numpy' or sync=a function that waits for it")
                waiter = SYNCS[framework]
            waiter(out)
        except Exception as error:
            raise BenchmarkError(f"benchmark {name!r} failed in {phase} call {index + 1}: "
                                 f"{type(error).__name__}: {error}") from error
        return out

    first_call = None
    out = None
    for i in range(warmup):
        start = timer()
        out = call("warm-up", i)
        if i == 0:
            first_call = timer() - start
    samples: list[float] = []
    wanted, enough, elapsed = (repeat, repeat, 0.0) if repeat is not None else (max_repeat, min_repeat, 0.0)
    stop_at = math.inf if repeat is not None else target_time
    while True:
        start = timer()
        out = call("timed", len(samples))
        took = timer() - start
        samples.append(took)
        elapsed += took
        if len(samples) >= wanted or (len(samples) >= enough and elapsed >= stop_at):
            break
    stats = summarize(samples)
    framework = framework or framework_of(out) or "python"
    where = _where(device, out, framework)
    known = {f.name for f in fields(BenchmarkResult)}
    extra = {k: v for k, v in (info or {}).items() if k in known}
    params = {k: v for k, v in (info or {}).items() if k not in known}
    if params:
        extra["params"] = {**extra.get("params", {}), **params}
    result = BenchmarkResult(
        name=name, samples=tuple(samples), first_call=first_call, flops=flops, bytes_moved=bytes_moved,
        items=items, item_unit=item_unit, synchronized=sync is not False,
        framework=extra.pop("framework", framework if framework != "python" else None),
        framework_version=extra.pop("framework_version", _framework_version(framework)),
        versions=extra.pop("versions", _versions(framework)),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        package_version=_package_version(), environment=_environment(), host=_host(),
        source=extra.pop("source", "measured by tpu_lecture.bench.benchmark()"),
        **stats, **where, **extra,
    )
    return result


_MEASURED = frozenset({
    "name", "samples", "first_call", "median", "min", "max", "spread", "flops", "bytes_moved", "items", "item_unit",
    "synchronized", "date", "package_version", "environment", "host", "device", "device_kind", "chip",
    "peak_flops", "peak_dtype", "peak_bandwidth", "peak_is_estimate", "derived", "reported",
})


def _where(device: Any, out: Any, framework: str) -> dict[str, Any]:
    """Device name, kind and the peak of the chip it is, for a device given or found from the result."""
    from tpu_lecture import devices

    if device is None:
        device = _device_of(out, framework)
    if isinstance(device, hardware.Chip):
        return _peak(device.name, device.kind, device, per_device=False)
    if isinstance(device, devices.Device):
        name, kind = device.name, device.platform
    elif isinstance(device, str):
        if device.lower() in ("cpu", "host"):
            name, kind = devices.host_cpu_name(), "cpu"
        else:
            chip = hardware.match(device)
            name, kind = device, (chip.kind if chip else None)
    else:
        raise TypeError(f"device must be a name, a hardware.Chip or a devices.Device, not {type(device).__name__}")
    chip = _cpu_chip() if kind == "cpu" else hardware.match(name)
    return _peak(name, kind, chip)


def _peak(name: str, kind: str | None, chip: hardware.Chip | None, per_device: bool = True) -> dict[str, Any]:
    where: dict[str, Any] = {"device": name, "device_kind": kind}
    if chip is not None:
        where.update(chip=None if chip.estimate else chip.name,
                     peak_flops=chip.peak_flops_per_device if per_device else chip.peak_flops,
                     peak_dtype=chip.peak_dtype, peak_bandwidth=chip.memory_bandwidth,
                     peak_is_estimate=chip.estimate)
    return where


def _device_of(out: Any, framework: str) -> Any:
    from tpu_lecture import devices

    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    if framework == "jax" and hasattr(out, "devices"):
        found = sorted(out.devices(), key=lambda d: d.id)
        if found:
            d = found[0]
            kind = "gpu" if d.platform in ("gpu", "cuda", "rocm") else d.platform
            name = devices.host_cpu_name() if kind == "cpu" else d.device_kind
            return devices.Device("jax", kind, name, f"{kind}:{d.id}")
    if framework == "tensorflow" and getattr(out, "device", None):
        label = "/device:" + out.device.rsplit("/device:", 1)[-1]
        for d in devices.view("tensorflow").devices:
            if d.id == label:
                return d
        kind = label.split(":")[1].lower()
        return devices.Device("tensorflow", kind, devices.host_cpu_name() if kind == "cpu" else kind.upper(), label)
    return "cpu"


@functools.lru_cache(maxsize=1)
def _cpu_chip() -> hardware.Chip:
    return hardware.cpu_estimate()


def _framework_version(framework: str | None) -> str | None:
    module = sys.modules.get(framework or "")
    return getattr(module, "__version__", None)


def _versions(framework: str | None) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("numpy", framework, "keras"):
        module = sys.modules.get(name or "")
        if module is not None and getattr(module, "__version__", None):
            found[name] = module.__version__
    return found


def _package_version() -> str:
    import tpu_lecture

    return tpu_lecture.__version__


def _environment() -> str:
    from tpu_lecture import devices

    return devices.environment()


@functools.lru_cache(maxsize=1)
def _host() -> str:
    from tpu_lecture import devices

    return f"{platform.machine()}, {os.cpu_count()} CPUs, {devices.host_cpu_name()}"


# --- benchmark #1: element-wise add and matrix multiply -------------------------------------------------------

WORKLOADS = ("add", "matmul")


def workload_counts(workload: str, shape: Sequence[int], dtype: str) -> tuple[int, int]:
    """(FLOPs, bytes moved) of one call: add reads two n x n arrays and writes one, one FLOP per element;
    matmul M x K @ K x N does M*K*N MACs = 2*M*K*N FLOPs and at least reads A, B and writes C."""
    itemsize = _itemsize(dtype)
    if workload == "add":
        rows, cols = shape
        return rows * cols, 3 * rows * cols * itemsize
    if workload == "matmul":
        m, k, n = shape
        return counters.macs_to_flops(counters.matmul_macs(m, k, n)), (m * k + k * n + m * n) * itemsize
    raise ValueError(f"unknown workload {workload!r}: use one of {', '.join(WORKLOADS)}")


def _itemsize(dtype: str) -> int:
    if dtype not in BYTES_PER_ELEMENT:
        raise ValueError(f"unknown dtype {dtype!r}: use one of {', '.join(BYTES_PER_ELEMENT)}")
    return BYTES_PER_ELEMENT[dtype]


@dataclass
class Workload:
    """A function and its prepared arguments on one device, with the FLOPs and bytes of one call."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    framework: str
    device: Any  # a devices.Device, or "cpu" for NumPy
    info: dict[str, Any]

    def run(self, **kwargs: Any) -> BenchmarkResult:
        """Time it with ``benchmark()`` (its keyword arguments pass through)."""
        flops, bytes_moved = workload_counts(self.info["workload"], self.info["shape"], self.info["dtype"])
        return benchmark(self.fn, *self.args, name=self.name, flops=flops, bytes=bytes_moved,
                         framework=self.framework, device=self.device, info=self.info, **kwargs)

    def __repr__(self) -> str:
        return f"Workload({self.name!r} on {getattr(self.device, 'id', self.device)}, {self.framework})"


def host_arrays(n: int, dtype: str, seed: int = 0) -> tuple[Any, Any]:
    """Two seeded random n x n host (NumPy) arrays of ``dtype`` (bfloat16 through ml_dtypes)."""
    import numpy as np

    _check_size(n)
    _itemsize(dtype)
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    if dtype == "bfloat16":
        import ml_dtypes

        return a.astype(ml_dtypes.bfloat16), b.astype(ml_dtypes.bfloat16)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def _check_size(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"size must be a whole number, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"size must be at least 1 (an n x n matrix), not {n}")
    return n


def available_devices(framework: str) -> list[Any]:
    """The devices a framework can place work on (NumPy: the host CPU only); [] when it is not installed."""
    from tpu_lecture import devices

    if framework == "numpy":
        return ["cpu"]
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: use one of {', '.join(FRAMEWORKS)}")
    return list(devices.view(framework).devices)


def find_device(framework: str, device: Any = None) -> Any:
    """The device of ``framework`` named by ``device``: None (its accelerator, else the CPU), 'gpu', 'tpu:0',
    '/device:GPU:0' or a devices.Device. Raises ValueError naming the devices there are."""
    from tpu_lecture import devices

    found = available_devices(framework)
    if not found:
        raise ValueError(f"{framework} is not installed here, or sees no device: install it or pick another "
                         "framework")
    if framework == "numpy":
        if device not in (None, "cpu", "CPU", "cpu:0") and not (
                isinstance(device, devices.Device) and device.platform == "cpu"):
            raise ValueError(f"NumPy runs only on the host CPU, not on {device!r}: use framework='jax' or "
                             "'tensorflow' for an accelerator")
        return "cpu"
    if isinstance(device, devices.Device):
        if device in found:
            return device
        device = device.id
    if device is None:
        return next(d for p in ("tpu", "gpu", "cpu") for d in found if d.platform == p)
    if not isinstance(device, str):
        raise TypeError(f"device must be a name such as 'gpu:0' or a devices.Device, not {type(device).__name__}")
    wanted = device.lower().replace("/physical_device:", "").replace("/device:", "").strip()
    for d in found:
        label = d.id.lower().replace("/device:", "")
        if wanted in (label, d.platform) or (":" not in wanted and label.startswith(wanted + ":")):
            return d
    names = ", ".join(d.id for d in found)
    raise ValueError(f"{framework} has no device {device!r}; its devices here are: {names}")


def add_workload(n: int, dtype: str = "float32", framework: str = "numpy", device: Any = None,
                 include_transfer: bool = False, seed: int = 0) -> Workload:
    """Element-wise add of two n x n matrices: one FLOP per three elements moved, so memory-bound."""
    return _workload("add", n, dtype, framework, device, include_transfer, seed)


def matmul_workload(n: int, dtype: str = "float32", framework: str = "numpy", device: Any = None,
                    include_transfer: bool = False, seed: int = 0) -> Workload:
    """n x n @ n x n matrix multiply: 2n^3 FLOPs over 3n^2 elements, compute-bound for large n."""
    return _workload("matmul", n, dtype, framework, device, include_transfer, seed)


def _workload(workload: str, n: int, dtype: str, framework: str, device: Any, include_transfer: bool,
              seed: int, hosts: tuple[Any, Any] | None = None) -> Workload:
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: use one of {', '.join(WORKLOADS)}")
    _check_size(n)
    _itemsize(dtype)
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: use one of {', '.join(FRAMEWORKS)}")
    if framework == "numpy" and include_transfer:
        raise ValueError("NumPy works in host memory: there is no host-to-device copy to include; "
                         "use framework='jax' or 'tensorflow'")
    place = find_device(framework, device)
    a, b = hosts if hosts is not None else host_arrays(n, dtype, seed)
    fn, args = _BUILDERS[framework](workload, a, b, dtype, place, include_transfer)
    shape = (n, n) if workload == "add" else (n, n, n)
    symbol = f"{n}x{n}" if workload == "add" else f"{n}x{n}x{n}"
    name = f"{workload} {symbol} {dtype}" + (" + copy" if include_transfer else "")
    info = {"workload": workload, "shape": shape, "size": n, "dtype": dtype, "includes_transfer": include_transfer,
            "precision": "default" if workload == "matmul" else None}
    return Workload(name, fn, args, framework, place, info)


def _numpy_builder(workload: str, a: Any, b: Any, dtype: str, device: Any, include_transfer: bool) -> tuple:
    import numpy as np

    return (np.add if workload == "add" else np.matmul), (a, b)


def _jax_builder(workload: str, a: Any, b: Any, dtype: str, device: Any, include_transfer: bool) -> tuple:
    import jax
    import jax.numpy as jnp

    op = jax.jit(jnp.add if workload == "add" else jnp.matmul)
    if include_transfer:
        def with_copy(x: Any, y: Any) -> Any:
            return op(jax.device_put(x, device.handle), jax.device_put(y, device.handle))
        return with_copy, (a, b)
    return op, (jax.device_put(a, device.handle), jax.device_put(b, device.handle))


@functools.lru_cache(maxsize=1)
def _share_gpus_with_jax() -> None:
    """Let TensorFlow take GPU memory as it needs it instead of all of it at once, so JAX can run after it."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError, ValueError):  # already initialised: too late, keep going
            tf.config.experimental.set_memory_growth(gpu, True)


def _tensorflow_builder(workload: str, a: Any, b: Any, dtype: str, device: Any, include_transfer: bool) -> tuple:
    import tensorflow as tf

    _share_gpus_with_jax()
    op = tf.add if workload == "add" else tf.matmul
    where = device.handle or device.id

    def on_device(x: Any, y: Any) -> Any:
        with tf.device(where):
            return op(x, y)

    if include_transfer:
        def with_copy(x: Any, y: Any) -> Any:
            with tf.device(where):
                return op(tf.identity(x), tf.identity(y))
        return with_copy, (a, b)
    with tf.device(where):
        placed = (tf.identity(tf.convert_to_tensor(a)), tf.identity(tf.convert_to_tensor(b)))
    return on_device, placed


_BUILDERS: dict[str, Callable[..., tuple]] = {
    "numpy": _numpy_builder, "jax": _jax_builder, "tensorflow": _tensorflow_builder,
}


def default_sizes(workload: str, device_kind: str, accelerator_here: bool, quick: bool = False) -> tuple[int, ...]:
    """Sizes for the sweep: small on a CPU-only machine; the lecture's large sizes where there is an accelerator
    (the host CPU then runs the same sizes, except the largest matmul)."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: use one of {', '.join(WORKLOADS)}")
    if not accelerator_here:
        table = {"add": ((256, 1024), (256, 1024, 4096)), "matmul": ((128, 256), (256, 512, 1024, 2048))}
    elif device_kind == "cpu":
        table = {"add": ((1024, 4096), (1024, 4096, 16384)), "matmul": ((256, 1024), (256, 1024, 4096))}
    else:
        table = {"add": ((1024, 4096), (1024, 4096, 16384)), "matmul": ((256, 1024), (256, 1024, 4096, 8192))}
    return table[workload][0 if quick else 1]


class Progress:
    """A one-line text progress bar (no dependency): '[#####.......] 5/12 add 1024x1024 float32 jax gpu:0'."""

    def __init__(self, total: int, stream: Any = None, enabled: bool | None = None, width: int = 24) -> None:
        self.total, self.done, self.width = total, 0, width
        self.stream = sys.stderr if stream is None else stream
        self.enabled = total >= 4 if enabled is None else enabled
        # Terminals and notebooks redraw one line with a carriage return; a log file gets one line a step.
        self.redraw = _isatty(self.stream) or type(self.stream).__module__.startswith("ipykernel")
        self._last = 0

    def step(self, label: str) -> None:
        """Draw the bar with the work about to start, then count it as done at the next step."""
        if not self.enabled:
            return
        filled = self.width * self.done // max(self.total, 1)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done + 1}/{self.total} {label}"
        self._write(line)
        self.done += 1

    def close(self) -> None:
        if self.enabled:
            self._write(f"[{'#' * self.width}] {self.total}/{self.total} done")
            if self.redraw:
                self.stream.write("\n")
            self.stream.flush()

    def _write(self, line: str) -> None:
        if self.redraw:
            self.stream.write("\r" + line.ljust(self._last))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last = len(line)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class SweepResults(list):
    """The results of a sweep (a plain list), with ``skipped``: what could not run here, and why."""

    def __init__(self, results: Iterable[BenchmarkResult] = (), skipped: Iterable[str] = ()) -> None:
        super().__init__(results)
        self.skipped = list(skipped)


def sweep(
    workloads: Sequence[str] = WORKLOADS,
    sizes: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    frameworks: Sequence[str] | None = None,
    devices: Sequence[Any] | None = None,
    include_transfer: bool = False,
    quick: bool = False,
    sync: bool = True,
    progress: bool | None = None,
    stream: Any = None,
    seed: int = 0,
    **bench_kwargs: Any,
) -> SweepResults:
    """Benchmark #1: every workload x size x dtype on every framework and device found.

    ``frameworks`` defaults to all of NumPy, TensorFlow, JAX that are installed; ``devices`` (e.g. ``["gpu"]``)
    limits the devices, else each framework runs on one device of each kind it sees. ``include_transfer``
    adds variants that time the host-to-device copy. What cannot run (a framework not installed, a size
    that does not fit) is listed in the result's ``skipped`` and the rest runs.
    """
    for w in workloads:
        if w not in WORKLOADS:
            raise ValueError(f"unknown workload {w!r}: use one of {', '.join(WORKLOADS)}")
    for d in dtypes:
        _itemsize(d)
    chosen = list(FRAMEWORKS if frameworks is None else frameworks)
    for f in chosen:
        if f not in FRAMEWORKS:
            raise ValueError(f"unknown framework {f!r}: use one of {', '.join(FRAMEWORKS)}")
    if isinstance(sizes, Mapping):
        sizes = {w: tuple(_check_size(n) for n in sizes[w]) for w in sizes}
    elif sizes is not None:
        sizes = tuple(_check_size(n) for n in sizes)
    quick_settings = {"warmup": 1, "target_time": 0.05, "min_repeat": 3, "max_repeat": 200}
    bench_kwargs = {**(quick_settings if quick else {}), **bench_kwargs}

    targets, skipped = _targets(chosen, devices)
    plan = _plan(targets, workloads, sizes, dtypes, include_transfer, quick)
    bar = Progress(len(plan), stream=stream, enabled=progress)
    results: list[BenchmarkResult] = []
    hosts: dict[tuple[int, str], tuple[Any, Any]] = {}
    try:
        for n, dtype, w, f, d, transfer in plan:
            where = "cpu" if d == "cpu" else d.id
            bar.step(f"{w} {n} {dtype} {f} {where}")
            try:
                if (n, dtype) not in hosts:
                    hosts.clear()
                    hosts[(n, dtype)] = host_arrays(n, dtype, seed)
                workload = _workload(w, n, dtype, f, d, transfer, seed, hosts=hosts[(n, dtype)])
                results.append(workload.run(sync=sync, **bench_kwargs))
            except Exception as error:  # out of memory, an op the device lacks: report it, run the rest
                skipped.append(f"{w} {n} {dtype}{' + copy' if transfer else ''} on {f} {where}: "
                               f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
    finally:
        bar.close()
        hosts.clear()
    order = {name: i for i, name in enumerate(FRAMEWORKS)}
    results.sort(key=lambda r: (list(workloads).index(r.workload), list(dtypes).index(r.dtype), r.size,
                                r.includes_transfer, order.get(r.framework, 99), r.device_kind or ""))
    return SweepResults(results, skipped)


def _targets(frameworks: Sequence[str], wanted: Sequence[Any] | None) -> tuple[list[tuple[str, Any]], list[str]]:
    """(framework, device) pairs to run on, and why a framework has none."""
    from tpu_lecture import devices

    targets: list[tuple[str, Any]] = []
    skipped: list[str] = []
    for f in frameworks:
        found = available_devices(f)
        if not found:
            view = devices.view(f)
            skipped.append(f"{f}: " + ("not installed" if not view.installed else f"no devices ({view.error})"))
            continue
        if wanted is not None:
            picked = []
            for name in wanted:
                with contextlib.suppress(ValueError):
                    picked.append(find_device(f, name))
            if not picked:
                skipped.append(f"{f}: none of the devices {list(wanted)} is here")
        elif f == "numpy":
            picked = ["cpu"]
        else:
            picked = [next(d for d in found if d.platform == p) for p in ("tpu", "gpu", "cpu")
                      if any(d.platform == p for d in found)]
        targets += [(f, d) for d in dict.fromkeys(picked)]
    return targets, skipped


def _plan(targets: list[tuple[str, Any]], workloads: Sequence[str], sizes: Any, dtypes: Sequence[str],
          include_transfer: bool, quick: bool) -> list[tuple]:
    """Every (n, dtype, workload, framework, device, transfer) to run, by size so host arrays are made once."""
    accelerator_here = any(d != "cpu" and d.platform != "cpu" for _, d in targets)
    plan = []
    for f, d in targets:
        kind = "cpu" if d == "cpu" else d.platform
        for w in workloads:
            ns = sizes.get(w) if isinstance(sizes, Mapping) else sizes
            for n in ns or default_sizes(w, kind, accelerator_here, quick):
                for dtype in dtypes:
                    variants = [False] + ([True] if include_transfer and f != "numpy" else [])
                    plan += [(n, dtype, w, f, d, t) for t in variants]
    plan.sort(key=lambda p: (p[0], p[1]))
    return plan


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
