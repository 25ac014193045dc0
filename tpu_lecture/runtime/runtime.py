"""What runtime this is, which framework sees which accelerator, the Keras backend to use, and how to spread a
model over the devices: the one place that puts the framework adapters together.

Each framework is one adapter module in ``ADAPTERS`` (``numpy.py``, ``tensorflow.py``, ``jax.py``) with the same
names: ``probe``, ``sync``, ``device_of``, ``place``, ``kernel``, and for a Keras backend ``distribution``,
``replicas`` and ``build_in``. Everything here dispatches to them by name, so nothing outside ``runtime/``
branches on a framework. Today's Colab TPU runtimes are TPU VMs where only JAX sees the TPU, so
``use_best_backend()`` picks Keras' JAX backend there and TensorFlow elsewhere. Probes can be passed in
(``probes=``), so tests can fake any combination of runtime, devices and missing frameworks.
"""

from __future__ import annotations

import glob as _glob
import json
import os
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tpu_lecture.checks import one_of
from tpu_lecture.runtime import jax as jax_adapter
from tpu_lecture.runtime import machine
from tpu_lecture.runtime import numpy as numpy_adapter
from tpu_lecture.runtime import tensorflow as tensorflow_adapter
from tpu_lecture.runtime.machine import PLATFORMS, Device, Framework, hardware_hint, host_cpu_name

# The framework adapters, in the order they are probed (a TPU opens to one framework per process: the first wins).
# A new framework is a new adapter module, listed here.
ADAPTERS: dict[str, ModuleType] = {a.NAME: a for a in (numpy_adapter, tensorflow_adapter, jax_adapter)}
NAMES = tuple(ADAPTERS)
PYTHON = "python"  # plain Python values: computed when returned, nothing to wait for
PROBES: dict[str, Callable[[], Framework]] = {name: a.probe for name, a in ADAPTERS.items() if a.REPORTED}
KERAS_BACKENDS = tuple(name for name, a in ADAPTERS.items() if hasattr(a, "distribution"))  # what the lecture runs on


def adapter(name: str) -> ModuleType:
    """The adapter module of the framework ``name``."""
    return ADAPTERS[one_of("framework", name, NAMES)]


def import_quietly(name: str) -> ModuleType | None:
    """The framework ``name`` imported, its C++ start-up log lines kept out of the output (TensorFlow's); None
    where it is not installed, so that a notebook can say what it skips and go on."""
    found = adapter(name)
    if not machine.installed(found.MODULES[0]):
        return None
    return found.module()


def title(name: str) -> str:
    """How a framework writes its own name: 'TensorFlow', 'JAX'."""
    found = ADAPTERS.get(name)
    return found.TITLE if found is not None else name


def missing_backends_line(backend: str) -> str | None:
    """For a notebook whose framework cells all go through Keras: the one line that names the Keras backends not
    installed here and says nothing is skipped ('JAX is not installed here: ...'); None where all are installed."""
    missing = [title(name) for name in KERAS_BACKENDS if not machine.installed(ADAPTERS[name].MODULES[0])]
    if not missing:
        return None
    verb = "is" if len(missing) == 1 else "are"
    return (f"{' and '.join(missing)} {verb} not installed here: nothing is skipped, every cell runs on Keras's "
            f"{backend} backend")


# --- cheap facts: where we run, the Keras backend -----------------------------------------------------------

