"""The systolic array, cycle by cycle: the dataflows' per-cycle rules, the array and its runs, the frame tape,
and the scalar / vector / matrix machine models built on the same schedule. NumPy only; never draws."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {'array', 'dataflow', 'tape', 'machines'})
