"""The systolic array, cycle by cycle: a Dataflow object per dataflow (what stays, what moves, its fold formula
and per-cycle rules), the schedule of folds, the array and its runs, the frame tape, and the scalar / vector /
matrix machine models built on the same schedule. NumPy only; never draws."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {"array", "dataflow", "schedule", "tape", "machines"})
