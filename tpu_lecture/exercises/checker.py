"""Checked exercises: a student types an answer, ``ex.check(n, answer)`` says right or not yet (with a hint), and
``ex.worked(n)`` shows a worked answer inside a collapsed ``<details>`` block.

The right answer is computed by the package when the cell runs (the simulator, the counters, the hardware
table), never stored as a string, so a change to the package that changes an answer changes the check too.
Answers are read as people write them: a number is right to the figures typed (57 or 57.3 for 57.27 %, at least
``digits`` significant figures; a count must round to itself), with or without its unit or a "%" sign; a fraction
given for a percent (or the other way) gets a hint that says so; names ignore case, spaces, hyphens and underscores,
and the package's aliases (``hardware.DTYPE_NAMES``: "bf16" is bfloat16). Nothing that a cell stores gives an
answer away: an unanswered check says what to type, a worked answer is collapsed HTML (GitHub, Colab and
JupyterLab render ``<details>`` closed; its plain-text form names no answer).

Guide: checked exercises for another notebook (say ``04_systolic_array``), in three steps.

1. Write ``tpu_lecture/exercises/systolic_array.py`` (the notebook's name without its number) with a tuple
   ``EXERCISES`` of :class:`Exercise`::

       EXERCISES = (
           Exercise(1, "cycles of one fold", answer=lambda: SystolicArray(8, 8).matmul(A, W).cycles,
                    hint="a fold takes M + R + C − 2 cycles", unit="cycles",
                    mistakes=(Mistake(lambda: 3 * 8 - 2, "3n − 2 is for M = n"),),
                    confirm=lambda: "the player steps ... cycles",  # predict, then run
                    worked=lambda: "M + R + C − 2 = `...`: ..."),
       )

   ``worked`` returns the worked answer as text: paragraphs split by blank lines, `code` in backticks, and
   numbers put in by f-strings from the package.
2. In the notebook, under ``## Exercises``: ``ex = tl.exercises_for("04")`` once; then for each exercise a
   markdown cell with the question, a code cell ``answer = ...`` + ``ex.check(1, answer)``, and a code cell
   ``ex.worked(1)``.
3. ``tests/test_exercises.py`` finds the new module by itself and checks every exercise with its right
   answer, its listed mistakes and a wrong answer; ``tests/test_pedagogy.py`` checks the stored outputs.
"""

from __future__ import annotations

import html
import importlib
import math
import numbers
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tpu_lecture.checks import whole_number
from tpu_lecture.hardware import DTYPE_NAMES
from tpu_lecture.lecture import notebook_name
from tpu_lecture.viz import style

WAITING = (Ellipsis, None)


class AnswerFormatError(ValueError):
    """The answer is of a kind the exercise cannot compare (a list where a number is expected, say)."""


@dataclass(frozen=True)
class Mistake:
    """A wrong answer students often give (computed, like the right one) and the hint that fits it."""

    answer: Callable[[], Any]
    hint: str


@dataclass(frozen=True)
class Exercise:
    """One checked question of a notebook: its right answer, a hint, the usual mistakes and a worked answer."""

    number: int
    title: str
    answer: Callable[[], Any]
    hint: str
    worked: Callable[[], str]
    unit: str = ""
    rel_tol: float = 1e-9  # numbers: how close counts as right (relative), besides the digits the student wrote
    digits: int = 2  # numbers: the fewest significant figures a rounded answer must give (0.2 for 0.196 needs 1)
    same: Callable[[Any, Any], bool] | None = None  # a comparison of (given, right) for answers of another kind
    mistakes: tuple[Mistake, ...] = ()
    confirm: Callable[[], str] | None = None  # "predict, then run": what the package runs to show the answer

    def is_right(self, given: Any) -> bool:
        """Whether ``given`` is the right answer (raises AnswerFormatError for an answer of the wrong kind)."""
        return _matches(given, self.answer(), self._rule(), self.same)

    def _rule(self) -> _Rule:
        return _Rule(self.rel_tol, self.digits, self.unit)

    def check(self, given: Any, notebook: str = "") -> Verdict:
        """Right, not yet (with a hint), or waiting for an answer; never the right answer unless ``given`` is it."""
        if any(given is w for w in WAITING):
            return Verdict(notebook, self, "waiting", f"type your answer in place of `...` ({self._kind()}), "
                                                      "then run this cell again")
        try:
            right = self.is_right(given)
        except AnswerFormatError as error:
            return Verdict(notebook, self, "cannot check", str(error))
        if right:
            shown = f"{format_answer(self.answer())}{' ' + self.unit if self.unit else ''}"
            extra = f" {self.confirm()}" if self.confirm else ""
            return Verdict(notebook, self, "right", f"{shown}.{extra}")
        return Verdict(notebook, self, "not yet", self._hint(given))

    def _hint(self, given: Any) -> str:
        rule = self._rule()
        for mistake in self.mistakes:
            try:
                if _matches(given, mistake.answer(), rule, self.same):
                    return f"hint: {mistake.hint}"
            except AnswerFormatError:
                continue
        right = self.answer()
        if self.same is not None or not _is_number(right) or isinstance(right, bool):
            return f"hint: {self.hint}"
        value, text = _number_text(given, self.unit)
        scale = _scale_hint(value, right, rule)
        if scale:
            return f"hint: {scale}"
        if _close(value, right, rule.loose(), text):
            return (f"close: give {self.digits} or more significant figures (or all the digits your calculation "
                    f"gives); hint: {self.hint}")
        direction = "yours is too high; " if value > right else "yours is too low; "
        return f"{direction}hint: {self.hint}"

    def _kind(self) -> str:
        right = self.answer()
        if isinstance(right, bool):
            return "True or False"
        if _is_number(right):
            return f"a number{' of ' + self.unit if self.unit else ''}"
        if isinstance(right, (set, frozenset)):
            return "a set of names, such as {\"a\", \"b\"}"
        return "a name or a short text in quotes"


