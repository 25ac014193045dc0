"""float32, float16 and bfloat16: bit layouts, range and precision, rounding, and the MXU's rule of
bfloat16 multiplies with float32 accumulation.

bfloat16 is float32 with the low 16 mantissa bits cut off: the same 8 exponent bits (so the same
range, up to about 3.4e38) but 7 mantissa bits instead of 23 (so about 2–3 decimal digits).
float16 spends its bits the other way: 10 mantissa bits but only 5 exponent bits, so it overflows
above 65504. Everything here is numpy plus ml_dtypes (numpy's bfloat16 type); no framework.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import ml_dtypes
import numpy as np

FORMAT_NAMES = ("float32", "float16", "bfloat16")

_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _dtype(fmt: str) -> Any:
    if fmt not in _DTYPES:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMAT_NAMES)}")
    return _DTYPES[fmt]


# ---------------------------------------------------------------------------------------------
# The formats
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatInfo:
    """Bits, range and precision of a floating-point format, read off the format itself (finfo)."""

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    bias: int
    max_finite: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float

    sign_bits = 1

    def __repr__(self) -> str:
        return (
            f"{self.name}: 1 sign + {self.exponent_bits} exponent + {self.mantissa_bits} mantissa bits; "
            f"max {self.max_finite:.8g}, smallest normal {self.smallest_normal:.8g}, "
            f"eps 2^{int(math.log2(self.eps))} = {self.eps:.8g}"
        )


def format_info(fmt: str) -> FormatInfo:
    """The layout and limits of ``fmt``; ``eps`` is the gap between 1 and the next larger number."""
    info = ml_dtypes.finfo(_dtype(fmt))
    return FormatInfo(
        name=fmt,
        bits=int(info.bits),
        exponent_bits=int(info.nexp),
        mantissa_bits=int(info.nmant),
        bias=2 ** (int(info.nexp) - 1) - 1,
        max_finite=float(info.max),
        smallest_normal=float(info.smallest_normal),
        smallest_subnormal=float(info.smallest_subnormal),
        eps=float(info.eps),
    )


FORMATS = {fmt: format_info(fmt) for fmt in FORMAT_NAMES}


# ---------------------------------------------------------------------------------------------
# Rounding to bfloat16 with integer operations, from any precision
# ---------------------------------------------------------------------------------------------

_EXACT_IN_FLOAT64 = 2**53  # every integer up to this size is a float64


def _real_array(x: Any, name: str = "x") -> np.ndarray:
    """``x`` as an array of real numbers: float16/32/64, bfloat16 (and ml_dtypes' other small floats) as
    float32, integers as they are, Python numbers of any size (ints, Fractions, Decimals) as an object array."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, whose hidden values would be rounded as if they were there: "
                        f"pass {name}.filled(value) for the value they stand for, or {name}.compressed()")
    try:
        array = np.asarray(x)
    except (ValueError, TypeError) as error:  # NumPy's words for a ragged list
        raise TypeError(f"{name} must hold real numbers in a rectangular array, and it is ragged (rows of "
                        f"different lengths, or a list inside a list): give every row the same length") from error
    if array.dtype.type.__module__.startswith("ml_dtypes"):
        return _ml_dtypes_array(array, name)
    if array.dtype == object:
        for value in array.flat:
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
                raise TypeError(f"{name} must hold real numbers, got {value!r:.40} of type {type(value).__name__}: "
                                "pass floats or ints")
        return array
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype} (from {type(x).__name__})")
    return array


def _ml_dtypes_array(array: np.ndarray, name: str) -> np.ndarray:
    """An array of one of ml_dtypes' types, as float32 or int64 (each holds every value exactly)."""
    try:
        ml_dtypes.finfo(array.dtype)
        return array.astype(np.float32)
    except ValueError:
        pass
    try:
        ml_dtypes.iinfo(array.dtype)
        return array.astype(np.int64)
    except ValueError:
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}") from None


