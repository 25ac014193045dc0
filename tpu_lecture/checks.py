"""The argument checks every module shares, so that a bad value gets the same kind of message everywhere.

Each check returns the value in its plain Python form (``int``, ``float``) or raises: ``TypeError`` when
the value is of the wrong kind, ``ValueError`` when it is of the right kind but out of range. Messages
name the argument, show the value and say what would do.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any


def whole_number(name: str, value: Any, minimum: int | None = 1) -> int:
    """``value`` as an int of at least ``minimum`` (None: no lower bound); bools are refused."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a whole number, got the bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within [low, high] (an end is excluded where ``*_open``); bools are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r:.40} ({type(value).__name__})")
    result = _as_float(name, value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = low is not None and (result < low or (low_open and result == low))
    too_high = high is not None and (result > high or (high_open and result == high))
    if too_low or too_high:
        raise ValueError(f"{name} must be {_interval(low, high, low_open, high_open)}, got {value!r}")
    return result


def positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number above 0 (or at least 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r:.40} ({type(value).__name__})")
    result = _as_float(name, value)
    if math.isnan(result) or math.isinf(result):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if result < 0 or (result == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value!r}")
    return result


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float: {str(value)[:12]}… ({len(str(value))} digits)") from None


def one_of(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` if it is one of ``choices``; otherwise a ValueError that lists them."""
    options = list(choices)
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}: use one of {', '.join(map(repr, options))}")
    return value


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None:
        return f"{'below' if high_open else 'at most'} {high:g}"
    if high is None:
        return f"{'above' if low_open else 'at least'} {low:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def storable(name: str, value: Any, _depth: int = 0) -> Any:
    """``value`` if a results file can keep it as it is (JSON: strings, finite numbers, bools, None, lists
    and objects with string keys); else a ValueError or TypeError naming the entry, raised before any work
    is done, so that a result is never measured and then refused. NaN and infinity have no JSON form."""
    if _depth > 8:
        raise ValueError(f"{name} is nested more than 8 levels deep: a results file keeps 8")
    if value is None or isinstance(value, (str, bool)):
        return value
    if type(value) in (int, float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name} is {value}, which a results file cannot store: give a finite number, "
                             "or None for a value there is none of")
        return value
    if isinstance(value, (list, tuple)):
        return [storable(f"{name}[{i}]", v, _depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{name} has the key {key!r:.40}: a results file keeps only string keys")
        return {k: storable(f"{name}.{k}", v, _depth + 1) for k, v in value.items()}
    raise TypeError(f"{name} is {value!r:.40} ({type(value).__name__}), which a results file cannot store: "
                    "give a str, int, float, bool, None, list or dict (int(x) or float(x) for a NumPy number)")
