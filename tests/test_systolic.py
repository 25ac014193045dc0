"""The simulator against trusted references: numpy.matmul, closed-form cycle counts, M·K·N MACs, the PE rules."""

import dataclasses
import math
import time
import tracemalloc

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim.array import (
    SystolicArray,
    check_cycle,
    estimate,
    expected_cycles,
    lecture_example,
    schedule,
)
from tpu_lecture.sim.dataflow import DATAFLOWS as FLOWS
from tpu_lecture.sim.dataflow import INPUT_STATIONARY, OUTPUT_STATIONARY, WEIGHT_STATIONARY, Dataflow
from tpu_lecture.sim.rules import assert_pe_rules
from tpu_lecture.sim.schedule import Tile
from tpu_lecture.sim.tape import FoldRecord

DATAFLOWS = ["weight_stationary", "output_stationary", "input_stationary"]
# Every dataflow in every loading mode it has: output-stationary loads nothing.
MODES = [("weight_stationary", "serial"), ("weight_stationary", "double"), ("output_stationary", None),
         ("input_stationary", "serial"), ("input_stationary", "double")]
MODE_IDS = [f"{flow}-{load}" for flow, load in MODES]

# (M, K, N, R, C): square, M < R, K > R (folds over K), N > C (folds over N), several folds each way.
SHAPES = [
    (4, 4, 4, 4, 4),
    (2, 4, 4, 4, 4),
    (5, 9, 3, 4, 4),
    (6, 3, 11, 4, 4),
    (7, 10, 9, 3, 4),
    (1, 1, 1, 1, 1),
    (13, 5, 2, 8, 8),
]


def random_ints(rng, shape):
    return rng.integers(-20, 20, size=shape)


@pytest.mark.parametrize("dataflow,load", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("m,k,n,rows,cols", SHAPES)
def test_integer_result_equals_numpy(dataflow, load, m, k, n, rows, cols):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    A, W = random_ints(rng, (m, k)), random_ints(rng, (k, n))
    run = SystolicArray(rows, cols, dataflow, load=load).matmul(A, W)
    np.testing.assert_array_equal(run.result, np.matmul(A, W))
    assert run.macs == m * k * n


@pytest.mark.parametrize("dataflow,load", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("m,k,n,rows,cols", SHAPES)
def test_float_result_close_to_numpy(dataflow, load, m, k, n, rows, cols):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((m, k)).astype(np.float32)
    W = rng.standard_normal((k, n)).astype(np.float32)
    run = SystolicArray(rows, cols, dataflow, load=load).matmul(A, W)
    assert run.result.dtype == np.float32
    np.testing.assert_allclose(run.result, A.astype(np.float64) @ W.astype(np.float64), rtol=1e-5, atol=1e-5)


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9),
    rows=st.integers(1, 5), cols=st.integers(1, 5), mode=st.sampled_from(MODES), seed=st.integers(0, 2**16),
)
def test_stepped_counts_equal_the_closed_forms_for_every_dataflow_and_mode(m, k, n, rows, cols, mode, seed):
    dataflow, load = mode
    rng = np.random.default_rng(seed)
    A, W = random_ints(rng, (m, k)), random_ints(rng, (k, n))
    run = SystolicArray(rows, cols, dataflow, load=load).matmul(A, W, keep_frames=False)
    plan = schedule(m, k, n, rows, cols, dataflow, load)
    np.testing.assert_array_equal(run.result, A @ W)
    assert run.cycles == plan.cycles == expected_cycles(m, k, n, rows, cols, dataflow, load)
    split = ("compute_cycles", "load_cycles", "stall_cycles", "drain_cycles")
    assert [getattr(run, name) for name in split] == [getattr(plan, name) for name in split]
    assert run.cycles == run.compute_cycles + run.load_cycles + run.stall_cycles + run.drain_cycles
    assert run.drain_cycles == (rows * run.folds if dataflow == "output_stationary" else 0)
    assert run.stall_cycles == 0 or load == "double"
    assert run.macs == m * k * n
    assert run.utilization == pytest.approx(m * k * n / (rows * cols * run.cycles))
    assert run.compute_utilization == pytest.approx(m * k * n / (rows * cols * run.compute_cycles))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("load", ["serial", "double"])
def test_n_by_n_on_n_by_n_computes_for_3n_minus_2_cycles_after_n_of_loading(n, load):
    A = np.ones((n, n), int)
    run = SystolicArray(n, n, load=load).matmul(A, A, keep_frames=False)
    assert run.compute_cycles == 3 * n - 2
    assert run.load_cycles == n and run.cycles == 4 * n - 2
    assert run.folds == 1