def _odd_float64(array: np.ndarray) -> np.ndarray:
    """``array`` as float64, rounded to odd where float64 cannot hold a value exactly (integers past 2**53,
    long doubles, Fractions): truncated, with the last mantissa bit set when anything was cut off.

    Rounding to odd keeps the fact that something was dropped, so rounding the result again, to nearest, to a
    format at least two bits narrower (float32, float16, bfloat16) gives the same as rounding the original
    once: no double rounding. Exact values (float16/32/64, smaller integers) pass through unchanged.
    """
    if array.dtype.kind == "f" and array.dtype.itemsize <= 8:
        with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN
            return array.astype(np.float64)
    if array.dtype.kind in "iu":
        if array.size == 0 or (array.min() > -_EXACT_IN_FLOAT64 and array.max() < _EXACT_IN_FLOAT64):
            return array.astype(np.float64)
        values = array.ravel().tolist()  # Python ints, exact
    else:  # long doubles, or Python numbers in an object array
        values = list(array.ravel())
    return np.array([_odd_float64_scalar(v) for v in values], dtype=np.float64).reshape(array.shape)


def _odd_float64_scalar(value: Any) -> float:
    """One real number as a float64, rounded to odd (exact where it can be)."""
    try:
        numerator, denominator = value.as_integer_ratio()
    except (OverflowError, ValueError):  # inf or NaN
        return float(value)
    except AttributeError:
        ratio = Fraction(value)
        numerator, denominator = ratio.numerator, ratio.denominator
    numerator, denominator = int(numerator), int(denominator)
    if numerator == 0:
        return float(value)  # keeps the sign of a -0.0
    sign, numerator = (-1.0 if numerator < 0 else 1.0), abs(numerator)
    exponent = numerator.bit_length() - denominator.bit_length()  # 2**exponent <= |value| < 2**(exponent + 1)
    if (numerator < denominator << exponent) if exponent >= 0 else (numerator << -exponent < denominator):
        exponent -= 1
    if exponent > 1023:  # beyond float64, and far beyond every 16-bit format
        return sign * math.inf
    shift = max(exponent - 52, -1074)  # 53 significant bits, or float64's subnormal step
    kept, rest = divmod(numerator, denominator << shift) if shift >= 0 else divmod(numerator << -shift, denominator)
    return sign * math.ldexp(float(kept | (1 if rest else 0)), shift)


def _odd_float32(x: Any) -> np.ndarray:
    """``x`` as float32, rounded to odd from its own precision (exact for float32, float16, bfloat16)."""
    array = _real_array(x)
    if array.dtype.kind == "f" and array.dtype.itemsize <= 4:  # float32 holds every such value: no rounding
        with np.errstate(invalid="ignore"):
            return array.astype(np.float32)
    wide = _odd_float64(array)
    with np.errstate(over="ignore", invalid="ignore"):
        nearest = wide.astype(np.float32)
    inexact = (nearest.astype(np.float64) != wide) & ~np.isnan(wide)
    if not inexact.any():
        return nearest
    beyond = np.abs(nearest.astype(np.float64)) > np.abs(wide)  # rounded away from zero: step back
    truncated = np.where(inexact & beyond, np.nextafter(nearest, np.float32(0)), nearest).astype(np.float32)
    bits = truncated.view(np.uint32) | inexact.astype(np.uint32)
    return bits.view(np.float32)


def to_float16(x: Any) -> Any:
    """Round to the nearest float16 (ties to even) from the input's own precision, as float16 values."""
    with np.errstate(over="ignore", invalid="ignore"):
        result = _odd_float64(_real_array(x)).astype(np.float16)
    return result[()] if result.ndim == 0 else result


