"""The systolic array, cycle by cycle: a Dataflow object per dataflow (what stays, what moves, its fold formula
and runner), the loading modes, the schedule of folds and its closed forms, the stationary and output-stationary
machines, the array and its runs, the operand checks, the frame tape, the PE rules checked on frames, run budgets,
and the scalar / vector / matrix machine models built on the same schedule. NumPy only; never draws."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {
    "array", "dataflow", "loading", "schedule", "stationary", "output_stationary", "operands", "tape", "rules",
    "budget", "machines", "counts",
})