def test_utilization_means_the_same_for_every_dataflow():
    """One n×n product on an n×n array: every dataflow takes 4n − 2 cycles all told, so all reach the same."""
    n = 8
    A = np.ones((n, n), int)
    runs = {flow: SystolicArray(n, n, flow).matmul(A, A, keep_frames=False) for flow in ("ws", "os", "is")}
    assert {run.cycles for run in runs.values()} == {4 * n - 2}
    assert len({run.utilization for run in runs.values()}) == 1
    assert runs["os"].load_cycles == 0 and runs["os"].compute_cycles == 3 * n - 2  # its drain is counted apart
    assert runs["os"].drain_cycles == n and runs["os"].compute_utilization == runs["ws"].compute_utilization
    assert runs["ws"].load_cycles == runs["is"].load_cycles == n  # both fill their held tile: n cycles
    assert runs["ws"].compute_utilization == pytest.approx(n**3 / (n * n * (3 * n - 2)))
    plans = {flow: schedule(128, 128, 128, 128, 128, flow) for flow in ("ws", "os", "is")}
    assert {plan.cycles for plan in plans.values()} == {510}  # the case: 33.5 % vs 25.1 % no more


def test_folds_and_load_cycles_of_an_mxu_sized_product():
    A, W = np.ones((256, 300), int), np.ones((300, 200), int)
    serial = SystolicArray(128, 128, load="serial").matmul(A, W, keep_frames=False)
    double = SystolicArray(128, 128).matmul(A, W, keep_frames=False)
    assert serial.folds == double.folds == 3 * 2  # ceil(300/128) × ceil(200/128)
    assert serial.load_cycles == 6 * 128  # every load stalls the array
    assert double.load_cycles == 128  # only the first: each fold is in flight longer than the next tile's 2R + C − 1
    assert serial.compute_cycles == 3 * (2 * 256 + 2 * 128 + 128 + 72 - 4)  # Σ (M + R + c − 2), c = 128 or 72
    assert double.cycles < serial.cycles
    np.testing.assert_array_equal(serial.result, np.full((256, 200), 300))
    np.testing.assert_array_equal(double.result, serial.result)


def test_a_fold_waiting_for_its_tile_is_a_stall_not_compute():
    """20×16 @ 16×16 on 8×8, double-buffered: each of 3 folds waits 2R + C − 1 − M = 3 cycles for the next tile."""
    run = SystolicArray(8, 8).matmul(np.ones((20, 16), int), np.ones((16, 16), int), keep_frames=False)
    assert (run.cycles, run.compute_cycles, run.load_cycles, run.stall_cycles) == (111, 94, 8, 9)
    assert run.compute_utilization == pytest.approx(20 * 16 * 16 / (64 * 94))
    assert "+ 9 stall" in run.summary() and "+ 9 stall" in repr(run.schedule)
    assert SystolicArray(8, 8, load="serial").matmul(np.ones((20, 16), int), np.ones((16, 16), int)).stall_cycles == 0


def test_double_buffering_hides_the_loads_once_a_fold_streams_long_enough():
    """Double-buffered folds follow each other every max(M, 2R + C − 1) cycles; serial ones every R + M + R + C − 2."""
    R = C = 4
    for m in (1, 5, 2 * R + C - 1, 40):
        serial = schedule(m, 3 * R, C, R, C, "ws", "serial")
        double = schedule(m, 3 * R, C, R, C, "ws", "double")
        assert serial.cycles == 3 * (R + m + R + C - 2)
        assert double.cycles == R + 2 * max(m, 2 * R + C - 1) + (m + R + C - 2)
        assert double.cycles <= serial.cycles
    assert schedule(1, 3 * R, C, R, C, "ws", "double").cycles == schedule(1, 3 * R, C, R, C, "ws", "serial").cycles
    assert schedule(40, 3 * R, C, R, C, "ws", "double").load_cycles == R  # a batch of 40 hides every load but one


def test_lecture_symbolic_example():
    A, W = lecture_example()
    run = SystolicArray(2, 2).matmul(A, W)
    texts = [[str(x) for x in row] for row in run.result]
    assert texts == [["A*E + B*G", "A*F + B*H"], ["C*E + D*G", "C*F + D*H"]]
    assert (run.cycles, run.compute_cycles, run.load_cycles) == (6, 4, 2)  # E F / G H shift in, then 3n − 2


@pytest.mark.parametrize("dataflow,load", MODES, ids=MODE_IDS)
def test_symbolic_every_dataflow(dataflow, load):
    import sympy

    A, W = lecture_example()
    run = SystolicArray(2, 2, dataflow, load=load).matmul(A, W)
    expected = sympy.Matrix(A.tolist()) * sympy.Matrix(W.tolist())
    assert all(sympy.expand(run.result[i, j] - expected[i, j]) == 0 for i in range(2) for j in range(2))


def test_bfloat16_inputs_accumulate_in_float32_in_order():
    rng = np.random.default_rng(3)
    m, k, n, rows = 6, 11, 5, 4
    A = rng.standard_normal((m, k)).astype(ml_dtypes.bfloat16)
    W = rng.standard_normal((k, n)).astype(ml_dtypes.bfloat16)
    run = SystolicArray(rows, 8).matmul(A, W)
    assert run.result.dtype == np.float32
    # The MXU's order: each fold sums its K rows top to bottom in float32, then adds into the accumulator.
    A32, W32 = A.astype(np.float32), W.astype(np.float32)
    expected = np.zeros((m, n), np.float32)
    for start in range(0, k, rows):
        psum = np.zeros((m, n), np.float32)
        for i in range(start, min(start + rows, k)):
            psum = psum + A32[:, i : i + 1] * W32[i : i + 1, :]
        expected = expected + psum
    np.testing.assert_array_equal(run.result, expected)