def to_bfloat16(x: Any) -> Any:
    """Round to the nearest bfloat16 (ties to even), returned as float32 values.

    A float32 bit pattern is split in two halves: the high 16 bits are the bfloat16, the low 16 bits are
    what is dropped. Adding 0x7FFF (plus 1 if the kept half is odd) carries into the high half exactly
    when the dropped half is more than a half ulp, or exactly half with an odd kept half: round to
    nearest, ties to even. Overflow carries into the exponent and gives infinity, as it should. NaN is
    kept a (quiet) NaN with its sign: without that, rounding could turn a NaN with a small payload into
    infinity. A wider input (a float64, a Python number) is first brought to float32 rounded to odd, so
    that it is rounded once, from its own precision: 1 + 2⁻⁸ + 2⁻³⁰ is above the tie and becomes 1.0078125.
    """
    bits = _odd_float32(x).view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    with np.errstate(over="ignore"):
        rounded = (bits + np.uint32(0x7FFF) + lsb) & np.uint32(0xFFFF0000)
    is_nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    quiet_nan = (bits & np.uint32(0x80000000)) | np.uint32(0x7FC00000)
    result = np.where(is_nan, quiet_nan, rounded).astype(np.uint32).view(np.float32)
    return result[()] if result.ndim == 0 else result


# ---------------------------------------------------------------------------------------------
# Bit fields
# ---------------------------------------------------------------------------------------------


def _stored(value: Any, fmt: str) -> tuple[int, float]:
    """(bit pattern, value actually stored) of one number in ``fmt``, rounded once from its own precision."""
    _dtype(fmt)
    array = _real_array(value, "value")
    if fmt == "float16":
        half = np.float16(to_float16(array))
        return int(half.view(np.uint16)), float(half)
    if fmt == "bfloat16":
        single = np.float32(to_bfloat16(array))
        return int(single.view(np.uint32)) >> 16, float(single)
    with np.errstate(over="ignore", invalid="ignore"):
        single = np.float32(_odd_float64(array).astype(np.float32)[()])
    return int(single.view(np.uint32)), float(single)


@dataclass(frozen=True)
class BitFields:
    """A number as ``fmt`` stores it: sign, exponent and mantissa bits, and the value they mean."""

    fmt: str
    value: float
    stored: float
    sign: str
    exponent: str
    mantissa: str

    @property
    def kind(self) -> str:
        """'normal', 'subnormal', 'zero', 'inf' or 'nan'."""
        if set(self.exponent) == {"1"}:
            return "nan" if "1" in self.mantissa else "inf"
        if set(self.exponent) == {"0"}:
            return "subnormal" if "1" in self.mantissa else "zero"
        return "normal"

    @property
    def unbiased_exponent(self) -> int | None:
        """The power of two the mantissa is scaled by (exponent bits − bias); None for 0, inf, NaN."""
        bias = FORMATS[self.fmt].bias
        if self.kind == "normal":
            return int(self.exponent, 2) - bias
        return 1 - bias if self.kind == "subnormal" else None

    def __repr__(self) -> str:
        fields = f"{self.fmt}({self.value!r}): {self.sign} | {self.exponent} | {self.mantissa}"
        if self.kind in ("normal", "subnormal"):
            lead = "1" if self.kind == "normal" else "0"
            sign = "-" if self.sign == "1" else "+"
            return f"{fields} = {sign}{lead}.{self.mantissa}b × 2^{self.unbiased_exponent} = {self.stored!r}"
        return f"{fields} = {self.stored!r}"


def bit_fields(value: float, fmt: str = "bfloat16") -> BitFields:
    """The sign, exponent and mantissa bits of ``value`` rounded to ``fmt`` (nearest, ties to even)."""
    info = format_info(fmt)
    array = _real_array(value, "value")
    if array.size != 1:
        raise ValueError(f"bit_fields takes one number, got an array of shape {array.shape}")
    element = array.reshape(())[()]
    pattern, stored = _stored(element, fmt)
    value = float(_odd_float64(array.reshape(1))[0])
    text = format(pattern, f"0{info.bits}b")
    return BitFields(fmt, value, stored, text[0], text[1 : 1 + info.exponent_bits], text[1 + info.exponent_bits :])