def environment(environ: Mapping[str, str] | None = None, modules: Mapping[str, Any] | None = None) -> str:
    """'colab', 'kaggle' or 'local'."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "google.colab" in modules or environ.get("COLAB_RELEASE_TAG") or "COLAB_GPU" in environ:
        return "colab"
    if environ.get("KAGGLE_KERNEL_RUN_TYPE") or environ.get("KAGGLE_URL_BASE"):
        return "kaggle"
    return "local"


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
        unsupported_backend(environ["KERAS_BACKEND"])
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
        """The view of framework ``name``; not installed where the report does not list it."""
        for f in self.frameworks:
            if f.name == name:
                return f
        return Framework(name, None)

    @property
    def seen_by(self) -> tuple[str, ...]:
        """The frameworks that see the accelerator (for a CPU: every installed framework)."""
        return tuple(f.name for f in self.frameworks if f.sees(self.accelerator))

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
            seen = ", ".join(map(title, self.seen_by))
            what += f" (seen by {seen})" if seen else ""
        parts = [self.environment, what]
        parts += [f"{title(f.name)} {f.version}" for f in self.frameworks if f.installed]
        parts.append(f"Keras backend: {self.keras_backend}")
        return " · ".join(parts)

    def __str__(self) -> str:
        accelerator = "CPU only" if self.accelerator == "cpu" else (
            f"{self.accelerator.upper()} x{self.accelerator_count}: {self.accelerator_name}")
        seen = ", ".join(map(title, self.seen_by)) or "no framework"
        lines = [
            "runtime",
            f"  where:        {self.environment}",
            f"  accelerator:  {accelerator} (seen by {seen})",
        ]
        chip = self.chip
        if chip is not None:
            lines.append(f"  chip table:   {chip.summary()}")
        for f in self.frameworks:
            lines.append(f"  {title(f.name) + ':':<13} {f.describe()}")
        keras = f"Keras {self.keras_version}" if self.keras_version else "Keras not installed"
        lines.append(f"  keras:        {keras}, backend {self.keras_backend} ({self.keras_backend_reason})")
        lines.append(f"  host:         {self.host}; Python {self.python}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Runtime({self.summary_line()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


_probed: dict[str, Framework] = {}


def _tpu_holder(name: str, views: Mapping[str, Framework]) -> str | None:
    """The framework probed before ``name`` that holds the TPU, if any: a TPU opens to one framework per process."""
    order = list(ADAPTERS)
    earlier = order[:order.index(name)] if name in ADAPTERS else list(views)
    return next((n for n in earlier if n in views and views[n].sees("tpu")), None)


def _not_asked(name: str, holder: str) -> Framework:
    """The view of a framework left unasked because ``holder`` holds the TPU."""
    why = f"not asked: {title(holder)} holds the TPU in this process"
    return Framework(name, machine.package_version(name), error=why)


def _failed(name: str, error: Exception) -> Framework:
    """The view of a framework whose probe raised: reported in the runtime report, never raised."""
    return Framework(name, machine.package_version(name) or "unknown", error=f"probe failed: {error}")


def frameworks(
    probes: Mapping[str, Callable[[], Framework]] | None = None,
    refresh: bool = False,
    hint: str | None = None,
) -> tuple[Framework, ...]:
    """Every reported framework's view, probed once per process (TensorFlow's import is slow) unless
    ``refresh``. Where a TPU is plugged in and an earlier framework sees it, the later ones are not asked."""
    use_cache = probes is None
    probes = PROBES if probes is None else probes
    if refresh and use_cache:
        _probed.clear()
    views: dict[str, Framework] = {}
    for name, probe in probes.items():
        holder = _tpu_holder(name, views) if hint == "tpu" else None
        if holder is not None:
            views[name] = _not_asked(name, holder)
        elif use_cache and name in _probed:
            views[name] = _probed[name]
        else:
            try:
                views[name] = probe()
            except Exception as error:
                views[name] = _failed(name, error)
            if use_cache:
                _probed[name] = views[name]
    return tuple(views.values())


def framework(name: str, refresh: bool = False) -> Framework:
    """One framework's view, probed once per process, without asking the others (no TensorFlow import
    for a JAX-only question)."""
    one_of("framework", name, NAMES)
    if refresh:
        _probed.pop(name, None)
    if name not in _probed:
        holder = _tpu_holder(name, _probed)
        if holder is not None and hardware_hint() == "tpu":
            return _not_asked(name, holder)
        try:
            _probed[name] = ADAPTERS[name].probe()
        except Exception as error:  # reported, and asked again next time
            return _failed(name, error)
    return _probed[name]


def detect(
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
        keras_version=machine.package_version("keras"),
        host=f"{platform.machine() or 'unknown machine'}, {machine.cores()} cores, {host_cpu_name()}",
        python=platform.python_version(),
        cores=machine.cores(),
    )


def summary_line(**kwargs: Any) -> str:
    """The one-line runtime report for notebooks' setup cells (``detect()``'s arguments pass through)."""
    return detect(**kwargs).summary_line()


def describe(**kwargs: Any) -> str:
    """The full runtime report as text."""
    return str(detect(**kwargs))


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
    return detect(probes=probes, environ=environ).accelerator


# --- results: which framework made a value, waiting for it, where it lives ----------------------------------------

def framework_of(value: Any) -> str | None:
    """'numpy', 'jax', 'tensorflow' or 'python' for a value (or the first element of a tuple/list/dict)."""
    if isinstance(value, Mapping):
        value = next(iter(value.values()), None)
    elif isinstance(value, (tuple, list)):
        value = value[0] if value else None
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return PYTHON
    module = type(value).__module__.split(".")[0]
    return next((name for name, a in ADAPTERS.items() if module in a.MODULES), None)


def _no_wait(out: Any) -> None:
    """Plain Python values are computed when returned: nothing to wait for."""


def sync_for(name: str) -> Callable[[Any], None]:
    """The function that waits until a result of framework ``name`` (or 'python') is computed."""
    return _no_wait if name == PYTHON else adapter(name).sync


def device_of(out: Any, name: str | None) -> Device:
    """The device a result of framework ``name`` lives on (the first element's, for a tuple or list); the
    host CPU where the framework cannot say."""
    if isinstance(out, (tuple, list)) and out:
        out = out[0]
    found = ADAPTERS[name].device_of(out, framework(name).devices) if name in ADAPTERS else None
    return found or machine.host_device(name or PYTHON)


# --- choosing the Keras backend ----------------------------------------------------------------------------

class BackendWarning(UserWarning):
    """Keras was imported before use_best_backend() with a backend other than the one this runtime needs, or
    KERAS_BACKEND names a backend the lecture does not run on."""


def unsupported_backend(name: str) -> bool:
    """Whether ``name`` (a KERAS_BACKEND just read) is not one the lecture runs on; if so, warn with what to do."""
    if name in KERAS_BACKENDS:
        return False
    warnings.warn(f"KERAS_BACKEND={name!r} is not a Keras backend this lecture runs on: set it to "
                  f"{' or '.join(map(repr, KERAS_BACKENDS))}, or unset it and call tl.use_best_backend() to choose",
                  BackendWarning, stacklevel=3)
    return True


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
    installed: Callable[[str], bool] = machine.installed,
) -> str:
    """Set ``KERAS_BACKEND`` for this runtime before Keras is imported, and return the backend.

    A ``KERAS_BACKEND`` the user set wins, unless the lecture does not run on it (a typo, 'torch'): that is
    warned about (``BackendWarning``) and replaced by this runtime's best. This never imports Keras (nor
    TensorFlow, which imports Keras): only where a TPU is plugged in does it ask the frameworks which sees it,
    TensorFlow in a child process.
    If Keras is already imported with another backend, it warns (``BackendWarning``) with what to do and
    returns the backend actually in use. Call it before ``detect()``, which imports TensorFlow.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if environ.get("KERAS_BACKEND") and not unsupported_backend(environ["KERAS_BACKEND"]):
        wanted, reason = environ["KERAS_BACKEND"], "your KERAS_BACKEND"
    else:  # none set, or one the lecture does not run on (warned): this runtime's best
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


