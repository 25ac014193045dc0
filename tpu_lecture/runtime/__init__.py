"""Where the lecture runs: which framework sees which device, the Keras backend to choose, and how to spread a
model over the devices. One adapter per framework (``numpy``, ``jax``, ``tensorflow``); the only package that
imports TensorFlow or JAX, and only inside functions."""

from tpu_lecture.runtime.machine import Device, Framework, hardware_hint, host_cpu_name
from tpu_lecture.runtime.quiet import keep_framework_logs_out
from tpu_lecture.runtime.runtime import (
    ADAPTERS,
    KERAS_BACKENDS,
    NAMES,
    BackendWarning,
    Runtime,
    accelerator_kind,
    adapter,
    best_backend,
    build_in_distribution,
    describe,
    detect,
    device_of,
    distribution,
    environment,
    framework,
    framework_of,
    frameworks,
    import_quietly,
    keras_backend,
    missing_backends_line,
    replicas,
    strategy,
    summary_line,
    sync_for,
    title,
    use_best_backend,
)

__all__ = ["ADAPTERS", "KERAS_BACKENDS", "NAMES", "BackendWarning", "Device", "Framework", "Runtime",
           "accelerator_kind", "adapter", "best_backend", "build_in_distribution", "describe", "detect", "device_of",
           "distribution", "environment", "framework", "framework_of", "frameworks", "hardware_hint", "host_cpu_name",
           "import_quietly", "keep_framework_logs_out", "keras_backend", "missing_backends_line", "replicas",
           "strategy", "summary_line", "sync_for", "title", "use_best_backend"]
