"""The hostile sweep (benchmarks/hostile_sweep.py) finds nothing bad: no wrong answer, no traceback, no unclear
message, no partial output. Its fast groups run here, each case forked under a time and memory limit; the
command-line cases that convert notebooks or render animations (minutes) run with the script itself."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "hostile_sweep.py"


@pytest.fixture(scope="module")
def sweep():
    spec = importlib.util.spec_from_file_location("hostile_sweep", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile_sweep"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_sweep_has_at_least_300_cases(sweep):
    assert len(sweep.CASES) >= 300


@pytest.mark.parametrize("group", ["precision", "simulator", "store", "checks", "cli simulate", "cli bench",
                                   "cli top level"])
def test_nothing_bad_in(sweep, group, capsys):
    status = sweep.main_sweep(["--only", group, "--time-limit", "60"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert " 0 bad" in out.splitlines()[-2] or " 0 bad" in out
