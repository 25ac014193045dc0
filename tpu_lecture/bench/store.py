"""Where results are kept: JSON-lines files, one result a line, and the reference results shipped with the
package. Loading upgrades older or terser records (``upgrade``) before they become ``BenchmarkResult``s.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tpu_lecture import hardware
from tpu_lecture.bench import matrix_ops
from tpu_lecture.bench.record import BenchmarkResult

REFERENCE_FILES = ("h200_2026-11-26.jsonl",)


# --- upgrading a stored record ---------------------------------------------------------------------------------

def upgrade(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record brought up to the current schema: FLOPs and bytes of benchmark #1's workloads computed
    from their shape, a missing median derived from a reported rate (and marked derived), the peak looked up
    from the chip's name."""
    if not isinstance(record, Mapping):
        raise ValueError(f"a result record must be a JSON object, not {type(record).__name__}")
    data = dict(record)
    _add_workload_counts(data)
    if data.get("median") is None:
        data["median"] = _median_from_reported(data)
        data["derived"] = [*(data.get("derived") or ()), "median"]
    _add_peak(data)
    return data


def _add_workload_counts(data: dict[str, Any]) -> None:
    """FLOPs and bytes of an add or matmul record that states neither, from its shape and dtype."""
    countable = (data.get("workload") in matrix_ops.WORKLOADS and data.get("shape")
                 and data.get("dtype") in matrix_ops.BYTES_PER_ELEMENT)
    if countable and data.get("flops") is None and data.get("bytes_moved") is None:
        data["flops"], data["bytes_moved"] = matrix_ops.workload_counts(data["workload"], tuple(data["shape"]),
                                                                        data["dtype"])


def _median_from_reported(data: Mapping[str, Any]) -> float:
    """Seconds per call from a reported rate and the amount of work it counts (FLOPs, items or bytes)."""
    reported = data.get("reported") or {}
    for rate, work in (("flops_per_s", "flops"), ("items_per_s", "items"), ("bytes_per_s", "bytes_moved")):
        if reported.get(rate) and data.get(work):
            return data[work] / reported[rate]
    raise ValueError("the record has no 'median' and no reported rate (flops_per_s, items_per_s, bytes_per_s) "
                     "with the matching amount of work to derive it from")


def _add_peak(data: dict[str, Any]) -> None:
    """The peaks of the chip a record names, where it states none."""
    chip = hardware.match(data["chip"]) if data.get("peak_flops") is None and data.get("chip") else None
    if chip is not None:
        data.update(peak_flops=chip.peak_flops_per_device, peak_dtype=chip.peak_dtype,
                    peak_bandwidth=chip.memory_bandwidth)


# --- JSON-lines files -------------------------------------------------------------------------------------------

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
                results.append(BenchmarkResult.from_dict(upgrade(json.loads(line.decode("utf-8")))))
            except (ValueError, TypeError, KeyError) as error:
                warnings.warn(f"{path}:{number}: skipped a corrupt results line ({error})", stacklevel=2)
    return results


# --- the reference results shipped with the package --------------------------------------------------------------

def reference_files() -> list[Path]:
    """The JSON-lines files of the reference results, inside the installed package."""
    folder = Path(__file__).resolve().parent / "reference"
    return [folder / name for name in REFERENCE_FILES]


def reference_results() -> list[BenchmarkResult]:
    """The reference results shipped with the package: measured on one NVIDIA H200 (see FACTS.md), no TPU."""
    return load_results(reference_files())
