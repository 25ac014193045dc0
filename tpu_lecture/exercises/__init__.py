"""Checked exercises, one module per notebook (named after it without its number: ``why_tpus`` for 01): a
student's answer is checked against one the package computes. ``checker`` holds the machinery and the guide
to adding exercises to another notebook; ``tl.exercises_for("01")`` gives a notebook's set."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {
    "checker", "start_here", "why_tpus", "inside_the_tpu", "matrix_operations", "systolic_array", "when_to_use_which",
    "benchmark_matrix_add", "tensorflow_on_tpus", "benchmark_mlp_cifar10", "shakespeare_on_tpu"})