def test_integers_accumulate_in_int32_unless_a_sum_could_overflow():
    run = SystolicArray(2, 2).matmul(np.full((2, 2), 127, np.int8), np.full((2, 2), -128, np.int8))
    assert run.result.dtype == np.int32  # 8-bit MACs into 32-bit accumulators, as in TPU v1
    np.testing.assert_array_equal(run.result, np.full((2, 2), 2 * 127 * -128))
    big = np.full((2, 3), 2**20, np.int64)
    run = SystolicArray(2, 2).matmul(big, big.T)
    assert run.result.dtype == np.int64
    np.testing.assert_array_equal(run.result, big @ big.T)


@pytest.mark.parametrize("A,W", [
    (np.array([[-(2**63)]], np.int64), np.array([[1]], np.int64)),  # np.abs(-2**63) overflows to -2**63
    (np.array([[2**64 - 1]], np.uint64), np.array([[1]], np.uint64)),  # astype(int64) made it -1
    (np.array([[2**63 + 5, 7]], np.uint64), np.array([[1], [2]], np.uint64)),
    (np.array([[2**31, -(2**31)]], np.int64), np.array([[2**31], [2**31]], np.int64)),  # sums cancel; terms do not
    (np.array([[np.iinfo(np.int32).min]], np.int32), np.array([[-1]], np.int32)),  # 2**31 does not fit int32
], ids=["int64-min", "uint64-max", "uint64-two-terms", "int64-cancelling", "int32-min-times-minus-1"])
def test_integers_near_the_ends_of_their_range_are_exact(A, W):
    """Issue 15, finding 4: these came out wrong without a word; the accumulator is now chosen from exact bounds."""
    exact = np.array(A.astype(object) @ W.astype(object), dtype=object)
    for dataflow in ("ws", "os", "is"):
        run = SystolicArray(2, 2, dataflow).matmul(A, W)
        assert [int(y) for y in run.result.flat] == [int(y) for y in exact.flat], dataflow


def test_integers_no_numpy_type_can_hold_are_refused_or_run_exactly_as_python_ints():
    A, W = np.array([[2**62, 2**62]], np.int64), np.array([[4], [4]], np.int64)  # 2**65: beyond int64 and uint64
    with pytest.raises(ValueError, match=r"beyond every NumPy integer type.*A\.astype\(object\)"):
        SystolicArray(2, 2).matmul(A, W)
    run = SystolicArray(2, 2).matmul(A.astype(object), W.astype(object))
    assert run.result[0, 0] == 2**65 and run.result.dtype == object


def test_mac_count_is_the_same_with_and_without_frames():
    A, W = np.ones((5, 7), int), np.ones((7, 6), int)
    for dataflow in DATAFLOWS:
        with_frames = SystolicArray(3, 4, dataflow).matmul(A, W)
        without = SystolicArray(3, 4, dataflow).matmul(A, W, keep_frames=False)
        assert with_frames.macs == without.macs == sum(int(f.active.sum()) for f in with_frames.frames)


# ---------------------------------------------------------------- frames


@pytest.mark.parametrize("dataflow", ["weight_stationary", "input_stationary"])
def test_frames_move_values_right_and_partial_sums_down(dataflow):
    rng = np.random.default_rng(5)
    A, W = random_ints(rng, (5, 6)), random_ints(rng, (6, 7))
    run = SystolicArray(4, 3, dataflow).matmul(A, W)
    moving = "activation" if dataflow == "weight_stationary" else "weight"
    held = "weight" if dataflow == "weight_stationary" else "activation"
    frames = run.frames
    checked = 0
    for t in range(1, run.cycles):
        now, before = frames[t], frames[t - 1]
        if now.fold != before.fold:
            continue
        value, valid = now.values[moving], now.valid[moving]
        prev, prev_valid = before.values[moving], before.valid[moving]
        for i, j in zip(*np.nonzero(valid[:, 1:])):
            assert prev_valid[i, j] and value[i, j + 1] == prev[i, j]
            checked += 1
        product = np.where(now.active, now.values[moving] * now.values[held], 0)
        psum, psum_before = now.values["psum"], before.values["psum"]
        for i, j in zip(*np.nonzero(now.valid["psum"][1:, :])):
            assert before.valid["psum"][i, j]
            assert psum[i + 1, j] == psum_before[i, j] + product[i + 1, j]
            checked += 1
    assert checked > 100


def test_output_stationary_frames_accumulate_in_place():
    rng = np.random.default_rng(6)
    A, W = random_ints(rng, (3, 5)), random_ints(rng, (5, 4))
    run = SystolicArray(3, 4, "os").matmul(A, W)
    for t in range(1, run.cycles):
        now, before = run.frame(t), run.frame(t - 1)
        if now.phase != "compute":
            continue
        value, old = now.values, before.values
        for i, j in zip(*np.nonzero(now.valid["activation"][:, 1:])):
            assert value["activation"][i, j + 1] == old["activation"][i, j]
        for i, j in zip(*np.nonzero(now.valid["weight"][1:, :])):
            assert value["weight"][i + 1, j] == old["weight"][i, j]
        gained = np.where(now.active, value["activation"] * value["weight"], 0)
        np.testing.assert_array_equal(value["psum"], old["psum"] + gained)
    assert run.frame(run.cycles - 1).phase == "drain"


