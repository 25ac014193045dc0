"""The energy model: its table and sources, a run's split by level, the baselines, and the command line's energy."""

import json

import numpy as np
import pytest

from tpu_lecture import energy
from tpu_lecture.__main__ import main
from tpu_lecture.sim.array import SystolicArray, schedule
from tpu_lecture.sim.counts import Buffers

MLP_LAYER = (1024, 3072, 2048)  # the lecture's largest MLP layer at batch 1024


def test_every_figure_has_a_source_and_a_process_node():
    for fmt in energy.FORMATS:
        rows = energy.table(fmt).rows()
        assert [row["level"] for row in rows] == list(energy.LEVELS)
        assert all(row["source"] for row in rows)
        assert all("45 nm" in row["source"] or "Eyeriss" in row["source"] for row in rows)
    int8 = energy.table("int8")
    assert int8.mac_pj == pytest.approx(0.3) and energy.table("float32").mac_pj == pytest.approx(4.6)
    assert int8.access_pj("DRAM", 8) == pytest.approx(1300)  # 1.3 nJ per 64 bits
    normalised = {row["level"]: row["× a MAC"] for row in energy.table("bfloat16", "eyeriss").rows()}
    assert normalised == {"MAC": 1, "register": 1, "PE hop": 2, "SRAM buffer": 6, "DRAM": 200}


def test_bad_formats_and_tables_name_the_choices():
    with pytest.raises(ValueError, match="unknown number format 'int4': use one of int8, bfloat16"):
        energy.table("int4")
    with pytest.raises(ValueError, match="unknown energy table 'x'"):
        energy.table("int8", "x")
    with pytest.raises(ValueError, match="reuse must be a whole number"):
        energy.gpu_like(2, 2, 2, reuse=0)


def test_a_stepped_run_is_priced_from_its_own_counts():
    rng = np.random.default_rng(0)
    A, W = rng.integers(-9, 9, (20, 16)), rng.integers(-9, 9, (16, 16))
    for flow in ("ws", "os", "is"):
        run = SystolicArray(8, 8, flow).matmul(A, W, keep_frames=False)
        stepped, closed = energy.of_run(run), energy.of_plan(run.schedule)
        assert stepped.pj == closed.pj and stepped.macs == 20 * 16 * 16
        assert sum(stepped.share(level) for level in energy.LEVELS) == pytest.approx(1)


def test_the_mlp_layer_on_the_mxu_beats_both_baselines_and_reuse_explains_it():
    m, k, n = MLP_LAYER
    ws, os_, is_, gpu, cpu = energy.compare(m, k, n)
    assert cpu.label == "CPU-like (model)" and gpu.label == "GPU-like (model)"
    assert max(s.per_mac_pj for s in (ws, os_, is_)) < gpu.per_mac_pj < cpu.per_mac_pj
    counts = schedule(m, k, n, 128, 128, "ws").counts
    assert counts.reuse("weight") == m and counts.reuse("activation") == 128  # a weight serves every row
    assert cpu.share("SRAM buffer") > 0.8  # the CPU model's energy goes to its cache


def test_a_bigger_weight_buffer_saves_output_stationary_its_dram_refetches():
    m, k, n = MLP_LAYER
    plan = schedule(m, k, n, 128, 128, "os")
    small, big = energy.of_plan(plan), energy.of_plan(plan, buffers=Buffers(weight=2**30))
    assert big.pj["DRAM"] < small.pj["DRAM"] and big.pj["MAC"] == small.pj["MAC"]


def test_batch_one_is_dram_bound_on_every_machine():
    for split in energy.compare(1, 3072, 2048):
        assert split.share("DRAM") > 0.7
    assert repr(energy.compare(1, 16, 16)[0]).startswith("EnergySplit(weight-stationary: ")


def test_simulate_json_includes_the_counts_and_the_energy(capsys):
    status = main(["simulate", "--m", "20", "--k", "16", "--n", "16", "--format", "bfloat16", "--buffers",
                   "1KiB,1KiB,64B", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 0 and summary["correct"]
    plan = schedule(20, 16, 16, 8, 8)
    assert summary["counts"] == plan.counts.as_dict()
    assert summary["buffers_bytes"] == {"activation": 1024, "weight": 1024, "accumulator": 64}
    assert summary["energy"]["format"] == "bfloat16"
    assert summary["energy"]["total_pj"] == pytest.approx(sum(summary["energy"]["pj"].values()), rel=1e-6)
    assert summary["dram"]["psum_writes"] == plan.counts.psum_writes  # the accumulators spill
    assert (summary["stall_cycles"], summary["drain_cycles"]) == (9, 0)


@pytest.mark.parametrize("argv,message", [
    (["--buffers", "1,2"], "should be three sizes"),
    (["--buffers", "1.5,2,3"], "buffer size '1.5' is not a whole number of bytes"),
    (["--buffers=-1,2,3"], "buffer size '-1'"),
    (["--format", "int4"], "invalid choice: 'int4'"),
])
def test_simulate_bad_energy_flags_cost_one_line_and_exit_2(capsys, argv, message):
    try:
        status = main(["simulate", "--m", "4", *argv])
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
