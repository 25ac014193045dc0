"""The simulator against trusted references: numpy.matmul, closed-form cycle counts, M·K·N MACs."""

import dataclasses
import math
import tracemalloc

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim.array import (
    SystolicArray,
    assert_pe_rules,
    check_cycle,
    expected_cycles,
    lecture_example,
    schedule,
)
from tpu_lecture.sim.dataflow import DATAFLOWS as FLOWS
from tpu_lecture.sim.dataflow import INPUT_STATIONARY, OUTPUT_STATIONARY, WEIGHT_STATIONARY, Dataflow
from tpu_lecture.sim.schedule import Tile
from tpu_lecture.sim.tape import FoldRecord

DATAFLOWS = ["weight_stationary", "output_stationary", "input_stationary"]

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


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("m,k,n,rows,cols", SHAPES)
def test_integer_result_equals_numpy(dataflow, m, k, n, rows, cols):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    A, W = random_ints(rng, (m, k)), random_ints(rng, (k, n))
    run = SystolicArray(rows, cols, dataflow).matmul(A, W)
    np.testing.assert_array_equal(run.result, np.matmul(A, W))
    assert run.macs == m * k * n


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("m,k,n,rows,cols", SHAPES)
def test_float_result_close_to_numpy(dataflow, m, k, n, rows, cols):
    rng = np.random.default_rng(7)
    A = rng.standard_normal((m, k)).astype(np.float32)
    W = rng.standard_normal((k, n)).astype(np.float32)
    run = SystolicArray(rows, cols, dataflow).matmul(A, W)
    assert run.result.dtype == np.float32
    np.testing.assert_allclose(run.result, A.astype(np.float64) @ W.astype(np.float64), rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9),
    rows=st.integers(1, 5), cols=st.integers(1, 5), dataflow=st.sampled_from(DATAFLOWS),
    seed=st.integers(0, 2**16),
)
def test_any_shape_matches_numpy_and_closed_form(m, k, n, rows, cols, dataflow, seed):
    rng = np.random.default_rng(seed)
    A, W = random_ints(rng, (m, k)), random_ints(rng, (k, n))
    run = SystolicArray(rows, cols, dataflow).matmul(A, W, keep_frames=False)
    np.testing.assert_array_equal(run.result, A @ W)
    assert run.cycles == expected_cycles(m, k, n, rows, cols, dataflow)
    assert run.cycles == schedule(m, k, n, rows, cols, dataflow).cycles
    assert run.macs == m * k * n
    assert run.utilization == pytest.approx(m * k * n / (rows * cols * run.cycles))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8, 16])
def test_n_by_n_on_n_by_n_takes_3n_minus_2_cycles(n):
    A = np.ones((n, n), int)
    run = SystolicArray(n, n).matmul(A, A, keep_frames=False)
    assert run.cycles == 3 * n - 2
    assert run.folds == 1
    assert run.weight_load_cycles == n


def test_other_dataflows_have_their_own_counts():
    n = 4
    A = np.ones((n, n), int)
    assert SystolicArray(n, n, "is").matmul(A, A).cycles == 3 * n - 2
    assert SystolicArray(n, n, "os").matmul(A, A).cycles == 4 * n - 2  # k + 2R + C − 2, drain included
    assert SystolicArray(n, n, "os").matmul(A, A).load_cycles == 0
    assert SystolicArray(n, n, "is").matmul(A, A).weight_load_cycles == 0


def test_folds_and_load_cycles_of_an_mxu_sized_product():
    run = SystolicArray(128, 128).matmul(np.ones((256, 300), int), np.ones((300, 200), int), keep_frames=False)
    assert run.folds == 3 * 2  # ceil(300/128) × ceil(200/128)
    assert run.weight_load_cycles == 6 * 128
    np.testing.assert_array_equal(run.result, np.full((256, 200), 300))


