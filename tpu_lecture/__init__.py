"""tpu_lecture: the helper package of the lecture "TPUs from the multiply-accumulate up".

Importing it is cheap: no TensorFlow, no JAX, no matplotlib, no network. Every public name below
is loaded from its module on first use, so ``tl.SystolicArray`` imports only ``tpu_lecture.sim.array``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The GitHub path that the notebooks' Colab badges and setup cells are generated from
# (scripts/execute_notebooks.py); a fork changes it here and nowhere else.
GITHUB_REPO = "tpu-lecture/tpu-lecture"


def colab_url(notebook: str, repo: str = GITHUB_REPO) -> str:
    """The Open-in-Colab address of one of the lecture's notebooks ("00_start_here", with or without .ipynb)."""
    name = notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb"
    return f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{name}"

_LAZY: dict[str, str] = {
    # sim/: the cycle-accurate systolic array
    "SystolicArray": "sim.array",
    "SystolicRun": "sim.array",
    "schedule": "sim.array",
    "expected_cycles": "sim.array",
    "expected_counts": "sim.array",
    "lecture_example": "sim.array",
    "assert_pe_rules": "sim.rules",
    "Dataflow": "sim.dataflow",
    "DATAFLOWS": "sim.dataflow",
    "Loading": "sim.loading",
    "Schedule": "sim.schedule",
    "Frame": "sim.tape",
    "estimate": "sim.array",
    "compare_machines": "sim.machines",
    "matrix_cycles": "sim.machines",
    "scalar_cycles": "sim.machines",
    "vector_cycles": "sim.machines",
    # viz/: frames, the step-through player, export
    "draw_frame": "viz.export",
    "SystolicPlayer": "viz.player",
    "animate": "viz.export",
    "animation_html": "viz.export",
    "save_animation": "viz.export",
    "frame_png": "viz.export",
    "frame_strip": "viz.export",
    "render_frames": "viz.export",
    "symbolic_example": "viz.export",
    "bits_figure": "viz.bits",
    "format_value": "viz.text",
    "cycle_story": "viz.text",
    "run_story": "viz.text",
    # macs.py, roofline.py, precision.py, hardware.py
    "count_model": "macs",
    "mlp_macs_per_sample": "macs",
    "mlp_training_flops_per_sample": "macs",
    "matmul_macs": "macs",
    "arithmetic_intensity": "roofline",
    "ridge_point": "roofline",
    "mxu_matmul": "precision",
    "to_bfloat16": "precision",
    "show_bits": "precision",
    "agreement": "accuracy",
    "dot_error_bound": "accuracy",
    "Chip": "hardware",
    "cpu_estimate": "hardware",
    # runtime/: which framework sees which device, the Keras backend, distribution
    "use_best_backend": "runtime.runtime",
    "strategy": "runtime.runtime",
    "distribution": "runtime.runtime",
    "replicas": "runtime.runtime",
    "build_in_distribution": "runtime.runtime",
    "accelerator_kind": "runtime.runtime",
    "summary_line": "runtime.runtime",
    # bench/: the harness, results, their store and plots, benchmark #1
    "benchmark": "bench.harness",
    "result_from_training": "bench.training",
    "BenchmarkResult": "bench.record",
    "compare": "bench.record",
    "sweep": "bench.matrix_ops",
    "save_results": "bench.store",
    "load_results": "bench.store",
    "reference_results": "bench.store",
    "plot_times": "bench.plots",
    "plot_speedup": "bench.plots",
    "plot_roofline": "bench.plots",
    "plot_rooflines": "bench.plots",
    # models.py, data.py
    "mlp_model": "models",
    "char_model": "models",
    "generate_text": "models",
    "train": "models",
    "TrainingReport": "models",
    "sample_quality": "models",
    "load_cifar10": "data",
    "load_shakespeare": "data",
    "per_replica_batch": "data",
    # lecture: the plan and outline, growth over time, ASIC economics, checked exercises
    "exercises_for": "exercises.checker",
    "AsicCase": "economics",
    "doubling_time": "trends",
    # slides: the notebooks as live RISE slides, and the offline HTML handout
    "Deck": "slides",
    "write_handout": "handout",
}

_SUBMODULES = {
    "accuracy", "checks", "sim", "viz", "runtime", "bench", "macs", "roofline", "precision", "hardware", "models",
    "data", "lecture", "trends", "economics", "exercises", "energy",
}

__all__ = ["__version__", "GITHUB_REPO", "colab_url", *sorted(_LAZY), *sorted(_SUBMODULES)]


def lazy_modules(package: str, names: set[str]) -> Any:
    """A module ``__getattr__`` for ``package`` that imports its submodules ``names`` on first use."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'tpu_lecture' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
