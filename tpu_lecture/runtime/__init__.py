"""Where the lecture runs: which framework sees which device, the Keras backend to choose, and how to
spread a model over the devices. The only package that imports TensorFlow or JAX, and only inside functions."""

from tpu_lecture.runtime.runtime import (
    Device,
    Framework,
    Runtime,
    accelerator_kind,
    best_backend,
    describe,
    distribution,
    strategy,
    summary_line,
    use_best_backend,
    view,
)
from tpu_lecture.runtime.runtime import runtime as detect

__all__ = ["Device", "Framework", "Runtime", "accelerator_kind", "best_backend", "describe", "detect",
           "distribution", "strategy", "summary_line", "use_best_backend", "view"]
