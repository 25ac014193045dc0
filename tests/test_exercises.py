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


# What a student gets by following each exercise's hint, worked by hand from the figures the notebook shows (the
# hardware table, the reference results): every one must be accepted, at full precision and written to three
# significant figures (or the figures the question asks for).
def _hw(name: str):
    return tl.hardware.get(name)


def _following_the_hints() -> dict[tuple[str, int], object]:
    import math

    from tpu_lecture.exercises import benchmark_matrix_add as b1
    from tpu_lecture.exercises import benchmark_mlp_cifar10 as b2
    from tpu_lecture.exercises import shakespeare_on_tpu as sh
    v4 = _hw("TPU v4")
    case = tl.AsicCase()
    resnet, gpt3 = tl.trends.landmark("ResNet-152"), tl.trends.landmark("GPT-3 175B")
    big = case.with_(nre=3e8)
    sweep = b2._h200_sweep()
    _, h200_tf32 = tl.bench.training.peak_for(_hw("H200"), "float32")
    fixed, per_sample = b2._fit()
    numpy_add = b1._reference("add 16384x16384 float32", "cpu").median
    h200_add = b1._reference("add 16384x16384 float32", "gpu").median
    copy_add = numpy_add / b1._copy_speedup()
    link = 2 * 16384**2 * 4 / copy_add
    mm_cpu = b1._reference("matmul 8192x8192x8192 float32", "cpu").median
    mm_gpu = b1._reference(b1.TF32_MATMUL, "gpu").median
    train = tl.macs.mlp_training_flops_per_sample()  # section 4's exact count: no gradient for the pixels
    lstm = 3 * 2 * sh.lstm_macs_per_char()
    return {
        ("00", 1): "03", ("00", 2): max(tl.hardware.chips(), key=lambda c: c.memory_bandwidth or 0).name,
        ("00", 3): 100 * sum(s.minutes for s in lecture.SEGMENTS if s.in_class and s.notebook is None)
        / sum(s.minutes for s in lecture.SEGMENTS if s.in_class),
        ("01", 1): 64 * 512 * 256, ("01", 2): 5 + 8 + 8 - 2, ("01", 3): math.ceil(0.99 * 382 / 0.01),
        ("01", 4): v4.peak_flops / (2 * v4.macs_per_cycle) / 1e9,
        ("01", 5): 3e8 / (big.general_per_unit - big.asic_per_unit),
        ("01", 6): 12 * (gpt3.year - resnet.year) / math.log2(gpt3.training_flops / resnet.training_flops),
        ("02", 1): 1024**3, ("02", 2): 2 * 4096**3 / _hw("TPU v5e").peak_flops * 1e3, ("02", 3): 2 * 4096**3 / 4096**2,
        ("02", 4): -math.floor(math.log10(math.sqrt(512) * 2**-9)),  # errors that pile up grow like √N
        ("03", 1): _hw("H100").peak_flops / _hw("H100").memory_bandwidth,
        ("03", 2): 8 * 2**30 / (4 * 4) / 1e9,
        ("03", 3): 1 + 2 * 2**-7, ("03", 4): {"float32", "bfloat16"},
        ("03", 5): (_hw("Ironwood").peak_flops / _hw("TPU v4").peak_flops) ** (1 / (2025 - 2021)),
        ("04", 1): 256 + 3 * 256 - 2, ("04", 2): 100 * 320 / (128 + 320 + 128 + 128 - 2),
        ("04", 3): math.ceil(384 / 128) * math.ceil(640 / 128), ("04", 4): 128 + 14 * max(256, 383) + 256 + 254,
        ("04", 5): 3 * 3, ("04", 6): "input stationary",
        ("04", 9): 128 * 3072,  # 128 output columns, each streaming all K = 3072 of its weights from the top
        ("04", 10): "output stationary",  # its 32-bit partial sums stay put while each weight does its one MAC
        ("05", 1): _hw("TPU v6e").memory_bandwidth / _hw("TPU v5e").memory_bandwidth,
        ("05", 2): 3 * 2 * _hw("A100").ridge_point / 2, ("05", 3): _hw("TPU v4").ridge_point * 2 / 2,
        ("05", 4): 100 * _hw("TPU v6e").memory_bandwidth * (2 * 4096**2 / ((4096 + 4096**2 + 4096) * 2))
        / _hw("TPU v6e").peak_flops,
        ("05", 5): round(0.9 * 383),
        ("06", 1): 2 * 2048**3 / (3 * 2048**2 * 2), ("06", 2): 3 * 16384**2 * 4 / _hw("H200").memory_bandwidth * 1e3,
        ("06", 3): 3 * 16384**2 * 2 / _hw("TPU v5e").memory_bandwidth * 1e3,
        ("06", 4): 100 * (copy_add - h200_add) / (numpy_add - 100 * h200_add),
        ("06", 5): mm_cpu / (2 * 8192**2 * 4 / link + mm_gpu),
        ("07", 1): 8 // 2 * 1, ("07", 2): 50_000 % 1024,
        ("07", 3): (2 * (0.5 - 2) * (1 + 4 + 9) / 3 + 2 * (0.5 - 2) * 16) / 2,
        ("07", 4): 100 * 100 * 0.2 / (100 * 0.2 + 1), ("07", 5): 4 * 2**-7 / 2,
        ("08", 1): sweep[2048] * train / 1e12, ("08", 2): 1024 - 1024 % 3,
        ("08", 3): 4096 / (fixed + 4096 * per_sample),
        ("08", 4): 100 * (1024 * train / h200_tf32) / (1024 / sweep[1024]) * 2 / 3, ("08", 5): 100 * 160 / 383,
        ("09", 1): 256 * 512 + 4 * (512 * 1024 + 1024 * 1024 + 1024) + 1024 * 256 + 256,
        ("09", 2): 10 * 100 * 1024 * 100 / 1_115_394,
        ("09", 3): 100 * (102_400_000 / 10 / 17) * lstm / (4 * _hw("TPU v2").peak_flops),
        ("09", 4): math.exp(2 / 0.5) / (math.exp(2 / 0.5) + math.exp(1 / 0.5)),
        ("09", 5): 100 * 256 * 256 / (256 * 256 * (1 + 256 + 256 - 2)),
    }


