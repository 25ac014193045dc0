"""The timing harness with fake clocks and fake syncs, the benchmark #1 workloads on the real NumPy, JAX and
TensorFlow of this machine (tiny sizes), the results store, the shipped reference results and the plots."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from tpu_lecture import hardware, roofline
from tpu_lecture.bench import harness as bench
from tpu_lecture.bench import matrix_ops as workloads
from tpu_lecture.bench import plots, store
from tpu_lecture.bench import record as results
from tpu_lecture.bench.record import BenchmarkResult
from tpu_lecture.models import TrainingReport
from tpu_lecture.runtime import Framework, runtime
from tpu_lecture.runtime import jax as jax_adapter
from tpu_lecture.runtime import runtime as core

matplotlib.use("Agg")


class Clock:
    """A fake perf_counter: each call of the timed function advances it by the next duration."""

    def __init__(self, durations):
        self.now = 0.0
        self.durations = list(durations)
        self.calls = 0

    def __call__(self):
        return self.now

    def work(self, *args):
        self.calls += 1
        self.now += self.durations.pop(0)
        return np.zeros(1)


# --- statistics with fake timers ---------------------------------------------------------------------------

def test_samples_are_exactly_the_timed_calls_and_warmup_is_not_among_them():
    clock = Clock([9.0, 8.0, 0.3, 0.1, 0.2, 0.5, 0.4])
    r = bench.benchmark(clock.work, warmup=2, repeat=5, timer=clock)
    assert r.samples == pytest.approx((0.3, 0.1, 0.2, 0.5, 0.4))
    assert r.first_call == pytest.approx(9.0)  # the first warm-up call: compilation shows here
    assert (r.median, r.min, r.max) == pytest.approx((0.3, 0.1, 0.5))
    q1, q3 = np.percentile(r.samples, [25, 75])
    assert r.spread == pytest.approx((q3 - q1) / np.median(r.samples))
    assert clock.calls == 7


@pytest.mark.parametrize("samples", [[1.0], [2.0, 4.0], [5.0, 1.0, 3.0, 2.0], list(np.linspace(0.1, 2.0, 17))])
def test_summarize_agrees_with_numpy(samples):
    stats = bench.summarize(samples)
    q1, q3 = np.percentile(samples, [25, 75])
    assert stats["median"] == pytest.approx(np.median(samples))
    assert stats["spread"] == pytest.approx((q3 - q1) / np.median(samples))
    assert (stats["min"], stats["max"]) == (min(samples), max(samples))
    with pytest.raises(ValueError, match="no samples"):
        bench.summarize([])


def test_repeats_fill_the_target_time():
    clock = Clock([0.125] * 100)
    r = bench.benchmark(clock.work, warmup=0, target_time=1.0, min_repeat=3, timer=clock)
    assert len(r.samples) == 8  # 8 x 0.125 s fills 1 s


def test_repeats_at_least_min_and_at_most_max():
    slow = Clock([5.0] * 10)
    assert len(bench.benchmark(slow.work, warmup=0, target_time=1.0, min_repeat=4, timer=slow).samples) == 4
    fast = Clock([1e-6] * 100)
    assert len(bench.benchmark(fast.work, warmup=0, target_time=1.0, max_repeat=20, timer=fast).samples) == 20


def test_rates_and_percent_of_peak_against_a_chip():
    clock = Clock([0.5] * 3)
    chip = hardware.get("TPU v5e")
    r = bench.benchmark(clock.work, warmup=0, repeat=3, timer=clock, flops=1e12, bytes=4e9, items=100,
                        item_unit="images", device=chip)
    assert r.flops_per_s == pytest.approx(2e12)
    assert r.bytes_per_s == pytest.approx(8e9)
    assert r.items_per_s == pytest.approx(200)
    assert r.percent_of_peak == pytest.approx(100 * 2e12 / 197e12)
    assert r.percent_of_bandwidth == pytest.approx(100 * 8e9 / 819e9)
    assert r.intensity == pytest.approx(roofline.arithmetic_intensity(1e12, 4e9))
    assert r.chip == "TPU v5e" and r.device_kind == "tpu"


def test_device_names_as_reported_find_their_peak_and_unknown_ones_none():
    clock = Clock([1.0] * 4)
    known = bench.benchmark(clock.work, warmup=0, repeat=2, timer=clock, flops=1e12, device="NVIDIA H100 80GB HBM3")
    assert known.chip == "H100" and known.percent_of_peak == pytest.approx(100 * 1e12 / 989e12)
    unknown = bench.benchmark(clock.work, warmup=0, repeat=2, timer=clock, flops=1e12, device="NVIDIA GH200 480GB")
    assert unknown.percent_of_peak is None and unknown.device == "NVIDIA GH200 480GB"


def test_cpu_peak_is_an_estimate_and_says_so():
    clock = Clock([1.0] * 2)
    r = bench.benchmark(clock.work, warmup=0, repeat=2, timer=clock, flops=1e9, device="cpu")
    assert r.peak_is_estimate and r.chip is None and r.percent_of_peak > 0
    assert "estimated" in repr(r)


# --- synchronisation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("framework", ["jax", "tensorflow", "numpy"])
def test_the_sync_of_each_framework_runs_after_every_call(monkeypatch, framework):
    waited = []
    monkeypatch.setattr(runtime.adapter(framework), "sync", lambda out: waited.append(out))
    clock = Clock([0.1] * 5)
    r = bench.benchmark(clock.work, warmup=2, repeat=3, timer=clock, framework=framework)
    assert len(waited) == 5 and r.synchronized


def test_sync_is_inside_the_timing():
    clock = Clock([0.1] * 3)

    def slow_sync(out):
        clock.now += 1.0  # the device finishing its queued work

    r = bench.benchmark(clock.work, warmup=0, repeat=3, timer=clock, sync=slow_sync)
    assert r.median == pytest.approx(1.1)


def test_sync_false_times_only_the_launch_and_says_so(monkeypatch):
    monkeypatch.setattr(jax_adapter, "sync", lambda out: pytest.fail("no sync may run with sync=False"))
    clock = Clock([0.1] * 3)
    r = bench.benchmark(clock.work, warmup=0, repeat=3, timer=clock, sync=False, framework="jax")
    assert r.synchronized is False
    assert "UNSYNCHRONISED" in repr(r)


def test_the_framework_is_found_from_the_result(monkeypatch):
    import jax.numpy as jnp

    seen = []
    monkeypatch.setattr(jax_adapter, "sync", lambda out: seen.append(type(out).__module__))
    x = jnp.ones((4, 4))
    r = bench.benchmark(jnp.add, x, x, warmup=1, repeat=2)
    assert len(seen) == 3 and r.framework == "jax" and r.framework_version
    assert r.device_kind == "cpu"


def test_real_jax_sync_blocks_on_the_result(monkeypatch):
    import jax
    import jax.numpy as jnp

    blocked = []
    real = jax.block_until_ready
    monkeypatch.setattr(jax, "block_until_ready", lambda out: blocked.append(1) or real(out))
    x = jnp.ones((8, 8))
    bench.benchmark(jnp.matmul, x, x, warmup=1, repeat=3)
    assert len(blocked) == 4


def test_real_tensorflow_sync_is_sync_devices(monkeypatch):
    import tensorflow as tf

    synced = []
    real = tf.test.experimental.sync_devices
    monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: synced.append(1) or real())
    x = tf.ones((8, 8))
    r = bench.benchmark(tf.matmul, x, x, warmup=1, repeat=2)
    assert len(synced) == 3 and r.framework == "tensorflow" and r.device_kind == "cpu"


def test_unknown_result_types_need_a_framework_or_a_sync():
    class Handle:
        pass

    with pytest.raises(bench.BenchmarkError, match="cannot tell how to wait"):
        bench.benchmark(lambda: Handle(), warmup=0, repeat=1)
    assert bench.benchmark(lambda: Handle(), warmup=0, repeat=1, sync=lambda out: None).synchronized


# --- bad input and faults ----------------------------------------------------------------------------------

def test_an_error_in_the_function_propagates_with_the_benchmark_name():
    def broken(x):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(bench.BenchmarkError, match="'my kernel' failed in warm-up call 1.*ZeroDivisionError") as info:
        bench.benchmark(broken, 1, name="my kernel")
    assert isinstance(info.value.__cause__, ZeroDivisionError)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"warmup": -1}, ValueError, "warmup must be at least 0"),
    ({"repeat": 0}, ValueError, "repeat must be at least 1"),
    ({"repeat": 2.5}, TypeError, "repeat must be a whole number"),
    ({"target_time": 0}, ValueError, "target_time must be positive, got 0"),
    ({"target_time": "1s"}, TypeError, "target_time must be a number"),
    ({"min_repeat": 5, "max_repeat": 2}, ValueError, "max_repeat must be at least 5"),
    ({"flops": -1}, ValueError, "flops must be non-negative, got -1"),
    ({"flops": float("inf")}, ValueError, "flops must be a finite number"),
    ({"bytes": "many"}, TypeError, "bytes must be a number"),
    ({"sync": "yes"}, TypeError, "sync must be True, False or a function"),
    ({"framework": "torch"}, ValueError, "unknown framework 'torch'"),
    ({"device": 3}, TypeError, "device must be a name"),
    ({"info": {"flops": 3, "median": 1.0}}, ValueError, "info cannot set flops, median"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, error, message):
    clock = Clock([0.1] * 20)
    with pytest.raises(error, match=message):
        bench.benchmark(clock.work, timer=clock, **{"warmup": 0, "repeat": 1, **kwargs})


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be a function"):
        bench.benchmark(42)


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (-3, ValueError), (2.0, TypeError)])
def test_sizes_must_be_positive_whole_numbers(n, error):
    with pytest.raises(error, match="size"):
        workloads.add_workload(n)
    with pytest.raises(error, match="size"):
        workloads.sweep(sizes=[n], frameworks=["numpy"], progress=False)


def test_unknown_device_names_the_devices_there_are():
    with pytest.raises(ValueError, match="jax has no device 'tpu:7'.*cpu:0"):
        workloads.add_workload(8, framework="jax", device="tpu:7")
    with pytest.raises(ValueError, match="NumPy runs only on the host CPU"):
        workloads.add_workload(8, framework="numpy", device="gpu")


def test_other_bad_workload_arguments():
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        workloads.matmul_workload(8, dtype="float8")
    with pytest.raises(ValueError, match="unknown framework 'torch'"):
        workloads.add_workload(8, framework="torch")
    with pytest.raises(ValueError, match="no host-to-device copy"):
        workloads.add_workload(8, framework="numpy", include_transfer=True)
    with pytest.raises(ValueError, match="unknown workload 'conv'"):
        workloads.sweep(workloads=["conv"])


# --- benchmark #1 workloads, for real ----------------------------------------------------------------------

@pytest.mark.parametrize("framework", ["numpy", "jax", "tensorflow"])
@pytest.mark.parametrize("workload", ["add", "matmul"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_workloads_compute_the_right_thing(framework, workload, dtype):
    n = 16
    build = workloads.add_workload if workload == "add" else workloads.matmul_workload
    w = build(n, dtype=dtype, framework=framework)
    a, b = (np.asarray(x, dtype=np.float32) for x in workloads.host_arrays(n, dtype))
    expected = a + b if workload == "add" else a @ b
    got = np.asarray(w.fn(*w.args), dtype=np.float32)
    tolerance = 1e-5 if dtype == "float32" else 0.1
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max())
    r = w.run(warmup=1, repeat=2)
    assert (r.workload, r.size, r.dtype, r.framework, r.device_kind) == (workload, n, dtype, framework, "cpu")
    assert (r.flops, r.bytes_moved) == workloads.workload_counts(workload, r.shape, dtype)


def test_workload_counts_are_the_closed_forms():
    assert workloads.workload_counts("add", (1024, 1024), "float32") == (1024**2, 3 * 1024**2 * 4)
    assert workloads.workload_counts("matmul", (64, 32, 16), "bfloat16") == (
        2 * 64 * 32 * 16, (64 * 32 + 32 * 16 + 64 * 16) * 2)
    with pytest.raises(ValueError, match="unknown workload 'conv': use one of 'add', 'matmul'"):
        workloads.workload_counts("conv", (3, 3), "float32")
    assert workloads.itemsize("bfloat16") == 2


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_transfer_variant_copies_host_arrays_inside_the_call(framework):
    w = workloads.add_workload(8, framework=framework, include_transfer=True)
    assert all(isinstance(x, np.ndarray) for x in w.args)
    r = w.run(warmup=0, repeat=1)
    assert r.includes_transfer and "+ copy" in r.name and "host-to-device" not in r.name


def test_sweep_runs_every_framework_and_shows_progress(capsys):
    import io

    stream = io.StringIO()
    results = workloads.sweep(sizes=[8, 16], dtypes=["float32"], quick=True, stream=stream, progress=True)
    assert isinstance(results, list) and results.skipped == []
    assert {r.framework for r in results} == {"numpy", "jax", "tensorflow"}
    assert len(results) == 2 * 2 * 3
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[") and "1/12" in lines[0] and lines[-1].endswith("12/12 done")


def test_a_missing_framework_is_reported_and_the_rest_runs(monkeypatch):
    real = core.framework
    monkeypatch.setattr(core, "framework", lambda name, refresh=False: (
        Framework("tensorflow", None) if name == "tensorflow" else real(name)))
    results = workloads.sweep(sizes=[8], dtypes=["float32"], quick=True, progress=False)
    assert results.skipped == ["tensorflow: not installed"]
    assert {r.framework for r in results} == {"numpy", "jax"}


def test_a_case_that_fails_is_reported_and_the_sweep_goes_on(monkeypatch):
    real = jax_adapter.place

    def out_of_memory_at_16(array, device):
        if array.shape[0] == 16:
            raise RuntimeError("RESOURCE_EXHAUSTED: out of memory\nallocator details")
        return real(array, device)

    monkeypatch.setattr(jax_adapter, "place", out_of_memory_at_16)
    results = workloads.sweep(workloads=["add"], sizes=[8, 16], dtypes=["float32"], frameworks=["numpy", "jax"],
                          quick=True, progress=False)
    assert [(r.framework, r.size) for r in results] == [("numpy", 8), ("jax", 8), ("numpy", 16)]
    assert results.skipped == ["add 16 float32 on jax cpu:0: RuntimeError: RESOURCE_EXHAUSTED: out of memory"]


def test_progress_bar_redraws_one_line_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = workloads.Progress(3, stream=stream)
    assert not bar.enabled  # short sweeps need no bar
    bar = workloads.Progress(5, stream=stream, width=10)
    for i in range(5):
        bar.step(f"case {i}")
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 6 and text.endswith("\n") and "[##########] 5/5 done" in text


def test_default_sizes_small_on_cpu_large_on_accelerators():
    assert max(workloads.default_sizes("add", "cpu", accelerator_here=False)) <= 4096
    assert max(workloads.default_sizes("add", "gpu", accelerator_here=True)) == 16384
    assert max(workloads.default_sizes("matmul", "tpu", accelerator_here=True)) == 8192
    assert workloads.default_sizes("matmul", "cpu", False, quick=True) == (128, 256)


# --- the results store -------------------------------------------------------------------------------------

def fake_result(name="add 8x8 float32", median=0.001, **extra):
    fields = {"workload": "add", "shape": (8, 8), "size": 8, "dtype": "float32", "device": "AMD EPYC",
              "device_kind": "cpu", "framework": "numpy", "framework_version": "2.0", "date": "2026-11-26",
              "min": median, "max": median, "spread": 0.0, "samples": (median,), "flops": 64, "bytes_moved": 768}
    return BenchmarkResult(name=name, median=median, **{**fields, **extra})


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "results.jsonl"
    clock = Clock([0.25] * 3)
    measured = bench.benchmark(clock.work, warmup=0, repeat=3, timer=clock, flops=10, bytes=20, name="fake",
                               info={"workload": "add", "shape": (2, 2), "dtype": "float32", "batch": 3})
    store.save_results([measured, fake_result()], path)
    store.save_results(fake_result("second save"), path)
    loaded = store.load_results(path)
    assert [r.name for r in loaded] == ["fake", "add 8x8 float32", "second save"]
    assert loaded[0] == measured
    assert loaded[0].params == {"batch": 3}
    assert all(isinstance(json.loads(line), dict) for line in path.read_text().splitlines())


def test_records_hold_the_metadata_to_compare_runtimes(tmp_path):
    clock = Clock([0.1] * 2)
    r = bench.benchmark(clock.work, warmup=0, repeat=2, timer=clock, framework="numpy")
    record = r.to_dict()
    for key in ("name", "median", "samples", "device", "framework", "framework_version", "versions", "date",
                "package_version", "environment", "host", "synchronized", "source"):
        assert record[key] is not None, key
    assert record["versions"]["python"] and record["package_version"] == bench._package_version()


def test_corrupt_lines_are_skipped_with_a_warning_naming_file_and_line(tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = json.dumps(fake_result().to_dict())
    path.write_bytes("\n".join([good, "{truncated", good, '{"name": "x", "median": -1}', "[1, 2]",
                                '{"median": 1.0}']).encode() + b"\n\xff\xfe\n" + good.encode()
                     + b'\n{"name": "y", "median": 1, "samples": ["a"]}'
                     + b'\n{"name": "z", "median": 1, "synchronized": "no"}')
    with pytest.warns(UserWarning) as caught:
        loaded = store.load_results([path])
    assert len(loaded) == 3
    messages = [str(w.message) for w in caught]
    assert [m.split(": ")[0] for m in messages] == [f"{path}:{n}" for n in (2, 4, 5, 6, 7, 9, 10)]
    assert "positive number of seconds" in messages[1] and "no 'name'" in messages[3]


def test_an_unreadable_results_file_raises_oserror(tmp_path):
    with pytest.raises(OSError, match="cannot read results file .*missing.jsonl"):
        store.load_results(tmp_path / "missing.jsonl")
    with pytest.raises(TypeError, match="BenchmarkResult"):
        store.save_results([{"name": "x"}], tmp_path / "x.jsonl")
    with pytest.raises(TypeError, match="'odd' holds a value JSON cannot store"):
        store.save_results(fake_result("odd", params={"model": object()}), tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


def test_two_processes_appending_at_once_lose_and_interleave_nothing(tmp_path):
    path = tmp_path / "shared.jsonl"
    script = textwrap.dedent(f"""
        import sys
        from tpu_lecture.bench.record import BenchmarkResult
        from tpu_lecture.bench.store import save_results
        tag = sys.argv[1]
        note = tag * 20000  # long lines: a torn write would show
        for i in range(150):
            batch = [BenchmarkResult(name=f"{{tag}} {{i}} {{j}}", median=1.0, note=note) for j in range(2)]
            save_results(batch, {str(path)!r})
    """)
    writers = [subprocess.Popen([sys.executable, "-c", script, tag]) for tag in "ab"]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    lines = path.read_text().splitlines()
    assert len(lines) == 2 * 150 * 2
    records = [json.loads(line) for line in lines]
    names = [r["name"] for r in records]
    assert sorted(names) == sorted(f"{t} {i} {j}" for t in "ab" for i in range(150) for j in range(2))
    for r in records:
        assert r["note"] == r["name"][0] * 20000
    # each process's batch of two stays together
    for first, second in zip(names[::2], names[1::2]):
        assert first.rsplit(" ", 1)[0] == second.rsplit(" ", 1)[0]


# --- the shipped reference results -------------------------------------------------------------------------

REPORTED_H200 = {  # the figures the measuring scripts reported on one H200: name -> (median s, or rate)
    "add 16384x16384 float32": ("median", 0.97e-3),
    "add 1024x1024 float32": ("median", 0.07e-3),
    "add 16384x16384 float32 (no sync)": ("median", 0.03e-3),
    "matmul 8192x8192x8192 bfloat16": ("flops_per_s", 689e12),
    "matmul 8192x8192x8192 float32": ("flops_per_s", 357e12),  # TF32, JAX's default precision
    "matmul 8192x8192x8192 float32 (highest precision)": ("flops_per_s", 49.6e12),
}


def test_reference_results_are_labelled_as_measured_by_other_scripts():
    reference = store.reference_results()
    assert reference and all(r.source == "measured on one NVIDIA H200 and its 16-core host (JAX 0.11.2, Keras "
                                         "3.15.1) on 2026-11-26 by scripts outside this package; not measured by "
                                         "tpu_lecture's bench" for r in reference)
    assert all(r.method.startswith("reported") for r in reference)
    assert "not measured by tpu_lecture's own bench" in store.REFERENCE_PROVENANCE
    assert all(r.date == "2026-11-26" for r in reference)
    assert not [r for r in reference if r.device_kind == "tpu" or "TPU" in (r.device or "")]  # no TPU result ships
    h200 = {r.name: r for r in reference if r.device == "NVIDIA H200" and not r.params.get("series")}
    for name, (kind, value) in REPORTED_H200.items():
        r = h200[name]
        assert (r.median if kind == "median" else r.flops_per_s) == pytest.approx(value)
        assert r.framework == "jax" and r.framework_version == "0.11.2" and r.chip == "H200"


def test_reference_times_from_rates_are_computed_and_marked_derived():
    reference = store.reference_results()
    matmul = next(r for r in reference if r.name == "matmul 8192x8192x8192 bfloat16" and not r.params)
    assert matmul.derived == ("median",)
    assert matmul.median == pytest.approx(2 * 8192**3 / 689e12)
    assert matmul.percent_of_peak == pytest.approx(100 * 689 / 989)
    add = next(r for r in reference if r.name == "add 16384x16384 float32" and r.device == "NVIDIA H200")
    assert add.derived == () and add.bytes_per_s == pytest.approx(3.3e12, rel=0.01)  # reported: 3.3 TB/s
    sweep = {(r.dtype, r.size): r.flops_per_s for r in reference if r.params.get("series") == "size sweep"}
    assert sweep[("bfloat16", 256)] == pytest.approx(0.48e12) and sweep[("float32", 16384)] == pytest.approx(332e12)
    mlp = {r.params["batch_size"]: r for r in reference if r.workload == "mlp_epoch" and r.device_kind == "gpu"}
    assert mlp[1024].items_per_s == pytest.approx(240_000) and mlp[1024].derived == ("median",)
    assert mlp[1024].median == pytest.approx(50_000 / 240_000)


def test_reference_speedups_match_the_reported_figures():
    table = results.compare(r for r in store.reference_results() if r.workload == "add")
    assert table.speedup("add 16384x16384 float32", table.columns[0]) == pytest.approx(383, rel=0.01)
    assert table.speedup("add 1024x1024 float32", table.columns[0]) == pytest.approx(9.5, rel=0.01)


# --- comparison and plots ----------------------------------------------------------------------------------

def two_runtimes():
    return [
        fake_result(median=0.004),
        fake_result("matmul 8x8x8 float32", median=0.01, workload="matmul", shape=(8, 8, 8), flops=1024),
        fake_result(median=0.001, device="NVIDIA H200", device_kind="gpu", framework="jax",
                    framework_version="0.11.2", chip="H200", peak_flops=989e12, peak_bandwidth=4.8e12),
        fake_result("matmul 8x8x8 float32", median=0.0001, device="NVIDIA H200", device_kind="gpu", framework="jax",
                    framework_version="0.11.2", workload="matmul", shape=(8, 8, 8), flops=1024, precision="highest"),
    ]


def test_a_tf32_run_gets_a_row_of_its_own_not_numpys():
    tf32 = [*two_runtimes()[:3], fake_result("matmul 8x8x8 float32", median=0.0001, device="NVIDIA H200",
                                             device_kind="gpu", framework="jax", framework_version="0.11.2",
                                             workload="matmul", shape=(8, 8, 8), flops=1024)]
    table = results.compare(tf32)
    assert table.speedup("matmul 8x8x8 float32", "NVIDIA H200 · jax 0.11.2 · 2026-11-26") is None
    assert table.speedup("matmul 8x8x8 float32 (TF32)", "NVIDIA H200 · jax 0.11.2 · 2026-11-26") is None
    assert "100x" not in table.to_text()


def test_compare_puts_runtimes_side_by_side_with_speedups():
    table = results.compare(two_runtimes())
    assert table.baseline == "AMD EPYC · numpy 2.0 · 2026-11-26"
    gpu = "NVIDIA H200 · jax 0.11.2 · 2026-11-26"
    assert table.speedup("add 8x8 float32", gpu) == pytest.approx(4)
    assert table.speedup("matmul 8x8x8 float32", gpu) == pytest.approx(100)
    text = table.to_text()
    assert "4x" in text and "100x" in text and "[2] NVIDIA H200" in text and "(baseline" in text
    html = table._repr_html_()
    assert html.startswith("<table>") and "NVIDIA H200" in html
    assert "2 cases x 2 runtimes" in repr(table)


def test_compare_baseline_by_name_and_bad_baselines():
    table = results.compare(two_runtimes(), baseline="h200")
    assert table.speedup("add 8x8 float32", "AMD EPYC · numpy 2.0 · 2026-11-26") == pytest.approx(0.25)
    with pytest.raises(ValueError, match="baseline 'TPU' matches none of the runtimes"):
        results.compare(two_runtimes(), baseline="TPU")
    with pytest.raises(ValueError, match="matches 2"):
        results.compare(two_runtimes(), baseline="2026")
    with pytest.raises(ValueError, match="no results"):
        results.compare([])


def test_format_table_and_repr_are_readable():
    text = results.format_table(two_runtimes())
    assert text.splitlines()[0].split() == ["benchmark", "runtime", "median", "spread", "rate", "%", "of", "peak"]
    assert "4 ms" in text and "1 ms" in text
    r = two_runtimes()[2]
    assert repr(r).startswith("BenchmarkResult('add 8x8 float32' on NVIDIA H200 · jax 0.11.2")
    assert results.format_seconds(0.00097) == "970 µs" and results.format_rate(689e12, "FLOP/s") == "689 TFLOP/s"


def test_plot_times_draws_one_line_per_runtime_and_dtype():
    fig = plots.plot_times(two_runtimes())
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["add", "matmul"]
    assert len(axes[0].get_lines()) == 2 and axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log"


def test_plot_speedup_draws_a_bar_per_case():
    fig = plots.plot_speedup(two_runtimes())
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    assert heights == pytest.approx([4, 100])


def test_plot_roofline_draws_a_roof_per_format_and_places_results_under_it():
    chip = hardware.get("H200")
    measured = [r for r in store.reference_results() if r.workload in ("add", "matmul") and r.synchronized
               and r.device == "NVIDIA H200"]
    fig = plots.plot_roofline("NVIDIA H200", measured)
    ax = fig.axes[0]
    roofs = [line for line in ax.get_lines() if line.get_label().startswith("roof, ")]
    assert [line.get_label().split()[1] for line in roofs] == ["bfloat16", "float32", "tfloat32"]
    for line, fmt in zip(roofs, ("bfloat16", "float32", "tfloat32")):
        xs, ys = line.get_data()
        assert ys == pytest.approx([min(chip.peak(fmt), chip.memory_bandwidth * x) for x in xs])
    dots = [line for line in ax.get_lines() if line.get_marker() in ("o", "s") and len(line.get_xdata()) == 1
            and line.get_label().startswith("_")]
    assert len(dots) == len(measured) + len(roofs)  # every result, and each roof's ridge point
    by_framework = {}  # one colour per framework; adds drawn as squares, matmuls as circles
    for r in measured:
        # the sweep's 8192³ points carry the headline records' values (one value per case): two dots, one place
        dot = next(d for d in dots if d.get_xdata()[0] == r.intensity and d.get_ydata()[0] == r.flops_per_s)
        assert dot.get_marker() == {"add": "s", "matmul": "o"}[r.workload]
        assert by_framework.setdefault(r.framework, dot.get_color()) == dot.get_color()
    for r in measured:
        assert r.flops_per_s <= min(chip.peak(r.peak_dtype), chip.memory_bandwidth * r.intensity) * 1.0001
    assert "float32 (TF32)" not in fig.axes[0].get_legend_handles_labels()[1]


def test_plots_reject_what_they_cannot_draw():
    with pytest.raises(ValueError, match="no sized results"):
        plots.plot_times([])
    with pytest.raises(ValueError, match="nothing to compare"):
        plots.plot_speedup(two_runtimes()[:2])
    with pytest.raises(ValueError, match="no chip called"):
        plots.plot_roofline("TPU v99")


def test_reference_file_is_package_data():
    folder = Path(store.__file__).parent / "reference"
    assert [p.name for p in folder.glob("*.jsonl")] == list(store.REFERENCE_FILES)
    assert store.reference_files() == [folder / name for name in store.REFERENCE_FILES]
    assert all(p.is_file() for p in store.reference_files())


def test_results_from_another_runtime_line_up_with_the_reference():
    n = 8192
    mine = fake_result(f"matmul {n}x{n}x{n} float32", median=0.01, workload="matmul", shape=(n, n, n), size=n,
                       device="NVIDIA H100 80GB HBM3", device_kind="gpu", framework="jax", framework_version="0.10.2",
                       date="2026-12-01", flops=2 * n**3, bytes_moved=3 * n * n * 4)
    table = results.compare([*store.reference_results(), mine], baseline="host CPU (16 cores) · numpy")
    # a default-precision float32 product on a GPU with TF32 runs in TF32: its row is not NumPy's float32 row
    row = dict(table.rows)[f"matmul {n}x{n}x{n} float32 (TF32)"]
    assert mine.case == f"matmul {n}x{n}x{n} float32 (TF32)"
    assert {mine.runtime_label, "NVIDIA H200 · jax 0.11.2 · 2026-11-26",
            "NVIDIA H200 · jax 0.11.2 · 2026-11-26 · size sweep"} <= set(row)
    assert table.speedup(mine.case, mine.runtime_label) is None  # no TF32 run on the host: no speed-up
    # the H200's highest-precision product is true float32: it, and only it, sits beside NumPy's
    float32 = dict(table.rows)[f"matmul {n}x{n}x{n} float32"]
    assert set(float32) == {"NVIDIA H200 · jax 0.11.2 · 2026-11-26", "host CPU (16 cores) · numpy · 2026-11-26"}
    assert table.speedup(f"matmul {n}x{n}x{n} float32", "NVIDIA H200 · jax 0.11.2 · 2026-11-26") == pytest.approx(
        1.05 / (2 * n**3 / 49.6e12), rel=0.01)
    exact = fake_result(f"matmul {n}x{n}x{n} float32", median=0.01, workload="matmul", size=n, device="NVIDIA H100",
                        device_kind="gpu", precision="highest", framework="jax", flops=2 * n**3)
    assert exact.case == f"matmul {n}x{n}x{n} float32"


# --- the steps of benchmark() ------------------------------------------------------------------------------

def test_repeats_give_the_limits_of_the_timed_loop():
    fixed = bench.Repeats.checked(warmup=0, repeat=3, target_time=1.0, min_repeat=5, max_repeat=10)
    assert fixed.limits() == (3, 3, float("inf"))
    filled = bench.Repeats.checked(warmup=1, repeat=None, target_time=1, min_repeat=2, max_repeat=4)
    assert filled.limits() == (4, 2, 1.0) and isinstance(filled.target_time, float)


def test_an_in_place_function_is_waited_for_by_its_inputs_framework(monkeypatch):
    import jax.numpy as jnp

    waited = []
    monkeypatch.setattr(jax_adapter, "sync", lambda out: waited.append(out))
    x = jnp.ones(2)
    r = bench.benchmark(lambda a: None, x, warmup=0, repeat=2)
    assert len(waited) == 2 and r.framework == "jax"
    plain = bench.benchmark(lambda a: None, np.ones(2), warmup=0, repeat=1)
    assert plain.framework is None  # NumPy needs no wait: a function returning nothing is plain Python


def test_a_device_of_another_framework_finds_the_host_for_numpy():
    jax_cpu = workloads.find_device("jax", "cpu")
    assert workloads.find_device("numpy", jax_cpu) == runtime.framework("numpy").devices[0]
    assert workloads.add_workload(8).device.framework == "numpy"


# --- stored records: parsing and upgrading ---------------------------------------------------------------------

def test_upgrade_fills_in_what_a_terse_record_leaves_out():
    terse = {"name": "matmul 8x8x8 bfloat16", "workload": "matmul", "shape": [8, 8, 8], "dtype": "bfloat16",
             "chip": "H200", "reported": {"flops_per_s": 1e12}}
    upgraded = store.upgrade(terse)
    assert (upgraded["flops"], upgraded["bytes_moved"]) == workloads.workload_counts("matmul", (8, 8, 8), "bfloat16")
    assert upgraded["median"] == pytest.approx(2 * 8**3 / 1e12) and upgraded["derived"] == ["median"]
    assert upgraded["peak_flops"] == hardware.get("H200").peak_flops_per_device
    assert "flops" not in terse  # the stored record is not changed
    r = BenchmarkResult.from_dict(upgraded)
    assert r.derived == ("median",) and r.shape == (8, 8, 8) and r.percent_of_peak > 0
    with pytest.raises(ValueError, match="no 'median' and no reported rate"):
        store.upgrade({"name": "x"})
    with pytest.raises(ValueError, match="must be a JSON object"):
        store.upgrade([1, 2])


def test_from_dict_reads_the_current_schema_and_keeps_unknown_keys():
    record = fake_result().to_dict()
    assert record["schema"] == results.SCHEMA == 2
    loaded = BenchmarkResult.from_dict({**record, "unknown": {"a": [1, 2]}, "samples": [1, 2]})
    assert loaded.extra == {"unknown": {"a": [1, 2]}} and loaded.samples == (1.0, 2.0) and loaded.shape == (8, 8)
    assert loaded.to_dict()["unknown"] == {"a": [1, 2]}  # written back unchanged
    with pytest.raises(ValueError, match="median must be a positive number of seconds"):
        BenchmarkResult.from_dict({"name": "x", "median": float("inf")})


# --- a training run as a result ---------------------------------------------------------------------------

def training_report(**extra):
    return TrainingReport(epoch_seconds=(9.0, 2.0, 2.2, 1.8), samples_per_epoch=4096, **extra)


def test_a_training_run_becomes_a_result_scaled_to_a_full_epoch():
    report = training_report()
    rt = runtime.detect(probes={"tensorflow": lambda: Framework("tensorflow", None), "jax": lambda: Framework(
        "jax", "9.9", (runtime.Device("jax", "gpu", "NVIDIA H100 80GB HBM3", "gpu:0"),))}, environ={}, modules={})
    r = bench.result_from_training(report, name="MLP training epoch, batch 1024", workload="mlp_epoch",
                                   per_epoch=50_000, detected=rt, framework="jax",
                                   params={"batch_size": 1024, "series": "synthetic data"}, note="offline")
    assert r.median == pytest.approx(50_000 / report.samples_per_second) and r.derived == ("median",)
    assert r.extrapolated and r.case == "MLP training epoch, batch 1024 (extrapolated)"
    assert r.samples == () and r.first_call == 9.0 and r.items == 50_000 and r.item_unit == "samples"
    assert (r.device, r.device_kind, r.chip, r.framework) == ("NVIDIA H100 80GB HBM3", "gpu", "H100", "jax")
    assert r.params == {"samples_per_epoch": 4096, "epoch_seconds": [9.0, 2.0, 2.2, 1.8], "keras_backend": "jax",
                        "batch_size": 1024, "series": "synthetic data"}
    assert r.note == "offline" and r.flops is None and r.items_per_s == pytest.approx(report.samples_per_second)
    assert r.runtime_label.endswith("synthetic data") and BenchmarkResult.from_dict(r.to_dict()) == r


def test_a_training_result_at_its_own_size_keeps_its_epochs_and_can_count_flops():
    report = training_report(items_per_sample=100, unit="characters")
    r = bench.result_from_training(report, name="LSTM", workload="shakespeare_lstm", device="cpu",
                                   flops_per_sample=6e6, framework="tensorflow")
    assert r.derived == () and r.samples == (2.0, 2.2, 1.8) and r.median == pytest.approx(2.0)
    assert not r.extrapolated
    assert r.items == 409_600 and r.item_unit == "characters" and r.flops == pytest.approx(6e6 * 4096)
    assert r.device_kind == "cpu" and r.peak_is_estimate and r.percent_of_peak > 0
    with pytest.raises(ValueError, match="train at least 2"):
        bench.result_from_training(TrainingReport((3.0,), 10), name="x", workload="mlp_epoch", device="cpu")
    with pytest.raises(ValueError, match="per_epoch must be at least 1"):
        bench.result_from_training(report, name="x", workload="mlp_epoch", device="cpu", per_epoch=0)


# --- several chips' rooflines on one figure ----------------------------------------------------------------------

def test_plot_rooflines_draws_every_chip_its_ridge_and_the_workloads():
    chips = ["Haswell E5-2699 v3", "H100", "H200", "TPU v5e"]
    workloads_here = {"add, float32": 1 / 12, "matmul 8192³ bf16": 2731.0}
    fig = plots.plot_rooflines(chips, workloads_here)
    ax = fig.axes[0]
    roofs = [line for line in ax.get_lines() if line.get_label() in chips]
    assert [line.get_label() for line in roofs] == chips
    for line in roofs:
        chip = hardware.get(line.get_label())
        xs, ys = line.get_data()
        assert ys == pytest.approx([chip.attainable_flops(x) / 1e12 for x in xs])
    ridges = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [v for line in ridges for v in line.get_xydata()[0]] == pytest.approx(
        [v for c in map(hardware.get, chips) for v in (c.ridge_point, c.peak_flops / 1e12)])
    assert sorted(line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":") == pytest.approx(
        sorted(workloads_here.values()))
    assert roofs[0].get_linestyle() == "--"  # the CPU


def test_chip_colors_go_by_kind_and_plot_rooflines_needs_chips():
    from tpu_lecture.viz import style

    colors = plots.chip_colors(["H100", "TPU v5e", "H200", "Haswell E5-2699 v3"])
    assert colors == {"H100": style.CHIP_SHADES["gpu"][0], "TPU v5e": style.CHIP_SHADES["tpu"][0],
                      "H200": style.CHIP_SHADES["gpu"][1], "Haswell E5-2699 v3": style.CHIP_SHADES["cpu"][0]}
    with pytest.raises(ValueError, match="no chips to draw"):
        plots.plot_rooflines([])
    with pytest.raises(ValueError, match="no chip called"):
        plots.plot_rooflines(["TPU v99"])


# --- the results store keeps what was saved (issue 15) ---------------------------------------------------------

def _names(path):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = store.load_results(path)
    return [r.name for r in loaded], [str(w.message) for w in caught]


@pytest.mark.parametrize("tail", [b"", b'{"schema": 2, "name": "cut sh'], ids=["no final newline", "cut record"])
def test_appending_after_a_partial_last_line_glues_nothing_onto_it(tmp_path, tail):
    # Before the fix the new record was appended to the partial line: both were lost on the next load.
    path = tmp_path / "semester.jsonl"
    store.save_results([fake_result("first"), fake_result("second")], path)
    path.write_bytes(path.read_bytes().rstrip(b"\n") + (b"\n" + tail if tail else b""))  # a crash, a hand edit
    store.save_results(fake_result("third"), path)
    names, warned = _names(path)
    assert names == ["first", "second", "third"]
    assert len(warned) == (1 if tail else 0) and (not warned or "semester.jsonl:3: skipped a corrupt" in warned[0])


def test_a_byte_order_mark_does_not_cost_the_first_record(tmp_path):
    # An editor that saves "UTF-8 with BOM": before the fix the first record was skipped as corrupt.
    path = tmp_path / "bom.jsonl"
    store.save_results([fake_result("first"), fake_result("second")], path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _names(path) == (["first", "second"], [])


BAD_FIELDS = {  # field: JSON text of the wrong kind that loaded (and broke something later) before the schema
    "shape": '"1024"',  # became the tuple of characters (1, 0, 2, 4)
    "flops": '"1e3"',  # a string read as a number
    "spread": "1e400",  # JSON's 1e400 is infinity to Python: every table and plot broke
    "samples": "[0.1, 1e400]",
    "bytes_moved": "1" + "0" * 400,  # OverflowError escaped load_results and lost the whole file
    "size": '"8"',
    "date": "20261126",  # runtime_label slices it: repr broke for the record
    "versions": '{"jax": 0.4}',
    "reported": '{"flops_per_s": "fast"}',
    "params": '{"deep": [[[[[[[[[[1]]]]]]]]]]}',  # nesting deeper than any record needs
    "device": '["NVIDIA", "H200"]',
    "derived": '"median"',  # became ("m", "e", "d", ...)
    "peak_is_estimate": '"yes"',
    "median": "NaN",
}


@pytest.mark.parametrize("key", BAD_FIELDS)
def test_a_field_of_the_wrong_kind_is_skipped_with_its_line_and_breaks_nothing_later(tmp_path, key):
    path = tmp_path / "hand_edited.jsonl"
    good = json.dumps(fake_result("good").to_dict())
    bad = good[:-1] + f', "{key}": {BAD_FIELDS[key]}}}'  # the last of two equal keys is the one JSON keeps
    path.write_text("\n".join([good, bad, good]) + "\n")
    names, warned = _names(path)
    assert names == ["good", "good"]
    assert len(warned) == 1 and warned[0].startswith(f"{path}:2: skipped a corrupt results line")
    assert key in warned[0] or "NaN" in warned[0]
    loaded = store.load_results(path)
    results.format_table(loaded), repr(loaded), results.compare(loaded).to_text(), plots.plot_times(loaded)


def test_a_record_whose_rates_overflow_or_that_nests_without_end_is_skipped(tmp_path):
    path = tmp_path / "odd.jsonl"
    good = json.dumps(fake_result("good").to_dict())
    overflowing = json.dumps({**fake_result("inf").to_dict(), "flops": 1e300, "median": 1e-300})
    deep = '{"name": "deep", "median": 1, "params": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text("\n".join([good, overflowing, deep, good]) + "\n")
    names, warned = _names(path)
    assert names == ["good", "good"] and [w.split(": ")[0] for w in warned] == [f"{path}:2", f"{path}:3"]
    assert "overflow" in warned[0]


def test_a_record_of_a_newer_schema_is_reported_not_misread(tmp_path):
    path = tmp_path / "future.jsonl"
    future = {**fake_result("from the future").to_dict(), "schema": 3, "median": {"value": 1, "unit": "s"}}
    path.write_text(json.dumps(future) + "\n" + json.dumps(fake_result("today").to_dict()) + "\n")
    names, warned = _names(path)
    assert names == ["today"] and len(warned) == 1
    assert "newer schema" in warned[0] and "schema 3" in warned[0] and "upgrade the package" in warned[0]


def test_unknown_keys_survive_a_load_and_a_save(tmp_path):
    path, copy = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    path.write_text(json.dumps({**fake_result().to_dict(), "gpu_clock_mhz": 1980, "notes": {"by": "me"}}) + "\n")
    store.save_results(store.load_results(path), copy)
    stored = json.loads(copy.read_text())
    assert stored["gpu_clock_mhz"] == 1980 and stored["notes"] == {"by": "me"}


def test_schema_1_records_get_the_peak_of_the_format_that_ran():
    old = {"schema": 1, "name": "matmul 64x64x64 float32", "workload": "matmul", "shape": [64, 64, 64],
           "dtype": "float32", "precision": "default", "device": "NVIDIA H100 80GB HBM3", "chip": "H100",
           "median": 1e-3, "peak_flops": 989e12, "peak_dtype": "bfloat16"}  # schema 1: the headline peak
    r = BenchmarkResult.from_dict(store.upgrade(old))
    assert (r.peak_dtype, r.peak_flops) == ("tfloat32", 494.5e12)
    cpu = {"schema": 1, "name": "matmul 64x64x64 bfloat16", "workload": "matmul", "shape": [64, 64, 64],
           "dtype": "bfloat16", "median": 1e-3, "peak_flops": 1e11, "peak_dtype": "float32", "peak_is_estimate": True}
    r = BenchmarkResult.from_dict(store.upgrade(cpu))
    assert r.peak_flops is None and r.percent_of_peak is None and "no bfloat16 peak" in r.peak_note


_KILLER = textwrap.dedent("""
    import os, random, signal, sys, time
    from tpu_lecture.bench import store
    from tpu_lecture.bench.record import BenchmarkResult

    path, kills = sys.argv[1], int(sys.argv[2])
    rng = random.Random(12)
    for k in range(kills):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: saves batches until it is killed
            os.close(read)
            if k % 2:  # a slow disk: 64 bytes a write, so that a kill cuts a record in two
                real = os.write
                def slow(fd, data, real=real):
                    if fd == write:
                        return real(fd, data)
                    time.sleep(0.0002)
                    return real(fd, bytes(data[:64]))
                os.write = slow
            for i in range(10**9):
                store.save_results([BenchmarkResult(name=f"{k} {i} {j}", median=1.0, note="x" * 300)
                                    for j in range(3)], path)
                os.write(write, f"{k} {i}\\n".encode())
        os.close(write)
        first = b""
        while not first.endswith(b"\\n"):  # the first batch saved: from here on, kill at a random moment
            chunk = os.read(read, 1)
            if not chunk:
                break
            first += chunk
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read) as confirmed:
            print(first.decode() + confirmed.read(), end="", flush=True)
