"""The JAX adapter: the path to a Colab TPU. JAX is imported inside the functions that need it.

It sees its default backend's devices (a TPU or GPU where there is one) and the host CPU, waits for results
with ``block_until_ready``, places arrays with ``device_put`` and spreads a Keras model with
``keras.distribution.DataParallel``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tpu_lecture.runtime import machine
from tpu_lecture.runtime.machine import Device, Framework

NAME = "jax"
TITLE = "JAX"
MODULES = ("jax", "jaxlib")  # a value whose type comes from these modules is JAX's
HOST_ONLY = False
REPORTED = True


def probe(ask: bool | None = None) -> Framework:
    """JAX's devices: its default backend's (TPU or GPU if there is one) and the host CPU. It is not
    imported where no accelerator is plugged in unless ``ask=True``."""
    if not machine.installed("jax"):
        return Framework(NAME, None)
    if not machine.should_import("jax", ask):
        return machine.cpu_only(NAME, "cpu:0", ("jax",))
    if "jax" not in sys.modules:
        # Without this JAX takes 75% of a GPU's memory when first asked, starving TensorFlow in the same process.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
    except Exception as error:  # a broken install is reported, not raised
        return Framework(NAME, "unknown", error=f"import failed: {error}")
    try:
        found = list(jax.devices())
        if found and found[0].platform != "cpu":
            found += list(jax.devices("cpu"))
    except Exception as error:
        return Framework(NAME, jax.__version__, error=f"listing devices failed: {error}")
    return Framework(NAME, jax.__version__, tuple(_device(d) for d in found))


def _device(d: Any) -> Device:
    """A JAX device as a ``Device``: the one place that maps JAX's platforms and names."""
    kind = "gpu" if d.platform in ("gpu", "cuda", "rocm") else d.platform
    name = machine.host_cpu_name() if kind == "cpu" else d.device_kind
    return Device(NAME, kind, name, f"{kind}:{d.id}", handle=d)


def sync(out: Any) -> None:
    """Wait until JAX has computed ``out`` (it dispatches asynchronously)."""
    import jax

    jax.block_until_ready(out)


def device_of(out: Any, known: Sequence[Device]) -> Device | None:
    """The device a JAX array lives on (the first, for an array spread over several)."""
    if not hasattr(out, "devices"):
        return None
    found = sorted(out.devices(), key=lambda d: d.id)
    return _device(found[0]) if found else None


def place(array: Any, device: Device) -> Any:
    """A copy of a host array in ``device``'s memory."""
    import jax

    return jax.device_put(array, device.handle)


def kernel(operation: str, device: Device) -> Callable[..., Any]:
    """``operation`` ('add', 'matmul', 'triad' x + 3y, or 'chain' ((3x + y)·2 + x)·5 + y) compiled by XLA, which
    fuses the element-wise ones into one pass over memory; it runs where its inputs live."""
    import jax
    import jax.numpy as jnp

    return jax.jit({"add": jnp.add, "matmul": jnp.matmul, "triad": _triad, "chain": _chain}[operation])


def _triad(x: Any, y: Any) -> Any:
    return x + 3 * y


def _chain(x: Any, y: Any) -> Any:
    return ((x * 3 + y) * 2 + x) * 5 + y


def module() -> Any:
    """JAX, imported."""
    import jax

    return jax


def matmul_precision() -> str:
    """'highest' where JAX's default matmul precision is set to full float32, else 'default' (TF32 on a recent
    GPU, bfloat16 passes on a TPU: the JAX documentation's "Matmul precision")."""
    import jax

    setting = str(jax.config.jax_default_matmul_precision or "default").lower()
    return "highest" if setting in ("highest", "float32", "f32_f32_f32") else "default"


# --- Keras on JAX: spreading a model over the devices --------------------------------------------------------

def _keras(modules: Mapping[str, Any]) -> Any:
    """The Keras module passed in (a fake in tests), else the real one."""
    keras = modules.get("keras")
    if keras is None:
        import keras
    return keras


def distribution(view: Framework, modules: Mapping[str, Any]) -> Any:
    """``keras.distribution.DataParallel`` over all devices (pass it to ``keras.distribution.set_distribution``)."""
    keras = _keras(modules)
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices())


def replicas(distribution_: Any, view: Framework, modules: Mapping[str, Any]) -> int:
    """How many devices share each batch: the distribution's mesh, else every device Keras sees."""
    if distribution_ is not None:
        return int(distribution_.device_mesh.devices.size)
    return len(_keras(modules).distribution.list_devices())


def build_in(distribution_: Any, view: Framework, modules: Mapping[str, Any],
             builder: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``builder(*args, **kwargs)`` under Keras's global distribution, which ``fit`` must run under too.
    Without one given, DataParallel over the devices where there are several; on one device it just builds."""
    keras = _keras(modules)
    if distribution_ is None and len(keras.distribution.list_devices()) >= 2:
        distribution_ = distribution(view, modules)
    if distribution_ is not None:
        keras.distribution.set_distribution(distribution_)
    return builder(*args, **kwargs)
