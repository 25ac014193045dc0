"""What runtime this is, which framework sees which accelerator, and the Keras backend and strategy to use.

Today's Colab TPU runtimes are TPU VMs where only JAX sees the TPU, so ``use_best_backend()`` picks Keras'
JAX backend there and TensorFlow elsewhere. Every framework probe is a plain function in ``PROBES`` (or an
argument), so tests can fake any combination of runtime, devices and missing frameworks.
"""

from __future__ import annotations

import glob as _glob
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FRAMEWORK_TITLES = {"tensorflow": "TensorFlow", "jax": "JAX"}
PLATFORMS = ("tpu", "gpu", "cpu")


@dataclass(frozen=True)
class Device:
    """One device as one framework sees it."""

    framework: str  # "tensorflow" or "jax"
    platform: str  # "tpu", "gpu" or "cpu"
    name: str  # as the runtime reports it: "TPU v5 lite", "NVIDIA H100 80GB HBM3", the host CPU's model
    id: str  # the framework's own label: "/device:GPU:0", "tpu:0"
    handle: Any = field(default=None, compare=False, repr=False)  # the framework's device object, for placement

    def __str__(self) -> str:
        return f"{self.id} ({self.name})"


@dataclass(frozen=True)
class Framework:
    """A framework's view of this machine: its version (None if not installed) and the devices it sees."""

    name: str
    version: str | None
    devices: tuple[Device, ...] = ()
    error: str | None = None  # installed, but asking it for devices failed (or was not done); says why
    note: str | None = None  # how the devices were found, where that was not by asking the framework

    @property
    def installed(self) -> bool:
        return self.version is not None

    @property
    def title(self) -> str:
        return FRAMEWORK_TITLES.get(self.name, self.name)

    def sees(self, platform_: str) -> bool:
        return self.count(platform_) > 0

    def count(self, platform_: str) -> int:
        return sum(d.platform == platform_ for d in self.devices)

    def describe(self) -> str:
        if not self.installed:
            return "not installed"
        devices = ", ".join(d.id for d in self.devices) or "no devices listed"
        remarks = "".join(f" ({text})" for text in (self.error, self.note) if text)
        return f"{self.version}: {devices}{remarks}"


# --- probes: each asks one framework, never raises ---------------------------------------------------------

def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def host_cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform module says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware")) and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _tpu_name_from_environment(environ: Mapping[str, str]) -> str:
    kind = environ.get("TPU_ACCELERATOR_TYPE", "")
    if not kind:
        return "TPU"
    return kind if kind.lower().startswith("tpu") else f"TPU {kind}"


def _cpu_only(name: str, label: str, distributions: tuple[str, ...]) -> Framework:
    """An installed framework's view on a machine with no accelerator plugged in: it can only see the CPU."""
    version = next((v for v in map(_version, distributions) if v), "unknown")
    note = "not imported: no accelerator is plugged in, so it can only see the CPU"
    return Framework(name, version, (Device(name, "cpu", host_cpu_name(), label),), note=note)


def _should_import(module: str, ask: bool | None) -> bool:
    if ask is not None:
        return ask
    return module in sys.modules or hardware_hint() != "cpu"


def probe_tensorflow(ask: bool | None = None) -> Framework:
    """TensorFlow's devices. Importing TensorFlow takes about 5 s, so where no accelerator is plugged in
    and it is not imported yet, it is not asked (``ask=True`` asks anyway)."""
    if not _installed("tensorflow"):
        return Framework("tensorflow", None)
    if not _should_import("tensorflow", ask):
        return _cpu_only("tensorflow", "/device:CPU:0", ("tensorflow", "tensorflow-cpu", "tensorflow-intel",
                                                         "tf-nightly"))
    try:
        import tensorflow as tf
    except Exception as error:  # a broken install is reported, not raised
        return Framework("tensorflow", "unknown", error=f"import failed: {error}")
    devices = []
    try:
        for physical in tf.config.list_physical_devices():
            kind = physical.device_type.lower()
            if kind not in PLATFORMS:
                continue
            if kind == "gpu":
                details = tf.config.experimental.get_device_details(physical)
                name = details.get("device_name", "GPU")
            elif kind == "tpu":
                name = _tpu_name_from_environment(os.environ)
            else:
                name = host_cpu_name()
            label = physical.name.replace("/physical_device:", "/device:")
            devices.append(Device("tensorflow", kind, name, label, handle=label))
    except Exception as error:
        return Framework("tensorflow", tf.__version__, tuple(devices), error=f"listing devices failed: {error}")
    return Framework("tensorflow", tf.__version__, tuple(devices))


