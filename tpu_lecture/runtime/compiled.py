"""Compiling a function written with keras.ops for the Keras backend in force: the one place that knows that JAX
compiles with ``jax.jit`` and TensorFlow with ``tf.function(jit_compile=True)``. Frameworks are imported only when a
function is compiled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _backend() -> str:
    import keras

    return keras.backend.backend()


def compile_step(fn: Callable[..., Any], backend: str | None = None) -> Callable[..., Any]:
    """``fn`` compiled once for the Keras backend in force: ``jax.jit`` on JAX, ``tf.function(jit_compile=True)``
    on TensorFlow, ``fn`` itself on any other. A step called thousands of times (writing, one byte at a time) then
    costs one compiled call each, not an eager op per layer."""
    backend = backend or _backend()
    if backend == "jax":
        from tpu_lecture.runtime import jax as jax_adapter

        return jax_adapter.module().jit(fn)
    if backend == "tensorflow":
        from tpu_lecture.runtime import tensorflow as tensorflow_adapter

        return tensorflow_adapter.module().function(fn, jit_compile=True, reduce_retracing=True)
    return fn


def weights_as_inputs(backend: str | None = None) -> bool:
    """Whether a compiled function must take the weights' values as inputs: on JAX a jitted function would bake
    in the values it was traced with (stale after more training); tf.function reads its variables itself."""
    return (backend or _backend()) == "jax"
