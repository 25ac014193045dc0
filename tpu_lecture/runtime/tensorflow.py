"""The TensorFlow adapter: CPU, GPU and Cloud TPU VMs with a TensorFlow image. TensorFlow is imported inside
the functions that need it (importing it takes seconds and fixes Keras' backend).

It lists TensorFlow's devices, waits with ``sync_devices``, places tensors with ``tf.device``, spreads a Keras
model with a ``tf.distribute`` strategy, builds the ``tf.data`` pipelines of the lecture and counts FLOPs
with TensorFlow's profiler.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tpu_lecture.checks import whole_number
from tpu_lecture.runtime import machine
from tpu_lecture.runtime.machine import Device, Framework
from tpu_lecture.runtime.quiet import quiet_stderr

NAME = "tensorflow"
TITLE = "TensorFlow"
MODULES = ("tensorflow", "tf_keras")  # a value whose type comes from these modules is TensorFlow's
HOST_ONLY = False
REPORTED = True
DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tf-nightly")  # pip names it comes as


# --- which devices TensorFlow sees -------------------------------------------------------------------------------

def probe(ask: bool | None = None) -> Framework:
    """TensorFlow's devices. Importing TensorFlow takes about 5 s, so where no accelerator is plugged in
    and it is not imported yet, it is not asked (``ask=True`` asks anyway)."""
    if not machine.installed("tensorflow"):
        return Framework(NAME, None)
    if not machine.should_import("tensorflow", ask):
        return machine.cpu_only(NAME, "/device:CPU:0", DISTRIBUTIONS)
    try:
        tf = module()
    except Exception as error:  # a broken install is reported, not raised
        return Framework(NAME, "unknown", error=f"import failed: {error}")
    devices = []
    try:
        for physical in tf.config.list_physical_devices():
            kind = physical.device_type.lower()
            if kind in machine.PLATFORMS:
                devices.append(_device(tf, physical, kind))
    except Exception as error:
        return Framework(NAME, tf.__version__, tuple(devices), error=f"listing devices failed: {error}")
    return Framework(NAME, tf.__version__, tuple(devices))


def module() -> Any:
    """TensorFlow, imported (and its devices listed once) with its C++ start-up log lines kept out of the
    output (``quiet.quiet_stderr``); Python warnings and errors still show."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices()  # the first listing logs too ("failed call to cuInit")
    return tf


def matmul_precision() -> str:
    """'default' where TensorFlow may multiply float32 matrices in TF32 (its default), else 'highest'."""
    tf = module()
    return "default" if tf.config.experimental.tensor_float_32_execution_enabled() else "highest"


def _device(tf: Any, physical: Any, kind: str) -> Device:
    """A physical device as a ``Device``: GPUs named by their details, a TPU by the TPU VM's environment."""
    if kind == "gpu":
        name = tf.config.experimental.get_device_details(physical).get("device_name", "GPU")
    elif kind == "tpu":
        name = machine.tpu_name(os.environ)
    else:
        name = machine.host_cpu_name()
    label = physical.name.replace("/physical_device:", "/device:")
    return Device(NAME, kind, name, label, handle=label)


_CHILD_PROBE = """
import json
from tpu_lecture.runtime.tensorflow import probe
f = probe(ask=True)
print(json.dumps({"version": f.version, "error": f.error,
                  "devices": [[d.platform, d.name, d.id] for d in f.devices]}))
"""


def probe_elsewhere(timeout: float = 300.0) -> Framework:
    """TensorFlow's devices, asked in a child process: importing TensorFlow imports Keras, which fixes
    Keras' backend, so choosing the backend must not import it here."""
    if not machine.installed("tensorflow"):
        return Framework(NAME, None)
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-c", _CHILD_PROBE], capture_output=True, text=True,
                              timeout=timeout, check=False)
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        return Framework(NAME, machine.package_version("tensorflow") or "unknown",
                         error=f"asking TensorFlow in a child process failed: {error}")
    devices = tuple(Device(NAME, kind, name, label, handle=label) for kind, name, label in found["devices"])
    return Framework(NAME, found["version"], devices, error=found["error"])


# --- running benchmark #1: sync, device of a result, placement, kernels -------------------------------------------

def sync(out: Any) -> None:
    """Wait until every device has finished TensorFlow's queued work."""
    tf = module()

    tf.test.experimental.sync_devices()


def device_of(out: Any, known: Sequence[Device]) -> Device | None:
    """The device a tensor lives on, as TensorFlow's probe named it where it did."""
    where = getattr(out, "device", None)
    if not isinstance(where, str) or "/device:" not in where:  # not a tensor (NumPy arrays say "cpu")
        return None
    label = "/device:" + where.rsplit("/device:", 1)[-1]
    for d in known:
        if d.id == label:
            return d
    kind = label.split(":")[1].lower()
    return Device(NAME, kind, machine.host_cpu_name() if kind == "cpu" else kind.upper(), label)


@functools.lru_cache(maxsize=1)
def _grow_gpu_memory() -> None:
    """Let TensorFlow take GPU memory as it needs it instead of all of it at once, so JAX can run after it."""
    tf = module()

    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError, ValueError):  # already initialised: too late, keep going
            tf.config.experimental.set_memory_growth(gpu, True)


