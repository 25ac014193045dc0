"""Tests of tpu_lecture.precision against ml_dtypes, numpy and the formats' published numbers."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tpu_lecture import precision as p

# ------------------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    ("fmt", "exponent", "mantissa", "max_finite", "smallest_normal", "eps"),
    [  # IEEE 754-2019 (binary32, binary16); bfloat16: Google Cloud TPU docs, "The bfloat16 numerical format"
        ("float32", 8, 23, 3.4028235e38, 1.1754944e-38, 2.0**-23),
        ("float16", 5, 10, 65504.0, 6.1035156e-05, 2.0**-10),
        ("bfloat16", 8, 7, 3.3895314e38, 1.1754944e-38, 2.0**-7),
    ],
)
def test_format_info_matches_facts(fmt, exponent, mantissa, max_finite, smallest_normal, eps):
    info = p.FORMATS[fmt]
    assert info == p.format_info(fmt)
    assert (info.sign_bits, info.exponent_bits, info.mantissa_bits) == (1, exponent, mantissa)
    assert info.bits == 1 + exponent + mantissa
    assert info.max_finite == pytest.approx(max_finite, rel=1e-7)
    assert info.smallest_normal == pytest.approx(smallest_normal, rel=1e-7)
    assert info.eps == eps
    # the same numbers from the layout alone
    assert info.bias == 2 ** (exponent - 1) - 1
    assert info.max_finite == (2 - 2.0**-mantissa) * 2.0**info.bias
    assert info.smallest_normal == 2.0 ** (1 - info.bias)
    assert info.smallest_subnormal == 2.0 ** (1 - info.bias - mantissa)
    assert f"{mantissa} mantissa bits" in repr(info)


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format 'float8'.*bfloat16"):
        p.format_info("float8")
    with pytest.raises(ValueError, match="unknown format"):
        p.bit_fields(1.0, "int8")


# ------------------------------------------------------------------------------ bit fields


def test_bit_fields_of_one_and_pi():
    one = p.bit_fields(1.0, "float32")
    assert (one.sign, one.exponent, one.mantissa) == ("0", "01111111", "0" * 23)
    assert one.unbiased_exponent == 0 and one.kind == "normal" and one.stored == 1.0

    pi = p.bit_fields(3.14159, "bfloat16")
    assert (pi.sign, pi.exponent, pi.mantissa) == ("0", "10000000", "1001001")
    assert pi.unbiased_exponent == 1
    assert pi.stored == (1 + 0b1001001 / 2**7) * 2 == 3.140625
    assert "1.1001001b × 2^1" in repr(pi) and "3.140625" in repr(pi)

    half = p.bit_fields(-2.5, "float16")
    assert (half.sign, half.exponent, half.mantissa) == ("1", "10000", "0100000000")
    assert half.stored == -2.5


@pytest.mark.parametrize("fmt", p.FORMAT_NAMES)
def test_bit_fields_agree_with_numpy_bits(fmt):
    dtype = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[fmt]
    uint = np.uint32 if fmt == "float32" else np.uint16
    for value in (0.1, -7.75, 1e-40, 123456.789, 1e-6):
        with np.errstate(over="ignore"):
            reference = np.array(value).astype(dtype)
        fields = p.bit_fields(value, fmt)
        bits = fields.sign + fields.exponent + fields.mantissa
        assert int(bits, 2) == int(reference.view(uint)), (fmt, value)
        assert fields.stored == float(reference)


def test_bit_fields_special_values():
    assert p.bit_fields(70000, "float16").kind == "inf"
    assert p.bit_fields(70000, "float16").unbiased_exponent is None
    assert p.bit_fields(70000, "bfloat16").stored == 70144.0
    assert p.bit_fields(float("nan"), "bfloat16").kind == "nan"
    assert p.bit_fields(-0.0, "float32").sign == "1" and p.bit_fields(0.0, "float32").kind == "zero"
    tiny = p.bit_fields(1e-40, "bfloat16")
    assert tiny.kind == "subnormal" and tiny.unbiased_exponent == -126
    assert tiny.stored == 2.0**-133  # 0.0000001b × 2^-126
    with pytest.raises(ValueError, match="one number"):
        p.bit_fields([1.0, 2.0], "float32")
    with pytest.raises(TypeError, match="real numbers"):
        p.bit_fields("1.0", "float32")


def test_show_bits_table():
    text = p.show_bits(1e5)
    lines = text.splitlines()
    assert lines[0] == "value 100000.0" and len(lines) == 5
    assert lines[2].split()[:4] == ["float32", "0", "10001111", "10000110101000000000000"]
    assert "overflow" in lines[3] and "inf" in lines[3]
    assert lines[4].split()[:5] == ["bfloat16", "0", "10001111", "1000011", "16"] and "99840.0" in lines[4]


# ------------------------------------------------------------------------------ to_bfloat16


def _bf16_bits_reference(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)


def _bf16_bits_ours(values: np.ndarray) -> np.ndarray:
    rounded = np.asarray(p.to_bfloat16(values), dtype=np.float32)
    bits = rounded.view(np.uint32)
    assert np.all(bits & 0xFFFF == 0), "to_bfloat16 must return values with bfloat16's low bits zero"
    return (bits >> 16).astype(np.uint16)


def _assert_bit_exact(values: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        assert np.array_equal(_bf16_bits_ours(values), _bf16_bits_reference(values))


SPECIAL_BITS = [
    0x3F808000,  # 1 + half a bf16 ulp: a tie, kept half even -> down to 1.0
    0x3F818000,  # a tie with an odd kept half -> up
    0x3F808001, 0x3F807FFF,  # just above / below the tie
    0x00000000, 0x80000000,  # +0, -0
    0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x807FFFFF,  # subnormals, ties among them
    0x00800000,  # smallest normal
    0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF,  # bf16 max, the tie above it (-> inf), float32 max (-> inf)
    0x7F800000, 0xFF800000,  # +inf, -inf
    0x7F800001, 0x7FC00000, 0x7FFFFFFF, 0xFFC00001, 0xFF800001,  # NaNs, signalling and quiet, both signs
]


def test_to_bfloat16_special_cases_bit_exact():
    _assert_bit_exact(np.array(SPECIAL_BITS, dtype=np.uint32).view(np.float32))
    ours = p.to_bfloat16(np.array([0x3F808000, 0x3F818000], dtype=np.uint32).view(np.float32))
    assert ours.tolist() == [1.0, 1.0 + 2 * 2.0**-7]


def test_to_bfloat16_nan_stays_nan():
    nans = np.array([0x7F800001, 0xFF800001, 0x7FFFFFFF], dtype=np.uint32).view(np.float32)
    out = p.to_bfloat16(nans)
    assert np.all(np.isnan(out))
    assert np.signbit(out).tolist() == [False, True, False]


def test_to_bfloat16_every_exponent_random_bits():
    rng = np.random.default_rng(7)
    _assert_bit_exact(rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32).view(np.float32))


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=True, allow_infinity=True, allow_subnormal=True))
def test_to_bfloat16_matches_ml_dtypes(value):
    _assert_bit_exact(np.array([value], dtype=np.float32))


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(max_dims=3, max_side=5)))
def test_to_bfloat16_keeps_shape_and_is_idempotent(values):
    out = p.to_bfloat16(values)
    assert out.dtype == np.float32 and out.shape == values.shape
    _assert_bit_exact(values)
    assert np.array_equal(p.to_bfloat16(out), out, equal_nan=True)


def test_to_bfloat16_inputs():
    scalar = p.to_bfloat16(3.14159)
    assert isinstance(scalar, np.float32) and scalar == 3.140625
    assert p.to_bfloat16([1, 2, 257]).tolist() == [1.0, 2.0, 256.0]  # 257 needs 9 significant bits
    assert p.to_bfloat16(np.array([1.5], dtype=ml_dtypes.bfloat16)).tolist() == [1.5]
    assert p.to_bfloat16(1e39) == np.inf
    with pytest.raises(TypeError, match="real numbers"):
        p.to_bfloat16("3.0")
    with pytest.raises(TypeError, match="complex"):
        p.to_bfloat16(np.array([1 + 2j]))


# ------------------------------------------------------------------------------ range


def test_overflow_demo():
    rows = {row["value"]: row for row in p.overflow_demo()}
    for value in (70000.0, 1e5):
        assert rows[value]["float16_outcome"] == "overflow" and rows[value]["float16"] == math.inf
        assert rows[value]["bfloat16_outcome"] == "rounded"
        assert abs(rows[value]["bfloat16"] - value) / value < 2.0**-8
    assert rows[65504.0]["float16_outcome"] == "exact"
    assert rows[3e38]["bfloat16_outcome"] == "rounded" and rows[3e38]["float16_outcome"] == "overflow"


def test_underflow_demo():
    rows = {row["value"]: row for row in p.underflow_demo()}
    assert rows[1e-8]["float16_outcome"] == "underflow" and rows[1e-8]["bfloat16"] > 0
    assert rows[1e-5]["float16_outcome"] == "subnormal" and rows[1e-5]["bfloat16_outcome"] == "rounded"
    assert rows[1e-39]["bfloat16_outcome"] == "subnormal"
    assert rows[1e-41]["bfloat16_outcome"] == "underflow" and rows[1e-41]["float32_outcome"] == "subnormal"
    assert rows[1e-46]["float32_outcome"] == "underflow"


def test_cast_report_exact_values():
    (row,) = p.cast_report([0.5])
    assert all(row[f"{fmt}_outcome"] == "exact" for fmt in p.FORMAT_NAMES)
    with pytest.raises(TypeError, match="values must hold real numbers"):
        p.cast_report(["big"])


# ------------------------------------------------------------------------------ the MXU rule


def test_mxu_matmul_is_bf16_inputs_fp32_accumulation():
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal((7, 33)), rng.standard_normal((33, 5))
    out = p.mxu_matmul(a, w)
    assert out.dtype == np.float32 and out.shape == (7, 5)
    a16 = a.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)
    w16 = w.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)
    exact = a16 @ w16  # bf16 x bf16 products are exact; only the float32 sums round
    sum_rounding = 33 * 2.0**-24 * (np.abs(a16) @ np.abs(w16))  # standard bound for 33 float32 adds
    assert np.all(np.abs(out - exact) <= sum_rounding)
    assert not np.allclose(out, a @ w, rtol=1e-5, atol=0)  # the input rounding is visible


def test_mxu_matmul_exact_on_small_integers():
    rng = np.random.default_rng(2)
    a, w = rng.integers(-8, 9, (6, 40)), rng.integers(-8, 9, (40, 3))
    assert np.array_equal(p.mxu_matmul(a, w), a @ w)


def test_bfloat16_accumulation_stalls_and_mxu_does_not():
    ones = np.ones((1, 4096)), np.ones((4096, 1))
    assert p.mxu_matmul(*ones)[0, 0] == 4096
    assert p.bfloat16_matmul(*ones)[0, 0] == 256  # 256 + 1 rounds back to 256 (spacing 2, tie to even)


def test_bfloat16_matmul_small_exact_case():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = np.array([[0.5, -1.0], [0.25, 2.0]])
    assert np.array_equal(p.bfloat16_matmul(a, w), a @ w)


def test_matmul_error_shows_why_the_mxu_accumulates_in_float32():
    rng = np.random.default_rng(3)
    a, w = rng.random((8, 1024)), rng.random((1024, 8))
    report = p.matmul_error(a, w)
    assert report.shape == (8, 1024, 8)
    # positive terms: the sum's relative error is at most the products' (two bf16 roundings), plus fp32 sums
    assert 0 < report.mxu_vs_float64.max_rel < 2 * 2.0**-8 + 1e-4
    assert report.float32_vs_float64.max_rel < 1e-5
    assert report.bfloat16_vs_float64.max_rel > 10 * report.mxu_vs_float64.max_rel
    assert report.mxu_vs_float32.max_abs == pytest.approx(report.mxu_vs_float64.max_abs, rel=0.05)
    assert report.bfloat16_vs_float32.max_abs > report.mxu_vs_float32.max_abs
    text = repr(report)
    assert "MXU" in text and "all bfloat16" in text and len(text.splitlines()) == 7


def test_error_stats_against_a_hand_computed_case():
    stats = p.ErrorStats.between(np.array([1.0, 2.5, 0.1]), np.array([1.0, 2.0, 0.0]))
    assert stats.max_abs == 0.5 and stats.max_rel == 0.25  # the zero reference is left out of max_rel


@pytest.mark.parametrize("function", [p.mxu_matmul, p.bfloat16_matmul, p.matmul_error])
def test_matmul_shape_errors(function):
    with pytest.raises(ValueError, match="A is 3x4 but W is 5x2: inner sizes must match"):
        function(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="W must be a 2-D matrix, got shape"):
        function(np.ones((3, 4)), np.ones(4))
    with pytest.raises(TypeError, match="A must hold real numbers"):
        function(np.array([["a"]]), np.ones((1, 1)))
