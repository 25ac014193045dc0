"""Conclusions checked against the numbers: a sentence that compares two measured figures, and a checker.

A notebook that says "the H200 trains faster than this CPU" states it as a ``Claim`` with the two numbers;
``check_claims`` prints one line per claim (✓ where the numbers bear it out, ✗ where they do not) and raises
``ClaimError`` if any does not, so a stored conclusion can never contradict its stored numbers. Each line
carries its figures, so ``contradictions`` can re-check printed lines later (the tests walk the notebooks'
stored outputs with it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tpu_lecture.checks import number, one_of

HOLDS, FAILS = "✓", "✗"
RELATIONS = ("<", "≤", ">", "≥", "≈", "=")
_ASCII = {"<=": "≤", ">=": "≥", "~": "≈"}


class ClaimError(AssertionError):
    """A stated conclusion that the measured numbers contradict."""


def _compare(value: float, relation: str, bound: float, tolerance: float) -> bool:
    if relation == "<":
        return value < bound
    if relation == "≤":
        return value <= bound
    if relation == ">":
        return value > bound
    if relation == "≥":
        return value >= bound
    if relation == "=":
        return value == bound
    return abs(value - bound) <= tolerance * abs(bound)


def _digits(x: float, significant: int) -> str:
    """``x`` with thousands separators and ``significant`` significant digits, never in e-notation."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(x))))
    return f"{round(x, decimals):,.{decimals}f}"


@dataclass(frozen=True)
class Claim:
    """``text``, borne out when ``value relation bound`` (relation one of < ≤ > ≥ ≈ =; ≈ means within
    ``tolerance``, a fraction of the bound; = is exact, for counts)."""

    text: str
    value: float
    relation: str
    bound: float
    unit: str = ""
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError("a claim needs the sentence it checks, e.g. 'the loss fell'")
        relation = _ASCII.get(self.relation, self.relation)
        one_of("relation", relation, RELATIONS)
        object.__setattr__(self, "relation", relation)
        number("value", self.value)
        number("bound", self.bound)
        number("tolerance", self.tolerance, low=0)
        if relation == "≈" and self.tolerance == 0:
            raise ValueError("a claim of ≈ needs a tolerance, e.g. tolerance=0.05 for within 5%")

    @property
    def holds(self) -> bool:
        return _compare(float(self.value), self.relation, float(self.bound), self.tolerance)

    def figures(self) -> str:
        """'1.712 ≤ 1.8 nats/char': the comparison with as few digits as keep its printed verdict right."""
        for significant in range(3, 18):
            value, bound = _digits(float(self.value), significant), _digits(float(self.bound), significant)
            if _compare(_read(value), self.relation, _read(bound), self.tolerance) == self.holds:
                break
        within = f" (within {100 * self.tolerance:g}%)" if self.relation == "≈" else ""
        return f"{value} {self.relation} {bound}{' ' + self.unit if self.unit else ''}{within}"

    def line(self) -> str:
        return f"{HOLDS if self.holds else FAILS} {self.text}: {self.figures()}"

    def __repr__(self) -> str:
        return f"Claim({self.line()!r})"


def check_claims(claims: Iterable[Claim], *, quiet: bool = False) -> None:
    """Print each claim's line and raise ``ClaimError`` naming those the numbers contradict."""
    claims = list(claims)
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise TypeError("check_claims takes one or more Claim objects")
    if not quiet:
        print("\n".join(c.line() for c in claims))
    wrong = [c for c in claims if not c.holds]
    if wrong:
        raise ClaimError(f"{len(wrong)} of {len(claims)} stated conclusions no longer match the numbers: "
                         + "; ".join(c.line() for c in wrong)
                         + ". Change the sentence, or find out why the numbers moved.")


_LINE = re.compile(rf"^([{HOLDS}{FAILS}]) (.+): (-?[\d,.]+|inf|nan) ([{''.join(RELATIONS)}]) (-?[\d,.]+|inf|nan)\b")
_WITHIN = re.compile(r"\(within (\d+(?:\.\d+)?)%\)$")


def _read(text: str) -> float:
    return float(text.replace(",", ""))


def contradictions(lines: Iterable[str]) -> list[str]:
    """The printed claim lines whose mark (✓ or ✗) the printed figures do not bear out, or that say ✗."""
    wrong = []
    for line in lines:
        found = _LINE.match(line.strip())
        if found is None:
            continue
        mark, _, value, relation, bound = found.groups()
        within = _WITHIN.search(line.strip())
        holds = _compare(_read(value), relation, _read(bound), float(within.group(1)) / 100 if within else 0.0)
        if mark == FAILS or holds != (mark == HOLDS):
            wrong.append(line.strip())
    return wrong


def claim_lines(text: str) -> list[str]:
    """The lines of ``text`` that are printed claims."""
    return [line.strip() for line in text.splitlines() if _LINE.match(line.strip())]