def probe_jax(ask: bool | None = None) -> Framework:
    """JAX's devices: its default backend's (TPU or GPU if there is one) and the host CPU. Like TensorFlow,
    it is not imported where no accelerator is plugged in unless ``ask=True``."""
    if not _installed("jax"):
        return Framework("jax", None)
    if not _should_import("jax", ask):
        return _cpu_only("jax", "cpu:0", ("jax",))
    if "jax" not in sys.modules:
        # Without this JAX takes 75% of a GPU's memory when first asked, starving TensorFlow in the same process.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
    except Exception as error:
        return Framework("jax", "unknown", error=f"import failed: {error}")
    try:
        found = list(jax.devices())
        if found and found[0].platform != "cpu":
            found += list(jax.devices("cpu"))
    except Exception as error:
        return Framework("jax", jax.__version__, error=f"listing devices failed: {error}")
    devices = []
    for d in found:
        kind = "gpu" if d.platform in ("gpu", "cuda", "rocm") else d.platform
        name = host_cpu_name() if kind == "cpu" else d.device_kind
        devices.append(Device("jax", kind, name, f"{kind}:{d.id}", handle=d))
    return Framework("jax", jax.__version__, tuple(devices))


_CHILD_PROBE = """
import json
from tpu_lecture.runtime.runtime import probe_tensorflow
f = probe_tensorflow(ask=True)
print(json.dumps({"version": f.version, "error": f.error,
                  "devices": [[d.platform, d.name, d.id] for d in f.devices]}))
"""


def probe_tensorflow_elsewhere(timeout: float = 300.0) -> Framework:
    """TensorFlow's devices, asked in a child process: importing TensorFlow imports Keras, which fixes
    Keras' backend, so ``use_best_backend()`` must not import it here."""
    if not _installed("tensorflow"):
        return Framework("tensorflow", None)
    import subprocess

    try:
        done = subprocess.run([sys.executable, "-c", _CHILD_PROBE], capture_output=True, text=True,
                              timeout=timeout, check=False)
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        return Framework("tensorflow", _version("tensorflow") or "unknown",
                         error=f"asking TensorFlow in a child process failed: {error}")
    devices = tuple(Device("tensorflow", kind, name, label, handle=label) for kind, name, label in found["devices"])
    return Framework("tensorflow", found["version"], devices, error=found["error"])


PROBES: dict[str, Callable[[], Framework]] = {"tensorflow": probe_tensorflow, "jax": probe_jax}


# --- cheap facts: where we run, what hardware is plugged in, the Keras backend ------------------------------

