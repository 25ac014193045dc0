"""Benchmark #1: element-wise add and matrix multiply across sizes, dtypes, frameworks and devices.

What one call does (its FLOPs and bytes), the workloads (inputs built on the chosen device, optionally timing
the host-to-device copy too), timed by :func:`tpu_lecture.bench.harness.benchmark`, and :func:`sweep`, which
runs them all with a progress bar. Frameworks are reached through :mod:`tpu_lecture.runtime`'s adapters.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tpu_lecture import macs
from tpu_lecture.bench.harness import benchmark, combine_rounds
from tpu_lecture.bench.record import BenchmarkResult
from tpu_lecture.checks import one_of, whole_number
from tpu_lecture.runtime import runtime
from tpu_lecture.runtime.machine import Device

WORKLOADS = ("add", "matmul", "triad", "chain")
BENCHMARK_ONE = ("add", "matmul")  # what a sweep runs unless told otherwise; triad and chain show fusion
ELEMENTWISE_FLOPS = {"add": 1, "triad": 2, "chain": 6}  # FLOPs per element; each reads x and y and writes once
BYTES_PER_ELEMENT = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


# --- what one call of a workload does ---------------------------------------------------------------------

def workload_counts(workload: str, shape: Sequence[int], dtype: str) -> tuple[int, int]:
    """(FLOPs, bytes moved) of one call: add reads two n x n arrays and writes one, one FLOP per element; triad
    x + 3y and chain ((3x + y)·2 + x)·5 + y move the same, 2 and 6 FLOPs per element (STREAM's count: one pass that
    keeps no temporary array in memory); matmul M x K @ K x N does M*K*N MACs = 2*M*K*N FLOPs and at least
    reads A, B and writes C."""
    size = itemsize(dtype)
    if one_of("workload", workload, WORKLOADS) in ELEMENTWISE_FLOPS:
        rows, cols = shape
        return rows * cols * ELEMENTWISE_FLOPS[workload], 3 * rows * cols * size
    m, k, n = shape
    return macs.macs_to_flops(macs.matmul_macs(m, k, n)), (m * k + k * n + m * n) * size


def itemsize(dtype: str) -> int:
    """Bytes per element of a dtype named by the benchmarks (float32 → 4, bfloat16 → 2, …)."""
    return BYTES_PER_ELEMENT[one_of("dtype", dtype, BYTES_PER_ELEMENT)]


# --- the workloads -------------------------------------------------------

@dataclass
class Workload:
    """A function and its prepared arguments on one device, with the FLOPs and bytes of one call."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    framework: str
    device: Device
    info: dict[str, Any]

    def run(self, **kwargs: Any) -> BenchmarkResult:
        """Time it with ``benchmark()`` (its keyword arguments pass through)."""
        flops, bytes_moved = workload_counts(self.info["workload"], self.info["shape"], self.info["dtype"])
        return benchmark(self.fn, *self.args, name=self.name, flops=flops, bytes=bytes_moved,
                         framework=self.framework, device=self.device, info=self.info, **kwargs)

    def __repr__(self) -> str:
        return f"Workload({self.name!r} on {self.device.id}, {self.framework})"


def host_arrays(n: int, dtype: str, seed: int = 0) -> tuple[Any, Any]:
    """Two seeded random n x n host (NumPy) arrays of ``dtype`` (bfloat16 through ml_dtypes)."""
    import numpy as np

    whole_number("size", n)
    itemsize(dtype)
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    if dtype == "bfloat16":
        import ml_dtypes

        return a.astype(ml_dtypes.bfloat16), b.astype(ml_dtypes.bfloat16)
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False)


def available_devices(framework: str) -> list[Device]:
    """The devices a framework can place work on (NumPy: the host CPU only); [] when it is not installed."""
    return list(runtime.framework(framework).devices)