def _probes_that_leave_keras_alone() -> dict[str, Callable[[], Framework]]:
    """The report's probes, each framework whose import would fix Keras' backend asked in a child process
    (unless it is imported already)."""
    return {name: getattr(ADAPTERS[name], "probe_elsewhere", probe) if name not in sys.modules else probe
            for name, probe in PROBES.items()}


def _best_for_this_runtime(
    environ: Mapping[str, str],
    probes: Mapping[str, Callable[[], Framework]] | None,
    paths: Callable[[str], list[str]],
    installed: Callable[[str], bool],
) -> tuple[str, str]:
    """The backend this runtime needs and why; the frameworks are asked only where a TPU is plugged in."""
    has_tf, has_jax = installed("tensorflow"), installed("jax")
    if has_jax and not has_tf:
        return "jax", "TensorFlow is not installed, JAX is"
    if hardware_hint(environ, paths, installed) != "tpu":
        return "tensorflow", "no TPU here: TensorFlow is the default backend"
    views = {f.name: f for f in frameworks(probes or _probes_that_leave_keras_alone(), hint="tpu")}
    choice = best_backend(views.get("tensorflow", Framework("tensorflow", None)),
                          views.get("jax", Framework("jax", None)))
    why = "only JAX sees the TPU" if choice == "jax" else "TensorFlow sees the TPU or JAX does not"
    return choice, why


