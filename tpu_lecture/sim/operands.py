"""What the array accepts, and what it accumulates in: the checks on A and W and the accumulator's dtype.

The MXU's rule: bfloat16 (and float16) products accumulate in float32; integers in int32 when no
partial sum can overflow it (TPU v1's 8-bit MACs feed 32-bit accumulators), else int64 or uint64.
Integer bounds are worked out exactly, with Python ints. When no NumPy integer type holds every
partial sum exactly, the product is refused with a clear error rather than wrapped around: the fix
it names is to pass the matrices as Python ints (``A.astype(object)``), which the simulator steps
exactly, only more slowly, as it does sympy symbols.
"""

from __future__ import annotations

import numbers
from decimal import Decimal

import numpy as np

SUPPORTED = "integers, floats (float16, float32, float64, bfloat16) or sympy symbols"
_INTEGER_ACCUMULATORS = (np.int32, np.int64, np.uint64)


def prepare(A, W) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Check shapes and types, round bfloat16/float16 inputs, and pick the accumulator dtype."""
    A, W = as_matrix(A, "A"), as_matrix(W, "W")
    if A.shape[1] != W.shape[0]:
        raise ValueError(
            f"A is {A.shape[0]}x{A.shape[1]} but W is {W.shape[0]}x{W.shape[1]}: inner sizes must match "
            "(A's columns = W's rows)"
        )
    acc_dtype = accumulator_dtype(A, W)
    return A.astype(acc_dtype), W.astype(acc_dtype), acc_dtype


def as_matrix(X, name: str) -> np.ndarray:
    """``X`` as a non-empty 2-D array of a supported dtype, or an error that says what to change.

    Only what the simulator can read exactly gets through: a masked array (whose mask it would ignore), a
    ragged list, a list that NumPy would read with a common dtype that changes some value (a big int beside a
    float) are refused with the reason and the fix, never run on different numbers than the ones given.
    """
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, and the simulator has no masked values (it would use the "
                        f"hidden ones): pass {name}.filled(0) to count masked entries as 0, as np.ma.dot does, "
                        "or remove them")
    X = _exact_array(X, name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix but has shape {X.shape}: "
                         f"reshape it, e.g. {name}.reshape(1, -1) for one row")
    if X.size == 0:
        raise ValueError(f"{name} is {X.shape[0]}x{X.shape[1]}: matrices need at least one row and one column")
    _check_dtype(X, name)
    return X


def _exact_array(X, name: str) -> np.ndarray:
    """``np.asarray(X)``, refused where it is ragged or where NumPy's common dtype changed a value of a list."""
    if isinstance(X, np.ndarray):
        return np.asarray(X)  # a subclass (np.matrix) as a plain array: its * and indexing mean other things
    try:
        array = np.asarray(X)
    except (ValueError, TypeError):  # NumPy's words for a ragged list
        raise ValueError(f"{name} is not a rectangular matrix (its rows differ in length, or an entry is itself "
                         "a list or matrix): give every row the same number of plain entries") from None
    if array.dtype != object and isinstance(X, (list, tuple)):
        _check_unchanged(X, array, name)
    return array


def _check_unchanged(X, array: np.ndarray, name: str) -> None:
    """Every entry of the list ``X`` as the number it was (no int rounded to a float on the way in)."""
    originals = np.asarray(X, dtype=object)
    if originals.shape != array.shape:
        return
    for given, read in zip(originals.flat, array.flat, strict=True):
        given = given.item() if isinstance(given, np.generic) else given
        read = read.item()
        if given != read and not (given != given and read != read):  # NaN reads as NaN
            raise ValueError(f"{name} holds {given!r:.40}, which NumPy reads as {read!r:.40} when it makes one "
                             f"{array.dtype} array of the list: pass np.array({name}, dtype=object) to keep every "
                             "value exactly, or make the entries one kind of number")


def _check_dtype(X: np.ndarray, name: str) -> None:
    if X.dtype == object:
        for x in X.flat:
            if isinstance(x, Decimal):
                raise TypeError(f"{name} holds the Decimal {x!r:.40}, whose products round to the decimal context's "
                                f"28 digits: pass Fraction(value) for exact arithmetic, or float(value)")
            if not _is_symbolic_or_number(x):
                raise TypeError(f"{name} holds {x!r:.40} of type {type(x).__name__}: the simulator takes "
                                f"{SUPPORTED}; replace it by a number (or a sympy symbol)")
        return
    if X.dtype.kind == "b":
        raise TypeError(f"{name} is boolean: convert it with {name}.astype(int) first")
    if X.dtype.kind in "iuf" or _is_bfloat16(X.dtype):
        return
    raise TypeError(f"{name} has dtype {X.dtype}: the simulator takes {SUPPORTED}")


def _is_symbolic_or_number(x) -> bool:
    """A real number the PEs can multiply and add exactly as Python does, or a sympy expression. Decimals are
    out: their products round to 28 digits and they do not mix with floats."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, numbers.Real):
        return True
    return type(x).__module__.startswith("sympy") and not hasattr(x, "shape")  # a sympy Matrix is not an entry


def _is_bfloat16(dtype: np.dtype) -> bool:
    return dtype.name == "bfloat16"


def accumulator_dtype(A: np.ndarray, W: np.ndarray) -> np.dtype:
    """The dtype the PEs add in: float32 for bfloat16/float16 inputs, an exact integer type for integers."""
    kinds = {A.dtype.kind, W.dtype.kind}
    if A.dtype == object or W.dtype == object:
        return np.dtype(object)
    if any(_is_bfloat16(X.dtype) or X.dtype == np.float16 for X in (A, W)):
        if np.float64 in (A.dtype, W.dtype):
            return np.dtype(np.float64)
        return np.dtype(np.float32)
    if kinds <= set("iu"):
        return integer_accumulator(A, W)
    return np.result_type(A.dtype, W.dtype, np.float32)


def sum_bounds(A: np.ndarray, W: np.ndarray) -> tuple[int, int]:
    """The lowest and highest value any partial sum of ``A @ W`` can take, exactly (Python ints).

    Term k of every sum is a product of a value from column k of A and one from row k of W, so it
    lies between the smallest and largest products of their extremes; a partial sum (from 0, in
    any order, across folds) adds some of the K terms.
    """
    columns = zip(A.min(axis=0).tolist(), A.max(axis=0).tolist(), W.min(axis=1).tolist(), W.max(axis=1).tolist())
    low = high = 0
    for a_low, a_high, w_low, w_high in columns:
        corners = (a_low * w_low, a_low * w_high, a_high * w_low, a_high * w_high)
        low, high = low + min(0, *corners), high + max(0, *corners)
    return low, high


def integer_accumulator(A: np.ndarray, W: np.ndarray) -> np.dtype:
    """The narrowest of int32, int64, uint64 that holds every input and partial sum exactly; else a clear error."""
    low, high = sum_bounds(A, W)
    low = min(low, int(A.min()), int(W.min()))
    high = max(high, int(A.max()), int(W.max()))
    for kind in _INTEGER_ACCUMULATORS:
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return np.dtype(kind)
    raise ValueError(
        f"the partial sums of this integer product range from {low:,} to {high:,}, beyond every NumPy integer "
        f"type (int64 holds {np.iinfo(np.int64).min:,} … {np.iinfo(np.int64).max:,}, uint64 up to "
        f"{np.iinfo(np.uint64).max:,}), so they would wrap around: pass A.astype(object) and W.astype(object) "
        "for an exact run with Python ints (slower), or scale the values down"
    )