def find_device(framework: str, device: str | Device | None = None) -> Device:
    """The device of ``framework`` named by ``device``: None (its accelerator, else the CPU), 'gpu', 'tpu:0',
    '/device:GPU:0' or a ``Device``. Raises ValueError naming the devices there are."""
    found = available_devices(framework)
    if not found:
        raise ValueError(f"{framework} is not installed here, or sees no device: install it or pick another "
                         "framework")
    if isinstance(device, Device):
        if device in found:
            return device
        device = device.id
    if device is None:
        return next(d for p in ("tpu", "gpu", "cpu") for d in found if d.platform == p)
    if not isinstance(device, str):
        raise TypeError(f"device must be a name such as 'gpu:0' or a runtime.Device, not {type(device).__name__}")
    wanted = device.lower().replace("/physical_device:", "").replace("/device:", "").strip()
    for d in found:
        label = d.id.lower().replace("/device:", "")
        if wanted in (label, d.platform) or (":" not in wanted and label.startswith(wanted + ":")):
            return d
    adapter = runtime.adapter(framework)
    if adapter.HOST_ONLY:
        raise ValueError(f"{adapter.TITLE} runs only on the host CPU, not on {device!r}: use framework="
                         f"{_accelerator_frameworks()} for an accelerator")
    names = ", ".join(d.id for d in found)
    raise ValueError(f"{framework} has no device {device!r}; its devices here are: {names}")


def _accelerator_frameworks() -> str:
    """The frameworks that can run on an accelerator, for error messages: "'tensorflow' or 'jax'"."""
    return " or ".join(repr(name) for name in runtime.NAMES if not runtime.adapter(name).HOST_ONLY)


def triad_workload(n: int, dtype: str = "float32", framework: str = "numpy", device: Any = None,
                   include_transfer: bool = False, seed: int = 0) -> Workload:
    """STREAM's triad x + 3y of two n x n matrices: one pass over memory where the framework fuses it (XLA), two
    passes and a temporary array where it runs operation by operation (NumPy, eager TensorFlow)."""
    return _workload("triad", n, dtype, framework, device, include_transfer, seed)


def chain_workload(n: int, dtype: str = "float32", framework: str = "numpy", device: Any = None,
                   include_transfer: bool = False, seed: int = 0) -> Workload:
    """Six element-wise operations, ((3x + y)·2 + x)·5 + y, on two n x n matrices: six passes over memory where the
    framework runs one operation at a time, one where it fuses them (XLA)."""
    return _workload("chain", n, dtype, framework, device, include_transfer, seed)


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
    """A workload checked, its inputs made (or ``hosts`` reused) and placed by the framework's adapter."""
    one_of("workload", workload, WORKLOADS)
    whole_number("size", n)
    itemsize(dtype)
    adapter = runtime.adapter(framework)
    if adapter.HOST_ONLY and include_transfer:
        raise ValueError(f"{adapter.TITLE} works in host memory: there is no host-to-device copy to include; "
                         f"use framework={_accelerator_frameworks()}")
    place = find_device(framework, device)
    a, b = hosts if hosts is not None else host_arrays(n, dtype, seed)
    fn, args = _on_device(adapter, workload, a, b, place, include_transfer)
    shape = (n, n, n) if workload == "matmul" else (n, n)
    name = f"{workload} {'x'.join(map(str, shape))} {dtype}" + (" + copy" if include_transfer else "")
    info = {"workload": workload, "shape": shape, "size": n, "dtype": dtype, "includes_transfer": include_transfer,
            "precision": adapter.matmul_precision() if workload == "matmul" else None}
    return Workload(name, fn, args, framework, place, info)


def _on_device(adapter: Any, workload: str, a: Any, b: Any, device: Device,
               include_transfer: bool) -> tuple[Callable[..., Any], tuple[Any, Any]]:
    """The framework's kernel and its arguments: inputs copied to ``device`` once, or inside every call."""
    kernel = adapter.kernel(workload, device)
    if not include_transfer:
        return kernel, (adapter.place(a, device), adapter.place(b, device))

    def with_copy(x: Any, y: Any) -> Any:
        return kernel(adapter.place(x, device), adapter.place(y, device))

    return with_copy, (a, b)


