"""Every operand movement the simulator counts: stepped counts = closed forms = counts read off the frames."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpu_lecture.sim.array import SystolicArray, expected_counts, schedule
from tpu_lecture.sim.counts import Buffers, Counts, dram_traffic

MODES = [("weight_stationary", "serial"), ("weight_stationary", "double"), ("output_stationary", None),
         ("input_stationary", "serial"), ("input_stationary", "double")]
MODE_IDS = [f"{flow}-{load}" for flow, load in MODES]
# full tiles, partial tiles (both held sizes short), M < R, folds over K, a wide array with a short tile
SHAPES = {
    "full": (8, 8, 8, 4, 4),
    "partial": (7, 10, 9, 3, 4),
    "m_below_r": (2, 4, 4, 4, 4),
    "k_folds": (5, 9, 3, 4, 4),
    "wide_short": (3, 2, 3, 2, 8),
    "one": (1, 1, 1, 1, 1),
}


def operands(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-9, 9, (m, k)), rng.integers(-9, 9, (k, n))


def counted_from_frames(run) -> Counts:
    """Brute force: every count read off the frames alone (the registers' values and valid flags), cycle by cycle."""
    got = dict.fromkeys(Counts.__dataclass_fields__, 0)
    records, seen = run.fold_records, set()
    held, moving = run.stationary, run.flow.moving("right")
    for t in range(run.cycles):
        f = run.frame(t)
        got["macs"] += int(f.active.sum())
        new = list(zip(*np.nonzero(f.output_new)))
        got["psum_writes"] += len(new)
        got["psum_reads"] += sum(position in seen for position in new)
        seen.update(new)
        if run.flow.preloads:
            _stationary_frame(f, records, held, moving, got)
        else:
            _output_stationary_frame(f, records, got)
    got["register_accesses"] = 2 * got["macs"]
    return Counts(**got)


def _stationary_frame(f, records, held, moving, got):
    if f.loading:  # row 0 takes the tile's next row from its buffer; every other real shadow value moved down
        got[f"{held}_reads"] += int(f.valid["shadow"][0].sum())
        got[f"{held}_hops"] += int(f.valid["shadow"][1:].sum())
    got[f"{moving}_reads"] += int(f.active[:, 0].sum())
    got[f"{moving}_hops"] += int(f.active[:, 1:].sum())
    rows, cols = f.shape
    for i in range(1, rows):
        for j in range(cols):
            if not f.valid["psum"][i, j]:
                continue
            entered = f.cycle - i - j
            fold = next((r for r in records if r.start <= entered < r.start + r.left.shape[0]), None)
            if fold is not None and fold.held_valid[:, j].any():
                got["psum_hops"] += 1


def _output_stationary_frame(f, records, got):
    fold = records[f.fold]
    r, c = fold.left_lanes, fold.top_lanes
    if f.phase == "drain":
        got["psum_hops"] += int(f.valid["psum"][1:].sum())
        return
    got["activation_reads"] += int(f.valid["activation"][:r, 0].sum())
    got["activation_hops"] += int(f.valid["activation"][:r, 1:c].sum())
    got["weight_reads"] += int(f.valid["weight"][0, :c].sum())
    got["weight_hops"] += int(f.valid["weight"][1:r, :c].sum())


@pytest.mark.parametrize("dataflow,load", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_stepped_counts_equal_the_closed_forms_and_the_frames(dataflow, load, shape):
    m, k, n, rows, cols = shape
    A, W = operands(m, k, n)
    run = SystolicArray(rows, cols, dataflow, load=load).matmul(A, W)
    closed = expected_counts(m, k, n, rows, cols, dataflow, load)
    assert run.counts == closed
    assert counted_from_frames(run) == closed
    assert SystolicArray(rows, cols, dataflow, load=load).matmul(A, W, keep_frames=False).counts == closed
    assert closed.macs == m * k * n
    phases = [run.frame(t).phase for t in range(run.cycles)]
    assert [phases.count(p) for p in ("compute", "load", "stall", "drain")] == [
        run.compute_cycles, run.load_cycles, run.stall_cycles, run.drain_cycles]


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 9), k=st.integers(1, 9), n=st.integers(1, 9), rows=st.integers(1, 5),
       cols=st.integers(1, 5), mode=st.sampled_from(MODES))
