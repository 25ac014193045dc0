"""Runtime detection, the Keras backend choice and the distribution strategy, for every combination of
runtime and visible devices, through injected fake probes and fake framework modules; and each framework
adapter (NumPy, JAX, TensorFlow) on this machine's CPU and, for GPUs and TPUs, through fake modules."""

import importlib.machinery
import json
import os
import subprocess
import sys
import types
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from tpu_lecture import runtime
from tpu_lecture.runtime import jax as jax_adapter
from tpu_lecture.runtime import machine
from tpu_lecture.runtime import numpy as numpy_adapter
from tpu_lecture.runtime import runtime as core
from tpu_lecture.runtime import tensorflow as tf_adapter
from tpu_lecture.runtime.machine import Device, Framework


def fw(name, *found, version="9.9"):
    """A framework view that sees the given (platform, name) runtime."""
    counts: dict[str, int] = {}
    listed = []
    for platform, label in found:
        index = counts.get(platform, 0)
        counts[platform] = index + 1
        listed.append(Device(name, platform, label, f"{platform}:{index}"))
    return Framework(name, version, tuple(listed))


def absent(name):
    return Framework(name, None)


def probes(tensorflow, jax):
    return {"tensorflow": lambda: tensorflow, "jax": lambda: jax}


def no_hardware(pattern):
    return []


def fake_paths(*present):
    return lambda pattern: [pattern] if pattern in present else []


def exploding_probe():
    raise AssertionError("this probe must not be called")


# --- the runtime report ------------------------------------------------------------------------------------

def test_tpu_seen_only_by_jax_on_colab():
    rt = runtime.detect(
        probes=probes(fw("tensorflow", ("cpu", "Intel Xeon")), fw("jax", ("tpu", "TPU v5 lite"), ("cpu", "x"))),
        environ={"COLAB_RELEASE_TAG": "release-colab-2026"}, modules={})
    assert (rt.environment, rt.accelerator, rt.accelerator_name, rt.accelerator_count) == (
        "colab", "tpu", "TPU v5 lite", 1)
    assert rt.seen_by == ("jax",)
    assert rt.chip.name == "TPU v5e"
    text = str(rt)
    assert "TPU x1: TPU v5 lite (seen by JAX)" in text
    assert "TPU v5e: 197 TFLOP/s" in text
    assert len(text.splitlines()) >= 6
    line = rt.summary_line()
    assert line.startswith("colab · TPU v5 lite x1 (seen by JAX) · TensorFlow 9.9 · JAX 9.9") and "\n" not in line
    assert "Runtime(colab" in repr(rt)


H100 = "NVIDIA H100 80GB HBM3"


