"""Measuring: the timing harness, the result record, its store, benchmark #1's workloads, and plots of
results. Frameworks are reached through :mod:`tpu_lecture.runtime`, imported only when a workload runs."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {"harness", "record", "store", "matrix_ops", "plots"})