def environment(environ: Mapping[str, str] | None = None, modules: Mapping[str, Any] | None = None) -> str:
    """'colab', 'kaggle' or 'local'."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "google.colab" in modules or environ.get("COLAB_RELEASE_TAG") or "COLAB_GPU" in environ:
        return "colab"
    if environ.get("KAGGLE_KERNEL_RUN_TYPE") or environ.get("KAGGLE_URL_BASE"):
        return "kaggle"
    return "local"


def hardware_hint(
    environ: Mapping[str, str] | None = None,
    paths: Callable[[str], list[str]] = _glob.glob,
    installed: Callable[[str], bool] = _installed,
) -> str:
    """'tpu', 'gpu' or 'cpu' from device files and environment alone: cheap, imports no framework.

    It says what hardware is plugged in, not what a framework can use; 'cpu' is certain (no framework
    can see an accelerator that is not there), the others are confirmed by ``runtime()``.
    """
    environ = os.environ if environ is None else environ
    tpu_variables = ("TPU_ACCELERATOR_TYPE", "TPU_NAME", "TPU_WORKER_ID")  # not TPU_SKIP_MDS_QUERY: JAX sets it
    if paths("/dev/accel*") or any(environ.get(v) for v in tpu_variables):
        return "tpu"
    if paths("/dev/vfio/[0-9]*") and installed("libtpu"):
        return "tpu"
    if paths("/dev/nvidia[0-9]*") or paths("/proc/driver/nvidia/gpus/*") or paths("/dev/kfd") or paths("/dev/dxg"):
        return "gpu"  # NVIDIA, AMD ROCm, or a GPU passed through to WSL2
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return "gpu"  # Apple silicon: a Metal plug-in may show its GPU
    return "cpu"


def keras_backend(
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, Any] | None = None,
    config_path: str | Path | None = None,
) -> tuple[str, str]:
    """The Keras backend in force (or that an import would pick) and why, without importing Keras."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    keras = modules.get("keras")
    if keras is not None:
        try:
            return keras.backend.backend(), "Keras already imported"
        except Exception:
            pass
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"], "KERAS_BACKEND"
    if config_path is None:
        home = environ.get("KERAS_HOME") or str(Path.home() / ".keras")
        config_path = Path(home) / "keras.json"
    try:
        backend = json.loads(Path(config_path).read_text()).get("backend")
        if isinstance(backend, str) and backend:
            return backend, str(config_path)
    except (OSError, ValueError, AttributeError):
        pass
    return "tensorflow", "Keras' default"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --- the runtime report ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Runtime:
    """Where the code runs, the accelerator, which framework sees it, and the Keras backend."""

    environment: str  # "colab", "kaggle" or "local"
    accelerator: str  # "tpu", "gpu" or "cpu"
    accelerator_name: str
    accelerator_count: int
    frameworks: tuple[Framework, ...]
    keras_backend: str
    keras_backend_reason: str
    keras_version: str | None
    host: str  # machine, cores and CPU model
    python: str
    cores: int = 1

    def framework(self, name: str) -> Framework:
        for f in self.frameworks:
            if f.name == name:
                return f
        return Framework(name, None)

    @property
    def seen_by(self) -> tuple[str, ...]:
        """The frameworks that see the accelerator (for a CPU: every installed framework)."""
        return tuple(f.name for f in self.frameworks if f.sees(self.accelerator))

    @property
    def devices(self) -> tuple[Device, ...]:
        return tuple(d for f in self.frameworks for d in f.devices)

    @property
    def chip(self) -> Any:
        """The hardware table's chip for the accelerator, or None when the table does not know it."""
        from tpu_lecture import hardware

        return None if self.accelerator == "cpu" else hardware.match(self.accelerator_name)

    def summary_line(self) -> str:
        """One line for a notebook's setup cell."""
        if self.accelerator == "cpu":
            what = f"CPU ({self.host.split(',')[0]}, {self.cores} cores)"
        else:
            kind = self.accelerator.upper()
            name = self.accelerator_name
            what = f"{name if name.upper().startswith(kind) else f'{kind} {name}'} x{self.accelerator_count}"
            seen = ", ".join(FRAMEWORK_TITLES.get(n, n) for n in self.seen_by)
            what += f" (seen by {seen})" if seen else ""
        parts = [self.environment, what]
        parts += [f"{f.title} {f.version}" for f in self.frameworks if f.installed]
        parts.append(f"Keras backend: {self.keras_backend}")
        return " · ".join(parts)

    def __str__(self) -> str:
        accelerator = "CPU only" if self.accelerator == "cpu" else (
            f"{self.accelerator.upper()} x{self.accelerator_count}: {self.accelerator_name}")
        seen = ", ".join(FRAMEWORK_TITLES.get(n, n) for n in self.seen_by) or "no framework"
        lines = [
            "runtime",
            f"  where:        {self.environment}",
            f"  accelerator:  {accelerator} (seen by {seen})",
        ]
        chip = self.chip
        if chip is not None:
            lines.append(f"  chip table:   {chip.summary()}")
        for f in self.frameworks:
            lines.append(f"  {f.title + ':':<13} {f.describe()}")
        keras = f"Keras {self.keras_version}" if self.keras_version else "Keras not installed"
        lines.append(f"  keras:        {keras}, backend {self.keras_backend} ({self.keras_backend_reason})")
        lines.append(f"  host:         {self.host}; Python {self.python}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Runtime({self.summary_line()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


_probed: dict[str, Framework] = {}


def frameworks(
    probes: Mapping[str, Callable[[], Framework]] | None = None,
    refresh: bool = False,
    hint: str | None = None,
) -> tuple[Framework, ...]:
    """Every framework's view, probed once per process (TensorFlow's import is slow) unless ``refresh``.

    A TPU can be opened by one framework per process only, so when TensorFlow already sees the TPU,
    JAX is not asked for its devices.
    """
    use_cache = probes is None
    probes = PROBES if probes is None else probes
    if refresh and use_cache:
        _probed.clear()
    views: dict[str, Framework] = {}
    for name, probe in probes.items():
        tf_has_tpu = views.get("tensorflow", Framework("tensorflow", None)).sees("tpu")
        if name == "jax" and tf_has_tpu and hint == "tpu":
            version = _version("jax")
            views[name] = Framework("jax", version, error="not asked: TensorFlow holds the TPU in this process")
            continue
        if use_cache and name in _probed:
            views[name] = _probed[name]
            continue
        try:
            view = probe()
        except Exception as error:
            view = Framework(name, _version(name) or "unknown", error=f"probe failed: {error}")
        views[name] = view
        if use_cache:
            _probed[name] = view
    return tuple(views.values())


def view(name: str, refresh: bool = False) -> Framework:
    """One framework's view, probed once per process, without asking the others (no TensorFlow import
    for a JAX-only question)."""
    if name not in PROBES:
        raise ValueError(f"unknown framework {name!r}: use one of {', '.join(PROBES)}")
    if refresh:
        _probed.pop(name, None)
    if name not in _probed:
        held = name == "jax" and _probed.get("tensorflow", Framework("tensorflow", None)).sees("tpu")
        if held and hardware_hint() == "tpu":
            return Framework("jax", _version("jax"), error="not asked: TensorFlow holds the TPU in this process")
        try:
            _probed[name] = PROBES[name]()
        except Exception as error:
            return Framework(name, _version(name) or "unknown", error=f"probe failed: {error}")
    return _probed[name]


def runtime(
    probes: Mapping[str, Callable[[], Framework]] | None = None,
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, Any] | None = None,
    refresh: bool = False,
) -> Runtime:
    """Where this code runs and what it runs on; never raises for a missing or broken framework."""
    environ = os.environ if environ is None else environ
    views = frameworks(probes, refresh=refresh, hint=hardware_hint(environ))
    accelerator = next((p for p in PLATFORMS if any(f.sees(p) for f in views)), "cpu")
    on_it = [d for f in views for d in f.devices if d.platform == accelerator]
    # Prefer JAX's name for a TPU ("TPU v5 lite"): TensorFlow only knows it as "TPU".
    named = sorted(on_it, key=lambda d: d.name in ("TPU", "GPU"))
    if accelerator == "cpu":
        name = host_cpu_name()
        count = 1
    else:
        name = named[0].name
        count = max(f.count(accelerator) for f in views)
    backend, reason = keras_backend(environ, modules)
    return Runtime(
        environment=environment(environ, modules),
        accelerator=accelerator,
        accelerator_name=name,
        accelerator_count=count,
        frameworks=views,
        keras_backend=backend,
        keras_backend_reason=reason,
        keras_version=_version("keras"),
        host=f"{platform.machine() or 'unknown machine'}, {_cores()} cores, {host_cpu_name()}",
        python=platform.python_version(),
        cores=_cores(),
    )