def default_sizes(workload: str, device_kind: str, accelerator_here: bool, quick: bool = False) -> tuple[int, ...]:
    """Sizes for the sweep: small on a CPU-only machine; the lecture's large sizes where there is an accelerator
    (the host CPU then runs the same sizes, except the largest matmul)."""
    one_of("workload", workload, WORKLOADS)
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
    workloads: Sequence[str] = BENCHMARK_ONE,
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
    rounds: int = 1,
    max_rounds: int | None = None,
    **bench_kwargs: Any,
) -> SweepResults:
    """Benchmark #1: every workload x size x dtype on every framework and device found.

    ``frameworks`` defaults to all of NumPy, TensorFlow, JAX that are installed; ``devices`` (e.g. ``["gpu"]``)
    limits the devices, else each framework runs on one device of each kind it sees. ``include_transfer``
    adds variants that time the host-to-device copy. What cannot run (a framework not installed, a size
    that does not fit in memory or would take minutes a call) is listed in the result's ``skipped`` and the
    rest runs. ``rounds`` > 1 runs the whole plan that many times, interleaving every case with the others, and
    keeps each case's quietest round (``harness.combine_rounds``); cases still NOISY are run again, up to
    ``max_rounds`` (twice ``rounds`` by default; with one round, none).
    """
    for w in workloads:
        one_of("workload", w, WORKLOADS)
    for d in dtypes:
        itemsize(d)
    chosen = [one_of("framework", f, runtime.NAMES) for f in (runtime.NAMES if frameworks is None else frameworks)]
    if isinstance(sizes, Mapping):
        sizes = {w: tuple(whole_number("size", n) for n in sizes[w]) for w in sizes}
    elif sizes is not None:
        sizes = tuple(whole_number("size", n) for n in sizes)
    rounds = whole_number("rounds", rounds)
    default_max = rounds if rounds == 1 else 2 * rounds  # one round: one series per case, as the harness takes it
    max_rounds = whole_number("max_rounds", default_max if max_rounds is None else max_rounds, rounds)
    quick_settings = {"warmup": 1, "target_time": 0.05, "min_repeat": 3, "max_repeat": 200}
    bench_kwargs = {"sync": sync, **(quick_settings if quick else {}), **bench_kwargs}

    targets, skipped = _targets(chosen, devices)
    plan, too_big = _fitting(_plan(targets, workloads, sizes, dtypes, include_transfer, quick))
    skipped += too_big
    bar = Progress(len(plan) * rounds, stream=stream, enabled=progress)
    results = _rounds(plan, bar, skipped, seed, bench_kwargs, rounds, max_rounds)
    order = {name: i for i, name in enumerate(runtime.NAMES)}
    results.sort(key=lambda r: (list(workloads).index(r.workload), list(dtypes).index(r.dtype), r.size,
                                r.includes_transfer, order.get(r.framework, 99), r.device_kind or ""))
    return SweepResults(results, skipped)


def _rounds(plan: list[tuple], bar: Progress, skipped: list[str], seed: int, bench_kwargs: dict[str, Any],
            rounds: int, max_rounds: int) -> list[BenchmarkResult]:
    """Every case of the plan, size by size: the cases of one size and dtype (the ones compared with each other)
    prepared once, then timed in ``rounds`` interleaved rounds (more, up to ``max_rounds``, for noisy ones) and
    combined per case. A case that fails is added to ``skipped`` and the rest runs."""
    results: list[BenchmarkResult] = []
    try:
        for _, group in itertools.groupby(plan, key=lambda case: case[:2]):
            prepared = _prepare(list(group), seed, skipped)
            measured: dict[tuple, list[BenchmarkResult]] = {case: [] for case in prepared}
            for i in range(max_rounds):
                cases = list(prepared) if i < rounds else [c for c in prepared if combine_rounds(measured[c]).noisy]
                if i >= rounds:
                    bar.total += len(cases)
                for case in cases[i % len(cases):] + cases[:i % len(cases)] if cases else []:
                    _measure(case, prepared, measured, bar, skipped, bench_kwargs)
            results += [combine_rounds(found) for found in measured.values() if found]
            prepared.clear()
    finally:
        bar.close()
    return results


def _prepare(group: list[tuple], seed: int, skipped: list[str]) -> dict[tuple, Workload]:
    """The workloads of cases of one size and dtype, from one pair of host arrays; a case that cannot be
    prepared (its device lacks the memory, say) goes to ``skipped``."""
    n, dtype = group[0][:2]
    hosts = host_arrays(n, dtype, seed)
    prepared = {}
    for case in group:
        try:
            prepared[case] = _workload(case[2], n, dtype, case[3], case[4], case[5], seed, hosts=hosts)
        except Exception as error:  # out of memory, an op the device lacks: report it, run the rest
            skipped.append(_failed(case, error))
    return prepared


