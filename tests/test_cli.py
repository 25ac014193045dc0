"""The command line: info and simulate print what they promise; bad input costs one line and status 2."""

import json
import re
import subprocess
import sys
import time

import pytest

from tpu_lecture import __main__ as cli
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


# ---------------------------------------------------------------- loading modes, budgets, faults (issues 11 and 15)


def one_error_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


def run_main_status(capsys, argv):
    """main(argv)'s exit status and stderr, whether it returned or argparse exited."""
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("load", ["serial", "double"])
def test_simulate_in_each_loading_mode(capsys, load):
    status, out, _ = run_main(capsys, "simulate", "--m", "6", "--k", "9", "--n", "3", "--array", "3x3", "--load", load,
                              "--json")
    summary = json.loads(out)
    assert status == 0 and summary["correct"] and summary["load"] == load and summary["folds"] == 3
    assert summary["cycles"] == (summary["compute_cycles"] + summary["load_cycles"] + summary["stall_cycles"]
                                 + summary["drain_cycles"])


@pytest.mark.parametrize("argv, message", [
    (["simulate", "--dataflow", "os", "--load", "serial"], "output-stationary loads nothing"),
    (["simulate", "--load", "triple"], r"invalid choice: 'triple' \(choose from 'serial', 'double'\)"),
    (["animate", "--dataflow", "os", "--load", "double", "--out", "x.gif"], "output-stationary loads nothing"),
])
def test_loading_mode_errors_are_one_line(capsys, argv, message):
    status, err = run_main_status(capsys, argv)
    assert status == 2 and one_error_line(err) and re.search(message, err)


def test_simulate_refuses_runs_beyond_its_time_budget_unless_forced(capsys, monkeypatch):
    argv = ["simulate", "--m", "2000", "--k", "2000", "--n", "2000", "--array", "1x1"]
    start = time.perf_counter()
    status, err = run_main_status(capsys, argv)
    assert status == 2 and one_error_line(err) and time.perf_counter() - start < 5
    assert "8,000,000,001 cycles" in err and "hours" in err and "--force" in err and "--estimate" in err
    status, out, _ = run_main(capsys, *argv, "--estimate")
    assert status == 0 and out.startswith("8,000,000,001 cycles of a 1x1 array (4,000,000 folds)")
    monkeypatch.setattr(cli, "SIMULATE_BUDGET_S", 1e-9)
    small = ["simulate", "--m", "3", "--k", "3", "--n", "3", "--array", "2x2"]
    assert run_main_status(capsys, small)[0] == 2
    assert main([*small, "--force"]) == 0


def test_animate_refuses_too_many_frames_before_stepping(capsys, tmp_path):
    start = time.perf_counter()
    status, err = run_main_status(capsys, ["animate", "--m", "100000", "--out", str(tmp_path / "a.gif")])
    assert status == 2 and one_error_line(err) and "at most 1,000" in err and time.perf_counter() - start < 5
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fault, message", [(MemoryError, "out of memory"), (KeyboardInterrupt, "interrupted")])
def test_memory_errors_and_interrupts_are_one_line(capsys, monkeypatch, fault, message):
    from tpu_lecture.sim.array import SystolicArray

    def fail(*args, **kwargs):
        raise fault()

    monkeypatch.setattr(SystolicArray, "matmul", fail)
    status, err = run_main_status(capsys, ["simulate"])
    assert status == 2 and one_error_line(err) and message in err


HUGE = str(10**40)
EXTREMES = [
    ["--m", HUGE], ["--k", HUGE], ["--n", HUGE], ["--m", "9" * 5000], ["--m", "0"], ["--n", "-3"], ["--k", "two"],
    ["--m", "1e3"], ["--m", ""], ["--m", "nan"], ["--m", "inf"], ["--m", "0x10"], ["--array", "0x0"],
    ["--array", f"{HUGE}x{HUGE}"], ["--array", "100000x100000"], ["--array", "1x" + HUGE], ["--array", "-1x2"],
    ["--array", "8"], ["--array", "8x8x8"], ["--array", ""], ["--seed", "-1"], ["--seed", "x"],
    ["--m", "30000", "--k", "30000", "--n", "30000"], ["--m", "1", "--k", "1", "--n", HUGE, "--array", "1x1"],
    ["--dataflow", "diagonal"], ["--load", "triple"], ["--dataflow", "os", "--load", "serial"],
]
BAD_PATHS = ["", "/", "{tmp}", "{tmp}/missing/a.gif", "{tmp}/a.png", "{tmp}/a", "/proc/a.gif",
             "{tmp}/" + "x" * 300 + ".gif", "{tmp}/nul\0.gif"]


@pytest.mark.parametrize("command", ["simulate", "animate"])
def test_no_traceback_for_any_argument_however_large(capsys, tmp_path, command):
    """Issue 15: every extreme or malformed argument costs one ``error:`` line and exit status 2."""
    out = ["--out", str(tmp_path / "a.gif")] if command == "animate" else []
    cases = [[command, *argv, *out] for argv in EXTREMES]
    cases += [["animate", "--fps", value, *out] for value in ("0", "-1", HUGE, "fast", "61")]
    if command == "animate":
        cases += [["animate", "--out", path.replace("{tmp}", str(tmp_path))] for path in BAD_PATHS]
        cases += [["animate", "--array", "64x64", *out], ["animate", "--m", "5000", *out]]
    for argv in cases:
        start = time.perf_counter()
        status, err = run_main_status(capsys, argv)
        assert status == 2 and one_error_line(err), (argv[:4], err[:300])
        assert time.perf_counter() - start < 10, argv[:4]
    assert not [p for p in tmp_path.iterdir() if p.name != "missing"]


@pytest.mark.parametrize("argv", [
    ["simulate", "--m", HUGE, "--array", f"{HUGE}x2"],
    ["simulate", "--m", "20000", "--k", "20000", "--n", "20000", "--array", "1x1"],
    ["animate", "--m", "100000", "--out", "/tmp/never-written.gif"],
])
def test_no_traceback_from_a_real_process_however_large(argv):
    done = subprocess.run([sys.executable, "-m", "tpu_lecture", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and one_error_line(done.stderr) and done.stdout == ""