def test_macs_per_frame_add_up_and_outputs_are_collected():
    rng = np.random.default_rng(8)
    A, W = random_ints(rng, (4, 6)), random_ints(rng, (6, 5))
    for dataflow in DATAFLOWS:
        run = SystolicArray(4, 4, dataflow).matmul(A, W)
        frames = run.frames
        assert sum(int(f.active.sum()) for f in frames) == run.macs == 4 * 6 * 5
        assert frames[-1].macs_done == run.macs
        last = frames[-1]
        assert last.output_valid.all()
        np.testing.assert_array_equal(last.output, A @ W)
        first = run.fold_records[0].start  # the first cycle a value enters: the first MACs
        assert frames[first].macs_done >= 1 and frames[first - 1].macs_done == 0 if first else frames[0].macs_done >= 1


def test_skewed_input_queue():
    A = np.arange(1, 13).reshape(4, 3)
    run = SystolicArray(3, 2).matmul(A, np.ones((3, 2), int))
    first = run.frame(run.fold_records[0].start)  # the cycle A[0, 0] enters, after the weights have loaded
    # Row i waits i cycles longer than row 0: after cycle 0, A[1, 0] is next in row 0 ...
    assert first.queue_left_valid[0, 0] and first.queue_left[0, 0] == A[1, 0]
    # ... row 1 has A[0, 1] next, row 2 still has A[0, 2] one cycle away from the next.
    assert first.queue_left[1, 0] == A[0, 1]
    assert not first.queue_left_valid[2, 0] and first.queue_left[2, 1] == A[0, 2]
    assert first.values["activation"][0, 0] == A[0, 0]


def test_frame_errors_name_the_fix():
    run = SystolicArray(2, 2).matmul(np.ones((2, 2)), np.ones((2, 2)), keep_frames=False)
    with pytest.raises(ValueError, match="keep_frames=True"):
        run.frame(0)
    run = SystolicArray(2, 2).matmul(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"cycle t = 6 is outside this run: choose t in 0 … 5"):
        run.frame(6)
    with pytest.raises(ValueError, match=r"0 … 5"):
        run.frame(-1)
    with pytest.raises(TypeError, match="whole number"):
        run.frame(1.5)


def test_memory_without_frames_stays_small():
    A, W = np.ones((2000, 16), int), np.ones((16, 16), int)
    tracemalloc.start()
    SystolicArray(16, 16).matmul(A, W, keep_frames=False)
    _, peak_without = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    SystolicArray(16, 16).matmul(A, W, keep_frames=True)
    _, peak_with = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Inputs and outputs are 2000×16; frames add 2030 cycles × 16×16 PEs × several arrays.
    assert peak_without < 2_000_000
    assert peak_with > 10 * peak_without


def test_frame_storage_too_large_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="keep_frames=False"):
        SystolicArray(128, 128).matmul(np.ones((4096, 128)), np.ones((128, 128)))


def test_frame_storage_is_sized_before_it_is_allocated():
    """Issue 15, finding 6: a 1.2 TiB frame store was allocated first ("Unable to allocate 1.24 TiB")."""
    A, W = np.ones((1_400_000, 1), np.int8), np.ones((1, 128), np.int8)
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"[0-9,.]+ GiB.*keep_frames=False"):
        SystolicArray(128, 128).matmul(A, W)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50_000_000  # the operands' copies only, never the frames


def test_closed_forms_take_constant_time_and_memory():
    """Issue 15, finding 6: one list entry per fold made expected_cycles(20000, 20000, 20000, 1, 1) exhaust memory."""
    tracemalloc.start()
    start = time.perf_counter()
    # 4·10⁸ folds of 20000 rows; serial: each pays 1 load cycle; double-buffered: only the first does
    for load, cycles in {"serial": 20000**3 + 20000**2, "double": 20000**3 + 1}.items():
        assert expected_cycles(20000, 20000, 20000, 1, 1, load=load) == cycles
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 1_000_000
    size = estimate(20000, 20000, 20000, 1, 1)
    assert size.cycles == expected_cycles(20000, 20000, 20000, 1, 1) and size.seconds > 3600
    with pytest.raises(ValueError, match=r"this run is too big.*8,000,000,000,001 cycles"):
        size.refuse(max_seconds=60)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "A,W,error,message",
    [
        (np.ones(3), np.ones((3, 2)), ValueError, "2-D"),
        (np.ones((2, 3, 1)), np.ones((3, 2)), ValueError, "2-D"),
        (np.ones((3, 4)), np.ones((5, 2)), ValueError, "A is 3x4 but W is 5x2: inner sizes must match"),
        (np.ones((0, 3)), np.ones((3, 2)), ValueError, "A is 0x3"),
        (np.ones((2, 3)), np.ones((3, 0)), ValueError, "W is 3x0"),
        (np.ones((2, 2), complex), np.ones((2, 2)), TypeError, "complex128"),
        (np.array([["a", "b"]]), np.ones((2, 2)), TypeError, "dtype"),
        (np.ones((2, 2), bool), np.ones((2, 2)), TypeError, "astype"),
        (np.array([[object(), 1]], dtype=object), np.ones((2, 1)), TypeError, "object"),
    ],
)
def test_bad_matrices(A, W, error, message):
    with pytest.raises(error, match=message):
        SystolicArray(2, 2).matmul(A, W)


