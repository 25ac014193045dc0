"""Benchmark #1: element-wise add and matrix multiply across sizes, dtypes, frameworks and devices.

Each workload builds its inputs on the chosen device (optionally timing the host-to-device copy too)
and is timed by :func:`tpu_lecture.bench.harness.benchmark`; :func:`sweep` runs them all with a progress bar.
Frameworks are imported only when a workload needs them.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tpu_lecture.bench.harness import FRAMEWORKS, benchmark
from tpu_lecture.bench.record import WORKLOADS, BenchmarkResult, itemsize, workload_counts

# --- the workloads -------------------------------------------------------

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
    itemsize(dtype)
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
    from tpu_lecture.runtime import runtime as devices

    if framework == "numpy":
        return ["cpu"]
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: use one of {', '.join(FRAMEWORKS)}")
    return list(devices.view(framework).devices)


def find_device(framework: str, device: Any = None) -> Any:
    """The device of ``framework`` named by ``device``: None (its accelerator, else the CPU), 'gpu', 'tpu:0',
    '/device:GPU:0' or a devices.Device. Raises ValueError naming the devices there are."""
    from tpu_lecture.runtime import runtime as devices

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
    itemsize(dtype)
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
        itemsize(d)
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
    from tpu_lecture.runtime import runtime as devices

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

