"""Checked exercises of notebook 00 · Start here. Every answer is computed here from the package."""

from __future__ import annotations

import re

from tpu_lecture import hardware, lecture
from tpu_lecture.exercises.checker import AnswerFormatError, Exercise, Mistake, name_key


def _teaches(topic: str) -> str:
    return next(t.notebook for t in lecture.TOPICS if t.name == topic)


def _same_notebook(given, right: str) -> bool:
    """A notebook as people name it: 3, "3", "03", "03_inside_the_tpu", "03 Inside the TPU", "notebook 03"."""
    if isinstance(given, float) and given.is_integer():
        given = int(given)
    if isinstance(given, str):
        text = re.sub(r"(?i)^\s*notebook\s*", "", given).strip()
        number = re.match(r"\d+", text)
        given = int(number.group()) if number else text
    try:
        return lecture.notebook_name(given) == right
    except (ValueError, TypeError):
        raise AnswerFormatError(f"{given!r} is not a notebook of the lecture: type its number, such as \"04\""
                                ) from None


def _fastest_memory() -> str:
    return max(hardware.chips(), key=lambda c: c.memory_bandwidth or 0).name


def _same_chip(given, right: str) -> bool:
    if not isinstance(given, str):
        raise AnswerFormatError(f"type the chip's name in quotes, such as \"TPU v5e\", not {given!r}")
    chip = hardware.get(right)
    return name_key(given) in {name_key(n) for n in (chip.name, *chip.aliases)}


def _worked_notebook() -> str:
    name = _teaches("bfloat16")
    return (f"`tl.lecture.TOPICS` maps each topic of the outline to its notebook: bfloat16 is taught in {name} "
            "(bit layouts, range vs precision, the MXU's bfloat16 × bfloat16 → float32 rule).")


def _worked_chip() -> str:
    chip = hardware.get(_fastest_memory())
    return (f"`max(tl.hardware.chips(), key=lambda c: c.memory_bandwidth or 0)` gives {chip.name} "
            f"({', '.join(chip.aliases[:1]) or chip.name}) with {chip.memory_bandwidth / 1e9:,.0f} GB/s; "
            f"its source: {chip.source}.")


def _qa_minutes() -> int:
    return sum(s.minutes for s in lecture.SEGMENTS if s.in_class and s.notebook is None)


def _qa_share() -> float:
    """The share of the lecture's time in class, in percent, that its Q&A breaks take."""
    return 100 * _qa_minutes() / lecture.total_minutes()


def _worked_minutes() -> str:
    taught = [s for s in lecture.SEGMENTS if s.in_class]
    breaks = sum(1 for s in taught if s.notebook is None)
    return (f"The plan's rows without a notebook are the Q&A breaks: {breaks} of them, {_qa_minutes()} minutes. "
            f"The lecture in class is `tl.lecture.total_minutes()` = {lecture.total_minutes()} minutes "
            f"(notebook 00 is read before class and does not count), so the breaks take {_qa_minutes()} / "
            f"{lecture.total_minutes()} = {_qa_share():.1f}% of it: about one minute in six for questions.")


EXERCISES = (
    Exercise(1, "the notebook that teaches bfloat16", answer=lambda: _teaches("bfloat16"), same=_same_notebook,
             hint="read the lecture map in section 1 (or `tl.lecture.TOPICS`)",
             mistakes=(Mistake(lambda: "01_why_tpus", "01 is why TPUs exist; the number format comes with the "
                                                      "TPU's insides"),),
             worked=_worked_notebook),
    Exercise(2, "the chip with the most memory bandwidth", answer=_fastest_memory, same=_same_chip,
             hint="compare `chip.memory_bandwidth` over `tl.hardware.chips()` (section 5 prints the table)",
             mistakes=(Mistake(lambda: "H200", "the H200 leads the GPUs; one TPU in the table has more"),),
             worked=_worked_chip),
    Exercise(3, "the share of the lecture kept for questions", answer=_qa_share, unit="%", rel_tol=0.01,
             hint="add up the minutes of the plan's Q&A rows and divide by the minutes of the lecture in class",
             mistakes=(Mistake(_qa_minutes, "that is the Q&A minutes; the question asks for their share of the "
                                            "lecture, in percent"),
                       Mistake(lambda: 100 * _qa_minutes() / lecture.total_minutes(in_class_only=False),
                               "notebook 00 is read before class: divide by the minutes in class")),
             worked=_worked_minutes),
)