@pytest.mark.parametrize("rows,cols,message", [(0, 2, "array rows must be at least 1, got 0"),
                                               (2, 0, "array cols must be at least 1, got 0"),
                                               (-1, 3, "array rows must be at least 1, got -1")])
def test_array_size_below_one(rows, cols, message):
    with pytest.raises(ValueError, match=message):
        SystolicArray(rows, cols)


def test_array_size_not_whole():
    with pytest.raises(TypeError, match="array rows must be a whole number, got 2.5"):
        SystolicArray(2.5, 2)
    with pytest.raises(TypeError, match="bool"):
        SystolicArray(True, 2)


def test_unknown_dataflow_lists_the_choices():
    with pytest.raises(ValueError, match="'ws'.*'os'.*'is'"):
        SystolicArray(2, 2, "row_stationary")


def test_loading_modes_bad_input_names_the_value_and_the_choices():
    with pytest.raises(ValueError, match=r"unknown loading mode 'triple': use 'serial' \(.*\) or 'double' \("):
        SystolicArray(2, 2, load="triple")
    with pytest.raises(ValueError, match=r"output-stationary loads nothing.*load='serial' means nothing.*'ws'"):
        SystolicArray(2, 2, "os", load="serial")
    with pytest.raises(ValueError, match="output-stationary loads nothing"):
        schedule(2, 2, 2, 2, 2, "os", "double")
    with pytest.raises(TypeError, match="load must be a loading mode's name"):
        SystolicArray(2, 2, load=2)
    for alias in ("double-buffered", "DOUBLE", " serial "):
        assert SystolicArray(2, 2, load=alias).loading.name == alias.strip().lower().split("-")[0]
    assert SystolicArray(2, 2, "os").loading is None and SystolicArray(2, 2).loading.name == "double"


def test_aliases_and_reprs():
    array = SystolicArray(4, 4, "ws")
    assert array.dataflow == "weight_stationary" and array.pes == 16
    assert repr(array) == "SystolicArray(4x4, weight_stationary, double loading)"
    run = array.matmul(np.ones((4, 4), int), np.ones((4, 4), int))
    assert repr(run) == ("SystolicRun(weight-stationary 4x4 double, 4x4 @ 4x4: 14 cycles (10 compute), 64 MACs, "
                         "28.6% utilization, 1 fold)")
    assert "3" in repr(run.frame(3)) and "MACs so far" in repr(run.frame(3)) and "loading" in repr(run.frame(0))
    assert run.flows == {"activation": "right", "psum": "down"} and run.stationary == "weight"
    assert "utilization: 28.6% of 16 PEs x 14 cycles (40.0% of the compute cycles)" in run.summary()
    assert "cycles:      14 = 10 compute + 4 load" in run.summary()


def test_expected_cycles_rejects_bad_sizes():
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        expected_cycles(4, 0, 4, 4, 4)
    with pytest.raises(TypeError, match="rows must be a whole number"):
        schedule(4, 4, 4, 2.0, 4)
    with pytest.raises(ValueError, match="unknown dataflow"):
        expected_cycles(4, 4, 4, 4, 4, "diagonal")


# ---------------------------------------------------------------- the Dataflow objects


def in_flight_by_hand(m, k, n, R, C, dataflow):
    """Σ over the folds of the fold formula, derived on paper (the compute cycles when folds do not overlap)."""
    ceil = math.ceil
    if dataflow == "weight_stationary":
        return ceil(k / R) * (ceil(n / C) * (m + R - 2) + n)
    if dataflow == "input_stationary":
        return ceil(k / R) * (ceil(m / C) * (n + R - 2) + m)
    return ceil(m / R) * ceil(n / C) * (k + R - 2) + ceil(n / C) * m + ceil(m / R) * n


def timeline_by_hand(m, k, n, R, C, dataflow, load):
    """(total, compute, load per fold, stall, drain) cycles by walking the folds one by one with the loading rules,
    independently of sim/: a stall is a cycle, double-buffered, after a fold's T values have entered and while it
    is still in flight, before the next fold's first value enters; output-stationary drains R cycles a fold."""
    T = {"weight_stationary": m, "input_stationary": n, "output_stationary": k}[dataflow]
    held = {"weight_stationary": (k, n), "input_stationary": (k, m), "output_stationary": (m, n)}
    rows_cut, cols_cut = held[dataflow]
    folds = [(r, c) for r in [min(R, rows_cut - a) for a in range(0, rows_cut, R)]
             for c in [min(C, cols_cut - b) for b in range(0, cols_cut, C)]]
    start, end, busy, load_cycles = (R if load else 0), 0, 0, (R if load else 0)
    stall, drain = 0, (R * len(folds) if dataflow == "output_stationary" else 0)
    for index, (r, c) in enumerate(folds):
        in_flight = T + R + c - 2 if dataflow != "output_stationary" else T + r + c - 2 + R
        busy += in_flight - max(0, end - start)  # the part that does not overlap the fold before
        end = max(end, start + in_flight)
        if index < len(folds) - 1:  # when the next fold's first value enters
            wave = R + C - 1  # the control signal has passed every PE
            following = start + {None: in_flight, "serial": R + max(in_flight, wave), "double": max(T, wave + R)}[load]
            if load == "double":
                stall += max(0, min(following, start + in_flight) - (start + T))
            start = following
    return end, busy - stall - drain, load_cycles, stall, drain