@dataclass(frozen=True)
class Verdict:
    """The result of one check, shown as one coloured line (plain text where HTML does not render)."""

    notebook: str
    exercise: Exercise
    status: str  # "right", "not yet", "waiting", "cannot check"
    message: str

    def __bool__(self) -> bool:
        return self.status == "right"

    def _head(self) -> str:
        return f"Exercise {self.exercise.number} ({self.exercise.title})"

    def __repr__(self) -> str:
        mark = {"right": "✓", "not yet": "✗"}.get(self.status, "·")
        return f"{mark} {self._head()}: {self.status}: {self.message}"

    def _repr_html_(self) -> str:
        color = {"right": style.TEAL, "not yet": style.AMBER_DARK}.get(self.status, style.MUTED)
        return (f'<div style="border-left:4px solid {color};padding:2px 8px"><b>{html.escape(self._head())}: '
                f'<span style="color:{color}">{html.escape(self.status)}</span></b>: '
                f"{_inline(self.message)}</div>")


@dataclass(frozen=True)
class Worked:
    """A worked answer, collapsed: a closed ``<details>`` block in HTML, no answer in its plain-text form."""

    notebook: str
    exercise: Exercise

    def __repr__(self) -> str:
        return (f"Worked answer to exercise {self.exercise.number} ({self.exercise.title}): collapsed, it opens "
                "in Jupyter, Colab or on GitHub")

    def text(self) -> str:
        """The worked answer itself, as the exercise module writes it."""
        return self.exercise.worked()

    def _repr_html_(self) -> str:
        body = "".join(f"<p>{_inline(p)}</p>" for p in re.split(r"\n\s*\n", self.text().strip()))
        return (f"<details><summary><b>Worked answer {self.exercise.number}</b>: "
                f"{html.escape(self.exercise.title)} (click to open)</summary>{body}</details>")


@dataclass(frozen=True)
class ExerciseSet:
    """The checked exercises of one notebook: ``ex.check(n, answer)`` and ``ex.worked(n)``."""

    notebook: str
    exercises: tuple[Exercise, ...]

    def __post_init__(self) -> None:
        numbers_ = [e.number for e in self.exercises]
        if numbers_ != sorted(set(numbers_)):
            raise ValueError(f"exercise numbers of {self.notebook} must be distinct and in order, got {numbers_}")

    def __getitem__(self, number: int) -> Exercise:
        wanted = whole_number("exercise number", number)
        for exercise in self.exercises:
            if exercise.number == wanted:
                return exercise
        raise ValueError(f"{self.notebook} has no checked exercise {wanted}; "
                         f"its checked exercises are {', '.join(str(e.number) for e in self.exercises)}")

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self.exercises)

    def __len__(self) -> int:
        return len(self.exercises)

    def check(self, number: int, answer: Any) -> Verdict:
        """Check ``answer`` to exercise ``number``."""
        return self[number].check(answer, self.notebook)

    def worked(self, number: int) -> Worked:
        """The worked answer to exercise ``number``, collapsed until opened."""
        return Worked(self.notebook, self[number])

    def __repr__(self) -> str:
        listed = "; ".join(f"{e.number}. {e.title}" for e in self.exercises)
        return (f"{len(self.exercises)} checked exercises for {self.notebook}: {listed}. "
                "Type an answer in place of `...` and run the cell: ex.check(n, answer) says right or not yet; "
                "ex.worked(n) holds a worked answer, collapsed.")


def exercises_for(notebook: str | int) -> ExerciseSet:
    """The checked exercises of a notebook ("01", 1 or "01_why_tpus"), from ``tpu_lecture.exercises.<name>``."""
    name = notebook_name(notebook)
    module_name = f"tpu_lecture.exercises.{name[3:]}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise ValueError(f"{name} has no checked exercises yet: add {module_name.replace('.', '/')}.py with a "
                         "tuple EXERCISES (the guide is in tpu_lecture.exercises.checker)") from None
    return ExerciseSet(name, tuple(module.EXERCISES))


