"""One schema for a stored result record, checked field by field when a results file is read.

A semester of results in one file meets hand edits, other versions of the package and crashes. So every field has
one kind, and a value of the wrong kind is refused, never reinterpreted (a string where a shape belongs does not
become a tuple of characters, "0.5" is not a number). Numbers must be finite: JSON's 1e400 is infinity to Python
and would break every table and plot later. Keys this version does not know are kept, to be written back unchanged;
a record of a newer schema is refused with a message that says so rather than read wrongly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

SCHEMA = 2  # 2: peak_flops/peak_dtype are the peak of the number format that ran (1: the chip's headline peak)
MAX_DEPTH = 8  # nesting of lists and objects inside params, reported and unknown keys
MAX_COUNT = 2**53  # a size or shape entry: exact as a float, far beyond any matrix that fits


class RecordError(ValueError):
    """A stored record that does not fit the schema; the message names the field and what it should be."""


class NewerSchema(RecordError):
    """A record written by a newer version of the package: refused rather than misread."""


def _number(key: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{key} must be a number, not {type(value).__name__} {_short(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise RecordError(f"{key} is too large for a float: {_short(value)}") from None
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise RecordError(f"{key} must be a finite number {'above' if positive else 'of at least'} 0, not {number}")
    return number


def _median(key: str, value: Any) -> float:
    try:
        return _number(key, value, positive=True)
    except RecordError:
        raise RecordError(f"{key} must be a positive number of seconds, not {_short(value)}") from None


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{key} must be a string, not {type(value).__name__} {_short(value)}")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RecordError(f"{key} must be true or false, not {_short(value)}")
    return value


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise RecordError(f"{key} must be a whole number from 1 to 2**53, not {_short(value)}")
    return value


def _sequence(key: str, value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise RecordError(f"{key} must be a list, not {type(value).__name__} {_short(value)}")
    return list(value)


def _shape(key: str, value: Any) -> tuple[int, ...]:
    items = _sequence(key, value)
    if not 1 <= len(items) <= 8:
        raise RecordError(f"{key} must list 1 to 8 sizes, not {len(items)}")
    return tuple(_count(f"{key}[{i}]", v) for i, v in enumerate(items))


def _seconds_list(key: str, value: Any) -> tuple[float, ...]:
    items = _sequence(key, value)
    for i, v in enumerate(items):  # the message is built only for a value that does not fit
        if not (type(v) is float and 0 <= v < math.inf):
            _number(f"{key}[{i}]", v)
    return tuple(float(v) for v in items)


def _text_list(key: str, value: Any) -> tuple[str, ...]:
    return tuple(_text(f"{key}[{i}]", v) for i, v in enumerate(_sequence(key, value)))


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError(f"{key} must be an object, not {type(value).__name__} {_short(value)}")
    return {_text(f"a key of {key}", k): plain(f"{key}.{k}", v) for k, v in value.items()}


def _text_mapping(key: str, value: Any) -> dict[str, str]:
    return {k: _text(f"{key}.{k}", v) for k, v in _mapping(key, value).items()}


def _number_mapping(key: str, value: Any) -> dict[str, float]:
    return {k: _number(f"{key}.{k}", v) for k, v in _mapping(key, value).items()}


def plain(key: str, value: Any, depth: int = 0) -> Any:
    """A JSON value as stored: strings, finite numbers, true/false, null, lists and objects at most
    ``MAX_DEPTH`` deep (deeper nesting breaks JSON writers and reprs later)."""
    if depth > MAX_DEPTH:
        raise RecordError(f"{key} is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise RecordError(f"{key} must be a finite number, not {value}")
        if isinstance(value, int) and abs(value) > MAX_COUNT:
            raise RecordError(f"{key} is too large a whole number to keep exactly: {_short(value)}")
        return value
    if isinstance(value, (list, tuple)):
        return [plain(f"{key}[{i}]", v, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {_text(f"a key of {key}", k): plain(f"{key}.{k}", v, depth + 1) for k, v in value.items()}
    raise RecordError(f"{key} holds a {type(value).__name__}, which JSON cannot store")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# The kind of every field of a record (BenchmarkResult's fields); null stands for the field's default.
KINDS: dict[str, Callable[[str, Any], Any]] = {
    "name": _text, "median": _median,
    **dict.fromkeys(("min", "max", "first_call", "spread", "flops", "bytes_moved", "items", "peak_flops",
                     "peak_bandwidth"), _number),
    "samples": _seconds_list, "derived": _text_list, "shape": _shape, "size": _count,
    **dict.fromkeys(("synchronized", "includes_transfer", "includes_compile", "extrapolated", "peak_is_estimate"),
                   _flag),
    **dict.fromkeys(("item_unit", "workload", "dtype", "precision", "device", "device_kind", "framework",
                     "framework_version", "chip", "peak_dtype", "peak_note", "method", "date", "package_version",
                     "environment", "host", "source", "note", "number_format", "sync_method",
                     "form_factor", "provenance"), _text),
    "repeats": _count,
    "params": _mapping, "versions": _text_mapping, "reported": _number_mapping,
}


def schema_version(record: Mapping[str, Any]) -> int:
    """The record's schema version (1 where it states none); a newer one than this package reads raises."""
    version = record.get("schema", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RecordError(f"schema must be a whole number of at least 1, not {_short(version)}")
    if version > SCHEMA:
        raise NewerSchema(f"written with result schema {version}, newer than the {SCHEMA} this version of "
                          "tpu_lecture reads: upgrade the package (pip install -U tpu-lecture) to load it")
    return version


def validate(record: Any) -> dict[str, Any]:
    """The record's fields checked one by one, as ``BenchmarkResult`` takes them, unknown keys under ``extra``.
    Raises ``RecordError`` naming the first field that does not fit."""
    if not isinstance(record, Mapping):
        raise RecordError(f"a result record must be a JSON object, not {type(record).__name__}")
    schema_version(record)
    if not isinstance(record.get("name"), str) or not record["name"]:
        raise RecordError("the record has no 'name' (a non-empty string)")
    clean: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        if key == "schema":
            continue
        if key not in KINDS:
            extra[_text("a key", key)] = plain(key, value)
        elif value is not None:  # null: the field's default
            clean[key] = KINDS[key](key, value)
    clean["extra"] = extra
    return clean