@settings(max_examples=300, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 300), n=st.integers(1, 300), rows=st.integers(1, 40),
       cols=st.integers(1, 40), mode=st.sampled_from(MODES))
def test_the_closed_forms_equal_the_folds_walked_one_by_one(m, k, n, rows, cols, mode):
    dataflow, load = mode
    plan = schedule(m, k, n, rows, cols, dataflow, load)
    total, compute, per_fold, stall, drain = timeline_by_hand(m, k, n, rows, cols, dataflow, load)
    assert (plan.cycles, plan.compute_cycles, plan.stall_cycles, plan.drain_cycles) == (total, compute, stall, drain)
    assert plan.load_cycles_per_fold == per_fold
    assert plan.folds == len(plan.tiles) == math.prod(
        math.ceil(size / step) for size, step in zip(dataflows.get(dataflow).held_shape(m, k, n), (rows, cols)))
    if load != "double":
        assert plan.in_flight_cycles == in_flight_by_hand(m, k, n, rows, cols, dataflow)
    timeline = list(plan.timeline())
    assert [fold.start for fold in timeline] == list(plan.fold_starts) and timeline[-1].end == plan.cycles


def test_the_closed_forms_on_paper_for_the_lecture_shapes():
    """Weight-stationary, whole tiles: serial ⌈K/R⌉⌈N/C⌉·(M + 2R + C − 2); double R + (F − 1)·M + M + R + C − 2."""
    m, k, n, R, C = 1024, 3072, 2048, 128, 128
    folds = (k // R) * (n // C)
    assert schedule(m, k, n, R, C, "ws", "serial").cycles == folds * (m + 2 * R + C - 2)
    assert schedule(m, k, n, R, C, "ws", "double").cycles == R + (folds - 1) * m + m + R + C - 2
    assert schedule(1, k, n, R, C, "ws", "double").cycles == folds * (2 * R + C - 1)  # batch 1: no load can hide


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 7), k=st.integers(1, 7), n=st.integers(1, 7), rows=st.integers(1, 4),
       cols=st.integers(1, 4), dataflow=st.sampled_from(FLOWS), load=st.sampled_from(["serial", "double"]))
def test_each_fold_loads_and_starts_when_its_formula_says(m, k, n, rows, cols, dataflow, load):
    """Stepped, fold by fold: the loads and fold starts the controller chose are the closed forms' timeline."""
    if dataflow is OUTPUT_STATIONARY:
        load = None
    A, W = np.ones((m, k), int), np.ones((k, n), int)
    run = SystolicArray(rows, cols, dataflow, load=load).matmul(A, W)
    timeline = list(run.schedule.timeline())
    assert [fold.start for fold in run.fold_records] == [fold.start for fold in timeline]
    assert [fold.load_start for fold in run.fold_records] == [fold.load_start for fold in timeline]
    assert timeline[-1].end == run.cycles


def test_the_tiles_cover_the_product_once():
    for flow in FLOWS:
        plan = flow.schedule(7, 10, 9, 3, 4)
        assert all(isinstance(tile, Tile) for tile in plan.tiles)
        covered = np.zeros((7, 10, 9), int)
        for tile in plan.tiles:
            covered[tile.m, tile.k, tile.n] += 1
        assert (covered == 1).all(), flow.name
        assert all(tile.sizes.k <= 3 for tile in plan.tiles) or flow is OUTPUT_STATIONARY
    assert repr(WEIGHT_STATIONARY.schedule(2, 3, 4, 2, 2).tiles[0]) == "Tile(m 0:2, k 0:2, n 0:2)"


def test_each_dataflow_owns_its_names_and_movements():
    assert [flow.name for flow in FLOWS] == ["weight_stationary", "output_stationary", "input_stationary"]
    for alias in ("ws", "weight-stationary", "WEIGHT_STATIONARY", " ws "):
        assert dataflows.get(alias) is WEIGHT_STATIONARY
    assert dataflows.get(INPUT_STATIONARY) is INPUT_STATIONARY
    assert (WEIGHT_STATIONARY.stationary, WEIGHT_STATIONARY.moving("right"), WEIGHT_STATIONARY.moving("down")) == (
        "weight", "activation", "psum")
    assert (OUTPUT_STATIONARY.stationary, OUTPUT_STATIONARY.moving("down")) == ("psum", "weight")
    assert (INPUT_STATIONARY.stationary, INPUT_STATIONARY.moving("right")) == ("activation", "weight")
    assert [flow.held_shape(3, 5, 6) for flow in FLOWS] == [(5, 6), (3, 6), (5, 3)]
    assert WEIGHT_STATIONARY.label == "weight-stationary" and WEIGHT_STATIONARY.streamed == "m"
    assert repr(OUTPUT_STATIONARY) == "Dataflow(output-stationary: psum stays, activation right, weight down)"


