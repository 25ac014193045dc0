"""This runtime's own roofs, measured: the bytes/s its memory delivers and the FLOP/s its matrix products reach.

A roofline drawn from a datasheet says what a chip could do; benchmark #1 asks what *this* runtime does. Its memory
roof is measured as the STREAM benchmark measures one (McCalpin's copy and add kernels, every byte read plus every
byte written counted, arrays far bigger than the caches): on the host with NumPy split over every core (NumPy
computes on one thread), on an accelerator with the framework's own add and fused triad in device memory. Its
compute roof is the rate of a large matrix product. ``measured_chip`` turns the two into a ``hardware.Chip``, so the
benchmark's points land on roofs of this runtime, not of a table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench import matrix_ops, peaks
from tpu_lecture.bench.harness import benchmark, interleave
from tpu_lecture.bench.record import BenchmarkResult, format_rate
from tpu_lecture.checks import positive, whole_number
from tpu_lecture.runtime import runtime
from tpu_lecture.runtime.machine import cores

STREAM = "McCalpin's STREAM benchmark (copy and add kernels; bytes read plus bytes written per second)"
BIG_ARRAYS = 512  # MiB per array from which the host's roof times STREAM's copy alone (each add call moves 1.5x)
CACHE_FACTOR = 4  # STREAM's rule: the arrays a kernel touches hold at least 4x the last-level cache
FALLBACK_CACHE = 64 * 2**20  # assumed where the machine does not report its caches: a large server CPU's L3
_CACHES = "/sys/devices/system/cpu/cpu0/cache"


def last_level_cache(root: str = _CACHES) -> tuple[int, str]:
    """(bytes, where the figure came from) of the host's last-level cache, read from Linux's sysfs (the highest
    ``index*/level`` and its ``size``); where sysfs does not say, ``FALLBACK_CACHE`` and the words 'assumed'."""
    from pathlib import Path

    found = []
    for index in Path(root).glob("index*"):
        try:
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            found.append((level, int(digits) * scale))
    if not found:
        return FALLBACK_CACHE, f"assumed {FALLBACK_CACHE // 2**20} MiB: {root} does not report the caches"
    level, size = max(found)
    return size, f"L{level} of {size // 2**20} MiB, read from {root}"


def stream_megabytes(cache_bytes: int | None = None, arrays: int = 2) -> float:
    """MiB per array so that a kernel over ``arrays`` arrays (copy: 2) touches ``CACHE_FACTOR`` x the last-level
    cache: a roof of the memory, not of the cache."""
    cache = last_level_cache()[0] if cache_bytes is None else cache_bytes
    return max(16.0, CACHE_FACTOR * cache / arrays / 2**20)


@contextlib.contextmanager
def _stream_kernels(elements: int, threads: int,
                    use: Sequence[str] = ("copy", "add")) -> Iterator[dict[str, tuple[Callable[[], None], int]]]:
    """STREAM's copy c = a and add c = a + b over float32 arrays split into one slice per thread, each kernel
    with the bytes one call moves; outputs are written in place (no array is allocated while timed)."""
    import numpy as np

    a, c = np.ones(elements, np.float32), np.zeros(elements, np.float32)
    b = np.full(elements, 2.0, np.float32) if "add" in use else a
    bounds = np.linspace(0, elements, threads + 1).astype(int)
    slices = [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]
    with ThreadPoolExecutor(threads) as pool:
        def copy() -> None:
            list(pool.map(lambda s: np.copyto(c[s], a[s]), slices))

        def add() -> None:
            list(pool.map(lambda s: np.add(a[s], b[s], out=c[s]), slices))

        kernels = {"copy": (copy, 2 * a.nbytes), "add": (add, 3 * a.nbytes)}
        yield {kind: kernels[kind] for kind in use}


def memory_roof(framework: str = "numpy", device: Any = None, megabytes: float | None = None,
                threads: int | None = None, rounds: int = 3, target_time: float = 0.2) -> BenchmarkResult:
    """The memory roof: the best bytes/s of STREAM's kernels over arrays of ``megabytes`` each, in interleaved
    rounds (``harness.interleave``). NumPy runs them on the host split over ``threads`` (every core by default);
    JAX and TensorFlow run their add and triad (x + 3y, fused by XLA) on ``device``. ``megabytes=None`` sizes the
    arrays from the host's last-level cache (``stream_megabytes``); ``params`` says the cache and its source."""
    cache, cache_source = last_level_cache()
    megabytes = stream_megabytes(cache) if megabytes is None else positive("megabytes", megabytes)
    elements = int(megabytes * 2**20 / 4)
    if runtime.adapter(framework).HOST_ONLY:
        threads = cores() if threads is None else whole_number("threads", threads)
        use = ("copy",) if megabytes >= BIG_ARRAYS else ("copy", "add")  # big arrays: copy alone, as quick
        with _stream_kernels(elements, threads, use) as kernels:
            found = interleave({kind: _timed(fn, moved, kind, f"memory roof: STREAM {kind}, {threads} threads, "
                                             f"{megabytes:g} MiB arrays", target_time)
                                for kind, (fn, moved) in kernels.items()}, rounds=rounds)
    else:
        n = max(1, int(elements**0.5))
        work = {kind: getattr(matrix_ops, f"{kind}_workload")(n, framework=framework, device=device)
                for kind in ("add", "triad")}
        found = interleave({kind: _run(w, target_time, f"memory roof: {framework} {kind}, {n}x{n} float32")
                            for kind, w in work.items()}, rounds=rounds)
    best = max(found.values(), key=lambda r: r.bytes_per_s)
    best.params.update(kernels={kind: r.bytes_per_s for kind, r in found.items()}, megabytes=megabytes,
                       last_level_cache=cache, cache_source=cache_source,
                       times_the_cache=round(2 * megabytes * 2**20 / cache, 2))
    best.source = f"measured by tpu_lecture.bench.roofs.memory_roof, after {STREAM}"
    return best


