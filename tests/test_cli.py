"""The command line: info and simulate print what they promise; bad input costs one line and status 2."""

import json
import subprocess
import sys

import pytest

from tpu_lecture.__main__ import main


def run_main(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_simulate_json_has_the_promised_keys(capsys):
    status, out, _ = run_main(capsys, "simulate", "--m", "8", "--k", "8", "--n", "8", "--array", "8x8", "--json")
    summary = json.loads(out)
    assert status == 0
    promised = {"cycles", "compute_cycles", "load_cycles", "macs", "utilization", "folds", "correct", "load"}
    assert promised <= set(summary)
    assert summary["compute_cycles"] == 3 * 8 - 2 and summary["load_cycles"] == 8 and summary["cycles"] == 30
    assert summary["macs"] == 512 and summary["folds"] == 1 and summary["load"] == "double"
    assert summary["correct"] is True and summary["utilization"] == round(512 / (64 * 30), 6)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_simulate_every_dataflow_with_folds(capsys, dataflow):
    status, out, _ = run_main(capsys, "simulate", "--m", "9", "--k", "10", "--n", "7", "--array", "4x3",
                              "--dataflow", dataflow, "--json")
    summary = json.loads(out)
    assert status == 0 and summary["correct"] and summary["folds"] > 1 and summary["macs"] == 9 * 10 * 7


def test_simulate_prints_a_summary(capsys):
    status, out, _ = run_main(capsys, "simulate", "--m", "4", "--k", "4", "--n", "4", "--array", "4x4")
    assert status == 0
    assert "cycles:      14 = 10 compute + 4 load" in out and "matches numpy.matmul: yes" in out


def test_info_names_the_version_and_the_notebooks(capsys):
    import tpu_lecture

    status, out, _ = run_main(capsys, "info")
    assert status == 0
    assert f"tpu_lecture {tpu_lecture.__version__}" in out and "notebooks:" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["simulate", "--array", "0x4"], "at least one row"),
        (["simulate", "--array", "big"], "RxC"),
        (["simulate", "--m", "0"], "at least 1"),
        (["simulate", "--k", "two"], "whole number"),
        (["simulate", "--dataflow", "diagonal"], "invalid choice"),
        (["teleport"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    _, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:") and message in err


def test_no_traceback_from_a_real_process():
    done = subprocess.run([sys.executable, "-m", "tpu_lecture", "simulate", "--array", "3y3"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_help_everywhere():
    for argv in ([], ["simulate"], ["info"], ["animate"], ["bench"]):
        done = subprocess.run([sys.executable, "-m", "tpu_lecture", *argv, "--help"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage:" in done.stdout
