"""The exercise checker: every registered exercise is right for its computed answer, not yet for its listed
mistakes and for a wrong answer (with the hint that fits), waiting for `...`, and never shows an answer in a
stored form before the student opens it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import tpu_lecture as tl
from tpu_lecture import exercises, lecture
from tpu_lecture.exercises.checker import Exercise, ExerciseSet, Mistake, Worked, exercises_for, format_answer

MODULES = sorted(m.name for m in pkgutil.iter_modules(exercises.__path__) if m.name != "checker")
NOTEBOOK_OF = {name[3:]: name for name, _ in lecture.NOTEBOOKS}
SETS = [exercises_for(NOTEBOOK_OF[module]) for module in MODULES]
CASES = [(s.notebook, e) for s in SETS for e in s]


def _wrong(right):
    if isinstance(right, bool):
        return not right
    if isinstance(right, (int, float)):
        return right * 1.5 + 1
    if isinstance(right, (set, frozenset)):
        return set(right) ^ {"float16"}
    return "a wrong answer"


def test_every_exercise_module_belongs_to_a_notebook_and_is_listed():
    assert set(MODULES) <= set(NOTEBOOK_OF), "name an exercise module after its notebook, without the number"
    assert {"start_here", "why_tpus", "inside_the_tpu"} <= set(MODULES)
    assert set(MODULES) <= set(exercises.__getattr__.__closure__[0].cell_contents)


@pytest.mark.parametrize(("notebook", "exercise"), CASES, ids=lambda v: v if isinstance(v, str) else str(v.number))
def test_the_computed_answer_is_right_and_a_wrong_one_is_not(notebook, exercise):
    right = exercise.answer()
    verdict = exercise.check(right, notebook)
    assert verdict and verdict.status == "right", verdict
    assert format_answer(right) in repr(verdict)
    wrong = exercise.check(_wrong(right), notebook)
    assert not wrong and wrong.status in ("not yet", "cannot check"), wrong
    assert "hint" in wrong.message or wrong.status == "cannot check"


@pytest.mark.parametrize(("notebook", "exercise"), CASES, ids=lambda v: v if isinstance(v, str) else str(v.number))
def test_each_listed_mistake_gets_its_own_hint(notebook, exercise):
    for mistake in exercise.mistakes:
        verdict = exercise.check(mistake.answer(), notebook)
        assert verdict.status == "not yet" and mistake.hint in verdict.message, verdict


@pytest.mark.parametrize(("notebook", "exercise"), CASES, ids=lambda v: v if isinstance(v, str) else str(v.number))
def test_unanswered_and_worked_forms_give_nothing_away(notebook, exercise):
    answer = re.compile(rf"(?<![\w.]){re.escape(format_answer(exercise.answer()))}(?![\w.])")
    waiting = exercise.check(..., notebook)
    assert waiting.status == "waiting" and not waiting
    assert not answer.search(repr(waiting)) and not answer.search(re.sub(r"<[^>]+>", "", waiting._repr_html_()))
    worked = Worked(notebook, exercise)
    assert not answer.search(repr(worked))
    html = worked._repr_html_()
    assert html.startswith("<details><summary>") and html.endswith("</details>") and "<details open" not in html
    assert worked.text().strip()


def test_a_notebook_set_checks_by_number_and_says_what_is_missing():
    ex = tl.exercises_for("01")
    assert ex.check(1, 8_388_608) and ex.check(1, "8,388,608") and not ex.check(1, 8_388_607)
    assert "too low" in ex.check(1, 100).message and "too high" in ex.check(1, 10**9).message
    assert ex.check(1, [1, 2]).status == "cannot check" and "expected a number" in ex.check(1, [1, 2]).message
    assert ex.check(1, True).status == "cannot check"
    with pytest.raises(ValueError, match="no checked exercise 99.*1, 2, 3"):
        ex.check(99, 1)
    with pytest.raises(ValueError, match="unknown notebook"):
        tl.exercises_for("42")
    assert "6 checked exercises for 01_why_tpus" in repr(ex)


def test_a_notebook_without_exercises_says_how_to_add_them(monkeypatch):
    real = importlib.import_module

    def without_04(name, package=None):
        if name == "tpu_lecture.exercises.systolic_array":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_04)
    with pytest.raises(ValueError, match="has no checked exercises yet.*tpu_lecture/exercises/systolic_array.py"):
        tl.exercises_for("04")


def test_names_and_sets_compare_loosely_but_not_wrongly():
    start = tl.exercises_for(0)
    assert start.check(1, "03") and start.check(1, 3) and start.check(1, "03_inside_the_tpu")
    assert start.check(2, "ironwood") and start.check(2, "TPU7x") and not start.check(2, "H200")
    assert not start.check(2, "no such chip")
    inside = tl.exercises_for("03_inside_the_tpu")
    assert inside.check(4, {"BFloat16", "float32"}) and inside.check(4, ["float32", "bfloat16"])
    assert not inside.check(4, {"float32"})
    assert inside.check(4, "float32").status == "cannot check"


def test_a_predict_then_run_exercise_runs_the_package_when_right():
    verdict = tl.exercises_for("01").check(2, 19)
    assert verdict and "simulator stepped it: 19 compute cycles" in verdict.message


def test_an_exercise_set_refuses_numbers_out_of_order():
    one = Exercise(1, "one", answer=lambda: 1, hint="h", worked=lambda: "w")
    with pytest.raises(ValueError, match="distinct and in order"):
        ExerciseSet("00_start_here", (one, one))


def test_a_custom_exercise_in_a_few_lines():
    ones = [[1] * 4] * 4
    ex = Exercise(1, "cycles of 3n − 2", answer=lambda: tl.SystolicArray(4, 4).matmul(ones, ones).compute_cycles,
                  hint="3n − 2", unit="cycles", worked=lambda: "3 · 4 − 2 = 10",
                  mistakes=(Mistake(lambda: 64, "that is n³ MACs"),))
    assert ex.check(10) and "that is n³ MACs" in ex.check(64).message and not ex.check(11)