def test_a_new_dataflow_is_one_object():
    """A dataflow made from parts (here: weight-stationary visiting K's tiles first) runs, counts and draws itself."""
    k_first = dataclasses.replace(WEIGHT_STATIONARY, name="k_first", aliases=("kf",), fold_order=("k", "n"))
    assert isinstance(k_first, Dataflow)
    rng = np.random.default_rng(11)
    A, W = random_ints(rng, (5, 9)), random_ints(rng, (9, 7))
    run = SystolicArray(4, 3, k_first).matmul(A, W)
    np.testing.assert_array_equal(run.result, A @ W)
    assert run.dataflow == "k_first" and run.cycles == k_first.schedule(5, 9, 7, 4, 3).cycles
    assert [tile.k.start for tile in run.schedule.tiles][:3] == [0, 0, 0]
    assert assert_pe_rules(run) == run.macs
    with pytest.raises(ValueError, match="same two of 'm', 'k', 'n'"):
        dataclasses.replace(WEIGHT_STATIONARY, fold_order=("m", "n"))
    with pytest.raises(ValueError, match="values move"):
        dataclasses.replace(WEIGHT_STATIONARY, flows={"activation": "left"})


# ---------------------------------------------------------------- the tape


def test_fold_records_say_where_each_fold_loads_starts_and_drains():
    A, W = np.ones((3, 5), int), np.ones((5, 6), int)
    run = SystolicArray(2, 4, "os").matmul(A, W)
    folds = run.fold_records
    assert all(isinstance(fold, FoldRecord) for fold in folds)
    assert [fold.start for fold in folds] == list(run.schedule.fold_starts)
    for fold, timing in zip(folds, run.schedule.timeline()):
        assert fold.drain_from == timing.compute_cycles - 2  # the last R = 2 cycles shift the sums out
        assert fold.phase(fold.drain_from - 1) == "compute" and fold.phase(fold.drain_from) == "drain"
        assert fold.top.shape == (5, timing.tile.sizes.n) and fold.left_lanes == timing.tile.sizes.m
        assert fold.load_start is None and fold.held is None
    ws = SystolicArray(2, 2).matmul(np.ones((3, 3), int), np.full((3, 2), 7))
    assert all(fold.drain_from is None and fold.top is None for fold in ws.fold_records)
    assert [fold.load_start for fold in ws.fold_records] == [0, 5]  # fold 2 loads once the signal passed every PE
    assert [fold.start for fold in ws.fold_records] == [2, 7]
    assert ws.fold_records[1].held.tolist() == [[7, 7], [0, 0]] and ws.fold_records[1].held_valid.sum() == 2
    # fold 1's three rows enter at cycles 2-4; fold 2 waits for its tile (a stall) until cycle 7
    assert [frame.phase for frame in ws.frames] == ["load"] * 2 + ["compute"] * 3 + ["stall"] * 2 + ["compute"] * (
        ws.cycles - 7)


def test_outputs_are_complete_after_every_fold_of_k_has_added_in():
    run = SystolicArray(2, 2).matmul(np.ones((2, 5), int), np.ones((5, 2), int))
    assert run._tape.contributions_needed == run.schedule.contributions == 3  # ceil(5 / 2) tiles of K
    done = [int(frame.output_valid.sum()) for frame in run.frames]
    assert done[-1] == 4 and done == sorted(done)
    first_fold_end = next(run.schedule.timeline()).end - 1
    assert run.frame(first_fold_end).output_new.any() and not run.frame(first_fold_end).output_valid.any()
    assert SystolicArray(2, 2, "os").matmul(np.ones((2, 5), int), np.ones((5, 2), int)).schedule.contributions == 1


def test_a_frame_holds_its_values_in_dicts():
    run = SystolicArray(2, 2).matmul(*lecture_example())
    frame = run.frame(3)  # the lecture's cycle 1, after two cycles of loading
    assert set(frame.values) == set(frame.valid) == {"weight", "activation", "psum", "shadow"}
    assert str(frame.values["psum"][1, 0]) == "A*E + B*G" and frame.valid["psum"][1, 0]
    assert str(frame.values["weight"][0, 0]) == "E" and frame.valid["weight"].sum() == 3
    assert frame.control.tolist() == [[False, True], [True, False]]  # F and G are stored this cycle
    assert str(frame.values["shadow"][1, 1]) == "H"
    assert frame.valid["shadow"].tolist() == [[False, False], [False, True]]  # only H still waits to be stored


# ---------------------------------------------------------------- loading, cycle by cycle