def test_gpus_seen_by_both_frameworks():
    rt = runtime.detect(
        probes=probes(fw("tensorflow", ("cpu", "c"), ("gpu", H100), ("gpu", H100)),
                      fw("jax", ("gpu", H100), ("gpu", H100), ("cpu", "c"))),
        environ={"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, modules={})
    assert (rt.environment, rt.accelerator, rt.accelerator_count) == ("kaggle", "gpu", 2)
    assert set(rt.seen_by) == {"tensorflow", "jax"}
    assert rt.chip.name == "H100"
    assert "GPU x2" in str(rt)
    assert rt.summary_line().startswith("kaggle · GPU NVIDIA H100 80GB HBM3 x2 (seen by TensorFlow, JAX)")


def test_tensorflow_names_a_tpu_only_generically_so_jax_name_wins():
    rt = runtime.detect(probes=probes(fw("tensorflow", ("tpu", "TPU")), fw("jax", ("tpu", "TPU v4"))),
                         environ={}, modules={})
    assert rt.accelerator_name == "TPU v4"


def test_missing_frameworks_never_crash_the_report():
    rt = runtime.detect(probes=probes(absent("tensorflow"), absent("jax")), environ={}, modules={})
    assert rt.accelerator == "cpu" and rt.seen_by == ()
    text = str(rt)
    assert text.count("not installed") == 2
    assert "CPU only (seen by no framework)" in text
    assert rt.framework("jax").installed is False
    assert rt.framework("torch").installed is False


def test_a_probe_that_raises_is_reported_not_raised():
    def broken():
        raise RuntimeError("libtpu lock held by another process")

    rt = runtime.detect(probes={"tensorflow": lambda: fw("tensorflow", ("cpu", "c")), "jax": broken},
                         environ={}, modules={})
    assert "libtpu lock held" in rt.framework("jax").error
    assert "probe failed" in str(rt)


def test_probes_report_a_framework_that_is_not_installed(monkeypatch):
    monkeypatch.setattr(machine, "installed", lambda module: False)
    assert tf_adapter.probe() == Framework("tensorflow", None)
    assert jax_adapter.probe() == Framework("jax", None)
    assert tf_adapter.probe_elsewhere() == Framework("tensorflow", None)


def test_real_jax_probe_sees_this_cpu():
    view = jax_adapter.probe(ask=True)
    assert view.installed and view.sees("cpu") and view.note is None
    assert view.devices[0].id == "cpu:0" and view.devices[0].handle is not None


def test_real_tensorflow_probe_sees_this_cpu():
    view = tf_adapter.probe(ask=True)
    assert view.installed and view.note is None and view.error is None
    assert "/device:CPU:0" in [d.id for d in view.devices]
    # what the cheap view claims without importing is what TensorFlow says
    assert tf_adapter.probe(ask=False).devices[0].id in [d.id for d in view.devices]


def test_without_accelerator_hardware_the_frameworks_are_not_imported():
    view = tf_adapter.probe(ask=False)
    assert view.installed and [d.id for d in view.devices] == ["/device:CPU:0"]
    assert "not imported" in view.note and "not imported" in view.describe()
    code = ("import sys; from tpu_lecture import runtime; line = runtime.summary_line(); "
            "print(runtime.hardware_hint(), 'tensorflow' in sys.modules, 'jax' in sys.modules); print(line)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    hint, tf_imported, jax_imported = out.splitlines()[0].split()
    if hint == "cpu":  # this machine has no accelerator: the report costs no framework import
        assert (tf_imported, jax_imported) == ("False", "False")
        assert "TensorFlow" in out.splitlines()[1] and "JAX" in out.splitlines()[1]


def test_real_runtime_report_of_this_machine():
    rt = runtime.detect()
    assert rt.accelerator in ("cpu", "gpu", "tpu")
    assert rt.framework("tensorflow").installed and rt.framework("jax").installed
    text = str(rt)
    for label in ("where:", "accelerator:", "TensorFlow:", "JAX:", "keras:", "host:"):
        assert label in text
    assert runtime.summary_line() == rt.summary_line()
    assert runtime.describe() == text


def test_framework_probes_one_framework_once(monkeypatch):
    calls = []
    monkeypatch.setattr(core, "_probed", {})
    monkeypatch.setattr(jax_adapter, "probe", lambda: calls.append(1) or fw("jax", ("cpu", "c")))
    monkeypatch.setattr(tf_adapter, "probe", exploding_probe)
    assert runtime.framework("jax").sees("cpu")
    assert runtime.framework("jax").sees("cpu")
    assert calls == [1]
    runtime.framework("jax", refresh=True)
    assert calls == [1, 1]
    with pytest.raises(ValueError, match="unknown framework 'torch'"):
        runtime.framework("torch")


def test_runtime_probes_are_cached_until_refresh(monkeypatch):
    calls = []
    monkeypatch.setattr(core, "_probed", {})
    monkeypatch.setitem(core.PROBES, "tensorflow", lambda: calls.append("tf") or absent("tensorflow"))
    monkeypatch.setitem(core.PROBES, "jax", lambda: calls.append("jax") or absent("jax"))
    runtime.detect(environ={}, modules={})
    runtime.detect(environ={}, modules={})
    assert calls == ["tf", "jax"]
    runtime.detect(environ={}, modules={}, refresh=True)
    assert calls == ["tf", "jax", "tf", "jax"]


# --- cheap facts -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("environ", "modules", "expected"), [
    ({"COLAB_RELEASE_TAG": "release-colab_20261120"}, {}, "colab"),
    ({"COLAB_GPU": "1"}, {}, "colab"),
    ({}, {"google.colab": object()}, "colab"),
    ({"KAGGLE_KERNEL_RUN_TYPE": "Batch"}, {}, "kaggle"),
    ({}, {}, "local"),
])
def test_environment(environ, modules, expected):
    assert runtime.environment(environ, modules) == expected


@pytest.mark.parametrize(("paths", "environ", "installed", "expected"), [
    (fake_paths("/dev/accel*"), {}, False, "tpu"),
    (no_hardware, {"TPU_ACCELERATOR_TYPE": "v5litepod-1"}, False, "tpu"),
    (fake_paths("/dev/vfio/[0-9]*"), {}, True, "tpu"),
    (fake_paths("/dev/vfio/[0-9]*"), {}, False, "cpu"),  # VFIO without libtpu is not a TPU
    (fake_paths("/dev/nvidia[0-9]*"), {}, False, "gpu"),
    (fake_paths("/proc/driver/nvidia/gpus/*"), {}, False, "gpu"),
    (no_hardware, {}, True, "cpu"),
    (no_hardware, {"TPU_SKIP_MDS_QUERY": "1", "TPU_ML_PLATFORM": "JAX"}, False, "cpu"),  # set by importing JAX
])
def test_hardware_hint(paths, environ, installed, expected):
    assert runtime.hardware_hint(environ, paths, lambda module: installed) == expected


def test_keras_backend_sources(tmp_path):
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "jax"))
    assert runtime.keras_backend({"KERAS_BACKEND": "torch"}, {"keras": keras}) == ("jax", "Keras already imported")
    assert runtime.keras_backend({"KERAS_BACKEND": "jax"}, {}) == ("jax", "KERAS_BACKEND")
    config = tmp_path / "keras.json"
    config.write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert runtime.keras_backend({}, {}, config) == ("jax", str(config))
    assert runtime.keras_backend({"KERAS_HOME": str(tmp_path)}, {}) == ("jax", str(config))
    config.write_text("{not json")
    assert runtime.keras_backend({}, {}, config) == ("tensorflow", "Keras' default")
    assert runtime.keras_backend({}, {}, tmp_path / "missing.json") == ("tensorflow", "Keras' default")