def format_answer(value: Any) -> str:
    """An answer as a student would write it: 8,388,608; 1.049; {'bfloat16', 'float32'}."""
    if isinstance(value, bool) or not _is_number(value):
        if isinstance(value, (set, frozenset)):
            return "{" + ", ".join(repr(v) for v in sorted(value)) + "}"
        return str(value)
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    short = repr(number)
    return short if len(short) <= 9 else f"{number:,.4g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real)


@dataclass(frozen=True)
class _Rule:
    """How a number is compared: a relative tolerance, the fewest significant figures, the unit asked for."""

    rel_tol: float
    digits: int
    unit: str

    @property
    def percent(self) -> bool:
        return "%" in self.unit

    def loose(self) -> _Rule:
        """The same rule one significant figure looser (for "close: give more digits")."""
        return _Rule(self.rel_tol, max(1, self.digits - 1), self.unit)


_UNIT_WORDS = re.compile(r"(?i)\s*(?:×|x|times|%|percent|per ?cent)\s*$")


def _number_text(value: Any, unit: str = "") -> tuple[float, str | None]:
    """The number a student typed and, where it was typed as text or a float, the digits as written."""
    if isinstance(value, bool):
        raise AnswerFormatError(f"expected a number, got {value!r}: type the number itself, such as 1024")
    if isinstance(value, numbers.Integral):
        return float(value), str(int(value))
    if _is_number(value):
        return float(value), repr(float(value)) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "").replace("\u2009", "")
        if unit and not unit.strip().startswith(("%", "×", "x")):
            text = re.sub(rf"(?i){re.escape(unit.replace(' ', ''))}$", "", text)
        percent = text.endswith("%")
        text = _UNIT_WORDS.sub("", text).lstrip("×x")
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if percent and "%" not in unit:
                return number / 100, None
            return number, text
    raise AnswerFormatError(f"expected a number, got {value!r} ({type(value).__name__}): type the number "
                            "itself, such as 1024 or 1.5e9, without units")


def _written_digits(text: str) -> tuple[int, float] | None:
    """Significant figures and the place of the last digit of a number as written ("57.3" → 3, 0.1)."""
    match = re.fullmatch(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", text)
    if not match or not (match.group(1) or match.group(2)):
        return None
    whole, frac, exp = match.group(1) or "", match.group(2) or "", int(match.group(3) or 0)
    significant = (whole + frac).lstrip("0")
    if not significant:
        return None
    return len(significant), 10.0 ** (exp - len(frac))


def _close(given: float, right: Any, rule: _Rule, text: str | None = None) -> bool:
    """Right within the relative tolerance, or right to the digits as written (±0.5 of the last one, with at least
    ``rule.digits`` significant figures); a count (an int answer) must round to itself: ±0.5 of its unit."""
    if math.isclose(given, float(right), rel_tol=rule.rel_tol, abs_tol=1e-12):
        return True
    if isinstance(right, numbers.Integral):
        return abs(given - float(right)) <= 0.5
    written = _written_digits(text) if text else None
    if written is None:
        return False
    figures, place = written
    return figures >= rule.digits and abs(given - float(right)) <= 0.5 * place * (1 + 1e-9)


def _scale_hint(given: float, right: Any, rule: _Rule) -> str:
    """A hint for the right number in the wrong scale: a fraction where percent was asked, or the other way."""
    if rule.percent and right and _close(given * 100, right, rule):
        return "that looks like a fraction: give it in percent (× 100)"
    if not rule.unit and 0 < abs(float(right)) <= 1 and _close(given / 100, right, rule):
        return "that looks like a percentage: give it as a fraction (÷ 100)"
    return ""


def name_key(name: Any) -> str:
    """A name as compared: case, spaces, hyphens and underscores do not matter ("Input-stationary")."""
    return re.sub(r"[\s_\-–]+", "", str(name)).casefold()


def _as_names(value: Any, aliases: dict[str, str] | None = None) -> set[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise AnswerFormatError(f"expected a set of names such as {{'float32', 'bfloat16'}}, got {value!r}")
    table = {name_key(k): name_key(v) for k, v in (aliases or _default_aliases()).items()}
    return {table.get(name_key(v), name_key(v)) for v in value}


def _default_aliases() -> dict[str, str]:
    return dict(DTYPE_NAMES)  # the number formats' other spellings (fp32, bf16, half, …)


def _matches(given: Any, right: Any, rule: _Rule, same: Callable[[Any, Any], bool] | None) -> bool:
    if same is not None:
        return bool(same(given, right))
    if isinstance(right, bool):
        if not isinstance(given, bool):
            raise AnswerFormatError(f"expected True or False, got {given!r}")
        return given == right
    if _is_number(right):
        number, text = _number_text(given, rule.unit)
        return _close(number, right, rule, text)
    if isinstance(right, (set, frozenset)):
        return _as_names(given) == _as_names(right)
    if isinstance(right, str):
        if not isinstance(given, (str, numbers.Real)) or isinstance(given, bool):
            raise AnswerFormatError(f"expected a name or a short text in quotes, got {given!r}")
        return name_key(given) == name_key(right)
    return given == right


def _inline(text: str) -> str:
    """Plain text with `code` in backticks, as HTML."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))
