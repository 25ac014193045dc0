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
