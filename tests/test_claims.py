"""Conclusions checked against numbers: the Claim checker, and the stored checker outputs of notebooks 08 and 09
walked for a sentence its own printed figures contradict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpu_lecture.bench.claims import Claim, ClaimError, check_claims, claim_lines, contradictions

ROOT = Path(__file__).resolve().parent.parent
CHECKED_NOTEBOOKS = ("08_benchmark_mlp_cifar10", "09_shakespeare_on_tpu")


@pytest.mark.parametrize(
    "claim, holds",
    [
        (Claim("a loss under the floor", 1.71, "≤", 1.8), True),
        (Claim("a loss under the floor", 1.81, "<=", 1.8), False),
        (Claim("faster", 240_000, ">", 3_982), True),
        (Claim("about 17 times", 17.3, "≈", 17, tolerance=0.05), True),
        (Claim("about 17 times", 19.0, "~", 17, tolerance=0.05), False),
        (Claim("a count", 4_460_800, "=", 4_460_800), True),
        (Claim("at least 60%", 59.9, "≥", 60, "%"), False),
    ],
)
def test_a_claim_holds_when_its_numbers_say_so(claim, holds):
    assert claim.holds is holds
    assert claim.line().startswith("✓" if holds else "✗")
    assert contradictions([claim.line()]) == ([] if holds else [claim.line()])


def test_printed_figures_keep_the_digits_the_verdict_needs():
    tight = Claim("under the floor", 1.80004, "≤", 1.8, "nats/char")
    assert not tight.holds and "1.8000" in tight.figures()
    assert contradictions([tight.line()]) == [tight.line()]  # a ✗ is itself a contradiction
    assert Claim("big", 240_000, ">", 3_982.4, "samples/s").figures() == "240,000 > 3,982 samples/s"
    assert Claim("close", 17.3, "≈", 17, "x", tolerance=0.05).figures() == "17.3 ≈ 17.0 x (within 5%)"


def test_check_claims_prints_every_line_and_fails_loudly(capsys):
    good = Claim("the loss fell", 1.7, "<", 3.3, "nats")
    check_claims([good])
    assert capsys.readouterr().out.strip() == "✓ the loss fell: 1.70 < 3.30 nats"
    with pytest.raises(ClaimError, match="1 of 2 stated conclusions no longer match the numbers: ✗ faster"):
        check_claims([good, Claim("faster", 1, ">", 2)])


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Claim("", 1, "<", 2), ValueError, "the sentence it checks"),
        (lambda: Claim("x", 1, "!=", 2), ValueError, "unknown relation '!='"),
        (lambda: Claim("x", 1, "≈", 2), ValueError, "needs a tolerance"),
        (lambda: Claim("x", "1", "<", 2), TypeError, "value must be a number"),
        (lambda: Claim("x", float("nan"), "<", 2), ValueError, "value must be a finite number"),
        (lambda: check_claims([]), TypeError, "one or more Claim objects"),
    ],
)
def test_bad_claims_say_what_is_wrong(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_a_line_edited_to_contradict_its_figures_is_found():
    line = Claim("the H200 is faster", 240_000, ">", 3_982).line()
    forged = line.replace("240,000", "2,400")
    assert contradictions([line, "plain text > 3", forged]) == [forged]
    assert claim_lines(f"header\n{line}\nfooter") == [line]


def _checker_outputs(name: str) -> list[str]:
    cells = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "check_claims(" not in source:
            continue
        text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o.get("output_type") == "stream")
        found = claim_lines(text)
        assert found, f"{name}: a checker cell stored no claim lines (execute it with scripts/execute_notebooks.py)"
        lines += found
    return lines


@pytest.mark.parametrize("name", CHECKED_NOTEBOOKS)
def test_no_stored_conclusion_is_contradicted_by_its_stored_numbers(name):
    lines = _checker_outputs(name)
    assert len(lines) >= 5, f"{name} checks only {len(lines)} conclusions"
    wrong = contradictions(lines)
    assert not wrong, f"{name} stores conclusions its own numbers contradict: {wrong}"
