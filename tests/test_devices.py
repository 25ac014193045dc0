"""Runtime detection, the Keras backend choice and the distribution strategy, for every combination of
runtime and visible devices, through injected fake probes and fake framework modules."""

import json
import os
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest

from tpu_lecture.runtime import runtime as devices
from tpu_lecture.runtime.runtime import Device, Framework


def fw(name, *found, version="9.9"):
    """A framework view that sees the given (platform, name) devices."""
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
    rt = devices.runtime(
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
    rt = devices.runtime(
        probes=probes(fw("tensorflow", ("cpu", "c"), ("gpu", H100), ("gpu", H100)),
                      fw("jax", ("gpu", H100), ("gpu", H100), ("cpu", "c"))),
        environ={"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, modules={})
    assert (rt.environment, rt.accelerator, rt.accelerator_count) == ("kaggle", "gpu", 2)
    assert set(rt.seen_by) == {"tensorflow", "jax"}
    assert rt.chip.name == "H100"
    assert "GPU x2" in str(rt)
    assert rt.summary_line().startswith("kaggle · GPU NVIDIA H100 80GB HBM3 x2 (seen by TensorFlow, JAX)")


def test_tensorflow_names_a_tpu_only_generically_so_jax_name_wins():
    rt = devices.runtime(probes=probes(fw("tensorflow", ("tpu", "TPU")), fw("jax", ("tpu", "TPU v4"))),
                         environ={}, modules={})
    assert rt.accelerator_name == "TPU v4"


def test_missing_frameworks_never_crash_the_report():
    rt = devices.runtime(probes=probes(absent("tensorflow"), absent("jax")), environ={}, modules={})
    assert rt.accelerator == "cpu" and rt.seen_by == ()
    text = str(rt)
    assert text.count("not installed") == 2
    assert "CPU only (seen by no framework)" in text
    assert rt.framework("jax").installed is False
    assert rt.framework("torch").installed is False


def test_a_probe_that_raises_is_reported_not_raised():
    def broken():
        raise RuntimeError("libtpu lock held by another process")

    rt = devices.runtime(probes={"tensorflow": lambda: fw("tensorflow", ("cpu", "c")), "jax": broken},
                         environ={}, modules={})
    assert "libtpu lock held" in rt.framework("jax").error
    assert "probe failed" in str(rt)


def test_probes_report_a_framework_that_is_not_installed(monkeypatch):
    monkeypatch.setattr(devices, "_installed", lambda module: False)
    assert devices.probe_tensorflow() == Framework("tensorflow", None)
    assert devices.probe_jax() == Framework("jax", None)
    assert devices.probe_tensorflow_elsewhere() == Framework("tensorflow", None)


def test_real_jax_probe_sees_this_cpu():
    view = devices.probe_jax(ask=True)
    assert view.installed and view.sees("cpu") and view.note is None
    assert view.devices[0].id == "cpu:0" and view.devices[0].handle is not None


def test_real_tensorflow_probe_sees_this_cpu():
    view = devices.probe_tensorflow(ask=True)
    assert view.installed and view.note is None and view.error is None
    assert "/device:CPU:0" in [d.id for d in view.devices]
    # what the cheap view claims without importing is what TensorFlow says
    assert devices.probe_tensorflow(ask=False).devices[0].id in [d.id for d in view.devices]


def test_without_accelerator_hardware_the_frameworks_are_not_imported():
    view = devices.probe_tensorflow(ask=False)
    assert view.installed and [d.id for d in view.devices] == ["/device:CPU:0"]
    assert "not imported" in view.note and "not imported" in view.describe()
    code = ("import sys; from tpu_lecture.runtime import runtime as devices; line = devices.summary_line(); "
            "print(devices.hardware_hint(), 'tensorflow' in sys.modules, 'jax' in sys.modules); print(line)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    hint, tf_imported, jax_imported = out.splitlines()[0].split()
    if hint == "cpu":  # this machine has no accelerator: the report costs no framework import
        assert (tf_imported, jax_imported) == ("False", "False")
        assert "TensorFlow" in out.splitlines()[1] and "JAX" in out.splitlines()[1]


def test_real_runtime_report_of_this_machine():
    rt = devices.runtime()
    assert rt.accelerator in ("cpu", "gpu", "tpu")
    assert rt.framework("tensorflow").installed and rt.framework("jax").installed
    text = str(rt)
    for label in ("where:", "accelerator:", "TensorFlow:", "JAX:", "keras:", "host:"):
        assert label in text
    assert devices.summary_line() == rt.summary_line()
    assert devices.describe() == text


def test_view_probes_one_framework_once(monkeypatch):
    calls = []
    monkeypatch.setattr(devices, "_probed", {})
    monkeypatch.setitem(devices.PROBES, "jax", lambda: calls.append(1) or fw("jax", ("cpu", "c")))
    monkeypatch.setitem(devices.PROBES, "tensorflow", exploding_probe)
    assert devices.view("jax").sees("cpu")
    assert devices.view("jax").sees("cpu")
    assert calls == [1]
    devices.view("jax", refresh=True)
    assert calls == [1, 1]
    with pytest.raises(ValueError, match="unknown framework 'torch'"):
        devices.view("torch")


def test_runtime_probes_are_cached_until_refresh(monkeypatch):
    calls = []
    monkeypatch.setattr(devices, "_probed", {})
    monkeypatch.setitem(devices.PROBES, "tensorflow", lambda: calls.append("tf") or absent("tensorflow"))
    monkeypatch.setitem(devices.PROBES, "jax", lambda: calls.append("jax") or absent("jax"))
    devices.runtime(environ={}, modules={})
    devices.runtime(environ={}, modules={})
    assert calls == ["tf", "jax"]
    devices.runtime(environ={}, modules={}, refresh=True)
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
    assert devices.environment(environ, modules) == expected


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
    assert devices.hardware_hint(environ, paths, lambda module: installed) == expected


def test_keras_backend_sources(tmp_path):
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "jax"))
    assert devices.keras_backend({"KERAS_BACKEND": "torch"}, {"keras": keras}) == ("jax", "Keras already imported")
    assert devices.keras_backend({"KERAS_BACKEND": "torch"}, {}) == ("torch", "KERAS_BACKEND")
    config = tmp_path / "keras.json"
    config.write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    assert devices.keras_backend({}, {}, config) == ("jax", str(config))
    assert devices.keras_backend({"KERAS_HOME": str(tmp_path)}, {}) == ("jax", str(config))
    config.write_text("{not json")
    assert devices.keras_backend({}, {}, config) == ("tensorflow", "Keras' default")
    assert devices.keras_backend({}, {}, tmp_path / "missing.json") == ("tensorflow", "Keras' default")


def test_accelerator_kind_is_free_without_accelerator_hardware():
    assert devices.accelerator_kind(environ={}, paths=no_hardware,
                                    probes={"tensorflow": exploding_probe, "jax": exploding_probe}) == "cpu"


def test_accelerator_kind_asks_the_frameworks_where_hardware_is_plugged_in():
    kind = devices.accelerator_kind(environ={}, paths=fake_paths("/dev/nvidia[0-9]*"),
                                    probes=probes(fw("tensorflow", ("gpu", "Tesla T4")), absent("jax")))
    assert kind == "gpu"
    # a GPU is plugged in but no framework can use it (a CPU-only wheel): size for the CPU
    kind = devices.accelerator_kind(environ={}, paths=fake_paths("/dev/nvidia[0-9]*"),
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
    assert devices.best_backend(tensorflow, jax) == expected


def both_installed(module):
    return module in ("tensorflow", "jax")


def test_users_keras_backend_wins():
    environ = {"KERAS_BACKEND": "torch"}
    chosen = devices.use_best_backend(environ, modules={}, probes={"tensorflow": exploding_probe,
                                                                  "jax": exploding_probe})
    assert chosen == "torch" and environ == {"KERAS_BACKEND": "torch"}


def test_no_tpu_means_tensorflow_without_asking_any_framework():
    environ: dict[str, str] = {}
    chosen = devices.use_best_backend(environ, modules={}, probes={"tensorflow": exploding_probe,
                                                                  "jax": exploding_probe},
                                      paths=fake_paths("/dev/nvidia[0-9]*"), installed=both_installed)
    assert chosen == "tensorflow" and environ["KERAS_BACKEND"] == "tensorflow"


def test_tpu_seen_only_by_jax_sets_jax():
    environ: dict[str, str] = {}
    chosen = devices.use_best_backend(
        environ, modules={}, probes=probes(fw("tensorflow", ("cpu", "c")), fw("jax", ("tpu", "TPU v5 lite"))),
        paths=fake_paths("/dev/accel*"), installed=both_installed)
    assert chosen == "jax" and environ["KERAS_BACKEND"] == "jax"


def test_tpu_seen_by_tensorflow_keeps_tensorflow_and_leaves_jax_unasked():
    environ: dict[str, str] = {}
    chosen = devices.use_best_backend(
        environ, modules={}, probes={"tensorflow": lambda: fw("tensorflow", ("tpu", "TPU")), "jax": exploding_probe},
        paths=fake_paths("/dev/accel*"), installed=both_installed)
    assert chosen == "tensorflow"


def test_only_jax_installed_sets_jax():
    environ: dict[str, str] = {}
    chosen = devices.use_best_backend(environ, modules={}, paths=no_hardware,
                                      installed=lambda module: module == "jax")
    assert chosen == "jax"


def test_keras_already_imported_with_another_backend_warns_what_to_do():
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "tensorflow"))
    environ: dict[str, str] = {}
    with pytest.warns(devices.BackendWarning, match="already imported.*'tensorflow'.*needs 'jax'.*Restart"):
        chosen = devices.use_best_backend(
            environ, modules={"keras": keras},
            probes=probes(absent("tensorflow"), fw("jax", ("tpu", "TPU v5 lite"))),
            paths=fake_paths("/dev/accel*"), installed=lambda module: module == "jax")
    assert chosen == "tensorflow"  # what is really in use
    assert "KERAS_BACKEND" not in environ


def test_keras_already_imported_with_the_right_backend_is_quiet():
    keras = SimpleNamespace(backend=SimpleNamespace(backend=lambda: "tensorflow"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert devices.use_best_backend({}, modules={"keras": keras}, paths=no_hardware,
                                        installed=both_installed) == "tensorflow"


def test_use_best_backend_imports_neither_keras_nor_tensorflow():
    code = ("import sys; from tpu_lecture.runtime import runtime as devices; b = devices.use_best_backend(); "
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
    return devices.runtime(probes=probes(tensorflow, jax or absent("jax")), environ={}, modules={})


def test_tpu_strategy_on_a_tpu_tensorflow_sees_initialised_once():
    tf, calls = fake_tf()
    rt = rt_with(fw("tensorflow", ("cpu", "c"), ("tpu", "TPU")))
    assert devices.strategy(rt, tf) == "tpu-strategy"
    assert devices.strategy(rt, tf) == "tpu-strategy"
    assert calls == [("resolver", "local"), "connect", "init", ("TPUStrategy", "Resolver")]


@pytest.mark.parametrize(("found", "expected"), [
    ((("cpu", "c"), ("gpu", "A"), ("gpu", "A")), "mirrored-strategy"),
    ((("cpu", "c"), ("gpu", "A")), "default-strategy"),
    ((("cpu", "c"),), "default-strategy"),
])
def test_gpu_and_cpu_strategies(found, expected):
    tf, _ = fake_tf()
    assert devices.strategy(rt_with(fw("tensorflow", *found)), tf) == expected


def test_strategy_without_tensorflow_points_to_distribution():
    tf, _ = fake_tf()
    with pytest.raises(RuntimeError, match="distribution()"):
        devices.strategy(rt_with(absent("tensorflow"), fw("jax", ("tpu", "TPU v5 lite"))), tf)


def test_distribution_on_jax_is_data_parallel_over_all_devices():
    made = {}

    def data_parallel(devices):
        made["devices"] = devices
        return "data-parallel"

    keras = SimpleNamespace(
        backend=SimpleNamespace(backend=lambda: "jax"),
        distribution=SimpleNamespace(list_devices=lambda: ["tpu:0", "tpu:1"], DataParallel=data_parallel),
    )
    assert devices.distribution(keras=keras) == "data-parallel"
    assert made["devices"] == ["tpu:0", "tpu:1"]


def test_distribution_on_tensorflow_is_the_strategy():
    tf, _ = fake_tf()
    rt = rt_with(fw("tensorflow", ("gpu", "A"), ("gpu", "A")))
    assert devices.distribution("tensorflow", tf=tf, runtime_=rt) == "mirrored-strategy"


def test_distribution_for_an_unknown_backend():
    with pytest.raises(ValueError, match="'torch'.*'tensorflow' or 'jax'"):
        devices.distribution("torch")