def test_lecture_symbolic_example():
    A, W = lecture_example()
    run = SystolicArray(2, 2).matmul(A, W)
    texts = [[str(x) for x in row] for row in run.result]
    assert texts == [["A*E + B*G", "A*F + B*H"], ["C*E + D*G", "C*F + D*H"]]
    assert run.cycles == 4


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_symbolic_every_dataflow(dataflow):
    import sympy

    A, W = lecture_example()
    run = SystolicArray(2, 2, dataflow).matmul(A, W)
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
        assert frames[0].macs_done >= 1 and frames[0].cycle == 0


def test_skewed_input_queue():
    A = np.arange(1, 13).reshape(4, 3)
    run = SystolicArray(3, 2).matmul(A, np.ones((3, 2), int))
    first = run.frame(0)
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
    with pytest.raises(ValueError, match=r"cycle t = 4 is outside this run: choose t in 0 … 3"):
        run.frame(4)
    with pytest.raises(ValueError, match=r"0 … 3"):
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


def test_aliases_and_reprs():
    array = SystolicArray(4, 4, "ws")
    assert array.dataflow == "weight_stationary" and array.pes == 16
    assert repr(array) == "SystolicArray(4x4, weight_stationary)"
    run = array.matmul(np.ones((4, 4), int), np.ones((4, 4), int))
    assert repr(run) == "SystolicRun(weight-stationary 4x4, 4x4 @ 4x4: 10 cycles, 64 MACs, 40.0% utilization, 1 fold)"
    assert "3" in repr(run.frame(3)) and "MACs so far" in repr(run.frame(3))
    assert run.flows == {"activation": "right", "psum": "down"} and run.stationary == "weight"
    assert "utilization: 40.0%" in run.summary()


def test_expected_cycles_rejects_bad_sizes():
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        expected_cycles(4, 0, 4, 4, 4)
    with pytest.raises(TypeError, match="rows must be a whole number"):
        schedule(4, 4, 4, 2.0, 4)
    with pytest.raises(ValueError, match="unknown dataflow"):
        expected_cycles(4, 4, 4, 4, 4, "diagonal")


# ---------------------------------------------------------------- the Dataflow objects


def totals_by_hand(m, k, n, R, C, dataflow):
    """The whole-product closed forms, derived on paper by summing the fold formula over the folds."""
    ceil = math.ceil
    if dataflow == "weight_stationary":
        return ceil(k / R) * (ceil(n / C) * (m + R - 2) + n)
    if dataflow == "input_stationary":
        return ceil(k / R) * (ceil(m / C) * (n + R - 2) + m)
    return ceil(m / R) * ceil(n / C) * (k + R - 2) + ceil(n / C) * m + ceil(m / R) * n


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 300), k=st.integers(1, 300), n=st.integers(1, 300), rows=st.integers(1, 40),
       cols=st.integers(1, 40), dataflow=st.sampled_from(FLOWS))
def test_fold_formula_summed_equals_the_closed_form_on_paper(m, k, n, rows, cols, dataflow):
    plan = dataflow.schedule(m, k, n, rows, cols)
    assert plan.cycles == totals_by_hand(m, k, n, rows, cols, dataflow.name)
    assert plan.folds == len(plan.tiles) == math.prod(
        math.ceil(size / step) for size, step in zip(dataflow.held_shape(m, k, n), (rows, cols)))
    assert plan.load_cycles == plan.folds * (0 if dataflow is OUTPUT_STATIONARY else rows)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 7), k=st.integers(1, 7), n=st.integers(1, 7), rows=st.integers(1, 4),
       cols=st.integers(1, 4), dataflow=st.sampled_from(FLOWS))
def test_each_fold_takes_the_cycles_its_formula_says(m, k, n, rows, cols, dataflow):
    """Stepped, fold by fold: the tape's fold starts are the schedule's, so every fold matches its formula."""
    A, W = np.ones((m, k), int), np.ones((k, n), int)
    run = SystolicArray(rows, cols, dataflow).matmul(A, W)
    assert [fold.start for fold in run._tape.folds] == list(run.schedule.fold_starts)
    assert run.schedule.fold_starts[-1] + run.schedule.fold_cycles[-1] == run.cycles


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