def show_bits(value: float) -> str:
    """A small text table of ``value`` in float32, float16 and bfloat16, side by side."""
    rows = [["format", "sign", "exponent", "mantissa", "2^e", "stored value", "rel. error"]]
    for fmt in FORMAT_NAMES:
        f = bit_fields(value, fmt)
        e = "" if f.unbiased_exponent is None else str(f.unbiased_exponent)
        rows.append([fmt, f.sign, f.exponent, f.mantissa, e, repr(f.stored), _relative_error(f.stored, f.value)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return f"value {value!r}\n" + "\n".join(lines)


def _relative_error(stored: float, value: float) -> str:
    if math.isnan(value) or math.isinf(value) or value == 0:
        return "-"
    if math.isinf(stored):
        return "overflow"
    return f"{abs(stored - value) / abs(value):.2e}"


# ---------------------------------------------------------------------------------------------
# Range: overflow and underflow
# ---------------------------------------------------------------------------------------------


def _outcome(value: Any, stored: float, fmt: str) -> str:
    """What storing ``value`` (compared exactly, as the number it is) did to it."""
    if value != value:  # NaN, of any type
        return "nan"
    if _is_infinite(value):
        return "exact"
    if math.isinf(stored):
        return "overflow"
    exact = _exact(value)  # compared as numbers, not after NumPy turned an int64 into a float64
    if stored == 0 and exact != 0:
        return "underflow"
    if stored != 0 and abs(stored) < FORMATS[fmt].smallest_normal:
        return "subnormal"
    return "exact" if Fraction(stored) == exact else "rounded"


def _exact(value: Any) -> Fraction:
    """A finite real number (Python, NumPy or Decimal) as the exact fraction it is."""
    try:
        return Fraction(*value.as_integer_ratio())
    except AttributeError:
        return Fraction(value)


def _is_infinite(value: Any) -> bool:
    try:
        return math.isinf(value)
    except OverflowError:  # an int too large for a float is still finite
        return False


def cast_report(values: Any) -> list[dict[str, Any]]:
    """Each value stored in every format, and what happened to it there: 'exact', 'rounded',
    'subnormal' (fewer significant bits), 'overflow' (became inf) or 'underflow' (became 0)."""
    rows = []
    array = _real_array(values, "values")
    for element, wide in zip(array.ravel(), _odd_float64(array).ravel().tolist(), strict=True):
        row: dict[str, Any] = {"value": wide}
        for fmt in FORMAT_NAMES:
            stored = _stored(element, fmt)[1]
            row[fmt] = stored
            row[f"{fmt}_outcome"] = _outcome(element, stored, fmt)
        rows.append(row)
    return rows


def overflow_demo() -> list[dict[str, Any]]:
    """Values float16 cannot hold (above 65504) that bfloat16 holds: float16 has 5 exponent bits,
    bfloat16 has float32's 8."""
    return cast_report([65504.0, 65520.0, 70000.0, 1e5, 3e38])


def underflow_demo() -> list[dict[str, Any]]:
    """Small values: float16 loses them below about 6e-5 (subnormal) and 3e-8 (zero); bfloat16 only
    near 1e-38, like float32, but it keeps just 8 significant bits."""
    return cast_report([1e-5, 1e-7, 1e-8, 1e-39, 1e-41, 1e-46])


# ---------------------------------------------------------------------------------------------
# The MXU's matmul: bfloat16 multiplies, float32 accumulation
# ---------------------------------------------------------------------------------------------


def _matrices(A: Any, W: Any) -> tuple[np.ndarray, np.ndarray]:
    a, w = _real_array(A, "A"), _real_array(W, "W")
    for name, array in (("A", a), ("W", w)):
        if array.ndim != 2:
            raise ValueError(f"{name} must be a 2-D matrix, got shape {array.shape}: reshape it first")
    if a.shape[1] != w.shape[0]:
        raise ValueError(
            f"A is {a.shape[0]}x{a.shape[1]} but W is {w.shape[0]}x{w.shape[1]}: inner sizes must match"
        )
    return a, w


def mxu_matmul(A: Any, W: Any) -> np.ndarray:
    """A @ W the way the MXU computes it: inputs rounded to bfloat16, products and sums in float32.

    A product of two bfloat16 numbers (8 significant bits each) has at most 16 significant bits,
    so it is exact in float32; only the inputs' rounding and the float32 sums lose precision.
    """
    a, w = _matrices(A, W)
    return float32_sums(to_bfloat16(a), to_bfloat16(w))


def float32_sums(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a @ w with each product rounded to float32 and summed in float32 in the order k = 0, 1, …, K − 1, as partial
    sums flow down an MXU column. One fixed order: unlike a BLAS kernel's, whose order depends on the CPU, the
    result is the same on every machine."""
    a32, w32 = np.asarray(a, dtype=np.float32), np.asarray(w, dtype=np.float32)
    total = np.zeros((a32.shape[0], w32.shape[1]), dtype=np.float32)
    for k in range(a32.shape[1]):
        total += np.outer(a32[:, k], w32[k, :])
    return total


def bfloat16_matmul(A: Any, W: Any) -> np.ndarray:
    """A @ W with everything in bfloat16: each product and each running sum rounded to bfloat16.

    This is what the MXU avoids: once a sum is large, its bfloat16 spacing exceeds the terms still
    to be added and they are lost (4096 ones sum to 256). Rounding a float32 sum of two bfloat16
    numbers to bfloat16 gives the correctly rounded bfloat16 sum, since 24 ≥ 2·8 + 2 bits.
    """
    a, w = _matrices(A, W)
    a, w = to_bfloat16(a), to_bfloat16(w)
    total = np.zeros((a.shape[0], w.shape[1]), dtype=np.float32)
    for k in range(a.shape[1]):
        total = to_bfloat16(total + to_bfloat16(np.outer(a[:, k], w[k, :])))
    return total


@dataclass(frozen=True)
class ErrorStats:
    """How far a result is from a reference: the largest absolute error, and the largest
    |error| / |reference| over the entries whose reference is not 0."""

    max_abs: float
    max_rel: float

    @classmethod
    def between(cls, result: np.ndarray, reference: np.ndarray) -> ErrorStats:
        error = np.abs(result.astype(np.float64) - reference.astype(np.float64))
        scale = np.abs(reference.astype(np.float64))
        relative = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
        return cls(float(error.max(initial=0.0)), float(relative.max(initial=0.0)))


@dataclass(frozen=True)
class MatmulError:
    """Errors of the MXU rule and of all-bfloat16 arithmetic against float32 and float64 references."""

    shape: tuple[int, int, int]
    mxu_vs_float32: ErrorStats
    mxu_vs_float64: ErrorStats
    bfloat16_vs_float32: ErrorStats
    bfloat16_vs_float64: ErrorStats
    float32_vs_float64: ErrorStats

    def __repr__(self) -> str:
        m, k, n = self.shape
        lines = [f"MatmulError({m}×{k}×{n})", f"  {'method':<36}{'reference':<11}{'max abs':>11}{'max rel':>11}"]
        for label, attribute in (
            ("MXU: bf16 × bf16, fp32 accumulate", "mxu_vs"),
            ("all bfloat16", "bfloat16_vs"),
            ("float32", "float32_vs"),
        ):
            for reference in ("float32", "float64"):
                stats = getattr(self, f"{attribute}_{reference}", None)
                if stats is not None:
                    lines.append(f"  {label:<36}{reference:<11}{stats.max_abs:>11.3g}{stats.max_rel:>11.3g}")
        return "\n".join(lines)


def matmul_error(A: Any, W: Any) -> MatmulError:
    """Compare the MXU rule (bf16 inputs, fp32 accumulation) and all-bf16 arithmetic with float32
    and float64 products of the original inputs."""
    a, w = _matrices(A, W)
    a64, w64 = _odd_float64(a), _odd_float64(w)
    with np.errstate(over="ignore"):  # a float32 product in one fixed order, the same on every machine
        reference32 = float32_sums(a64.astype(np.float32), w64.astype(np.float32))
    reference64 = np.matmul(a64, w64)
    mxu, bf16 = mxu_matmul(a, w), bfloat16_matmul(a, w)
    return MatmulError(
        shape=(a.shape[0], a.shape[1], w.shape[1]),
        mxu_vs_float32=ErrorStats.between(mxu, reference32),
        mxu_vs_float64=ErrorStats.between(mxu, reference64),
        bfloat16_vs_float32=ErrorStats.between(bf16, reference32),
        bfloat16_vs_float64=ErrorStats.between(bf16, reference64),
        float32_vs_float64=ErrorStats.between(reference32, reference64),
    )
