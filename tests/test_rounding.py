"""Rounding to the 16-bit formats from any precision: once, from the input's own value, as ml_dtypes does.

Rounding a float64 to float32 first and then to bfloat16 rounds twice and can be wrong (issue 24's four
cases); these tests compare every path against ml_dtypes (bfloat16) and against exact rational arithmetic
(both formats), over random float64 bit patterns and every boundary class.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tpu_lecture import precision as p

BF16_MAX = float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
HALF_ULP_AT_MAX = 2.0 ** (127 - 8)  # bfloat16's spacing at its top binade is 2**(127 - 7)


def reference_bf16(x) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.asarray(x, dtype=np.float64).astype(ml_dtypes.bfloat16))


def exact_nearest(value: Fraction, grid: list[float]) -> float:
    """The member of ``grid`` (sorted, two neighbours) nearest to ``value``, ties to the even bit pattern."""
    below, above = grid
    d_below, d_above = value - Fraction(below), Fraction(above) - value
    if d_below != d_above:
        return below if d_below < d_above else above
    return below if _mantissa_is_even(below) else above


def _mantissa_is_even(x: float) -> bool:
    return int(np.array(x, dtype=ml_dtypes.bfloat16).view(np.uint16)) % 2 == 0


def same(a, b) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


# ------------------------------------------------------------------------------ the issue's four cases


@pytest.mark.parametrize(("value", "right"), [
    (1 + 2**-8 + 2**-30, 1.0078125),  # just above a tie: up, not to the even 1.0
    (1 + 3 * 2**-8 - 2**-40, 1.0078125),  # just below a tie: down, not to the even 1.015625
    (BF16_MAX + HALF_ULP_AT_MAX * (1 - 2**-20), 3.3895313892515355e38),  # under the overflow boundary: finite
    (2**-134 + 2**-160, 2**-133),  # above half the smallest subnormal: kept, not flushed to 0
])
def test_issue_24_float64_cases_round_once(value, right):
    assert float(p.to_bfloat16(value)) == right == reference_bf16(value)
    assert p.bit_fields(value, "bfloat16").stored == right
    (row,) = p.cast_report([value])
    assert row["bfloat16"] == right


def test_overflow_only_past_the_rounding_boundary():
    boundary = BF16_MAX + HALF_ULP_AT_MAX  # the tie between max and 2**128: to even, which is infinity
    assert p.to_bfloat16(boundary) == np.inf == reference_bf16(boundary)
    assert p.to_bfloat16(np.nextafter(boundary, 0)) == BF16_MAX
    assert p.to_bfloat16(-np.nextafter(boundary, 0)) == -BF16_MAX
    assert p.to_bfloat16(1e300) == np.inf and p.to_bfloat16(-1e300) == -np.inf


# ------------------------------------------------------------------------------ against ml_dtypes


def _check_against_ml_dtypes(values: np.ndarray) -> None:
    ours = np.asarray(p.to_bfloat16(values), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs = values.astype(ml_dtypes.bfloat16).astype(np.float32)
    nan = np.isnan(theirs)
    assert np.array_equal(np.isnan(ours), nan)
    assert np.array_equal(ours.view(np.uint32)[~nan], theirs.view(np.uint32)[~nan]), values[
        ours.view(np.uint32) != theirs.view(np.uint32)][:5]


def test_random_float64_bit_patterns_match_ml_dtypes():
    rng = np.random.default_rng(24)
    bits = rng.integers(0, 2**64, size=200_000, dtype=np.uint64)
    _check_against_ml_dtypes(bits.view(np.float64))


def test_float64_within_bfloat16_range_matches_ml_dtypes():
    """Random float64s whose exponent is within bfloat16's (where the rounding decides something)."""
    rng = np.random.default_rng(25)
    mantissa = rng.integers(0, 2**52, size=200_000, dtype=np.uint64)
    exponent = rng.integers(1023 - 140, 1023 + 130, size=mantissa.size).astype(np.uint64)
    sign = rng.integers(0, 2, size=mantissa.size).astype(np.uint64)
    _check_against_ml_dtypes(((sign << np.uint64(63)) | (exponent << np.uint64(52)) | mantissa).view(np.float64))