FOLLOWED = _following_the_hints()


def test_every_exercise_has_its_hint_followed():
    assert set(FOLLOWED) == {(n[:2], e.number) for n, e in CASES}


@pytest.mark.parametrize(("notebook", "exercise"), CASES, ids=lambda v: v if isinstance(v, str) else str(v.number))
def test_following_the_hint_gives_an_accepted_answer(notebook, exercise):
    value = FOLLOWED[(notebook[:2], exercise.number)]
    assert exercise.check(value, notebook), (value, exercise.check(value, notebook))
    if isinstance(value, float) and not isinstance(exercise.answer(), int):
        written = float(f"{value:.{max(3, exercise.digits)}g}")
        assert exercise.check(written, notebook), (written, exercise.check(written, notebook))
        assert exercise.check(f"{written:,}", notebook)


def test_the_issues_spellings_are_accepted():
    ex = tl.exercises_for
    for notebook, number, given in [
            ("00", 1, "3"), ("00", 1, 3), ("00", 1, "notebook 03"), ("00", 2, "TPU 7x"), ("00", 2, "tpu-7x"),
            ("00", 2, "Ironwood"), ("03", 4, {"fp32", "bf16"}), ("03", 4, ["Float32", "BFloat 16"]),
            ("04", 6, "input stationary"), ("04", 6, "Input-Stationary"), ("04", 6, "IS"),
            ("04", 2, 46), ("04", 2, 45.6), ("04", 2, "45.6 %"), ("04", 2, "46%"), ("04", 1, "1022 cycles"),
            ("05", 5, 345), ("06", 3, 2.0), ("06", 3, 1.97), ("08", 5, 41.8), ("08", 5, 41), ("09", 5, 0.2),
            ("09", 4, 0.88), ("09", 4, "88.1%"), ("03", 5, "1.70x"), ("03", 5, "×1.7"), ("01", 1, "8 388 608")]:
        verdict = ex(notebook).check(number, given)
        assert verdict, (notebook, number, given, verdict)


def test_precision_is_what_the_question_implies_and_no_looser():
    ex = tl.exercises_for
    assert not ex("04").check(2, 45) and not ex("04").check(2, 46.0) and not ex("04").check(2, 50)
    assert not ex("01").check(1, 8_400_000) and not ex("01").check(1, "8.39e6")  # a count is exact
    assert ex("04").check(1, 1022.4) and not ex("04").check(1, 1023)
    assert not ex("03").check(3, 1.02) and not ex("03").check(3, 1.01)  # a rounding question wants every digit
    close = ex("06").check(3, 2)  # one figure where two are needed
    assert not close and "significant figures" in close.message
    assert not ex("05").check(5, 383) and not ex("00").check(1, "04") and not ex("04").check(6, "weight stationary")


@pytest.mark.parametrize(("notebook", "exercise"), [(n, e) for n, e in CASES if "%" in e.unit],
                         ids=lambda v: v if isinstance(v, str) else str(v.number))
def test_a_fraction_for_a_percent_is_recognised_everywhere(notebook, exercise):
    verdict = exercise.check(exercise.answer() / 100, notebook)
    assert not verdict and "fraction" in verdict.message, verdict


def test_a_percent_for_a_fraction_is_recognised():
    verdict = tl.exercises_for("09").check(4, 100 * tl.exercises_for("09")[4].answer())
    assert not verdict and "percentage" in verdict.message
