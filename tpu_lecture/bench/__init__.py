"""Measuring: the timing harness, the result record, its schema and store, the peak a result is compared with,
benchmark #1's workloads, this runtime's measured roofs, the claims a notebook checks against its numbers, and plots
of results. Frameworks are reached through :mod:`tpu_lecture.runtime`, imported only when a workload runs."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {"harness", "record", "schema", "store", "peaks", "matrix_ops", "roofs",
                                      "claims", "plots"})