def _timed(fn: Callable[[], None], moved: int, kind: str, name: str,
           target_time: float) -> Callable[[], BenchmarkResult]:
    """A STREAM kernel as a contender of ``interleave``: one measurement per call."""
    return lambda: benchmark(fn, name=name, bytes=moved, framework="numpy", device="cpu", target_time=target_time,
                             warmup=1, min_repeat=3, info={"workload": kind, "dtype": "float32"})


def _run(work: matrix_ops.Workload, target_time: float, name: str) -> Callable[[], BenchmarkResult]:
    """A workload as a contender of ``interleave``, its result named for the roof it measures."""
    def timed() -> BenchmarkResult:
        result = work.run(target_time=target_time)
        result.name = name
        return result

    return timed


def compute_roof(framework: str | Sequence[str] = "numpy", device: Any = None, n: int = 1024,
                 dtype: str = "float32", rounds: int = 3, target_time: float = 0.2) -> BenchmarkResult:
    """The compute roof: the FLOP/s of an n x n x n product in ``dtype``, the best of interleaved rounds and, where
    several frameworks are given, the fastest of them (the roof of the runtime is what its best kernel reaches;
    ``params["candidates"]`` keeps each one's rate). Choose n large enough that the rate stops growing with n
    (1024 on a laptop CPU, 8192 on a GPU or TPU)."""
    names = [framework] if isinstance(framework, str) else list(framework)
    if not names:
        raise ValueError("compute_roof needs at least one framework, e.g. 'numpy'")
    work = {f: matrix_ops.matmul_workload(n, dtype, framework=f, device=device) for f in names}
    found = interleave({f: _run(w, target_time, f"compute roof: {f} matmul {n}³ {dtype}") for f, w in work.items()},
                       rounds=rounds)
    best = max(found.values(), key=lambda r: r.flops_per_s)
    best.params["candidates"] = {f: r.flops_per_s for f, r in found.items()}
    best.source = "measured by tpu_lecture.bench.roofs.compute_roof: the rate of a large matrix product"
    return best