@pytest.mark.parametrize("bad", ["torch", "tensorflw", "JAX", "numpy"])
def test_an_unsupported_keras_backend_is_warned_about_where_it_is_read(bad):
    # Before the fix the value went through silently and failed later, as a traceback from Keras's import.
    with pytest.warns(runtime.BackendWarning, match=f"KERAS_BACKEND='{bad}' is not a Keras backend this lecture "
                                                    "runs on: set it to 'tensorflow' or 'jax'"):
        assert runtime.keras_backend({"KERAS_BACKEND": bad}, {}) == (bad, "KERAS_BACKEND")
    environ = {"KERAS_BACKEND": bad}
    with pytest.warns(runtime.BackendWarning, match=f"KERAS_BACKEND='{bad}'"):
        chosen = runtime.use_best_backend(environ, modules={}, paths=lambda pattern: [],
                                          installed=lambda name: True)
    assert chosen == "tensorflow" and environ == {"KERAS_BACKEND": "tensorflow"}  # replaced before Keras reads it


def test_accelerator_kind_is_free_without_accelerator_hardware():
    assert runtime.accelerator_kind(environ={}, paths=no_hardware,
                                    probes={"tensorflow": exploding_probe, "jax": exploding_probe}) == "cpu"


def test_accelerator_kind_asks_the_frameworks_where_hardware_is_plugged_in():
    kind = runtime.accelerator_kind(environ={}, paths=fake_paths("/dev/nvidia[0-9]*"),
                                    probes=probes(fw("tensorflow", ("gpu", "Tesla T4")), absent("jax")))
    assert kind == "gpu"
    # a GPU is plugged in but no framework can use it (a CPU-only wheel): size for the CPU
    kind = runtime.accelerator_kind(environ={}, paths=fake_paths("/dev/nvidia[0-9]*"),
                                    probes=probes(fw("tensorflow", ("cpu", "c")), fw("jax", ("cpu", "c"))))
    assert kind == "cpu"


# --- choosing the Keras backend ----------------------------------------------------------------------------

@pytest.mark.parametrize(("tensorflow", "jax", "expected"), [
    (fw("tensorflow", ("cpu", "c")), fw("jax", ("tpu", "TPU v5 lite")), "jax"),  # Colab TPU VM, TF present
    (absent("tensorflow"), fw("jax", ("tpu", "TPU v5 lite")), "jax"),  # Colab TPU VM as shipped
    (fw("tensorflow", ("tpu", "TPU")), fw("jax", ("tpu", "TPU v4")), "tensorflow"),  # Cloud TPU VM, TF image
    (fw("tensorflow", ("gpu", "NVIDIA H100")), fw("jax", ("gpu", "NVIDIA H100")), "tensorflow"),
    (fw("tensorflow", ("gpu", "NVIDIA H100")), absent("jax"), "tensorflow"),
    (fw("tensorflow", ("cpu", "c")), fw("jax", ("cpu", "c")), "tensorflow"),
    (absent("tensorflow"), fw("jax", ("cpu", "c")), "jax"),  # only JAX installed
    (absent("tensorflow"), absent("jax"), "tensorflow"),
])
def test_best_backend_for_each_combination(tensorflow, jax, expected):
    assert runtime.best_backend(tensorflow, jax) == expected


