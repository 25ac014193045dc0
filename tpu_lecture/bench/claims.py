"""Sentences checked against the numbers: a notebook states a comparison only where a claim backs it.

A checker cell lists the claims its text makes ("the add runs at memory speed", "the 8192³ product reached 70% of
its peak"), each with the numbers that decide it, and ``check`` prints one line per claim and a verdict line:

    ✓ the add is memory-bound: 0.0833 FLOPs/byte ≤ 206 FLOPs/byte
    verdict: all 1 claims hold

A relation line (``value op bound``) can be re-checked from its own text (``recheck``), so a test can walk a
notebook's stored outputs and find any verdict its numbers contradict. Claims about fixed numbers (the chip table,
the shipped reference results) are checked strictly: a contradiction raises. Claims about timings of this runtime
are checked with ``strict=False``: on a busy machine a timing may contradict its sentence, which is then printed
as CONTRADICTED (a stored notebook must show none) instead of stopping the lecture.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tpu_lecture import checks

HOLDS, FAILS = "✓", "✗ CONTRADICTED:"
VERDICT = "verdict:"
_RELATIONS = {"≥": operator.ge, "≤": operator.le, "=": operator.eq, ">": operator.gt, "<": operator.lt, "≈": None}
_ASCII = {">=": "≥", "<=": "≤", "~": "≈", "==": "="}
_PREFIXES = {"P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9}
SI_UNITS = ("B/s", "FLOP/s", "B", "FLOP", "s")  # units printed with a prefix ('38.1 GB/s'); others as they are


class ClaimError(AssertionError):
    """A claim of the text that its numbers contradict."""


@dataclass(frozen=True)
class Claim:
    """One sentence of the text and whether the numbers back it, with the evidence in a line of its own."""

    text: str
    holds: bool
    evidence: str = ""

    def line(self) -> str:
        """'✓ text: evidence' or '✗ CONTRADICTED: text: evidence'."""
        mark = HOLDS if self.holds else FAILS
        return f"{mark} {self.text}" + (f": {self.evidence}" if self.evidence else "")


def number(value: float, unit: str = "") -> str:
    """A number as claims print it, with an SI prefix for the units of ``SI_UNITS``: '38.1 GB/s', '83.3 ms',
    '0.0833 FLOPs/byte', '1,024'."""
    if not math.isfinite(value):
        return f"{value} {unit}".strip()
    if unit in SI_UNITS:
        for prefix, scale in _PREFIXES.items():
            if abs(value) >= scale or prefix == "n":
                return f"{value / scale:.4g} {prefix}{unit}"
    whole = value == int(value) and abs(value) < 1e15
    text = f"{int(value):,}" if whole else f"{value:.4g}"
    return f"{text}{'' if unit == '%' else ' '}{unit}" if unit else text


def relation(text: str, value: float, op: str, bound: float, unit: str = "", factor: float = 1.0, *,
             tolerance: float = 0.0) -> Claim:
    """The claim ``value op factor × bound`` (op one of ≥ ≤ = > < ≈; ≈ holds within ``tolerance``, a fraction of
    the bound), its evidence printed so that ``recheck`` can re-decide it from the line alone."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a claim needs the sentence it checks, e.g. 'the loss fell'")
    op = checks.one_of("op", _ASCII.get(op, op), _RELATIONS)
    value, bound = checks.number("value", value), checks.number("bound", bound)
    tolerance = checks.number("tolerance", tolerance, low=0)
    if op == "≈" and tolerance == 0:
        raise ValueError("a claim of ≈ needs a tolerance, e.g. tolerance=0.05 for within 5%")
    holds = _decide(value, op, factor * bound, tolerance)
    scaled = f"{number(factor)} × {number(bound, unit)}" if factor != 1 else number(bound, unit)
    within = f" (within {100 * tolerance:g}%)" if op == "≈" else ""
    return Claim(text, holds, f"{number(value, unit)} {op} {scaled}{within}")


def about(text: str, value: float, bound: float, unit: str = "", *, tolerance: float) -> Claim:
    """The claim value ≈ bound, within ``tolerance`` (a fraction of the bound: 0.05 is 5%)."""
    return relation(text, value, "≈", bound, unit, tolerance=tolerance)


def _decide(value: float, op: str, bound: float, tolerance: float) -> bool:
    if op == "≈":
        return abs(value - bound) <= tolerance * abs(bound)
    return bool(_RELATIONS[op](value, bound))


def at_least(text: str, value: float, bound: float, unit: str = "", factor: float = 1.0) -> Claim:
    """The claim value ≥ factor × bound."""
    return relation(text, value, "≥", bound, unit, factor)


def at_most(text: str, value: float, bound: float, unit: str = "", factor: float = 1.0) -> Claim:
    """The claim value ≤ factor × bound."""
    return relation(text, value, "≤", bound, unit, factor)


def equal(text: str, got: object, stated: object) -> Claim:
    """The claim that a computed value is the one the text states (compare rounded numbers, or strings)."""
    return Claim(text, got == stated, f"computed {got!r}, stated {stated!r}")


def that(text: str, holds: bool, evidence: str = "") -> Claim:
    """A claim decided by a condition computed in the cell, with its evidence in words."""
    return Claim(text, bool(holds), evidence)


def check(claims: Iterable[Claim], strict: bool = True) -> None:
    """Print each claim's line and a verdict line; with ``strict``, raise ``ClaimError`` if any is contradicted."""
    claims = list(claims)
    if not claims:
        raise ValueError("no claims to check")
    for claim in claims:
        print(claim.line())
    failed = [c for c in claims if not c.holds]
    if not failed:
        print(f"{VERDICT} all {len(claims)} claims hold")
        return
    print(f"{VERDICT} CONTRADICTED: {len(failed)} of {len(claims)} claims do not hold"
          + ("" if strict else " (timings on a busy machine can do that: re-run the measurement cells)"))
    if strict:
        raise ClaimError("the text says what the numbers contradict: " + "; ".join(c.text for c in failed))


_QUANTITY = r"(-?[\d,]*\.?\d+(?:e[+-]?\d+)?)(?:%| ([PTGMkmµn]?)(\S*))?"
_LINE = re.compile(rf"^{re.escape(HOLDS)} .*: {_QUANTITY} ([≥≤=<>≈]) (?:{_QUANTITY} × )?{_QUANTITY}"
                   r"(?: \(within (\d+(?:\.\d+)?)%\))?$")


def _value(digits: str, prefix: str | None, unit: str | None) -> float:
    """A printed quantity's value: the prefix counts only before a unit of ``SI_UNITS``."""
    scale = _PREFIXES[prefix] if prefix and unit in SI_UNITS else 1.0
    return float(digits.replace(",", "")) * scale


def recheck(line: str) -> bool | None:
    """For a printed '✓ …: value op [factor ×] bound' line, whether its own numbers back it (to 4 digits); None
    for a line that is not such a relation."""
    found = _LINE.match(line.strip())
    if found is None:
        return None
    v, vp, vu, op, f, _, _, b, bp, bu, within = found.groups()
    value, bound = _value(v, vp, vu), _value(b, bp, bu)
    bound *= float(f.replace(",", "")) if f else 1.0
    if op == "=":
        return math.isclose(value, bound, rel_tol=1e-3)
    slack = 1e-3 * abs(bound)  # the printed numbers are rounded to 4 digits
    if op == "≈":
        return abs(value - bound) <= float(within) / 100 * abs(bound) + slack
    return bool(_RELATIONS[op](value + (slack if op in "≥>" else -slack), bound))