def summary_line(**kwargs: Any) -> str:
    """The one-line runtime report for notebooks' setup cells (``runtime()``'s arguments pass through)."""
    return runtime(**kwargs).summary_line()


def describe(**kwargs: Any) -> str:
    """The full runtime report as text."""
    return str(runtime(**kwargs))


def accelerator_kind(
    environ: Mapping[str, str] | None = None,
    paths: Callable[[str], list[str]] = _glob.glob,
    probes: Mapping[str, Callable[[], Framework]] | None = None,
) -> str:
    """'tpu', 'gpu' or 'cpu', for sizing workloads: free on a machine without accelerator hardware.

    Only where an accelerator is plugged in are the frameworks asked whether they can use it.
    """
    if hardware_hint(environ, paths) == "cpu":
        return "cpu"
    return runtime(probes=probes, environ=environ).accelerator


# --- choosing the Keras backend ----------------------------------------------------------------------------

class BackendWarning(UserWarning):
    """Keras was imported before use_best_backend() with a backend other than the one this runtime needs."""


def best_backend(tensorflow: Framework, jax: Framework) -> str:
    """'jax' where JAX sees a TPU that TensorFlow does not (Colab's TPU VMs) or where only JAX is installed."""
    if jax.sees("tpu") and not tensorflow.sees("tpu"):
        return "jax"
    if jax.installed and not tensorflow.installed:
        return "jax"
    return "tensorflow"