def both_installed(module):
    return module in ("tensorflow", "jax")


def test_users_keras_backend_wins():
    environ = {"KERAS_BACKEND": "jax"}
    chosen = runtime.use_best_backend(environ, modules={}, probes={"tensorflow": exploding_probe,
                                                                  "jax": exploding_probe})
    assert chosen == "jax" and environ == {"KERAS_BACKEND": "jax"}


def test_no_tpu_means_tensorflow_without_asking_any_framework():
    environ: dict[str, str] = {}
    chosen = runtime.use_best_backend(environ, modules={}, probes={"tensorflow": exploding_probe,
                                                                  "jax": exploding_probe},
                                      paths=fake_paths("/dev/nvidia[0-9]*"), installed=both_installed)
    assert chosen == "tensorflow" and environ["KERAS_BACKEND"] == "tensorflow"


def test_tpu_seen_only_by_jax_sets_jax():
    environ: dict[str, str] = {}
    chosen = runtime.use_best_backend(
        environ, modules={}, probes=probes(fw("tensorflow", ("cpu", "c")), fw("jax", ("tpu", "TPU v5 lite"))),
        paths=fake_paths("/dev/accel*"), installed=both_installed)
    assert chosen == "jax" and environ["KERAS_BACKEND"] == "jax"


def test_tpu_seen_by_tensorflow_keeps_tensorflow_and_leaves_jax_unasked():
    environ: dict[str, str] = {}
    chosen = runtime.use_best_backend(
        environ, modules={}, probes={"tensorflow": lambda: fw("tensorflow", ("tpu", "TPU")), "jax": exploding_probe},
        paths=fake_paths("/dev/accel*"), installed=both_installed)
    assert chosen == "tensorflow"


def test_only_jax_installed_sets_jax():
    environ: dict[str, str] = {}
    chosen = runtime.use_best_backend(environ, modules={}, paths=no_hardware,
                                      installed=lambda module: module == "jax")
    assert chosen == "jax"


def test_keras_already_imported_with_another_backend_warns_what_to_do():
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "tensorflow"))
    environ: dict[str, str] = {}
    with pytest.warns(runtime.BackendWarning, match="already imported.*'tensorflow'.*needs 'jax'.*Restart"):
        chosen = runtime.use_best_backend(
            environ, modules={"keras": keras},
            probes=probes(absent("tensorflow"), fw("jax", ("tpu", "TPU v5 lite"))),
            paths=fake_paths("/dev/accel*"), installed=lambda module: module == "jax")
    assert chosen == "tensorflow"  # what is really in use
    assert "KERAS_BACKEND" not in environ


def test_keras_already_imported_with_the_right_backend_is_quiet():
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "tensorflow"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert runtime.use_best_backend({}, modules={"keras": keras}, paths=no_hardware,
                                        installed=both_installed) == "tensorflow"


def test_use_best_backend_imports_neither_keras_nor_tensorflow():
    code = ("import sys; from tpu_lecture import runtime; b = runtime.use_best_backend(); "
            "print(b, 'keras' in sys.modules, 'tensorflow' in sys.modules)")  # no TPU here: nothing probed
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["tensorflow", "False", "False"]


# --- distribution strategies -------------------------------------------------------------------------------

def fake_tf():
    calls: list = []

    class Resolver:
        def __init__(self, tpu):
            calls.append(("resolver", tpu))

    distribute = SimpleNamespace(
        cluster_resolver=SimpleNamespace(TPUClusterResolver=Resolver),
        TPUStrategy=lambda resolver: calls.append(("TPUStrategy", type(resolver).__name__)) or "tpu-strategy",
        MirroredStrategy=lambda: "mirrored-strategy",
        get_strategy=lambda: "default-strategy",
    )
    tf = SimpleNamespace(
        distribute=distribute,
        config=SimpleNamespace(experimental_connect_to_cluster=lambda r: calls.append("connect")),
        tpu=SimpleNamespace(experimental=SimpleNamespace(initialize_tpu_system=lambda r: calls.append("init"))),
    )
    return tf, calls