def _boundaries() -> np.ndarray:
    """Every bfloat16 pattern's midpoint to its upper neighbour, and a few float64 steps either side; the
    subnormals, zeros, max finite, infinities and NaNs."""
    patterns = np.arange(0, 2**16, dtype=np.uint32).astype(np.uint16)
    with np.errstate(invalid="ignore"):
        values = patterns.view(ml_dtypes.bfloat16).astype(np.float64)
    finite = np.isfinite(values) & (np.abs(values) < BF16_MAX)
    v = values[finite]
    up = (patterns[finite] + np.uint16(1)).view(ml_dtypes.bfloat16).astype(np.float64)
    up = np.where(v < 0, (patterns[finite] - np.uint16(1)).view(ml_dtypes.bfloat16).astype(np.float64), up)
    up[v == 0] = 2.0**-133  # +0 and -0 sit below the smallest subnormal
    mid = (v + up) / 2  # exact in float64
    near = [mid]
    for steps in (1, 2, 3):
        lo, hi = mid.copy(), mid.copy()
        for _ in range(steps):
            lo, hi = np.nextafter(lo, -np.inf), np.nextafter(hi, np.inf)
        near += [lo, hi]
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, BF16_MAX, -BF16_MAX,
                         BF16_MAX + HALF_ULP_AT_MAX, np.nextafter(BF16_MAX + HALF_ULP_AT_MAX, 0),
                         2.0**-134, np.nextafter(2.0**-134, 1), np.nextafter(2.0**-134, 0), 2.0**-133,
                         5e-324, -5e-324, np.finfo(np.float64).max, -np.finfo(np.float64).max])
    return np.concatenate([*near, -np.concatenate(near), values, specials])


def test_every_boundary_class_matches_ml_dtypes():
    _check_against_ml_dtypes(_boundaries())


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2**64 - 1))
@example(0x3FF0_1000_0000_4000)  # 1 + 2**-8 + 2**-30
def test_any_float64_bit_pattern_matches_ml_dtypes(bits):
    _check_against_ml_dtypes(np.array([bits], dtype=np.uint64).view(np.float64))


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-4e38, max_value=4e38))
def test_float64_matches_exact_rational_rounding(value):
    assert same(p.to_bfloat16(value), reference_bf16(value))
    x = Fraction(value)
    ours = float(p.to_bfloat16(value))
    if math.isinf(ours):
        assert abs(x) >= Fraction(BF16_MAX) + Fraction(HALF_ULP_AT_MAX)
        return
    down = np.array(ours, dtype=ml_dtypes.bfloat16)
    neighbours = sorted({ours, float(np.nextafter(down, np.array(-np.inf, dtype=ml_dtypes.bfloat16))),
                         float(np.nextafter(down, np.array(np.inf, dtype=ml_dtypes.bfloat16)))})
    assert all(abs(x - Fraction(ours)) <= abs(x - Fraction(n)) for n in neighbours if math.isfinite(n))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, ml_dtypes.bfloat16])
def test_narrower_inputs_are_exact_and_match(dtype):
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2 ** (8 * np.dtype(dtype).itemsize), size=50_000, dtype=np.uint64)
    uint = {2: np.uint16, 4: np.uint32}[np.dtype(dtype).itemsize]
    values = bits.astype(uint).view(dtype)
    ours = np.asarray(p.to_bfloat16(values))
    with np.errstate(invalid="ignore"):
        theirs = values.astype(ml_dtypes.bfloat16).astype(np.float32)
    nan = np.isnan(theirs)
    assert np.array_equal(np.isnan(ours), nan)
    assert np.array_equal(ours[~nan].view(np.uint32), theirs[~nan].view(np.uint32))


# ------------------------------------------------------------------------------ Python numbers


@pytest.mark.parametrize("value", [
    2**62 + 3 * 2**54 - 1,  # just below a tie: through float64 it becomes the tie and rounds up, wrongly
    2**62 + 2**54 + 1, -(2**62 + 3 * 2**54 - 1), 2**64 - 1, 2**127 * 3, 10**400, -(10**400),
])
def test_python_ints_of_any_size_round_once(value):
    ours = float(p.to_bfloat16(value))
    if abs(value) >= 2**128:
        assert ours == (math.inf if value > 0 else -math.inf)
        return
    assert ours == _exact_bf16(Fraction(value))


@pytest.mark.parametrize("value", [Fraction(1, 3), Fraction(-2**200 - 1, 2**200), Decimal("1.00390625000001"),
                                   Fraction(2**-134) + Fraction(1, 2**400), Decimal("-0"), Decimal("NaN")])
