"""The error bounds the notebooks compare floating-point results with: true in every summation order, not vacuous."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tpu_lecture as tl
from tpu_lecture import accuracy

ROOT = Path(__file__).resolve().parent.parent


def _float32_sums(A, W):
    """The same float32 product summed in four orders: BLAS, left to right, right to left, pairwise."""
    A32, W32 = A.astype(np.float32), W.astype(np.float32)
    products = A32[:, :, None] * W32[None, :, :]  # M×K×N, each product rounded to float32
    left = np.zeros((A.shape[0], W.shape[1]), np.float32)
    for k in range(A.shape[1]):
        left = left + products[:, k, :]
    right = np.zeros_like(left)
    for k in reversed(range(A.shape[1])):
        right = right + products[:, k, :]
    return {"blas": A32 @ W32, "left": left, "right": right, "pairwise": products.sum(axis=1, dtype=np.float32)}


@pytest.mark.parametrize("seed", range(5))
def test_every_summation_order_stays_within_the_bound(seed):
    rng = np.random.default_rng(seed)
    A, W = rng.standard_normal((16, 300)) * 1e3, rng.standard_normal((300, 12))
    A, W = A.astype(np.float32), W.astype(np.float32)
    exact, bound = A.astype(np.float64) @ W.astype(np.float64), tl.dot_error_bound(A, W)
    for order, got in _float32_sums(A, W).items():
        assert tl.agreement(order, got, exact, bound, "γ_k·Σ|ab|").holds, order


def test_bfloat16_inputs_need_their_own_bound():
    rng = np.random.default_rng(7)
    A, W = rng.standard_normal((32, 128), dtype=np.float32), rng.standard_normal((128, 32), dtype=np.float32)
    exact = A.astype(np.float64) @ W.astype(np.float64)
    mxu = tl.mxu_matmul(A, W)  # bfloat16 inputs, float32 sums: one pass of a TPU's MXU
    assert tl.agreement("mxu", mxu, exact, tl.dot_error_bound(A, W, inputs="bfloat16"), "").holds
    assert not tl.agreement("mxu", mxu, exact, tl.dot_error_bound(A, W), "").holds, "float32's bound is too tight"


def test_the_bound_is_not_vacuous():
    rng = np.random.default_rng(3)
    A, W = rng.standard_normal((8, 64), dtype=np.float32), rng.standard_normal((64, 8), dtype=np.float32)
    bound = tl.dot_error_bound(A, W)
    exact = A.astype(np.float64) @ W
    off = exact.copy()
    off[2, 5] += 2 * bound[2, 5]
    found = tl.agreement("one element off by twice its bound", off, exact, bound, "")
    assert not found.holds and found.share == pytest.approx(2.0)
    assert bound.max() < 1e-5 * (np.abs(A.astype(np.float64)) @ np.abs(W)).max(), "γ_64 is about 4e-6"


def test_gamma_and_formats():
    assert accuracy.gamma(256, 2.0**-24) == pytest.approx(256 * 2.0**-24, rel=1e-4)
    assert accuracy.unit_roundoff("bf16") == 2.0**-8 and accuracy.unit_roundoff("TF32") == 2.0**-11
    with pytest.raises(ValueError, match="too short"):
        accuracy.gamma(300, 2.0**-8)
    with pytest.raises(ValueError, match="unknown number format 'fp8'"):
        accuracy.unit_roundoff("fp8")
    with pytest.raises(ValueError, match="M×K and K×N"):
        tl.dot_error_bound(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="one shape"):
        tl.agreement("x", np.ones(3), np.ones(4), 1.0, "")


def test_what_varies_by_machine_is_masked_for_nbval_and_nothing_else():
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    line = str(tl.agreement("XLA vs eager", A @ W, A @ W + 1e-17, tl.dot_error_bound(A, W), "γ_4·Σ|ab|"))
    config = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    rules = re.findall(r"^regex: (.*)\nreplace: (.*)$", config, flags=re.M)
    masked = line
    for pattern, replacement in rules:
        masked = re.sub(pattern, replacement, masked)
    assert f"[{accuracy.VARIES}]" in masked and "largest |difference|" in line and "largest" not in masked
    assert masked.split("[")[0] == line.split("[")[0], "the bound and the verdict are compared as printed"


def test_the_log_filter_drops_framework_lines_and_keeps_the_rest_in_order():
    code = (
        "import os\n"
        "from tpu_lecture.runtime.quiet import keep_framework_logs_out\n"
        "assert keep_framework_logs_out() and keep_framework_logs_out()\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'first\\nI0000 00:00:1795674186.818040   15311 device_compiler.h:188] Compiled cluster "
        "using XLA!\\nsec')\n"
        "os.write(2, b'ond\\nE0000 00:00:1795674191.121674   15311 cuda_executor.cc:1228] failed call to cuInit\\n')\n"
        "os.write(2, b'last words, no newline')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "first\nsecond\nlast words, no newline"


def test_the_mxu_rule_sums_in_one_fixed_order_not_the_blas_kernels():
    """mxu_matmul's float32 sums run k = 0 … K − 1, element by element: the same bits on every CPU."""
    rng = np.random.default_rng(11)
    A, W = rng.standard_normal((3, 37), dtype=np.float32), rng.standard_normal((37, 2), dtype=np.float32)
    a, w = tl.to_bfloat16(A).astype(np.float32), tl.to_bfloat16(W).astype(np.float32)
    by_hand = np.zeros((3, 2), dtype=np.float32)
    for i in range(3):
        for j in range(2):
            acc = np.float32(0)
            for k in range(37):
                acc = np.float32(acc + np.float32(a[i, k] * w[k, j]))
            by_hand[i, j] = acc
    assert np.array_equal(tl.mxu_matmul(A, W), by_hand)
    in_order = np.cumsum(A[0][:, None] * W, axis=0, dtype=np.float32)[-1]
    assert np.array_equal(tl.precision.float32_sums(A, W)[0], in_order)