def rt_with(tensorflow, jax=None):
    return runtime.detect(probes=probes(tensorflow, jax or absent("jax")), environ={}, modules={})


def test_tpu_strategy_on_a_tpu_tensorflow_sees_initialised_once():
    tf, calls = fake_tf()
    rt = rt_with(fw("tensorflow", ("cpu", "c"), ("tpu", "TPU")))
    assert runtime.strategy(rt, tf) == "tpu-strategy"
    assert runtime.strategy(rt, tf) == "tpu-strategy"
    assert calls == [("resolver", "local"), "connect", "init", ("TPUStrategy", "Resolver")]


@pytest.mark.parametrize(("found", "expected"), [
    ((("cpu", "c"), ("gpu", "A"), ("gpu", "A")), "mirrored-strategy"),
    ((("cpu", "c"), ("gpu", "A")), "default-strategy"),
    ((("cpu", "c"),), "default-strategy"),
])
def test_gpu_and_cpu_strategies(found, expected):
    tf, _ = fake_tf()
    assert runtime.strategy(rt_with(fw("tensorflow", *found)), tf) == expected


def test_strategy_without_tensorflow_points_to_distribution():
    tf, _ = fake_tf()
    with pytest.raises(RuntimeError, match="distribution()"):
        runtime.strategy(rt_with(absent("tensorflow"), fw("jax", ("tpu", "TPU v5 lite"))), tf)


def test_distribution_on_jax_is_data_parallel_over_all_devices():
    made = {}

    def data_parallel(devices):
        made["devices"] = devices
        return "data-parallel"

    keras = SimpleNamespace(
        backend=SimpleNamespace(backend=lambda: "jax"),
        distribution=SimpleNamespace(list_devices=lambda: ["tpu:0", "tpu:1"], DataParallel=data_parallel),
    )
    assert runtime.distribution(keras=keras) == "data-parallel"
    assert made["devices"] == ["tpu:0", "tpu:1"]


def test_distribution_on_tensorflow_is_the_strategy():
    tf, _ = fake_tf()
    rt = rt_with(fw("tensorflow", ("gpu", "A"), ("gpu", "A")))
    assert runtime.distribution("tensorflow", tf=tf, runtime=rt) == "mirrored-strategy"


def test_distribution_for_an_unknown_backend():
    with pytest.raises(ValueError, match="'torch'.*'tensorflow' or 'jax'"):
        runtime.distribution("torch")


def test_distribution_keyword_names_the_runtime_and_backend_errors_list_the_adapters():
    with pytest.raises(ValueError, match="no distribution for the Keras backend 'numpy'"):
        runtime.distribution("numpy")


# --- one TPU, one framework ----------------------------------------------------------------------------------

def test_jax_is_not_asked_once_tensorflow_holds_the_tpu(monkeypatch):
    monkeypatch.setattr(core, "_probed", {"tensorflow": fw("tensorflow", ("tpu", "TPU"))})
    monkeypatch.setattr(core, "hardware_hint", lambda: "tpu")
    monkeypatch.setattr(jax_adapter, "probe", exploding_probe)
    view = runtime.framework("jax")
    assert view.devices == () and view.error == "not asked: TensorFlow holds the TPU in this process"


# --- what every adapter offers -------------------------------------------------------------------------------

BASICS = ("NAME", "TITLE", "MODULES", "HOST_ONLY", "REPORTED", "probe", "sync", "device_of", "place", "kernel",
          "module", "matmul_precision")
KERAS = ("distribution", "replicas", "build_in")


@pytest.mark.parametrize("name", runtime.NAMES)
def test_every_adapter_has_the_same_names(name):
    adapter = runtime.adapter(name)
    missing = [n for n in BASICS if not hasattr(adapter, n)]
    assert (adapter.NAME, missing) == (name, [])
    keras = [n for n in KERAS if hasattr(adapter, n)]
    assert keras in ([], list(KERAS)), "a Keras backend's adapter distributes, counts replicas and builds in"


