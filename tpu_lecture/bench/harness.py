"""The timing harness: warm-up, device sync, repeats, statistics, FLOP/s and bytes/s, % of peak.

``benchmark(fn, *args)`` times ``fn(*args)`` the way an accelerator must be timed: after warm-up (the first
call compiles), waiting for the device to finish every call (accelerators run asynchronously), repeating
until a target time is filled. It checks its arguments, times, then describes the result (device, the peak of
the number format that ran — ``device_fields`` —, versions). On a busy machine ``interleave`` times contenders in
rounds, in turn, and keeps each one's quietest round (``combine_rounds``); a spread still above
``record.SPREAD_LIMIT`` stays NOISY. ``result_from_training`` describes a training run timed by ``models.train``
the same way. Frameworks are reached through :mod:`tpu_lecture.runtime`.
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
from dataclasses import dataclass, fields, replace
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench import peaks
from tpu_lecture.bench.record import BenchmarkResult, format_seconds
from tpu_lecture.checks import one_of, positive, storable, whole_number
from tpu_lecture.runtime import runtime
from tpu_lecture.runtime.machine import Device, host_cpu_name


class BenchmarkError(RuntimeError):
    """The function under test raised; the message names the benchmark, the original error is its cause."""


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


# --- the harness: validate, time, describe -----------------------------------------------------------------

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
    ``runtime.Device``; found from the result when None) gives the peak for ``percent_of_peak``, that of the
    number format ``info["dtype"]`` ran in (``bench.peaks``). With the real clock, ``params["cores_busy"]`` is the
    host CPU time of the timed calls over their wall time: how many cores they kept busy (threads at work).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function to time, not {type(fn).__name__}")
    name = name or getattr(fn, "__name__", "benchmark")
    repeats = Repeats.checked(warmup, repeat, target_time, min_repeat, max_repeat)
    work = {"flops": _amount("flops", flops), "bytes_moved": _amount("bytes", bytes), "items": _amount("items", items)}
    _check_sync_and_device(sync, framework, device, info)
    storable("info", dict(info or {}))  # a value no results file can keep is refused now, not after the timing
    timing = _time(fn, args, name, repeats, sync, framework, timer)
    found = timing.framework or runtime.framework_of(timing.out) or runtime.PYTHON
    extra = _info_fields(info)
    if timer is time.perf_counter and sum(timing.samples) > 0:  # a real clock: how many cores the calls kept busy
        extra["params"] = {**extra.get("params", {}), "cores_busy": round(timing.cpu_seconds / sum(timing.samples), 2)}
    how = {k: extra.get(k) for k in ("dtype", "precision", "workload")}
    where = device_fields(runtime.device_of(timing.out, found) if device is None else device, **how)
    return BenchmarkResult(
        name=name, samples=tuple(timing.samples), first_call=timing.first_call, item_unit=item_unit,
        synchronized=sync is not False, **work, **summarize(timing.samples), **where,
        **_context(found, extra, source="measured by tpu_lecture.bench.benchmark()"), **extra,
    )


@dataclass(frozen=True)
class Repeats:
    """How many calls to make: ``warmup`` untimed ones, then ``repeat`` timed ones, or as many as fill
    ``target_time`` seconds (at least ``min_repeat``, at most ``max_repeat``)."""

    warmup: int
    repeat: int | None
    target_time: float
    min_repeat: int
    max_repeat: int

    @classmethod
    def checked(cls, warmup: Any, repeat: Any, target_time: Any, min_repeat: Any, max_repeat: Any) -> Repeats:
        """The counts, each checked: whole numbers of calls, a positive number of seconds."""
        warmup = whole_number("warmup", warmup, 0)
        repeat = None if repeat is None else whole_number("repeat", repeat, 1)
        min_repeat = whole_number("min_repeat", min_repeat, 1)
        max_repeat = whole_number("max_repeat", max_repeat, min_repeat)
        return cls(warmup, repeat, positive("target_time", target_time), min_repeat, max_repeat)

    def limits(self) -> tuple[int, int, float]:
        """(most calls, fewest calls, seconds to fill): stop at the most, or at the fewest once the seconds
        are filled. A fixed ``repeat`` is both the most and the fewest."""
        if self.repeat is not None:
            return self.repeat, self.repeat, math.inf
        return self.max_repeat, self.min_repeat, self.target_time


_MEASURED = frozenset({
    "name", "samples", "first_call", "median", "min", "max", "spread", "flops", "bytes_moved", "items", "item_unit",
    "synchronized", "date", "package_version", "environment", "host", "device", "device_kind", "chip",
    "peak_flops", "peak_dtype", "peak_bandwidth", "peak_is_estimate", "peak_note", "derived", "reported", "extra",
})


def _amount(name: str, value: Any) -> float | None:
    """An amount of work per call: None, or a finite number of at least 0."""
    return None if value is None else positive(name, value, allow_zero=True)


def _check_sync_and_device(sync: Any, framework: Any, device: Any, info: Mapping[str, Any] | None) -> None:
    """How to wait, the framework and device named, and ``info``, which may not set what benchmark() measures."""
    if not (isinstance(sync, bool) or callable(sync)):
        raise TypeError(f"sync must be True, False or a function that waits for a result, not {sync!r}")
    if framework is not None:
        one_of("framework", framework, (*runtime.NAMES, runtime.PYTHON))
    if device is not None and not isinstance(device, (str, hardware.Chip, Device)):
        raise TypeError(f"device must be a name, a hardware.Chip or a runtime.Device, not {type(device).__name__}")
    taken = _MEASURED & set(info or {})
    if taken:
        raise ValueError(f"info cannot set {', '.join(sorted(taken))}: benchmark() measures or finds those; "
                         "pass flops=, bytes=, items=, device= as arguments")


@dataclass
class Timing:
    """What the timed calls gave: seconds per timed call, the first warm-up call, the last result, and the
    framework found to wait for (None where the sync was given or left out)."""

    samples: list[float]
    first_call: float | None
    out: Any
    framework: str | None
    cpu_seconds: float = 0.0  # host CPU time of this process (all its threads) over the timed calls


def _time(fn: Callable[..., Any], args: tuple, name: str, repeats: Repeats, sync: bool | Callable[[Any], None],
          framework: str | None, timer: Callable[[], float]) -> Timing:
    """The warm-up and timed calls, each waiting for its result (the sync is found from the first result)."""
    wait: Callable[[Any], None] | None = None if sync is True else (sync or runtime.sync_for(runtime.PYTHON))

    def call(phase: str, index: int) -> Any:
        nonlocal wait, framework
        try:
            out = fn(*args)
            if wait is None:
                framework = framework or _framework_to_wait_for(out, args)
                wait = runtime.sync_for(framework)
            wait(out)
        except Exception as error:
            raise BenchmarkError(f"benchmark {name!r} failed in {phase} call {index + 1}: "
                                 f"{type(error).__name__}: {error}") from error
        return out

    first_call = out = None
    for i in range(repeats.warmup):
        start = timer()
        out = call("warm-up", i)
        if i == 0:
            first_call = timer() - start
    samples: list[float] = []
    wanted, enough, stop_at = repeats.limits()  # plain locals: the loop costs a few tens of nanoseconds a call
    elapsed = 0.0
    cpu_start = time.process_time()
    while True:
        start = timer()
        out = call("timed", len(samples))
        took = timer() - start
        samples.append(took)
        elapsed += took
        if len(samples) >= wanted or (len(samples) >= enough and elapsed >= stop_at):
            break
    return Timing(samples, first_call, out, framework, time.process_time() - cpu_start)


def _framework_to_wait_for(out: Any, args: tuple) -> str:
    """The result's framework; for a function that returns nothing (an in-place update), its inputs'."""
    found = runtime.framework_of(out)
    inputs = runtime.framework_of(args)
    if found == runtime.PYTHON and inputs in runtime.NAMES and not runtime.adapter(inputs).HOST_ONLY:
        return inputs
    if found is None:
        raise TypeError(f"cannot tell how to wait for a {type(out).__name__} result: pass framework="
                        f"{'/'.join(map(repr, runtime.NAMES))} or sync=a function that waits for it")
    return found


# --- re-measuring noisy timings: interleaved rounds, the lowest median ---------------------------------------------

def combine_rounds(rounds: Sequence[BenchmarkResult]) -> BenchmarkResult:
    """One result from one case measured in several rounds: the round with the lowest median, with every
    round's samples, min and max. On a busy machine other work only ever slows a call down, so the quietest
    round is the best estimate of the case's own time; its spread is that round's, and above
    ``record.SPREAD_LIMIT`` it stays NOISY."""
    if not rounds:
        raise ValueError("no rounds to combine: measure the case at least once")
    best = min(rounds, key=lambda r: r.median)
    if len(rounds) == 1:
        return best
    samples = tuple(x for r in rounds for x in r.samples)
    medians = [r.median for r in rounds]
    method = (f"lowest median of {len(rounds)} interleaved rounds "
              f"({', '.join(format_seconds(m) for m in medians)})")
    return replace(best, samples=samples, min=min(samples or medians), max=max(samples or medians), method=method,
                   first_call=rounds[0].first_call, params={**best.params, "round_medians": medians})


def interleave(contenders: Mapping[str, Callable[[], BenchmarkResult]], rounds: int = 3,
               max_rounds: int = 6) -> dict[str, BenchmarkResult]:
    """Time several contenders fairly on a busy machine: each round calls every one in turn (the order rotating),
    so a burst of other work hits all alike; each result is then ``combine_rounds`` of its rounds. Contenders
    still NOISY after ``rounds`` are measured again, one round at a time, up to ``max_rounds``."""
    rounds = whole_number("rounds", rounds)
    max_rounds = whole_number("max_rounds", max_rounds, rounds)
    if not contenders:
        raise ValueError("no contenders to time: pass a dict of name: function returning a BenchmarkResult")
    names = list(contenders)
    measured: dict[str, list[BenchmarkResult]] = {name: [] for name in names}
    for i in range(max_rounds):
        wanted = names if i < rounds else [n for n in names if combine_rounds(measured[n]).noisy]
        if not wanted:
            break
        shift = i % len(wanted)
        for name in wanted[shift:] + wanted[:shift]:
            result = contenders[name]()
            if not isinstance(result, BenchmarkResult):
                raise TypeError(f"contender {name!r} returned {type(result).__name__}, not a BenchmarkResult")
            measured[name].append(result)
    return {name: combine_rounds(measured[name]) for name in names}


# --- describing a result: where it ran, the peak there, versions ------------------------------------------------

def device_fields(device: Any, dtype: str | None = None, precision: str | None = None,
                  workload: str | None = None) -> dict[str, Any]:
    """A result's device fields for a device given (a name, a ``hardware.Chip``, a ``runtime.Device``): its name,
    kind and the peak of the number format ``dtype`` ran in there (``bench.peaks``: TF32 for a default float32
    product on a recent GPU, none for float32 on a TPU). Pass the dtype: without it the chip's headline peak is
    taken, and the result says so."""
    how = {"dtype": dtype, "precision": precision, "workload": workload}
    if isinstance(device, hardware.Chip):
        return _peak(device.name, device.kind, device, per_device=False, **how)
    if isinstance(device, Device):
        return _named(device.name, device.platform, **how)
    if isinstance(device, str):
        if device.lower() in ("cpu", "host"):
            return _named(host_cpu_name(), "cpu", **how)
        chip = hardware.match(device)
        return _named(device, chip.kind if chip else None, **how)
    raise TypeError(f"device must be a name, a hardware.Chip or a runtime.Device, not {type(device).__name__}")


def _where(device: Any, **how: Any) -> dict[str, Any]:
    """``device_fields`` under its older name."""
    return device_fields(device, **how)


def _named(name: str, kind: str | None, **how: Any) -> dict[str, Any]:
    """A device by name and kind, with the peak of its chip (a CPU's estimated from this machine)."""
    return _peak(name, kind, _cpu_chip() if kind == "cpu" else hardware.match(name), **how)


def _peak(name: str, kind: str | None, chip: hardware.Chip | None, per_device: bool = True,
          **how: Any) -> dict[str, Any]:
    """The result's device fields: name, kind and, where the chip is known, its peaks (per device, or the chip's)."""
    return {"device": name, "device_kind": kind, **peaks.peak_fields(chip, per_device=per_device, **how)}


def _info_fields(info: Mapping[str, Any] | None) -> dict[str, Any]:
    """``info`` as result fields: the record's own fields as they are, everything else into ``params``."""
    known = {f.name for f in fields(BenchmarkResult)}
    extra = {k: v for k, v in (info or {}).items() if k in known}
    params = {k: v for k, v in (info or {}).items() if k not in known}
    if params:
        extra["params"] = {**extra.get("params", {}), **params}
    return extra


def _context(framework: str, extra: dict[str, Any], source: str) -> dict[str, Any]:
    """The framework and its versions, the date, the package, environment and host, and the source; values in
    ``extra`` (taken out of it) win."""
    return {
        "framework": extra.pop("framework", framework if framework != runtime.PYTHON else None),
        "framework_version": extra.pop("framework_version", _framework_version(framework)),
        "versions": extra.pop("versions", _versions(framework)),
        "source": extra.pop("source", source),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "package_version": _package_version(), "environment": runtime.environment(), "host": _host(),
    }


@functools.lru_cache(maxsize=1)
def _cpu_chip() -> hardware.Chip:
    """This machine's CPU as a chip with an estimated peak (read once: /proc/cpuinfo does not change)."""
    return hardware.cpu_estimate()


def _framework_version(framework: str | None) -> str | None:
    """The version of the framework as imported (it was, to make the result)."""
    module = sys.modules.get(framework or "")
    return getattr(module, "__version__", None)


def _versions(framework: str | None) -> dict[str, str]:
    """Python's version and those of NumPy, the framework and Keras where imported."""
    found = {"python": platform.python_version()}
    for name in ("numpy", framework, "keras"):
        module = sys.modules.get(name or "")
        if module is not None and getattr(module, "__version__", None):
            found[name] = module.__version__
    return found


def _package_version() -> str:
    import tpu_lecture

    return tpu_lecture.__version__


@functools.lru_cache(maxsize=1)
def _host() -> str:
    """The host as results name it: machine, CPUs and CPU model."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {host_cpu_name()}"


# --- a training run as a result ---------------------------------------------------------------------------------

def result_from_training(
    report: Any,
    *,
    name: str,
    workload: str,
    per_epoch: int | None = None,
    flops_per_sample: float | None = None,
    device: Any = None,
    framework: str | None = None,
    detected: runtime.Runtime | None = None,
    params: Mapping[str, Any] | None = None,
    source: str = "measured by tpu_lecture.models.train()",
    note: str | None = None,
) -> BenchmarkResult:
    """A result record of a training run (a ``models.TrainingReport``), to save and compare like any other.

    Its time is one epoch at the speed of the epochs after the compiling first; ``per_epoch`` scales it to an
    epoch of that many samples (e.g. CIFAR-10's 50,000; the time is then marked derived and extrapolated). The
    device is the runtime's accelerator (``detected``, from ``runtime.detect()`` when None) unless ``device`` names
    one; the framework is the Keras backend in force. ``flops_per_sample`` (e.g. ``count.training_flops_per_sample``,
    the exact count) adds FLOP/s.
    """
    rate = report.samples_per_second
    if rate is None:
        raise ValueError(f"the report has {report.epochs} epoch(s): train at least 2, the first compiles and the "
                         "speed comes from the others")
    samples = report.samples_per_epoch if per_epoch is None else whole_number("per_epoch", per_epoch)
    scaled = samples != report.samples_per_epoch
    framework = framework or runtime.keras_backend()[0]
    if device is None:
        found = detected or runtime.detect()
        where = _named(found.accelerator_name, found.accelerator)
    else:
        where = _where(device)
    per_sample = None if flops_per_sample is None else positive("flops_per_sample", flops_per_sample)
    measured = {"samples_per_epoch": report.samples_per_epoch, "epoch_seconds": list(report.epoch_seconds),
                "keras_backend": framework}
    return BenchmarkResult(
        name=name, median=samples / rate, samples=() if scaled else tuple(report.epoch_seconds[1:]),
        first_call=report.first_epoch_seconds, items=samples * report.items_per_sample, item_unit=report.unit,
        flops=None if per_sample is None else per_sample * samples, workload=workload,
        derived=("median",) if scaled else (), extrapolated=scaled, params={**measured, **(params or {})}, note=note,
        **where, **_context(framework, {}, source),
    )