def test_the_lecture_weights_shift_in_and_latch():
    """E F / G H enter from the top, last row first, then each PE stores its weight when the control signal passes."""
    run = SystolicArray(2, 2).matmul(*lecture_example())
    text = [[[str(x) if ok else "" for x, ok in zip(values, valid)]
             for values, valid in zip(frame.values["shadow"], frame.valid["shadow"])] for frame in run.frames[:3]]
    assert text[0] == [["G", "H"], ["", ""]] and text[1] == [["E", "F"], ["G", "H"]]
    assert [frame.loading for frame in run.frames] == [True, True, False, False, False, False]
    reached = [[(int(i), int(j)) for i, j in zip(*np.nonzero(frame.control))] for frame in run.frames]
    assert reached == [[], [], [(0, 0)], [(0, 1), (1, 0)], [(1, 1)], []]  # the signal rides the first activations
    assert str(run.frame(2).values["activation"][0, 0]) == "A" and run.frame(2).active[0, 0]


@pytest.mark.parametrize("load", ["serial", "double"])
@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_a_loading_value_comes_from_the_pe_above(dataflow, load):
    """A value in PE(i, j)'s shadow at cycle t is the one PE(i − 1, j) held at t − 1 while loading (row 0: the tile)."""
    rng = np.random.default_rng(21)
    A, W = random_ints(rng, (9, 7)), random_ints(rng, (7, 5))
    run = SystolicArray(3, 2, dataflow, load=load).matmul(A, W)
    frames, checked = run.frames, 0
    for before, now in zip(frames, frames[1:]):
        if now.loading:
            for i, j in zip(*np.nonzero(now.valid["shadow"][1:])):
                assert before.valid["shadow"][i, j] and now.values["shadow"][i + 1, j] == before.values["shadow"][i, j]
                assert now.shadow_fold[i + 1, j] == before.shadow_fold[i, j]
                checked += 1
    assert checked > 20


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_the_control_signal_never_lets_a_pe_mix_two_tiles(dataflow):
    """Double-buffered with folds back to back: every MAC uses the tile of the fold its moving value belongs to."""
    rng = np.random.default_rng(22)
    A, W = random_ints(rng, (12, 9)), random_ints(rng, (9, 12))
    run = SystolicArray(3, 2, dataflow).matmul(A, W)
    starts = [record.start for record in run.fold_records]
    stream = run.fold_records[0].left.shape[0]
    assert starts[1] - starts[0] == stream  # the activations of fold 2 follow fold 1's with no gap
    overlapped = 0
    for frame in run.frames:
        entered = frame.cycle - np.arange(run.rows)[:, None] - np.arange(run.cols)[None, :]
        fold_of_value = np.searchsorted(starts, entered, side="right") - 1
        assert (frame.held_fold[frame.active] == fold_of_value[frame.active]).all(), frame.cycle
        overlapped += len(set(frame.held_fold[frame.active].tolist())) > 1
    assert overlapped > 0  # some cycles compute with two tiles at once, each PE with one
    assert any(frame.loading and frame.active.any() for frame in run.frames)  # and load the next while computing


# ---------------------------------------------------------------- the PE rules, checked on any run


@pytest.mark.parametrize("dataflow", FLOWS, ids=[flow.name for flow in FLOWS])
def test_every_mac_follows_the_pe_rules(dataflow):
    rng = np.random.default_rng(12)
    for A, W in (lecture_example(), (random_ints(rng, (5, 7)), random_ints(rng, (7, 4)))):
        run = SystolicArray(3, 2, dataflow).matmul(A, W)
        assert assert_pe_rules(run) == run.macs


def test_a_broken_rule_is_named():
    run = SystolicArray(2, 2).matmul(np.ones((2, 2), int), np.full((2, 2), 3))
    run._tape.values["psum"][3, 1, 0] += 1  # tamper with the recorded partial sum of PE(1, 0) at cycle 3
    with pytest.raises(AssertionError, match=r"cycle 3, PE\(1,0\): the partial sum should be activation × weight"):
        assert_pe_rules(run)
    with pytest.raises(ValueError, match="keep_frames=True"):
        assert_pe_rules(SystolicArray(2, 2).matmul(np.ones((2, 2)), np.ones((2, 2)), keep_frames=False))


def test_check_cycle():
    assert check_cycle(3, 4) == 3 and type(check_cycle(np.int64(2), 4)) is int
    with pytest.raises(TypeError, match="cycle t must be a whole number"):
        check_cycle(True, 4)


@pytest.mark.parametrize("tamper, message", [
    (lambda tape: tape.values["shadow"][1].__setitem__((1, 0), 9), "take the value of the one above it"),
    (lambda tape: tape.control[3].__setitem__((0, 1), False), "the control signal should move one PE right"),
    (lambda tape: tape.control[2].__setitem__((1, 0), True), "should enter row 1"),
    (lambda tape: (tape.held_fold[8:, 0, 0].fill(0), tape.shadow_fold[7:8, 0, 0].fill(0)), "mix two tiles"),
    (lambda tape: tape.values["weight"][4].__setitem__((0, 0), 5), "should keep the value it holds"),
], ids=["shadow", "control-moves", "control-enters", "tiles-mixed", "held-changed"])
def test_a_broken_loading_rule_is_named(tamper, message):
    run = SystolicArray(2, 2).matmul(np.arange(12).reshape(6, 2), np.arange(1, 9).reshape(2, 4))
    assert run.folds == 2 and assert_pe_rules(run) == run.macs
    tamper(run._tape)
    with pytest.raises(AssertionError, match=message):
        assert_pe_rules(run)