# --- spreading a Keras model over the devices --------------------------------------------------------------------

def _keras_adapter(backend: str) -> ModuleType:
    """The adapter that distributes Keras models on ``backend``."""
    choices = [name for name, a in ADAPTERS.items() if hasattr(a, "distribution")]
    if backend not in choices:
        raise ValueError(f"no distribution for the Keras backend {backend!r}: use {' or '.join(map(repr, choices))}")
    return ADAPTERS[backend]


def _view(name: str, runtime: Runtime | None) -> Framework:
    """A framework's view from a runtime report given, else probed (once per process)."""
    return framework(name) if runtime is None else runtime.framework(name)


def _backend_in_force(backend: str | None, keras: Any) -> str:
    """The Keras backend named, else the one of the Keras given, else the one in force (without importing Keras)."""
    if backend is not None:
        return backend
    return keras.backend.backend() if keras is not None else keras_backend()[0]


def _stand_ins(keras: Any, tf: Any) -> dict[str, Any]:
    """Framework modules passed in (fakes in tests); the adapters import the real ones for the others."""
    return {k: v for k, v in (("keras", keras), ("tensorflow", tf)) if v is not None}


def strategy(runtime: Runtime | None = None, tf: Any = None) -> Any:
    """The tf.distribute strategy for this runtime: TPUStrategy on a TPU TensorFlow sees, MirroredStrategy on
    several GPUs, the default strategy otherwise. The TPU system is initialised once per process."""
    return tensorflow_adapter.strategy(_view(tensorflow_adapter.NAME, runtime), tf)


def distribution(backend: str | None = None, keras: Any = None, tf: Any = None,
                 runtime: Runtime | None = None) -> Any:
    """How to spread a Keras model over this runtime's devices, for the Keras backend in force.

    JAX: ``keras.distribution.DataParallel`` over all devices (pass it to ``keras.distribution.set_distribution``).
    TensorFlow: the ``strategy()`` (build and compile the model inside ``strategy.scope()``).
    """
    found = _keras_adapter(_backend_in_force(backend, keras))
    return found.distribution(_view(found.NAME, runtime), _stand_ins(keras, tf))


def replicas(distribution: Any = None, backend: str | None = None, keras: Any = None, tf: Any = None,
             runtime: Runtime | None = None) -> int:
    """How many accelerator cores share each batch under ``distribution`` (by default this runtime's): the
    strategy's replicas on TensorFlow, the devices on JAX. Split a global batch by it (``data.per_replica_batch``)."""
    found = _keras_adapter(_backend_in_force(backend, keras))
    return found.replicas(distribution, _view(found.NAME, runtime), _stand_ins(keras, tf))


def build_in_distribution(builder: Callable[..., Any], *args: Any, distribution: Any = None, **kwargs: Any) -> Any:
    """``builder(*args, **kwargs)`` run where the accelerators see it, e.g. ``build_in_distribution(mlp_model)``.

    TensorFlow backend: inside ``strategy.scope()`` (a ``tf.distribute`` strategy), so variables are
    mirrored on every core. JAX backend: the ``keras.distribution`` (e.g. ``DataParallel``) becomes Keras's
    global distribution, since ``fit`` must run under it too. ``distribution=None`` takes this runtime's;
    where that is none (one device, or a backend without an adapter), the builder simply runs.
    """
    if "keras" not in sys.modules and keras_backend()[0] in KERAS_BACKENDS:
        import_quietly(keras_backend()[0])  # Keras imports its backend's framework: quietly, first
    import keras

    backend = keras.backend.backend()
    found = ADAPTERS.get(backend)
    if found is None or not hasattr(found, "build_in"):
        if distribution is not None:
            raise ValueError(f"no distribution for the Keras backend {backend!r}: build without distribution=")
        return builder(*args, **kwargs)
    return found.build_in(distribution, _view(found.NAME, None), {"keras": keras}, builder, args, kwargs)