def _measure(case: tuple, prepared: dict[tuple, Workload], measured: dict[tuple, list[BenchmarkResult]],
             bar: Progress, skipped: list[str], bench_kwargs: dict[str, Any]) -> None:
    """One timing of one case, added to its rounds; a case that fails is dropped and reported."""
    if case not in prepared:
        return
    n, dtype, w, f, d, _ = case
    bar.step(f"{w} {n} {dtype} {f} {d.id}")
    try:
        measured[case].append(prepared[case].run(**bench_kwargs))
    except Exception as error:
        skipped.append(_failed(case, error))
        del prepared[case]
        measured[case].clear()


def _failed(case: tuple, error: Exception) -> str:
    """Why a case did not run, in one line."""
    n, dtype, w, f, d, transfer = case
    first = str(error).splitlines()[0] if str(error) else ""
    return f"{w} {n} {dtype}{' + copy' if transfer else ''} on {f} {d.id}: {type(error).__name__}: {first}"


# --- cases too big for this machine -----------------------------------------------------------------------

MAX_SECONDS_PER_CALL = 60.0  # a sweep's case that would take longer a call on a CPU is skipped, not run


def _fitting(plan: list[tuple]) -> tuple[list[tuple], list[str]]:
    """The cases of the plan that fit: host memory for their arrays, and (on a CPU) under a minute a call at
    the CPU's estimated peak; and why the others were left out, with the numbers."""
    free = _free_memory()
    fitting, too_big = [], []
    for case in plan:
        n, dtype, w, f, d, transfer = case
        needed = 2 * n * n * (4 + itemsize(dtype)) + n * n * itemsize(dtype)  # float32 draws, inputs, output
        label = f"{w} {n} {dtype}{' + copy' if transfer else ''} on {f} {d.id}"
        seconds = _cpu_seconds(w, n, dtype) if d.platform == "cpu" else 0.0
        if free is not None and needed > 0.8 * free:
            too_big.append(f"{label}: needs about {needed / 1e9:.3g} GB of host memory and {free / 1e9:.3g} GB "
                           "is free: choose a smaller size")
        elif seconds > MAX_SECONDS_PER_CALL:
            too_big.append(f"{label}: one call would take at least {seconds / 60:.3g} minutes on this CPU "
                           "(at its estimated peak): choose a smaller size")
        else:
            fitting.append(case)
    return fitting, too_big


def _cpu_seconds(workload: str, n: int, dtype: str) -> float:
    """The least time one call can take on this CPU: its FLOPs at the CPU's estimated float32 peak."""
    from tpu_lecture import hardware

    flops, _ = workload_counts(workload, (n, n, n) if workload == "matmul" else (n, n), dtype)
    return flops / hardware.cpu_estimate().peak_flops


def _free_memory() -> float | None:
    """Bytes of host memory available now (Linux: MemAvailable), None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _targets(frameworks: Sequence[str], wanted: Sequence[Any] | None) -> tuple[list[tuple[str, Device]], list[str]]:
    """(framework, device) pairs to run on, and why a framework has none."""
    targets: list[tuple[str, Device]] = []
    skipped: list[str] = []
    for f in frameworks:
        found = available_devices(f)
        if not found:
            view = runtime.framework(f)
            skipped.append(f"{f}: " + ("not installed" if not view.installed else f"no devices ({view.error})"))
            continue
        if wanted is not None:
            picked = []
            for name in wanted:
                with contextlib.suppress(ValueError):
                    picked.append(find_device(f, name))
            if not picked:
                skipped.append(f"{f}: none of the devices {list(wanted)} is here")
        else:
            picked = [next(d for d in found if d.platform == p) for p in ("tpu", "gpu", "cpu")
                      if any(d.platform == p for d in found)]
        targets += [(f, d) for d in dict.fromkeys(picked)]
    return targets, skipped


def _plan(targets: list[tuple[str, Device]], workloads: Sequence[str], sizes: Any, dtypes: Sequence[str],
          include_transfer: bool, quick: bool) -> list[tuple]:
    """Every (n, dtype, workload, framework, device, transfer) to run, by size so host arrays are made once."""
    accelerator_here = any(d.platform != "cpu" for _, d in targets)
    plan = []
    for f, d in targets:
        copies = [False] + ([True] if include_transfer and not runtime.adapter(f).HOST_ONLY else [])
        for w in workloads:
            ns = sizes.get(w) if isinstance(sizes, Mapping) else sizes
            for n in ns or default_sizes(w, d.platform, accelerator_here, quick):
                plan += [(n, dtype, w, f, d, t) for dtype in dtypes for t in copies]
    plan.sort(key=lambda p: (p[0], p[1]))
    return plan
