"""Where results are kept: JSON-lines files, one result a line, and the reference results shipped with the
package. Loading upgrades older or terser records (``upgrade``) before they become ``BenchmarkResult``s.
"""

from __future__ import annotations

import codecs
import functools
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tpu_lecture import files, hardware
from tpu_lecture.bench import matrix_ops, peaks, schema
from tpu_lecture.bench.record import BenchmarkResult, usable

REFERENCE_FILES = ("h200_2026-11-26.jsonl",)
REFERENCE_PROVENANCE = (
    "figures measured on one NVIDIA H200 (JAX 0.11.2, Keras 3.15.1 on the JAX backend, 16-core host) on 2026-11-26 "
    "by scripts outside this package, then written into its result records by hand (no repeat count, spread, sync "
    "method, driver version or form factor recorded; one value kept per case): not measured by "
    "tpu_lecture's own bench, which has not run on a GPU yet (benchmarks/accelerator_reference.py is the script "
    "that will replace them)"
)


# --- upgrading a stored record ---------------------------------------------------------------------------------

def upgrade(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record, checked against the schema, brought up to the current one: FLOPs and bytes of benchmark
    #1's workloads computed from their shape, a missing median derived from a reported rate (and marked
    derived), the peak looked up from the chip's name for the number format that ran (schema 1 stored the
    chip's headline peak whatever ran). Raises ``schema.RecordError`` (a ValueError) for a record that does not fit."""
    schema.validate(record)  # every field's kind, before anything is computed from it
    data = _upgraded(dict(record), schema.schema_version(record))
    data["derived"] = list(data.get("derived") or ())
    data["schema"] = schema.SCHEMA
    return data


def _upgraded(data: dict[str, Any], version: int) -> dict[str, Any]:
    """``upgrade``'s steps on a record whose fields have been checked."""
    _add_workload_counts(data)
    if data.get("median") is None:
        data["median"] = _median_from_reported(data)
        data["derived"] = (*(data.get("derived") or ()), "median")
    _update_peak(data, version)
    return data


def _add_workload_counts(data: dict[str, Any]) -> None:
    """FLOPs and bytes of an add or matmul record that states neither, from its shape and dtype."""
    countable = (data.get("workload") in matrix_ops.WORKLOADS and data.get("shape")
                 and data.get("dtype") in matrix_ops.BYTES_PER_ELEMENT)
    if countable and data.get("flops") is None and data.get("bytes_moved") is None:
        try:
            counts = matrix_ops.workload_counts(data["workload"], tuple(data["shape"]), data["dtype"])
        except ValueError as error:  # a shape of the wrong length for the workload
            raise schema.RecordError(f"shape {data['shape']} does not fit workload {data['workload']!r}") from error
        data["flops"], data["bytes_moved"] = counts


def _median_from_reported(data: Mapping[str, Any]) -> float:
    """Seconds per call from a reported rate and the amount of work it counts (FLOPs, items or bytes)."""
    reported = data.get("reported") or {}
    for rate, work in (("flops_per_s", "flops"), ("items_per_s", "items"), ("bytes_per_s", "bytes_moved")):
        if reported.get(rate) and data.get(work):
            return data[work] / reported[rate]
    raise schema.RecordError("the record has no 'median' and no reported rate (flops_per_s, items_per_s, "
                             "bytes_per_s) with the matching amount of work to derive it from")


def _update_peak(data: dict[str, Any], version: int) -> None:
    """The peak of the number format that ran, from the chip a record names, where it states none or where a
    schema-1 record stored the chip's headline peak; an old peak of another format than the record's is dropped."""
    chip = _chip(data["chip"]) if data.get("chip") and (version < 2 or data.get("peak_flops") is None) else None
    if chip is not None:
        data.update(peaks.peak_fields(chip, data.get("dtype"), data.get("precision"), data.get("workload")))
    elif version < 2 and data.get("peak_flops") is not None and data.get("dtype") not in (None, data.get("peak_dtype")):
        data.update(peak_flops=None, peak_note=f"the record compared a {data['dtype']} run with a "
                                               f"{data.get('peak_dtype')} peak; no {data['dtype']} peak is known")
        data["peak_dtype"] = None