def place(array: Any, device: Device) -> Any:
    """A copy of a host array in ``device``'s memory."""
    tf = module()

    _grow_gpu_memory()
    with tf.device(device.handle or device.id):
        return tf.identity(tf.convert_to_tensor(array))


def _triad(x: Any, y: Any) -> Any:
    """STREAM's triad x + 3y as eager TensorFlow runs it: two operations, an intermediate array between them."""
    return x + 3 * y


def _chain(x: Any, y: Any) -> Any:
    """((3x + y)·2 + x)·5 + y as eager TensorFlow runs it: six operations, six kernels, one after the other."""
    return ((x * 3 + y) * 2 + x) * 5 + y


def kernel(operation: str, device: Device) -> Callable[..., Any]:
    """``operation`` ('add', 'matmul', 'triad' x + 3y or 'chain' ((3x + y)·2 + x)·5 + y) run eagerly on ``device``."""
    tf = module()

    _grow_gpu_memory()
    op = {"add": tf.add, "matmul": tf.matmul, "triad": _triad, "chain": _chain}[operation]
    where = device.handle or device.id

    def on_device(x: Any, y: Any) -> Any:
        with tf.device(where):
            return op(x, y)

    return on_device


# --- Keras on TensorFlow: the tf.distribute strategy -------------------------------------------------------------

_tpu_strategies: dict[int, Any] = {}


def strategy(view: Framework, tf: Any = None) -> Any:
    """The tf.distribute strategy for what TensorFlow sees: TPUStrategy on a TPU, MirroredStrategy on several
    GPUs, the default strategy otherwise. The TPU system is initialised once per process."""
    if not view.installed:
        raise RuntimeError("TensorFlow is not installed in this runtime: on a JAX runtime (a Colab TPU) "
                           "use distribution(), which gives keras.distribution.DataParallel")
    if tf is None:
        tf = module()
    if view.sees("tpu"):
        if id(tf) not in _tpu_strategies:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            _tpu_strategies[id(tf)] = tf.distribute.TPUStrategy(resolver)
        return _tpu_strategies[id(tf)]
    if view.count("gpu") > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def distribution(view: Framework, modules: Mapping[str, Any]) -> Any:
    """The ``strategy()``: build and compile the model inside ``strategy.scope()``."""
    return strategy(view, modules.get("tensorflow"))


def replicas(distribution_: Any, view: Framework, modules: Mapping[str, Any]) -> int:
    """How many replicas share each batch under the strategy (this runtime's, where none is given)."""
    return int((distribution_ or distribution(view, modules)).num_replicas_in_sync)


def build_in(distribution_: Any, view: Framework, modules: Mapping[str, Any],
             builder: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``builder(*args, **kwargs)`` inside the strategy's scope, so variables are mirrored on every replica."""
    if distribution_ is None:
        distribution_ = distribution(view, modules)
    if not hasattr(distribution_, "scope"):
        raise TypeError(
            f"distribution {type(distribution_).__name__} has no scope(): pass a tf.distribute strategy "
            "(TensorFlow backend) or a keras.distribution.Distribution (JAX backend)"
        )
    with distribution_.scope():
        return builder(*args, **kwargs)


# --- the lecture's tf.data pipelines and TensorFlow's FLOP profiler -----------------------------------------------

def batches(x: Any, y: Any, batch_size: int, shuffle: bool, seed: int, repeat: bool) -> Any:
    """A ``tf.data.Dataset`` of (x, y) batches of one static shape (``drop_remainder=True``), prefetched."""
    tf = module()

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def profiler_flops(keras_model: Any, batch_size: int = 1) -> dict[str, int]:
    """FLOPs of one forward pass of a batch, as TensorFlow's own profiler counts them, by op type.

    Traces ``model(x, training=False)`` into a concrete-function graph with a fixed batch size and
    runs ``tf.compat.v1.profiler.profile`` on it (no session). The profiler counts a MatMul as
    2·m·k·n FLOPs, a Conv2D as 2·MACs, and a BiasAdd as one FLOP per output element. Needs the
    TensorFlow backend of Keras.
    """
    tf = module()  # before Keras, which would import TensorFlow with its log lines
    import keras

    batch_size = whole_number("batch_size", batch_size)
    if keras.backend.backend() != NAME:
        raise RuntimeError(
            f"tf_profiler_flops needs the TensorFlow backend, this is {keras.backend.backend()!r}: "
            "set KERAS_BACKEND=tensorflow before importing keras"
        )
    inputs = getattr(keras_model, "inputs", None)
    if not inputs:
        raise ValueError("the model has no defined inputs: build it with keras.Input(shape) first")
    specs = [tf.TensorSpec([batch_size, *t.shape[1:]], t.dtype) for t in inputs]
    forward = tf.function(lambda *xs: keras_model(list(xs) if len(xs) > 1 else xs[0], training=False))
    graph = forward.get_concrete_function(*specs).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    report = tf.compat.v1.profiler.profile(graph=graph, cmd="op", options=options)
    flops: dict[str, int] = {}
    stack = list(report.children)
    while stack:
        node = stack.pop()
        if node.float_ops:
            flops[node.name] = flops.get(node.name, 0) + int(node.float_ops)
        stack.extend(node.children)
    return flops
