"""Claims checked against numbers: the checker's lines and verdicts, and a walk over the stored outputs of every
notebook that fails on any sentence its own numbers contradict; the measured ones (02, 05-09) must hold checker
cells."""

import json
import re
from pathlib import Path

import pytest

from tpu_lecture.bench import claims

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MEASURED = [n for n in NOTEBOOKS if n[:2] in ("02", "05", "06", "07", "08", "09")]
# Measured notebooks whose checker cells have not landed yet: strict, so a notebook that gains them must leave.
CHECKERS_NOT_YET: set[str] = set()


def test_a_relation_prints_its_evidence_and_rechecks_from_it(capsys):
    found = [claims.at_most("add is memory-bound", 1 / 12, 206, "FLOPs/byte"),
             claims.at_least("near the roof", 7.8e9, 8.0e9, "B/s", factor=0.9),
             claims.at_most("tiny share", 0.0502, 0.1, "%"),
             claims.equal("stated", 385, 385)]
    claims.check(found)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["✓ add is memory-bound: 0.08333 FLOPs/byte ≤ 206 FLOPs/byte",
                     "✓ near the roof: 7.8 GB/s ≥ 0.9 × 8 GB/s",
                     "✓ tiny share: 0.0502% ≤ 0.1%",
                     "✓ stated: computed 385, stated 385",
                     "verdict: all 4 claims hold"]
    assert [claims.recheck(line) for line in lines] == [True, True, True, None, None]


def test_a_contradicted_claim_raises_when_strict_and_is_printed_when_not(capsys):
    wrong = claims.at_least("the add reaches the roof", 2e9, 38e9, "B/s", factor=0.5)
    with pytest.raises(claims.ClaimError, match="the add reaches the roof"):
        claims.check([wrong, claims.that("fine", True)])
    claims.check([wrong], strict=False)
    out = capsys.readouterr().out
    assert "✗ CONTRADICTED: the add reaches the roof: 2 GB/s ≥ 0.5 × 38 GB/s" in out
    assert "verdict: CONTRADICTED: 1 of 1 claims do not hold (timings on a busy machine" in out
    with pytest.raises(ValueError, match="no claims"):
        claims.check([])


@pytest.mark.parametrize("line", [
    "✓ the add fits: 38.1 GB/s ≤ 1.1 × 30 GB/s",  # a tampered line: its numbers say otherwise
    "✓ small: 2 ms ≥ 3 ms",
    "✓ equal: 385 = 384",
])
def test_recheck_finds_a_verdict_its_own_numbers_contradict(line):
    assert claims.recheck(line) is False


def test_si_prefixes_count_only_before_units_that_take_them():
    assert claims.recheck("✓ t: 83.3 ms ≥ 20 ms") and claims.recheck("✓ m: 5 megabytes ≥ 3 megabytes")
    assert claims.number(1024) == "1,024" and claims.number(0.5, "s") == "500 ms"


@pytest.mark.parametrize("claim, holds", [
    (claims.relation("a loss under the floor", 1.71, "≤", 1.8), True),
    (claims.relation("a loss under the floor", 1.81, "<=", 1.8), False),
    (claims.about("about 17 times", 17.3, 17, "x", tolerance=0.05), True),
    (claims.relation("about 17 times", 19.0, "~", 17, tolerance=0.05), False),
    (claims.relation("a count", 4_460_800, "=", 4_460_800), True),
    (claims.relation("at least 60%", 59.9, "≥", 60, "%"), False),
])
def test_a_relation_holds_when_its_numbers_say_so_and_its_line_agrees(claim, holds):
    assert claim.holds is holds
    assert claims.recheck(claim.line()) is (True if holds else None)  # a ✗ line is no ✓ relation to recheck


def test_about_prints_its_tolerance_and_a_tampered_one_is_found():
    line = claims.about("close", 17.3, 17, "x", tolerance=0.05).line()
    assert line == "✓ close: 17.3 x ≈ 17 x (within 5%)" and claims.recheck(line)
    assert claims.recheck(line.replace("17.3", "19.3")) is False


@pytest.mark.parametrize("make, error, words", [
    (lambda: claims.relation("", 1, "<", 2), ValueError, "the sentence it checks"),
    (lambda: claims.relation("x", 1, "!=", 2), ValueError, "unknown op '!='"),
    (lambda: claims.relation("x", 1, "≈", 2), ValueError, "needs a tolerance"),
    (lambda: claims.relation("x", "1", "<", 2), TypeError, "value must be a number"),
    (lambda: claims.relation("x", float("nan"), "<", 2), ValueError, "value must be a finite number"),
])
def test_bad_claims_say_what_is_wrong(make, error, words):
    with pytest.raises(error, match=words):
        make()


def _stdout(path: Path) -> list[list[str]]:
    """Each code cell's stored stdout, as lines."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    def text(output):
        value = output.get("text", "")
        return "".join(value) if isinstance(value, list) else value

    return ["".join(text(o) for o in c.get("outputs", []) if o.get("name") == "stdout").splitlines()
            for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_stored_verdict_of_a_notebook_is_contradicted(name):
    for lines in _stdout(ROOT / "notebooks" / f"{name}.ipynb"):
        marks = 0
        for line in lines:
            assert not line.startswith("✗"), f"{name} stores a contradicted claim: {line}"
            if line.startswith(claims.HOLDS):
                assert claims.recheck(line) is not False, f"{name}: its own numbers contradict {line!r}"
                marks += 1
            elif line.startswith(claims.VERDICT):
                assert line == f"{claims.VERDICT} all {marks} claims hold", f"{name}: {line}"
                marks = 0


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason="checker cells not "
                                                                           "landed yet")] if n in CHECKERS_NOT_YET
                                               else [], id=n) for n in MEASURED])
def test_every_measured_notebook_checks_its_comparisons(name):
    verdicts = [line for lines in _stdout(ROOT / "notebooks" / f"{name}.ipynb") for line in lines
                if line.startswith(claims.VERDICT)]
    assert verdicts, f"{name} has no checker cell: its comparisons must be printed from numbers or checked"


# --- timings stay out of nbval's comparisons (a stored timing holds on one machine only) -----------------------


_TIMES = re.compile(r"perf_counter|tl\.sweep\(|benchmark\(|interleave\(|tl\.train\(|\.fit\(|roofs\.measure\(|"
                    r"generate_text\(|time\.time\(")
_TIMING_TEXT = re.compile(r"\d(?:\.\d+)? ?(?:ms|µs|ns|s)\b|\d ?[kMGT]?(?:FLOP|B|samples|characters)/s\b|"
                          r"\d(?:\.\d+)?x (?:faster|slower)")


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n[:2] in ("05", "06", "07", "08", "09")])
def test_a_cell_that_times_this_runtime_keeps_its_timings_out_of_nbval(name):
    """A cell that measures on the machine it runs on is marked NBVAL_IGNORE_OUTPUT, or prints no timing: what
    nbval compares must hold on a quiet machine and a busy one alike."""
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    compared = []
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not _TIMES.search(source) or "NBVAL_IGNORE_OUTPUT" in source \
                or "NBVAL_SKIP" in source:
            continue
        text = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
        if _TIMING_TEXT.search(text):
            compared.append((index, cell["id"], _TIMING_TEXT.search(text).group()))
    assert not compared, f"timings of this runtime compared by nbval in {name}: {compared}"
