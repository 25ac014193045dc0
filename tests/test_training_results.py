"""Training runs as results: the format the matrix units ran in and its peak, provenance in words, and the
accelerator runner (benchmarks/accelerator_training.py) at a tiny size on this CPU, its GPU path through fakes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tpu_lecture import hardware
from tpu_lecture.bench import training
from tpu_lecture.bench.record import BenchmarkResult
from tpu_lecture.models import TrainingReport
from tpu_lecture.runtime import Framework, runtime

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "accelerator_training.py"


@pytest.mark.parametrize(
    "chip, dtype, precision, expected",
    [
        ("T4", "float32", "default", ("float32", 8.1e12)),  # Turing: no TF32 (NVIDIA T4 datasheet)
        ("H200", "float32", "default", ("tfloat32", 494.5e12)),  # TF32 by default from Ampere on
        ("H200", "float32", "highest", ("float32", 67e12)),
        ("H200", "bfloat16", "default", ("bfloat16", 989e12)),
        ("A100 40GB", "fp32", None, ("tfloat32", 156e12)),
        ("TPU v5e", "float32", "default", ("bfloat16", 197e12)),  # one bfloat16 pass by default
        ("TPU v5e", "float32", "highest", ("float32", None)),  # no float32 peak in the table: none is made up
        ("T4", "bf16", "default", ("bfloat16", None)),  # a T4 has no bfloat16
    ],
)
def test_the_peak_is_the_one_of_the_format_that_ran(chip, dtype, precision, expected):
    assert training.peak_for(hardware.get(chip), dtype, precision, per_device=False) == expected


def test_a_cpu_runs_float32_as_float32_and_bad_precisions_are_named():
    assert training.matmul_format(hardware.cpu_estimate(cores=2, clock_hz=2e9, float32_lanes=8), "float32") == "float32"
    assert training.matmul_format(None, "bfloat16") == "bfloat16"
    with pytest.raises(ValueError, match="unknown precision 'high': use one of 'default', 'highest'"):
        training.matmul_format(hardware.get("H200"), "float32", "high")


def _gpu_runtime(name: str) -> runtime.Runtime:
    device = runtime.Device("jax", "gpu", name, "gpu:0")
    probes = {"tensorflow": lambda: Framework("tensorflow", None), "jax": lambda: Framework("jax", "9.9", (device,))}
    return runtime.detect(probes=probes, environ={}, modules={})


def _report() -> TrainingReport:
    return TrainingReport(epoch_seconds=(9.0, 2.0, 2.0), samples_per_epoch=4096)


@pytest.mark.parametrize(
    "gpu, dtype, peak_dtype, peak",
    [("Tesla T4", "float32", "float32", 8.1e12), ("NVIDIA H200", "float32", "tfloat32", 494.5e12),
     ("NVIDIA H200", "bfloat16", "bfloat16", 989e12)],
)
def test_a_training_result_shares_the_peak_of_its_format(gpu, dtype, peak_dtype, peak):
    r = training.result_from_training(_report(), name="MLP", workload="mlp_epoch", flops_per_sample=5e7,
                                      dtype=dtype, detected=_gpu_runtime(gpu), framework="jax")
    assert (r.dtype, r.precision, r.peak_dtype, r.peak_flops) == (dtype, "default", peak_dtype, peak)
    assert r.percent_of_peak == pytest.approx(100 * 5e7 * 2048 / peak)
    assert BenchmarkResult.from_dict(r.to_dict()) == r


def test_a_cpu_result_keeps_its_estimate_only_for_float32():
    kept = training.result_from_training(_report(), name="x", workload="mlp_epoch", device="cpu", flops_per_sample=1e6)
    assert kept.peak_is_estimate and kept.peak_dtype == "float32" and kept.percent_of_peak > 0
    bf16 = training.result_from_training(_report(), name="x", workload="mlp_epoch", device="cpu", dtype="bfloat16",
                                         flops_per_sample=1e6)
    assert bf16.peak_flops is None and bf16.percent_of_peak is None and bf16.dtype == "bfloat16"


def test_measured_by_says_who_measured_a_figure():
    shipped = BenchmarkResult(name="x", median=1.0, device="NVIDIA H200", framework="jax", framework_version="0.11.2",
                              versions={"keras": "3.15.1"}, date="2026-11-26", source="copied from notes")
    assert training.measured_by(shipped) == (
        "NVIDIA H200 (jax 0.11.2, Keras 3.15.1), measured by other scripts on 2026-11-26")
    ours = BenchmarkResult(name="x", median=1.0, device="cpu", source=training_script_source())
    assert training.measured_by(ours) == "cpu (unknown software), measured by benchmarks/accelerator_training.py"


def training_script_source() -> str:
    return _script().SOURCE


def _script():
    spec = importlib.util.spec_from_file_location("accelerator_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_runner_reads_its_command_line():
    script = _script()
    args = script.parse(["--out", "r.jsonl"])
    assert args.batches == [1024] and args.workloads == ["mlp", "char"] and args.mlp_samples == 50_000
    assert script.parse(["--out", "r.jsonl", "--batches", "128,8192", "--workloads", "char"]).batches == [128, 8192]
    for bad in (["--workloads", "rnn"], ["--batches", "0"]):
        with pytest.raises(SystemExit):
            script.parse(["--out", "r.jsonl", *bad])
    extra = script.provenance(args, ["--out", "r.jsonl"])
    assert extra["command"] == "python benchmarks/accelerator_training.py --out r.jsonl"


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)


def test_the_runner_refuses_a_cpu_unless_asked(tmp_path):
    pytest.importorskip("jax")
    done = _run(["--out", "r.jsonl", "--tiny"], tmp_path)
    assert done.returncode == 2 and "no accelerator found" in done.stderr and "--allow-cpu" in done.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_the_runner_writes_both_results_with_their_provenance(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "r.jsonl"
    out.write_text("")  # an existing file is appended to, never replaced
    done = _run(["--out", str(out), "--tiny", "--allow-cpu"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert [r["workload"] for r in records] == ["mlp_epoch", "shakespeare_lstm"]
    for r in records:
        assert r["source"] == "measured by benchmarks/accelerator_training.py" and r["framework"] == "jax"
        assert r["params"]["command"].endswith("--tiny --allow-cpu") and r["params"]["tiny"] is True
        assert r["dtype"] == "float32" and r["peak_dtype"] == "float32" and r["versions"]["jax"]
        assert r["date"] and r["host"] and r["median"] > 0
        assert r["provenance"].startswith("measured by") and r["sync_method"].startswith("model.fit()")
        assert r["repeats"] >= 1
    assert records[1]["item_unit"] == "characters" and "characters/s" in done.stdout