def test_stepped_counts_equal_the_closed_forms_for_any_shape(m, k, n, rows, cols, mode):
    A, W = operands(m, k, n)
    run = SystolicArray(rows, cols, mode[0], load=mode[1]).matmul(A, W, keep_frames=False)
    assert run.counts == schedule(m, k, n, rows, cols, *mode).counts


def test_the_closed_forms_on_paper():
    """The SCALE-Sim totals (Samajdar et al. 2018): WS reads each weight once, A once per fold of N; OS the reverse."""
    m, k, n, R, C = 20, 16, 16, 8, 8
    ws, os_, is_ = (expected_counts(m, k, n, R, C, flow) for flow in ("ws", "os", "is"))
    assert (ws.weight_reads, ws.activation_reads, ws.psum_writes, ws.psum_reads) == (k * n, m * k * 2, m * n * 2, m * n)
    assert (os_.activation_reads, os_.weight_reads, os_.psum_writes, os_.psum_reads) == (m * k * 2, k * n * 3, m * n, 0)
    assert (is_.activation_reads, is_.weight_reads, is_.psum_writes) == (m * k, k * n * 3, m * n * 2)
    assert ws.reuse("weight") == m and os_.reuse("activation") == n / 2
    assert ws.psum_hops == m * n * 2 * (R - 1) and ws.activation_hops == m * k * 2 * (C - 1)


def test_counts_of_the_mlps_largest_layer_take_constant_time():
    start = time.perf_counter()
    for flow in ("ws", "os", "is"):
        big = expected_counts(10**6, 3072, 2048, 128, 128, flow)
        assert big.macs == 10**6 * 3072 * 2048
    assert time.perf_counter() - start < 0.05


def test_counts_read_well_and_add_up():
    c = expected_counts(4, 4, 4, 4, 4, "ws")
    assert repr(c).startswith("Counts(64 MACs; buffer reads: activation 16, weight 16")
    assert (c + c).macs == 128 and c.reads("psum") == 0 and c.hops("weight") == 4 * 6
    assert c.as_dict()["psum_writes"] == 16
    with pytest.raises(ValueError, match="unknown operand 'bias'"):
        c.reads("bias")


def test_dram_policy_fetches_a_tile_again_only_when_its_operand_does_not_fit():
    plan = schedule(1024, 3072, 2048, 128, 128, "os")
    counts = plan.counts
    tpu = dram_traffic(plan, counts, operand_bytes=1)  # TPU v1's buffers: A fits, W (6 MiB) does not
    assert tpu.activation_reads == 1024 * 3072 and tpu.weight_reads == counts.weight_reads == 3072 * 2048 * 8
    assert tpu.psum_writes == 1024 * 2048 and tpu.psum_reads == 0
    roomy = dram_traffic(plan, counts, 1, buffers=Buffers(2**30, 2**30, 2**30))
    assert roomy.weight_reads == 3072 * 2048
    ws = schedule(1024, 3072, 2048, 128, 128, "ws")
    spill = dram_traffic(ws, ws.counts, 1, buffers=Buffers(2**30, 2**30, 1024))
    assert (spill.psum_writes, spill.psum_reads) == (ws.counts.psum_writes, ws.counts.psum_reads)
    assert "spill" in spill.notes[-1]
    with pytest.raises(ValueError, match="weight buffer must be a whole number of bytes"):
        Buffers(weight=-1)


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 500), k=st.integers(1, 500), n=st.integers(1, 500), rows=st.integers(1, 40),
       cols=st.integers(1, 40))
def test_the_buffer_totals_are_the_ones_scale_sims_dataflows_imply(m, k, n, rows, cols):
    """Samajdar et al. 2018: each value read once per fold that uses it (README, 'What the simulator counts')."""
    def up(a, b):
        return -(-a // b)

    M, K, N = m, k, n

    ws, out, is_ = (expected_counts(m, k, n, rows, cols, flow) for flow in ("ws", "os", "is"))
    assert (ws.weight_reads, ws.activation_reads, ws.psum_writes) == (k * n, m * k * up(n, cols), m * n * up(k, rows))
    assert (out.activation_reads, out.weight_reads, out.psum_writes) == (
        M * K * up(N, cols), K * N * up(M, rows), M * N)
    assert (is_.activation_reads, is_.weight_reads, is_.psum_writes) == (
        M * K, K * N * up(M, cols), M * N * up(K, rows))
    assert ws.psum_reads == ws.psum_writes - m * n == is_.psum_reads and out.psum_reads == 0