@functools.lru_cache(maxsize=64)
def _chip(name: str) -> hardware.Chip | None:
    """The table's chip for a name a record gives (a semester of records names few chips: looked up once each)."""
    return hardware.match(name)


# --- JSON-lines files -------------------------------------------------------------------------------------------

def save_results(results: BenchmarkResult | Iterable[BenchmarkResult], path: str | os.PathLike) -> Path:
    """Append results to a JSON-lines file, one result a line, in one locked, appending write: two processes
    saving to the same file at once neither interleave nor lose lines. A file whose last line was cut short (a
    crash, a full disk, a hand edit) gets its newline first, so the new records never glue onto it."""
    if isinstance(results, BenchmarkResult):
        results = [results]
    lines = []
    for r in results:
        if not isinstance(r, BenchmarkResult):
            raise TypeError(f"save_results takes BenchmarkResult objects, not {type(r).__name__}")
        record = r.to_dict()
        try:
            line = json.dumps(record, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise TypeError(f"result {r.name!r} holds a value JSON cannot store ({error}): keep params and "
                            "reported to numbers, strings, lists and dicts") from error
        try:  # what is saved must load: the loader's schema, checked before anything is written
            schema.validate(record)
        except schema.RecordError as error:
            raise ValueError(f"result {r.name!r} would not load back ({error}): nothing was saved; fix that "
                             "field first") from None
        lines.append(line + "\n")
    path = Path(path)
    data = "".join(lines).encode("utf-8")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise files.explained(error, path, "cannot append results to") from None
    try:
        _lock(fd)
        if not _ends_a_line(fd):
            data = b"\n" + data
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return path


def _ends_a_line(fd: int) -> bool:
    """Whether the file is empty or its last byte is a newline (read under the lock, before appending)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return True
    os.lseek(fd, size - 1, os.SEEK_SET)  # O_APPEND still sends every write to the end
    return os.read(fd, 1) == b"\n"


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: O_APPEND alone keeps each write whole
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def load_results(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[BenchmarkResult]:
    """Results from one or more JSON-lines files. A line that is not a record of the schema (cut short, hand
    edited, a field of the wrong kind) is skipped with a warning naming the file and line, and so is a record of
    a newer schema, with what to do; the rest still load. A file that cannot be read raises OSError."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    results = []
    for path in paths:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise files.explained(error, path, "cannot read results file") from error
        if raw.startswith(codecs.BOM_UTF8):  # an editor's byte-order mark before the first record
            raw = raw[len(codecs.BOM_UTF8):]
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                results.append(result_from_line(line))
            except schema.NewerSchema as error:
                warnings.warn(f"{path}:{number}: skipped a record of a newer schema ({error})", stacklevel=2)
            except (ValueError, TypeError, KeyError, RecursionError) as error:
                warnings.warn(f"{path}:{number}: skipped a corrupt results line ({error})", stacklevel=2)
    return results


def result_from_line(line: bytes | str) -> BenchmarkResult:
    """One stored JSON line as a result: parsed (no NaN or Infinity), checked, upgraded; raises ValueError."""
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    raw = json.loads(text, parse_constant=_no_constant)
    data = _upgraded(schema.validate(raw), schema.schema_version(raw))  # checked once, then upgraded
    return usable(BenchmarkResult(**data))


def _no_constant(name: str) -> float:
    raise schema.RecordError(f"{name} is not a number a result can hold")


# --- the reference results shipped with the package --------------------------------------------------------------

def reference_files() -> list[Path]:
    """The JSON-lines files of the reference results, inside the installed package."""
    folder = Path(__file__).resolve().parent / "reference"
    return [folder / name for name in REFERENCE_FILES]


def reference_results() -> list[BenchmarkResult]:
    """The reference results shipped with the package (``REFERENCE_PROVENANCE`` says where they come from): one
    NVIDIA H200 and its host, no TPU."""
    return load_results(reference_files())