def test_the_registry_order_and_titles():
    assert runtime.NAMES == ("numpy", "tensorflow", "jax")
    assert [runtime.title(n) for n in runtime.NAMES] == ["NumPy", "TensorFlow", "JAX"]
    assert runtime.title("torch") == "torch"
    assert set(core.PROBES) == {"tensorflow", "jax"}  # the report lists the frameworks that may see an accelerator
    with pytest.raises(ValueError, match="unknown framework 'torch': use one of 'numpy', 'tensorflow', 'jax'"):
        runtime.adapter("torch")


@pytest.mark.parametrize(("value", "expected"), [
    (np.zeros(2), "numpy"), (np.float32(1), "numpy"), (3.0, "python"), (None, "python"), ([], "python"),
    ((np.zeros(1), 1), "numpy"), ({"a": np.zeros(1)}, "numpy"), (object(), None),
])
def test_framework_of_a_value(value, expected):
    assert runtime.framework_of(value) == expected


def test_framework_of_real_jax_and_tensorflow_values():
    import jax.numpy as jnp
    import tensorflow as tf

    assert runtime.framework_of(jnp.ones(2)) == "jax"
    assert runtime.framework_of(tf.ones(2)) == "tensorflow"
    assert runtime.sync_for("jax") is jax_adapter.sync and runtime.sync_for("python")(object()) is None


def test_device_of_falls_back_to_the_host_cpu():
    host = runtime.device_of(3.0, "python")
    assert (host.platform, host.name) == ("cpu", machine.host_cpu_name())
    assert runtime.device_of([np.zeros(1)], "numpy") == runtime.framework("numpy").devices[0]


# --- the NumPy adapter ----------------------------------------------------------------------------------------

def test_numpy_adapter_is_the_host():
    view = numpy_adapter.probe()
    assert view.installed and [(d.platform, d.id) for d in view.devices] == [("cpu", "cpu:0")]
    host = view.devices[0]
    a = np.ones((2, 2))
    assert numpy_adapter.place(a, host) is a and numpy_adapter.sync(a) is None
    assert numpy_adapter.device_of(a, view.devices) == host
    np.testing.assert_array_equal(numpy_adapter.kernel("matmul", host)(a, a), a @ a)
    assert numpy_adapter.HOST_ONLY and not numpy_adapter.REPORTED


# --- the JAX adapter: this CPU for real, a TPU and a GPU through a fake module --------------------------------

class FakeJaxDevice:
    def __init__(self, platform, id, kind):
        self.platform, self.id, self.device_kind = platform, id, kind


def fake_jax(monkeypatch, platform, kind, count):
    module = types.ModuleType("jax")
    module.__spec__ = importlib.machinery.ModuleSpec("jax", None)
    module.__version__ = "9.9"
    accelerators = [FakeJaxDevice(platform, i, kind) for i in range(count)]
    module.devices = lambda backend=None: [FakeJaxDevice("cpu", 0, "cpu")] if backend == "cpu" else accelerators
    monkeypatch.setitem(sys.modules, "jax", module)
    return module


@pytest.mark.parametrize(("platform", "kind", "expected"), [
    ("tpu", "TPU v5 lite", "tpu"),
    ("cuda", "NVIDIA H100 80GB HBM3", "gpu"),
])
def test_jax_probe_maps_accelerators_and_adds_the_host(monkeypatch, platform, kind, expected):
    fake_jax(monkeypatch, platform, kind, 2)
    view = jax_adapter.probe(ask=True)
    assert view.version == "9.9"
    found = [(d.platform, d.name, d.id) for d in view.devices]
    assert found == [(expected, kind, f"{expected}:0"), (expected, kind, f"{expected}:1"),
                     ("cpu", machine.host_cpu_name(), "cpu:0")]
    assert all(d.handle is not None for d in view.devices)


def test_jax_device_of_an_array_spread_over_devices_is_its_first():
    class Spread:
        def devices(self):
            return {FakeJaxDevice("tpu", 3, "TPU v4"), FakeJaxDevice("tpu", 1, "TPU v4")}

    assert jax_adapter.device_of(Spread(), ()) == Device("jax", "tpu", "TPU v4", "tpu:1")
    assert jax_adapter.device_of(np.zeros(1), ()) is None


def test_jax_adapter_places_computes_and_waits_on_this_cpu():
    cpu = jax_adapter.probe(ask=True).devices[0]
    x = jax_adapter.place(np.ones((4, 4), np.float32), cpu)
    out = jax_adapter.kernel("matmul", cpu)(x, x)
    jax_adapter.sync(out)
    assert jax_adapter.device_of(out, ()) == cpu
    np.testing.assert_allclose(np.asarray(out), 4 * np.ones((4, 4)))