def use_best_backend(
    environ: dict[str, str] | None = None,
    modules: Mapping[str, Any] | None = None,
    probes: Mapping[str, Callable[[], Framework]] | None = None,
    paths: Callable[[str], list[str]] = _glob.glob,
    installed: Callable[[str], bool] = _installed,
) -> str:
    """Set ``KERAS_BACKEND`` for this runtime before Keras is imported, and return the backend.

    A ``KERAS_BACKEND`` the user set wins. This never imports Keras (nor TensorFlow, which imports Keras):
    only where a TPU is plugged in does it ask the frameworks which sees it, TensorFlow in a child process.
    If Keras is already imported with another backend, it warns (``BackendWarning``) with what to do and
    returns the backend actually in use. Call it before ``runtime()``, which imports TensorFlow.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if environ.get("KERAS_BACKEND"):
        wanted, reason = environ["KERAS_BACKEND"], "your KERAS_BACKEND"
    else:
        wanted, reason = _best_for_this_runtime(environ, probes, paths, installed)
    keras = modules.get("keras")
    if keras is None:
        environ["KERAS_BACKEND"] = wanted
        return wanted
    current = keras.backend.backend()
    if current != wanted:
        warnings.warn(
            f"Keras was already imported with the {current!r} backend, but this runtime needs {wanted!r} "
            f"({reason}); Keras reads KERAS_BACKEND only on its first import. Restart the runtime "
            "(Colab: Runtime > Restart session) and call use_best_backend() before anything imports keras.",
            BackendWarning,
            stacklevel=2,
        )
    return current


def _best_for_this_runtime(
    environ: Mapping[str, str],
    probes: Mapping[str, Callable[[], Framework]] | None,
    paths: Callable[[str], list[str]],
    installed: Callable[[str], bool],
) -> tuple[str, str]:
    has_tf, has_jax = installed("tensorflow"), installed("jax")
    if has_jax and not has_tf:
        return "jax", "TensorFlow is not installed, JAX is"
    if hardware_hint(environ, paths, installed) != "tpu":
        return "tensorflow", "no TPU here: TensorFlow is the default backend"
    if probes is None:
        in_process = "tensorflow" in sys.modules
        probes = {"tensorflow": probe_tensorflow if in_process else probe_tensorflow_elsewhere, "jax": probe_jax}
    views = {f.name: f for f in frameworks(probes, hint="tpu")}
    choice = best_backend(views.get("tensorflow", Framework("tensorflow", None)),
                          views.get("jax", Framework("jax", None)))
    why = "only JAX sees the TPU" if choice == "jax" else "TensorFlow sees the TPU or JAX does not"
    return choice, why


# --- distribution strategies -------------------------------------------------------------------------------

_tpu_strategies: dict[int, Any] = {}


def strategy(runtime_: Runtime | None = None, tf: Any = None) -> Any:
    """The tf.distribute strategy for this runtime: TPUStrategy on a TPU TensorFlow sees, MirroredStrategy on
    several GPUs, the default strategy otherwise. The TPU system is initialised once per process."""
    if tf is None:
        import tensorflow as tf
    runtime_ = runtime() if runtime_ is None else runtime_
    view = runtime_.framework("tensorflow")
    if not view.installed:
        raise RuntimeError("TensorFlow is not installed in this runtime: on a JAX runtime (a Colab TPU) "
                           "use distribution(), which gives keras.distribution.DataParallel")
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


def distribution(backend: str | None = None, keras: Any = None, tf: Any = None,
                 runtime_: Runtime | None = None) -> Any:
    """How to spread a Keras model over this runtime's devices, for the Keras backend in force.

    JAX: ``keras.distribution.DataParallel`` over all devices (pass it to ``keras.distribution.set_distribution``).
    TensorFlow: the ``strategy()`` (build and compile the model inside ``strategy.scope()``).
    """
    if backend is None:
        backend = keras.backend.backend() if keras is not None else keras_backend()[0]
    if backend == "jax":
        if keras is None:
            import keras
        return keras.distribution.DataParallel(devices=keras.distribution.list_devices())
    if backend == "tensorflow":
        return strategy(runtime_, tf)
    raise ValueError(f"no distribution for the Keras backend {backend!r}: use 'tensorflow' or 'jax'")
