"""The command line's bench and info: a table on every device found, results appended with --save, and bad
input answered with one line and status 2."""

import json

import pytest

from tpu_lecture.__main__ import main
from tpu_lecture.bench import store


def run_main(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_bench_quick_prints_a_table_for_every_framework(capsys):
    status, out, err = run_main(capsys, "bench", "--quick")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["benchmark", "runtime", "median"]
    for framework in ("numpy", "tensorflow", "jax"):
        assert f"· {framework} " in out
    assert "matmul 256x256x256 bfloat16" in out and "add 1024x1024 float32" in out
    assert "(baseline of the Nx speed-ups)" in out  # the side-by-side comparison
    assert "24/24 done" in err  # the progress bar went to stderr


def test_bench_save_appends(capsys, tmp_path):
    path = tmp_path / "runs.jsonl"
    argv = ["bench", "--quick", "--frameworks", "numpy", "jax", "--sizes", "8", "16", "--save", str(path)]
    status, out, _ = run_main(capsys, *argv)
    assert status == 0
    first = path.read_text().splitlines()
    assert len(first) == 2 * 2 * 2 * 2  # frameworks x workloads x sizes x dtypes
    assert f"appended {len(first)} results to {path}" in out
    assert run_main(capsys, *argv)[0] == 0
    assert len(path.read_text().splitlines()) == 2 * len(first)
    loaded = store.load_results(path)
    assert {r.framework for r in loaded} == {"numpy", "jax"} and {r.size for r in loaded} == {8, 16}
    assert json.loads(first[0])["package_version"]


def test_bench_include_transfer(capsys):
    status, out, _ = run_main(capsys, "bench", "--quick", "--frameworks", "jax", "--sizes", "8",
                              "--include-transfer")
    assert status == 0 and "add 8x8 float32 + copy" in out and "add 8x8 float32 " in out


def test_bench_save_to_an_impossible_place_fails_before_the_sweep(capsys, tmp_path):
    status, out, err = run_main(capsys, "bench", "--quick", "--save", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert status == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["--sizes", "0"], ["--sizes", "ten"], ["--frameworks", "torch"]])
def test_bench_bad_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--quick", *argv])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_info_includes_the_runtime_report(capsys):
    status, out, _ = run_main(capsys, "info")
    assert status == 0
    for label in ("accelerator:", "TensorFlow:", "JAX:", "keras:", "host:"):
        assert label in out


def test_bench_that_skipped_every_case_exits_2_with_one_error_line(capsys):
    # Before the fix it printed an empty table and exited 0, as if the sweep had run.
    status, out, err = run_main(capsys, "bench", "--frameworks", "numpy", "--sizes", "1000000")
    assert status == 2
    assert "skipped add 1000000 float32 on numpy cpu:0: needs about" in out
    assert err.strip().splitlines()[-1] == "error: no case of the sweep ran here: all 4 were skipped (reasons above)"


def test_bench_rounds_and_dtypes(capsys, tmp_path):
    path = tmp_path / "r.jsonl"
    status, out, _ = run_main(capsys, "bench", "--quick", "--frameworks", "numpy", "--sizes", "8", "--dtypes",
                              "float32", "--rounds", "2", "--save", str(path))
    assert status == 0 and "bfloat16" not in out
    loaded = store.load_results(path)
    assert len(loaded) == 2 and all(len(r.params["round_medians"]) >= 2 for r in loaded)
    assert all("interleaved rounds" in r.method for r in loaded)


# --- the script that measures the reference results on an accelerator ------------------------------------------

def _script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "accelerator_reference.py"
    spec = importlib.util.spec_from_file_location("accelerator_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runtime_with(device):
    from tpu_lecture.runtime import Device, Framework, runtime

    jax = Framework("jax", "0.11.2", () if device is None else (Device("jax", "gpu", device, "gpu:0"),))
    return runtime.detect(probes={"tensorflow": lambda: Framework("tensorflow", None), "jax": lambda: jax},
                          environ={}, modules={})


class FakeSweep:
    """Stands in for subprocess.run: records the command and saves two results where --save says."""

    def __init__(self, returncode=0):
        self.commands, self.returncode = [], returncode

    def __call__(self, command, **kwargs):
        import subprocess

        from tpu_lecture.bench.record import BenchmarkResult

        self.commands.append(command)
        save = command[command.index("--save") + 1]
        store.save_results([BenchmarkResult(name=f"matmul 8192x8192x8192 {d}", median=2e-3, device="NVIDIA H200",
                                            device_kind="gpu", framework="jax", package_version="0.1.0", dtype=d)
                            for d in ("float32", "bfloat16")], save)
        return subprocess.CompletedProcess(command, self.returncode, "the table", "error: out of memory")


def test_the_accelerator_reference_script_runs_bench_and_writes_results_with_provenance(tmp_path, capsys):
    script, sweep, out = _script(), FakeSweep(), tmp_path / "reference" / "h200.jsonl"
    status = script.main(["--out", str(out)], run=sweep, detect=lambda: _runtime_with("NVIDIA H200"),
                         today="2027-01-15")
    assert status == 0 and len(sweep.commands) == 1
    command = sweep.commands[0]
    assert command[1:4] == ["-m", "tpu_lecture", "bench"] and "--save" in command
    assert command[command.index("--dtypes") + 1:command.index("--dtypes") + 3] == ["float32", "bfloat16"]
    loaded = store.load_results(out)
    assert [r.dtype for r in loaded] == ["float32", "bfloat16"]
    for r in loaded:
        assert r.source == ("measured by tpu_lecture 0.1.0 itself (python -m tpu_lecture bench --frameworks numpy "
                            "jax --dtypes float32 bfloat16 --rounds 3) on NVIDIA H200, 2027-01-15")
        assert r.params["chip_table"] == "H200" and r.params["measured_on"] == "2027-01-15"
        assert r.params["command"].startswith("python -m tpu_lecture bench") and r.params["host"]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no temporary file is left behind"
    assert "add 'h200.jsonl' to tpu_lecture.bench.store.REFERENCE_FILES" in capsys.readouterr().out


def test_the_accelerator_reference_script_refuses_a_machine_without_an_accelerator(tmp_path, capsys):
    script, sweep = _script(), FakeSweep()
    assert script.main(["--out", str(tmp_path / "x.jsonl")], run=sweep, detect=lambda: _runtime_with(None)) == 2
    assert capsys.readouterr().err.startswith("error: JAX sees no GPU or TPU here")
    assert sweep.commands == [] and not (tmp_path / "x.jsonl").exists()
    assert script.main(["--out", str(tmp_path / "x.jsonl")], run=FakeSweep(returncode=2),
                       detect=lambda: _runtime_with("NVIDIA H200")) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: the sweep failed with status 2: error: out of memory"
    assert not (tmp_path / "x.jsonl").exists()
