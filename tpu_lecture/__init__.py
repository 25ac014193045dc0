"""tpu_lecture: the helper package of the lecture "TPUs from the multiply-accumulate up".

Importing it is cheap: no TensorFlow, no JAX, no matplotlib, no network. Every public name below
is loaded from its module on first use, so ``tl.SystolicArray`` imports only ``tpu_lecture.systolic``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The GitHub path that the notebooks' Colab badges and setup cells are generated from
# (scripts/execute_notebooks.py); a fork changes it here and nowhere else.
GITHUB_REPO = "tpu-lecture/tpu-lecture"

_LAZY: dict[str, str] = {
    # systolic.py: the cycle-accurate simulator
    "SystolicArray": "systolic",
    "SystolicRun": "systolic",
    "Frame": "systolic",
    "expected_cycles": "systolic",
    "lecture_example": "systolic",
    # visualize.py: frames, the step-through player, export
    "draw_frame": "visualize",
    "SystolicPlayer": "visualize",
    "animate": "visualize",
    "animation_html": "visualize",
    "save_animation": "visualize",
    "frame_png": "visualize",
    "render_frames": "visualize",
    # counters.py, precision.py, hardware.py
    "count_model": "counters",
    "mlp_macs_per_sample": "counters",
    "compare_machines": "counters",
    "mxu_matmul": "precision",
    "to_bfloat16": "precision",
    "show_bits": "precision",
    # devices.py, bench.py
    "runtime": "devices",
    "use_best_backend": "devices",
    "strategy": "devices",
    "distribution": "devices",
    "accelerator_kind": "devices",
    "summary_line": "devices",
    "Chip": "hardware",
    "cpu_estimate": "hardware",
    "benchmark": "bench",
    "BenchmarkResult": "bench",
    "sweep": "workloads",
    "compare": "results",
    "save_results": "results",
    "load_results": "results",
    "reference_results": "results",
    "plot_times": "results",
    "plot_speedup": "results",
    "plot_roofline": "results",
    # models.py, data.py
    "mlp_model": "models",
    "char_model": "models",
    "generate_text": "models",
    "build_in_distribution": "models",
    "train": "models",
    "TrainingReport": "models",
    "load_cifar10": "data",
    "load_shakespeare": "data",
    "per_replica_batch": "data",
}

_SUBMODULES = {
    "systolic", "dataflows", "frames", "visualize", "counters", "precision", "hardware",
    "devices", "bench", "workloads", "results", "models", "data",
}

__all__ = ["__version__", "GITHUB_REPO", *sorted(_LAZY), *sorted(_SUBMODULES)]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'tpu_lecture' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