def test_fractions_and_decimals_round_once(value):
    ours = p.to_bfloat16(np.array([value], dtype=object))[0]
    if value != value:
        assert math.isnan(ours)
    elif value == 0:
        assert ours == 0
    else:
        assert float(ours) == _exact_bf16(Fraction(value))


def _exact_bf16(x: Fraction) -> float:
    """The nearest bfloat16 to a rational, ties to even, by exact arithmetic (no float rounding at all)."""
    if x == 0:
        return 0.0
    sign = -1 if x < 0 else 1
    x = abs(x)
    exponent = max(math.floor(math.log2(x)) if x.numerator.bit_length() < 2000 else 127, -126)
    while Fraction(2) ** exponent > x and exponent > -126:
        exponent -= 1
    while Fraction(2) ** (exponent + 1) <= x:
        exponent += 1
    step = Fraction(2) ** (exponent - 7)
    kept, rest = divmod(x, step)
    if rest * 2 > step or (rest * 2 == step and kept % 2 == 1):
        kept += 1
    result = kept * step
    if result > Fraction(BF16_MAX):
        return sign * math.inf
    return sign * float(result)


def test_long_double_rounds_once():
    if np.finfo(np.longdouble).nmant <= 52:
        pytest.skip("long double is float64 here")
    value = np.longdouble(1) + np.longdouble(2) ** -8 + np.longdouble(2) ** -60  # above the tie only by 2**-60
    assert float(p.to_bfloat16(value)) == 1.0078125
    assert float(p.to_float16(np.longdouble(1) + np.longdouble(2) ** -11 + np.longdouble(2) ** -60)) == 1 + 2**-10


# ------------------------------------------------------------------------------ float16, and the other places


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-70000, max_value=70000))
def test_float16_from_float64_is_the_nearest(value):
    ours = p.to_float16(value)
    if np.isinf(ours):
        assert abs(value) >= 65520
        return
    x = Fraction(value)
    with np.errstate(over="ignore"):
        neighbours = (np.nextafter(ours, np.float16(-np.inf)), np.nextafter(ours, np.float16(np.inf)))
    for n in neighbours:
        if np.isfinite(n):
            assert abs(x - Fraction(float(ours))) <= abs(x - Fraction(float(n)))


def test_float16_of_big_ints_and_fractions():
    assert p.to_float16(2**70) == np.inf
    assert p.to_float16(65519) == 65504 and p.to_float16(65520) == np.inf  # the tie above max: to even, inf
    assert float(p.to_float16(Fraction(2**11 + 1) + Fraction(1, 2**80))) == 2**11 + 2  # above the tie: up
    assert p.bit_fields(2**11 + 1 + 2**-40, "float16").stored == 2**11 + 2
    assert p.bit_fields(2**-25 + 2**-60, "float16").stored == 2.0**-24  # above half the smallest: kept


def test_bit_fields_and_cast_report_round_from_the_inputs_own_precision():
    value = 1 + 2**-8 + 2**-30
    assert p.bit_fields(value, "bfloat16").mantissa == "0000001"
    big = 2**62 + 3 * 2**54 - 1
    (row,) = p.cast_report(np.array([big], dtype=object))
    assert row["bfloat16"] == 2.0**62 + 2.0**55 and row["bfloat16_outcome"] == "rounded"
    assert row["float32_outcome"] == "rounded"  # 2**62 + 3·2**54 - 1 needs 62 bits
    (row,) = p.cast_report(np.array([big], dtype=np.int64))  # compared as the int it is, not as a float64
    assert row["float32_outcome"] == "rounded" and row["bfloat16"] == 2.0**62 + 2.0**55
    (exact,) = p.cast_report([2**62])
    assert all(exact[f"{fmt}_outcome"] == "exact" for fmt in ("float32", "bfloat16"))


def test_mxu_matmul_rounds_float64_inputs_once():
    a = np.array([[1 + 2**-8 + 2**-30]])
    assert p.mxu_matmul(a, np.array([[1.0]]))[0, 0] == 1.0078125
    assert p.bfloat16_matmul(a, np.array([[1.0]]))[0, 0] == 1.0078125


@pytest.mark.parametrize("bad", [None, "1.0", 1 + 2j, True, [1, None], np.array([1, "x"], dtype=object)])
def test_non_numbers_are_refused_with_the_fix(bad):
    with pytest.raises(TypeError, match="real numbers"):
        p.to_bfloat16(bad)