def test_fold_records_say_where_each_fold_starts_and_drains():
    A, W = np.ones((3, 5), int), np.ones((5, 6), int)
    run = SystolicArray(2, 4, "os").matmul(A, W)
    folds = run._tape.folds
    assert all(isinstance(fold, FoldRecord) for fold in folds)
    assert [fold.start for fold in folds] == list(run.schedule.fold_starts)
    for fold, cycles, tile in zip(folds, run.schedule.fold_cycles, run.schedule.tiles):
        assert fold.drain_from == cycles - 2  # the last R = 2 cycles shift the sums out
        assert fold.phase(fold.drain_from - 1) == "compute" and fold.phase(fold.drain_from) == "drain"
        assert fold.top.shape == (5, tile.sizes.n) and fold.left_lanes == tile.sizes.m
    ws = SystolicArray(2, 2).matmul(np.ones((3, 3), int), np.ones((3, 3), int))
    assert all(fold.drain_from is None and fold.top is None for fold in ws._tape.folds)
    assert {frame.phase for frame in ws.frames} == {"compute"}


def test_outputs_are_complete_after_every_fold_of_k_has_added_in():
    run = SystolicArray(2, 2).matmul(np.ones((2, 5), int), np.ones((5, 2), int))
    assert run._tape.contributions_needed == run.schedule.contributions == 3  # ceil(5 / 2) tiles of K
    done = [int(frame.output_valid.sum()) for frame in run.frames]
    assert done[-1] == 4 and done == sorted(done)
    first_fold_end = run.schedule.fold_cycles[0] - 1
    assert run.frame(first_fold_end).output_new.any() and not run.frame(first_fold_end).output_valid.any()
    assert SystolicArray(2, 2, "os").matmul(np.ones((2, 5), int), np.ones((5, 2), int)).schedule.contributions == 1


def test_a_frame_holds_its_values_in_dicts():
    run = SystolicArray(2, 2).matmul(*lecture_example())
    frame = run.frame(1)
    assert set(frame.values) == set(frame.valid) == {"weight", "activation", "psum"}
    assert str(frame.values["psum"][1, 0]) == "A*E + B*G" and frame.valid["psum"][1, 0]
    assert str(frame.values["weight"][0, 0]) == "E" and frame.valid["weight"].all()


# ---------------------------------------------------------------- the PE rules, checked on any run


@pytest.mark.parametrize("dataflow", FLOWS, ids=[flow.name for flow in FLOWS])
def test_every_mac_follows_the_pe_rules(dataflow):
    rng = np.random.default_rng(12)
    for A, W in (lecture_example(), (random_ints(rng, (5, 7)), random_ints(rng, (7, 4)))):
        run = SystolicArray(3, 2, dataflow).matmul(A, W)
        assert assert_pe_rules(run) == run.macs


def test_a_broken_rule_is_named():
    run = SystolicArray(2, 2).matmul(np.ones((2, 2), int), np.full((2, 2), 3))
    run._tape.values["psum"][1, 1, 0] += 1  # tamper with the recorded partial sum of PE(1, 0) at cycle 1
    with pytest.raises(AssertionError, match=r"cycle 1, PE\(1,0\): the partial sum should be activation × weight"):
        assert_pe_rules(run)
    with pytest.raises(ValueError, match="keep_frames=True"):
        assert_pe_rules(SystolicArray(2, 2).matmul(np.ones((2, 2)), np.ones((2, 2)), keep_frames=False))


def test_check_cycle():
    assert check_cycle(3, 4) == 3 and type(check_cycle(np.int64(2), 4)) is int
    with pytest.raises(TypeError, match="cycle t must be a whole number"):
        check_cycle(True, 4)
