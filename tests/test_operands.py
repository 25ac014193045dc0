"""The simulator reads its operands exactly or refuses them with the reason and the fix (issue 24)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import sympy

from tpu_lecture.sim.array import SystolicArray
from tpu_lecture.viz.export import symbolic_example

ONES = np.ones((2, 1), dtype=int)


def matmul(A, W=ONES, rows=2, cols=2, dataflow="ws"):
    return SystolicArray(rows, cols, dataflow=dataflow).matmul(A, W).result


def test_masked_array_is_refused_not_read_unmasked():
    masked = np.ma.masked_array([[1, 2]], mask=[[False, True]])
    with pytest.raises(TypeError, match=r"masked array.*A\.filled\(0\)"):
        matmul(masked)
    with pytest.raises(TypeError, match=r"W is a masked array"):
        matmul(np.array([[1, 2]]), np.ma.masked_array(ONES, mask=[[True], [False]]))
    assert matmul(masked.filled(0)).tolist() == np.ma.dot(masked, ONES).tolist() == [[1]]


@pytest.mark.parametrize("bad", [None, "3", b"3", [1], {1: 2}, True, np.bool_(False), 1 + 2j, sympy.Matrix([1])])
def test_object_entries_that_are_not_numbers_are_refused(bad):
    A = np.empty((1, 2), dtype=object)
    A[0, 0], A[0, 1] = 1, bad
    with pytest.raises((TypeError, ValueError), match=r"A (holds|is not)"):
        matmul(A)


def test_none_names_the_entry_and_the_fix():
    with pytest.raises(TypeError, match=r"A holds None of type NoneType.*replace it by a number"):
        matmul(np.array([[None, 1]]))
    with pytest.raises(TypeError, match=r"W holds None"):
        matmul(np.array([[1, 1]]), [[None], [1]])


def test_decimals_are_refused_with_the_exact_alternative():
    with pytest.raises(TypeError, match=r"Decimal.*Fraction\(value\)"):
        matmul([[Decimal("0.1"), 0.2]])


@pytest.mark.parametrize("rows", [[[1, 2], [3]], [[1, [2, 3]]], [[sympy.Symbol("a"), sympy.Matrix([1])]]])
def test_ragged_lists_are_refused(rows):
    with pytest.raises(ValueError, match="not a rectangular matrix"):
        matmul(rows)


@pytest.mark.parametrize("rows", [[[2**53 + 1, 0.5]], [[np.uint64(2**64 - 1), np.int64(-1)]], [[2**63 + 1, -1]]])
def test_lists_numpy_would_change_are_refused(rows):
    with pytest.raises(ValueError, match=r"NumPy reads as .*dtype=object"):
        matmul(rows)
    exact = np.array(rows, dtype=object)
    assert matmul(exact).tolist() == (exact @ ONES.astype(object)).tolist()  # Python's own arithmetic


@pytest.mark.parametrize("dtype", [np.complex128, "datetime64[s]", "timedelta64[s]", "U3", [("a", "i4")]])
def test_dtypes_it_cannot_read_are_refused(dtype):
    with pytest.raises(TypeError, match="the simulator takes"):
        matmul(np.zeros((1, 2), dtype=dtype))


def test_exact_kinds_still_work():
    assert matmul([[Fraction(1, 3), Fraction(1, 2)]]).tolist() == [[Fraction(5, 6)]]
    assert matmul([[1, 0.5]]).tolist() == [[1.5]]
    assert matmul(np.array([[2**70, 1]], dtype=object)).tolist() == [[2**70 + 1]]
    assert np.isnan(matmul([[np.nan, 1.0]])[0, 0])


def test_the_lectures_symbolic_example_still_works():
    A, W = symbolic_example(2, 2, 2)
    result = SystolicArray(2, 2).matmul(A, W).result
    a, b, c, d, e, f, g, h = sympy.symbols("A B C D E F G H")
    assert sympy.expand(result[0, 0] - (a * e + b * g)) == 0
    assert sympy.expand(result[1, 1] - (c * f + d * h)) == 0