def fake_keras(devices, made=None):
    def data_parallel(devices):
        return SimpleNamespace(device_mesh=SimpleNamespace(devices=np.array(devices)))

    distribution = SimpleNamespace(list_devices=lambda: list(devices), DataParallel=data_parallel,
                                   set_distribution=lambda d: made.append(d) if made is not None else None)
    return SimpleNamespace(backend=SimpleNamespace(backend=lambda: "jax"), distribution=distribution)


def test_jax_replicas_count_the_devices():
    keras = fake_keras(["tpu:0", "tpu:1", "tpu:2", "tpu:3"])
    assert runtime.replicas(keras=keras) == 4
    assert runtime.replicas(keras.distribution.DataParallel(["tpu:0", "tpu:1"]), keras=keras) == 2


@pytest.mark.parametrize(("devices", "distributed"), [(["cpu:0"], False), (["tpu:0", "tpu:1"], True)])
def test_jax_builds_under_data_parallel_only_on_several_devices(devices, distributed):
    made = []
    built = jax_adapter.build_in(None, Framework("jax", "9.9"), {"keras": fake_keras(devices, made)},
                                 lambda x, y=0: x + y, (1,), {"y": 2})
    assert built == 3 and bool(made) == distributed
    given = SimpleNamespace(device_mesh=None)
    jax_adapter.build_in(given, Framework("jax", "9.9"), {"keras": fake_keras(["cpu:0"], made)}, dict, (), {})
    assert made[-1] is given


# --- the TensorFlow adapter: this CPU for real, GPUs and a TPU through a fake module ------------------------------

def fake_tensorflow_module(monkeypatch, *physical):
    module = types.ModuleType("tensorflow")
    module.__spec__ = importlib.machinery.ModuleSpec("tensorflow", None)
    module.__version__ = "9.9"
    listed = [SimpleNamespace(name=f"/physical_device:{kind}:{i}", device_type=kind) for kind, i in physical]
    module.config = SimpleNamespace(
        list_physical_devices=lambda kind=None: [p for p in listed if kind in (None, p.device_type)],
        experimental=SimpleNamespace(get_device_details=lambda p: {"device_name": "Tesla T4"}))
    monkeypatch.setitem(sys.modules, "tensorflow", module)


def test_tensorflow_probe_names_gpus_by_their_details_and_the_tpu_by_the_vm(monkeypatch):
    monkeypatch.setenv("TPU_ACCELERATOR_TYPE", "v5litepod-1")
    fake_tensorflow_module(monkeypatch, ("CPU", 0), ("GPU", 0), ("GPU", 1), ("TPU", 0), ("TPU_SYSTEM", 0))
    view = tf_adapter.probe(ask=True)
    assert [(d.platform, d.name, d.id) for d in view.devices] == [
        ("cpu", machine.host_cpu_name(), "/device:CPU:0"), ("gpu", "Tesla T4", "/device:GPU:0"),
        ("gpu", "Tesla T4", "/device:GPU:1"), ("tpu", "TPU v5litepod-1", "/device:TPU:0")]


def test_tensorflow_device_of_reads_the_tensors_device():
    known = (Device("tensorflow", "gpu", "Tesla T4", "/device:GPU:0"),)
    on_gpu = SimpleNamespace(device="/job:localhost/replica:0/task:0/device:GPU:0")
    assert tf_adapter.device_of(on_gpu, known) is known[0]
    on_tpu = SimpleNamespace(device="/job:worker/replica:0/task:0/device:TPU:1")
    assert tf_adapter.device_of(on_tpu, known) == Device("tensorflow", "tpu", "TPU", "/device:TPU:1")
    assert tf_adapter.device_of(np.zeros(1), known) is None


def test_tensorflow_adapter_places_computes_and_waits_on_this_cpu():
    cpu = next(d for d in tf_adapter.probe(ask=True).devices if d.platform == "cpu")
    x = tf_adapter.place(np.ones((4, 4), np.float32), cpu)
    out = tf_adapter.kernel("add", cpu)(x, x)
    tf_adapter.sync(out)
    assert tf_adapter.device_of(out, (cpu,)) == cpu
    np.testing.assert_array_equal(out.numpy(), 2 * np.ones((4, 4)))