""")


def test_killing_writers_in_the_middle_of_save_results_loses_no_saved_record(tmp_path):
    # Fault injection: 60 writers, each killed with SIGKILL at a random moment after its first save (half of them
    # on a "slow disk" that writes 64 bytes at a time). Every batch a writer had finished saving must still load.
    path = tmp_path / "semester.jsonl"
    done = subprocess.run([sys.executable, "-c", _KILLER, str(path), "60"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    confirmed = [line.split() for line in done.stdout.splitlines()]
    names, warned = _names(path)
    saved = {f"{k} {i} {j}" for k, i in confirmed for j in range(3)}
    assert len({k for k, _ in confirmed}) == 60, "every writer was killed after its first save"
    assert saved <= set(names), f"lost {len(saved - set(names))} saved records"
    assert len(names) == len(set(names)) and warned, "some kills cut a record: the fault was exercised"
    assert all("skipped a corrupt results line" in w for w in warned) and len(warned) <= 60


# --- the peak of the number format that ran ---------------------------------------------------------------------

@pytest.mark.parametrize(("chip", "dtype", "precision", "workload", "expected"), [
    ("H200", "float32", "default", "matmul", ("tfloat32", 494.5e12)),  # JAX's and TF's default: TF32
    ("H200", "float32", "highest", "matmul", ("float32", 67e12)),
    ("H200", "float32", "default (TF32)", "mlp_epoch", ("tfloat32", 494.5e12)),  # training is matrix products
    ("H200", "float32", None, "add", ("float32", 67e12)),  # element-wise: no tensor cores
    ("H200", "bfloat16", "default", "matmul", ("bfloat16", 989e12)),
    ("T4", "float32", "default", "matmul", ("float32", 8.1e12)),  # Turing has no TF32
    ("T4", "float16", "default", "matmul", ("float16", 65e12)),
    ("T4", "bfloat16", "default", "matmul", (None, None)),  # no bfloat16 on a T4
    ("TPU v5e", "float32", "default", "matmul", (None, None)),  # bfloat16 passes: no float32 peak
    ("TPU v5e", "float32", "highest", "matmul", (None, None)),
    ("TPU v5e", "bfloat16", "default", "matmul", ("bfloat16", 197e12)),
])
def test_percent_of_peak_uses_the_peak_of_the_format_that_ran(chip, dtype, precision, workload, expected):
    clock = Clock([1.0] * 2)
    r = bench.benchmark(clock.work, warmup=0, repeat=2, timer=clock, flops=1e12, device=hardware.get(chip),
                        info={"dtype": dtype, "precision": precision, "workload": workload})
    assert (r.peak_dtype, r.peak_flops) == expected
    if expected[0] is None:
        assert r.percent_of_peak is None and r.peak_note and "no % of peak" in repr(r)
        assert ("bfloat16 passes" in r.peak_note) == chip.startswith("TPU")
    else:
        assert r.percent_of_peak == pytest.approx(100 * 1e12 / expected[1])


def test_a_real_float32_matmul_records_its_precision():
    work = workloads.matmul_workload(16, framework="jax")
    assert work.info["precision"] == "default"
    assert workloads.matmul_workload(16, framework="numpy").info["precision"] == "highest"
    assert workloads.add_workload(16, framework="jax").info["precision"] is None


# --- noisy timings: spread shown, interleaved rounds, the lowest median --------------------------------------------

def test_a_spread_above_the_limit_is_shown_as_noisy():
    noisy = fake_result(spread=0.35)
    assert noisy.noisy and "NOISY" in repr(noisy) and "NOISY" in results.format_table([noisy])
    quiet = fake_result(spread=0.05)
    assert not quiet.noisy and "NOISY" not in repr(quiet)
    table = results.compare([noisy, fake_result(device="other", spread=0.01)]).to_text()
    assert "(noisy)" in table and "re-measure" in table


def test_interleaved_rounds_keep_the_quietest_round_and_remeasure_noisy_ones():
    calls = []

    def contender(name, medians, spreads):
        def measure():
            i = sum(1 for c in calls if c == name)
            calls.append(name)
            return fake_result(name, median=medians[i], spread=spreads[i], samples=(medians[i],) * 3)
        return measure

    found = bench.interleave({"a": contender("a", [3.0, 1.0, 2.0], [0.0] * 3),
                              "b": contender("b", [5.0, 4.0, 6.0, 4.5, 4.2, 4.1], [0.5] * 6)},
                             rounds=3, max_rounds=6)
    assert calls[:6] == ["a", "b", "b", "a", "a", "b"]  # the order turns each round
    assert calls[6:] == ["b", "b", "b"]  # only the noisy one is measured again
    assert found["a"].median == 1.0 and found["a"].params["round_medians"] == [3.0, 1.0, 2.0]
    assert "lowest median of 3 interleaved rounds" in found["a"].method and len(found["a"].samples) == 9
    assert found["b"].median == 4.0 and found["b"].noisy  # still noisy after 6 rounds: shown as such
    with pytest.raises(TypeError, match="returned int"):
        bench.interleave({"x": lambda: 1})


def test_a_sweep_in_rounds_interleaves_every_case_and_keeps_the_quietest():
    found = workloads.sweep(workloads=["add"], sizes=[8, 16], dtypes=["float32"], frameworks=["numpy"],
                            rounds=2, quick=True, progress=False)
    assert [r.size for r in found] == [8, 16]
    assert all(len(r.params["round_medians"]) >= 2 and r.median == min(r.params["round_medians"]) for r in found)


@pytest.mark.parametrize(("this", "other", "words"), [
    (1.0, 2.5, "2.5x faster"), (2.5, 1.0, "2.5x slower"), (1.0, 1.05, "about as fast (within 10%)"),
    (1.0, 385.0, "385x faster"), (1.0 / 0.4, 1.0, "2.5x slower"),  # never "0.4x faster"
])
def test_speed_ratios_are_worded_so_that_they_hold_both_ways(this, other, words):
    assert str(results.speed_ratio(this, other)) == words


def test_a_noisy_comparison_within_its_spread_is_inconclusive_and_beyond_it_stands():
    assert results.speed_ratio(fake_result(median=1.0, spread=0.5), 1.4).verdict == "inconclusive"
    assert results.speed_ratio(fake_result(median=1.0, spread=0.5), 11.0).verdict == "faster"  # far beyond the noise
    assert results.speed_ratio(fake_result(median=1.0, spread=0.15), 1.12).verdict == "about as fast"
    spreads = results.speed_ratio(fake_result(median=1.0, spread=0.15), fake_result(median=1.2, spread=0.1))
    assert spreads.margin == pytest.approx(0.25) and spreads.verdict == "about as fast"
    with pytest.raises(ValueError, match="positive seconds"):
        results.speed_ratio(0.0, 1.0)


# --- this runtime's roofs, measured -------------------------------------------------------------------------------

def test_the_memory_and_compute_roofs_of_this_runtime_are_measured():
    from tpu_lecture.bench import roofs

    found = roofs.measure(megabytes=4, n=64, rounds=1, target_time=0.01)
    memory, [compute] = found.memory, found.compute
    assert memory.bytes_per_s == max(memory.params["kernels"].values()) > 0
    assert set(memory.params["kernels"]) == {"copy", "add"} and "STREAM" in memory.source
    assert compute.flops == 2 * 64**3 and compute.peak_dtype == "float32"
    chip = found.chip
    assert (chip.memory_bandwidth, chip.peak_flops) == (memory.bytes_per_s, compute.flops_per_s)
    assert chip.ridge_point == pytest.approx(compute.flops_per_s / memory.bytes_per_s)
    assert "measured here" in chip.source and "Roofs(memory" in repr(found)


def test_a_measured_chip_holds_one_peak_per_dtype_measured():
    from tpu_lecture.bench import roofs

    memory = fake_result("memory", median=1.0, bytes_moved=2e9, flops=None, device_kind="gpu", device="GPU")
    f32 = fake_result("f32", median=1.0, flops=3e14, bytes_moved=None, peak_dtype="tfloat32", dtype="float32")
    bf16 = fake_result("bf16", median=1.0, flops=6e14, bytes_moved=None, peak_dtype="bfloat16", dtype="bfloat16")
    chip = roofs.measured_chip(memory, [f32, bf16])
    assert chip.peaks == {"tfloat32": 3e14, "bfloat16": 6e14} and chip.kind == "gpu"
    with pytest.raises(ValueError, match="needs a memory roof"):
        roofs.measured_chip(f32, [bf16])


def test_a_sweep_skips_cases_that_do_not_fit_in_memory_or_would_take_minutes(monkeypatch):
    found = workloads.sweep(workloads=["add"], sizes=[10**6], dtypes=["float32"], frameworks=["numpy"],
                            progress=False)
    assert list(found) == [] and "GB of host memory" in found.skipped[0] and "smaller size" in found.skipped[0]
    monkeypatch.setattr(workloads, "_free_memory", lambda: None)
    slow = workloads.sweep(workloads=["matmul"], sizes=[200_000], dtypes=["float32"], frameworks=["numpy"],
                           progress=False)
    assert list(slow) == [] and "minutes on this CPU" in slow.skipped[0]


def test_the_triad_counts_two_flops_per_element_over_three_arrays():
    assert workloads.workload_counts("triad", (4, 8), "float32") == (64, 3 * 32 * 4)
    for framework in ("numpy", "jax"):
        work = workloads.triad_workload(8, framework=framework)
        a, b = workloads.host_arrays(8, "float32")
        assert np.allclose(np.asarray(work.fn(*work.args)), a + 3 * b)


def test_a_measured_roofline_joins_each_series_and_draws_noisy_points_hollow():
    from tpu_lecture.bench import roofs

    memory = fake_result("memory", median=1.0, bytes_moved=10e9, flops=None)
    compute = fake_result("compute", median=1.0, flops=100e9, bytes_moved=None, peak_dtype="float32")
    chip = roofs.measured_chip(memory, compute)
    series = [fake_result(f"matmul {n}", workload="matmul", dtype="float32", median=1e-3, flops=2.0 * n**3,
                          bytes_moved=12.0 * n * n, peak_dtype="float32", spread=0.5 if n == 64 else 0.0)
              for n in (32, 64, 128)]
    ax = plots.plot_roofline(chip, series).axes[0]
    [curve] = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
    assert list(curve.get_xdata()) == sorted(r.intensity for r in series)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o" and len(line.get_xdata()) == 1
            and line.get_label().startswith("_") and line.get_markersize() == 6]
    hollow = [line for line in dots if line.get_markerfacecolor() == "white"]
    assert len(dots) == 3 and [line.get_xdata()[0] for line in hollow] == [series[1].intensity]


def test_a_real_clock_records_how_many_cores_the_calls_kept_busy():
    x = np.ones((256, 256), np.float32)
    real = bench.benchmark(np.matmul, x, x, repeat=5)
    assert 0 < real.params["cores_busy"] <= 1.5 * __import__("os").cpu_count()
    clock = Clock([0.1] * 3)
    assert "cores_busy" not in bench.benchmark(clock.work, warmup=0, repeat=3, timer=clock).params  # a fake clock


def test_roofs_are_raised_to_the_best_rate_measured_on_arrays_as_large():
    from tpu_lecture.bench import roofs

    memory = fake_result("STREAM copy", median=1.0, bytes_moved=10e9, flops=None, workload="copy",
                         params={"megabytes": 64})
    compute = fake_result("matmul 1024", median=1.0, flops=100e9, bytes_moved=None, workload="matmul", size=1024)
    faster_add = fake_result("add 4096", median=1.0, bytes_moved=12e9, size=4096)  # 64 MiB arrays: counts
    small_add = fake_result("add 256", median=1.0, bytes_moved=40e9, size=256)  # in the caches: does not
    unsynced = fake_result("add 4096 no sync", median=1.0, bytes_moved=1e15, size=4096, synchronized=False)
    faster_matmul = fake_result("matmul 1024 tf", median=1.0, flops=150e9, workload="matmul", size=1024)
    raised = roofs.Roofs(memory, [compute]).raised_by([faster_add, small_add, unsynced, faster_matmul])
    assert raised.memory is faster_add and raised.compute == [faster_matmul]
    assert raised.chip.memory_bandwidth == 12e9 and raised.chip.peak_flops == 150e9
    assert roofs.Roofs(memory, [compute]).raised_by([small_add]).memory is memory


# --- like for like: the format as run and the timing rule -------------------------------------------------------

def test_the_format_as_run_is_not_the_dtype_where_the_hardware_rounds():
    matmul = {"workload": "matmul", "size": 64, "flops": 2 * 64**3}
    assert fake_result(**matmul).format_as_run == "float32"  # a CPU's float32 product
    tf32 = fake_result(device="NVIDIA H200", device_kind="gpu", framework="jax", precision="default", **matmul)
    assert tf32.format_as_run == "tfloat32" and "(TF32)" in tf32.case and "ran in TF32" in repr(tf32)
    exact = fake_result(device="NVIDIA H200", device_kind="gpu", precision="highest", **matmul)
    assert exact.format_as_run == "float32"
    assert fake_result(device="TPU v5 lite", device_kind="tpu", **matmul).format_as_run == "bfloat16"
    assert fake_result(device="NVIDIA H200", device_kind="gpu").format_as_run == "float32"  # an add: no tensor core
    assert fake_result(number_format="int8").format_as_run == "int8"


def test_a_comparison_of_unlike_results_is_labelled_or_refused():
    cpu = fake_result("matmul", workload="matmul", median=1.0)
    tf32 = fake_result("matmul", workload="matmul", median=0.01, device="NVIDIA H200", device_kind="gpu",
                       framework="jax")
    ratio = results.speed_ratio(tf32, cpu)
    assert ratio.unlike == ("TF32 against float32",) and not ratio.conclusive
    assert "not like for like: TF32 against float32" in str(ratio)
    with pytest.raises(results.UnlikeComparison, match="TF32 against float32"):
        results.speed_ratio(tf32, cpu, unlike="refuse")
    compiling = fake_result(median=2.0, includes_compile=True)
    scaled = fake_result(median=2.0, extrapolated=True, synchronized=False)
    assert results.differences(compiling, fake_result()) == ("compile included against compile excluded",)
    assert results.differences(scaled, fake_result()) == ("unsynchronised against synchronised",
                                                          "extrapolated against measured")
    assert results.speed_ratio(fake_result(median=2.0), fake_result()).conclusive
    assert compiling.case.endswith("(compile included)") and scaled.case.endswith("(extrapolated)")
    assert scaled.timing_rule == "unsynchronised, compile excluded, extrapolated"


def test_a_table_prints_an_inconclusive_speedup_as_inconclusive():
    base = fake_result(median=1.0, spread=3.0, device="host", framework="numpy")
    other = fake_result(median=0.5, spread=0.01, device="other", framework="jax")
    table = results.compare([base, other], baseline="host")
    assert table.ratio(base.case, other.runtime_label).verdict == "inconclusive"
    assert table.conclusive_speedup(base.case, other.runtime_label) is None
    text = table.to_text()
    assert "inconclusive" in text and "2x" not in text.replace("(noisy)", "")
    quiet = results.compare([fake_result(median=1.0, device="host"), other], baseline="host")
    assert "2x" in quiet.to_text() and quiet.conclusive_speedup(base.case, other.runtime_label) == 2


def test_plot_speedup_draws_an_inconclusive_speedup_hollow_and_hatched():
    base = fake_result(median=1.0, spread=3.0, device="host", framework="numpy")
    other = fake_result(median=0.5, spread=0.01, device="other", framework="jax")
    fig = plots.plot_speedup([base, other], baseline="host")
    bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    assert len(bars) == 1 and bars[0].get_hatch() == "//" and bars[0].get_facecolor()[:3] == (1.0, 1.0, 1.0)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("inconclusive" in t for t in labels)


def test_every_series_legend_names_its_format_and_timing_rule():
    tf32 = fake_result("matmul 64", workload="matmul", size=64, median=1e-4, device="NVIDIA H200",
                       device_kind="gpu", framework="jax", bytes_moved=3 * 64 * 64 * 4, flops=2 * 64**3)
    scaled = fake_result(size=16, median=1e-3, extrapolated=True)
    fig = plots.plot_times([tf32, scaled, fake_result()])
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert any("TF32, synced, compiled, measured" in t for t in labels)
    assert any("float32, synced, compiled, EXTRAPOLATED" in t for t in labels)
    fig = plots.plot_roofline("H200", [tf32])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("(TF32, synced, compiled, measured)" in t for t in labels)
    assert any(t.startswith("roof, tfloat32 peak") and t.endswith("(TF32)") for t in labels)


def test_a_share_of_a_peak_is_of_the_format_that_ran():
    from tpu_lecture.bench import peaks

    h200 = hardware.get("H200")
    assert peaks.share_of_peak(6.7e12, h200, "float32") == pytest.approx(0.1)
    assert peaks.share_of_peak(49.45e12, h200, "tf32") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="TPU v5e has no float32 peak"):
        peaks.share_of_peak(1e12, hardware.get("TPU v5e"), "float32")
    wrong = fake_result("matmul", workload="matmul", device="NVIDIA H200", device_kind="gpu", framework="jax",
                        peak_flops=67e12, peak_dtype="float32", flops=1e9)
    assert wrong.format_as_run == "tfloat32" and wrong.percent_of_peak is None


def test_the_memory_roof_is_sized_from_the_last_level_cache(tmp_path):
    from tpu_lecture.bench import roofs

    for index, (level, size) in enumerate([(1, "48K"), (2, "2048K"), (3, "491520K")]):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "size").write_text(f"{size}\n")
    cache, source = roofs.last_level_cache(str(tmp_path))
    assert cache == 480 * 2**20 and source.startswith("L3 of 480 MiB")
    assert roofs.stream_megabytes(cache) == 960  # copy touches two arrays: 4 x the cache in all
    fallback, why = roofs.last_level_cache(str(tmp_path / "missing"))
    assert fallback == roofs.FALLBACK_CACHE and why.startswith("assumed 64 MiB")


def test_the_reference_says_it_was_written_by_hand_and_keeps_one_value_per_case():
    from tpu_lecture.bench import training

    found = store.reference_results()
    assert all((r.provenance or "").startswith("written by hand") for r in found)
    assert all("by hand" in training.measured_by(r) for r in found)
    values: dict[tuple, set] = {}
    for r in found:
        values.setdefault((r.case, r.device, r.framework, r.date), set()).add(round(r.median, 12))
    assert all(len(v) == 1 for v in values.values()), {k: v for k, v in values.items() if len(v) > 1}


def test_the_accelerator_reference_script_records_repeats_sync_versions_and_form_factor():
    import importlib.util
    import subprocess

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "accelerator_reference.py"
    spec = importlib.util.spec_from_file_location("accelerator_reference_facts", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    def smi(command, **kwargs):
        out = ("NVIDIA H200 NVL, 570.86.15, 00000000:19:00.0\n" if "--query-gpu" in " ".join(command)
               else "| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: 12.8 |")
        return subprocess.CompletedProcess(command, 0, out, "")

    facts = script.gpu_facts(smi)
    assert facts == {"gpu": "NVIDIA H200 NVL", "driver": "570.86.15", "cuda": "12.8", "form_factor": "NVL"}
    rt = runtime.detect(probes={"tensorflow": lambda: Framework("tensorflow", None), "jax": lambda: Framework(
        "jax", "0.11.2", (runtime.Device("jax", "gpu", "NVIDIA H200", "gpu:0"),))}, environ={}, modules={})
    twice = [fake_result("matmul 8", workload="matmul", spread=s, device="NVIDIA H200", device_kind="gpu",
                         framework="jax", samples=(1e-3,) * 7) for s in (0.3, 0.05)]
    unsynced = fake_result(synchronized=False, device="NVIDIA H200", device_kind="gpu", framework="jax")
    stamped = script.stamp([*twice, unsynced], rt, "python -m tpu_lecture bench", "2027-01-15", facts)
    assert len(stamped) == 2 and stamped[0].spread == 0.05 and "quieter of two" in stamped[0].note
    first = stamped[0]
    assert (first.repeats, first.form_factor, first.versions["driver"], first.versions["cuda"]) == (
        7, "NVL", "570.86.15", "12.8")
    assert first.sync_method.startswith("block_until_ready") and stamped[1].sync_method.startswith("none")
    assert first.provenance.startswith("measured by tpu_lecture.bench")
    assert BenchmarkResult.from_dict(first.to_dict()) == first
    assert script.gpu_facts(lambda *a, **k: (_ for _ in ()).throw(OSError("no nvidia-smi"))) == {}
