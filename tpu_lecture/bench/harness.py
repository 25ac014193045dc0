"""The timing harness: warm-up, device sync, repeats, statistics, FLOP/s and bytes/s, % of peak.

``benchmark(fn, *args)`` times ``fn(*args)`` the way an accelerator must be timed: after warm-up (the first
call compiles), waiting for the device to finish every call (accelerators run asynchronously), repeating
until a target time is filled. Frameworks are imported only when used.
"""

from __future__ import annotations

import datetime
import functools
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench.record import BenchmarkResult

FRAMEWORKS = ("numpy", "tensorflow", "jax")


class BenchmarkError(RuntimeError):
    """The function under test raised; the message names the benchmark, the original error is its cause."""


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
    from tpu_lecture.runtime.runtime import Device

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
    from tpu_lecture.runtime import runtime as devices

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
    from tpu_lecture.runtime import runtime as devices

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
    from tpu_lecture.runtime import runtime as devices

    return devices.environment()


@functools.lru_cache(maxsize=1)
def _host() -> str:
    from tpu_lecture.runtime import runtime as devices

    return f"{platform.machine()}, {os.cpu_count()} CPUs, {devices.host_cpu_name()}"