def measured_chip(memory: BenchmarkResult, compute: BenchmarkResult | Sequence[BenchmarkResult],
                  name: str | None = None) -> hardware.Chip:
    """A ``hardware.Chip`` whose roofs are the measured ones: the memory roof's bytes/s and each compute roof's
    FLOP/s in the number format it ran in (the first is the headline)."""
    computes = [compute] if isinstance(compute, BenchmarkResult) else list(compute)
    if memory.bytes_per_s is None or not computes or any(c.flops_per_s is None for c in computes):
        raise ValueError("measured_chip needs a memory roof with bytes (memory_roof()) and compute roofs with "
                         "FLOPs (compute_roof())")
    peaks = [(c.peak_dtype or c.dtype or "float32", c.flops_per_s) for c in computes]
    source = (f"measured here: memory {format_rate(memory.bytes_per_s, 'B/s')} ({memory.name}); "
              + "; ".join(f"{fmt} {format_rate(rate, 'FLOP/s')} ({c.name})" for (fmt, rate), c in zip(peaks, computes)))
    kind = memory.device_kind or "cpu"
    return hardware.Chip(name or f"{memory.device or kind} (measured)", kind, peak_flops=peaks[0][1],
                         peak_dtype=peaks[0][0], memory_bandwidth=memory.bytes_per_s, source=source,
                         other_peaks=tuple(peaks[1:]), notes=f"measured on {memory.date or 'this runtime'}")


@dataclass
class Roofs:
    """This runtime's measured memory roof and compute roofs, and the chip they make."""

    memory: BenchmarkResult
    compute: list[BenchmarkResult]

    @property
    def chip(self) -> hardware.Chip:
        return measured_chip(self.memory, self.compute)

    def raised_by(self, results: Sequence[BenchmarkResult]) -> Roofs:
        """The roofs as the best rates measured on this device: a memory roof beaten by an element-wise result
        on arrays at least as large (a kernel with non-temporal stores skips reading a line before writing it),
        or a compute roof beaten by a product of its dtype at least as large, is raised to that result. A roof is a
        ceiling: no measurement of this runtime may lie above it."""
        size = (self.memory.params.get("megabytes") or 0) * 2**20
        memory = max([self.memory, *(r for r in results if r.workload in peaks.ELEMENTWISE and r.bytes_per_s
                                     and r.synchronized and not r.includes_transfer and r.size
                                     and r.size**2 * matrix_ops.itemsize(r.dtype or "float32") >= size)],
                     key=lambda r: r.bytes_per_s)
        compute = [max([c, *(r for r in results if r.workload == "matmul" and r.dtype == c.dtype and r.synchronized
                             and not r.includes_transfer and (r.size or 0) >= (c.size or 0))],
                       key=lambda r: r.flops_per_s) for c in self.compute]
        return Roofs(memory, compute)

    def __repr__(self) -> str:
        rates = ", ".join(f"{c.peak_dtype or c.dtype} {format_rate(c.flops_per_s, 'FLOP/s')}" for c in self.compute)
        return (f"Roofs(memory {format_rate(self.memory.bytes_per_s, 'B/s')}, compute {rates}, "
                f"ridge {self.chip.ridge_point:.3g} FLOPs/byte)")


def measure(framework: str = "numpy", device: Any = None, n: int = 1024, dtypes: Sequence[str] = ("float32",),
            megabytes: float | None = None, rounds: int = 3, target_time: float = 0.2,
            compute_frameworks: Sequence[str] | None = None) -> Roofs:
    """This runtime's roofs on one device: ``memory_roof`` with ``framework``, and a ``compute_roof`` per dtype, the
    fastest of ``compute_frameworks`` (by default ``framework`` alone)."""
    memory = memory_roof(framework, device, megabytes=megabytes, rounds=rounds, target_time=target_time)
    computing = list(compute_frameworks) if compute_frameworks else [framework]
    compute = [compute_roof(computing, device, n=n, dtype=d, rounds=rounds, target_time=target_time) for d in dtypes]
    return Roofs(memory, compute)