def test_tensorflow_replicas_are_the_strategys():
    tf, _ = fake_tf()
    mirrored = SimpleNamespace(num_replicas_in_sync=8)
    assert runtime.replicas(mirrored, backend="tensorflow", tf=tf) == 8
    default = SimpleNamespace(num_replicas_in_sync=1)
    tf.distribute.get_strategy = lambda: default
    assert runtime.replicas(backend="tensorflow", tf=tf, runtime=rt_with(fw("tensorflow", ("cpu", "c")))) == 1


def test_tensorflow_builds_inside_the_strategy_scope():
    entered = []

    class Scope:
        def scope(self):
            entered.append(1)
            return open(os.devnull)

    view = fw("tensorflow", ("cpu", "c"))
    assert tf_adapter.build_in(Scope(), view, {}, lambda: "built", (), {}) == "built" and entered == [1]
    with pytest.raises(TypeError, match="has no scope"):
        tf_adapter.build_in(object(), view, {}, dict, (), {})


# --- quiet frameworks, matmul precision, the triad kernel ------------------------------------------------------

_TF_IMPORT = {
    "plain": "import tensorflow as tf; tf.config.list_physical_devices()",
    "adapter": "from tpu_lecture.runtime import tensorflow as t; tf = t.module(); tf.config.list_physical_devices()",
}


def _stderr_of(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def test_the_tensorflow_adapter_imports_tensorflow_without_its_start_up_lines():
    from tpu_lecture.runtime.quiet import is_framework_noise

    plain = [line for line in _stderr_of(_TF_IMPORT["plain"]).splitlines() if is_framework_noise(line)]
    assert plain, "a plain import of TensorFlow here logs start-up lines: the fault the adapter keeps out"
    quiet = _stderr_of(_TF_IMPORT["adapter"] + "; import warnings; warnings.warn('a warning that matters')")
    assert not [line for line in quiet.splitlines() if is_framework_noise(line)]
    assert "a warning that matters" in quiet


def test_quiet_stderr_passes_on_everything_but_the_noise(capfd):
    from tpu_lecture.runtime.quiet import quiet_stderr

    with quiet_stderr():
        os.write(2, b"I0000 00:00:1796171095.427190   29829 cuda_platform.cc:52] failed call to cuInit\n")
        os.write(2, b"UserWarning: CIFAR-10 is not available, using stand-in data\n")
    err = capfd.readouterr().err
    assert "cuInit" not in err and "CIFAR-10 is not available" in err


def test_import_quietly_gives_the_module_or_none(monkeypatch):
    assert core.import_quietly("numpy") is np
    monkeypatch.setattr(machine, "installed", lambda name: False)
    assert core.import_quietly("tensorflow") is None and core.import_quietly("jax") is None


def test_the_missing_backends_line_names_what_is_not_installed(monkeypatch):
    assert core.missing_backends_line("jax") is None  # this venv has both
    monkeypatch.setattr(machine, "installed", lambda module: module != "jax")
    assert core.missing_backends_line("tensorflow") == (
        "JAX is not installed here: nothing is skipped, every cell runs on Keras's tensorflow backend")
    monkeypatch.setattr(machine, "installed", lambda module: False)
    assert core.missing_backends_line("jax").startswith("TensorFlow and JAX are not installed")


def test_matmul_precision_follows_each_frameworks_setting(monkeypatch):
    import jax
    import tensorflow as tf

    assert numpy_adapter.matmul_precision() == "highest"
    assert jax_adapter.matmul_precision() == "default"
    with jax.default_matmul_precision("highest"):
        assert jax_adapter.matmul_precision() == "highest"
    assert tf_adapter.matmul_precision() == "default"  # TF32 allowed: TensorFlow's default
    monkeypatch.setattr(tf.config.experimental, "tensor_float_32_execution_enabled", lambda: False)
    assert tf_adapter.matmul_precision() == "highest"


@pytest.mark.parametrize("name", ["numpy", "jax", "tensorflow"])
def test_every_adapter_computes_the_triad(name):
    found = runtime.adapter(name)
    device = runtime.framework(name).devices[0]
    x, y = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones((2, 3), np.float32)
    got = found.kernel("triad", device)(found.place(x, device), found.place(y, device))
    assert np.array_equal(np.asarray(got), x + 3 * y)
