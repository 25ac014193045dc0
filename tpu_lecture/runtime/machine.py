"""What every framework adapter shares: ``Device`` and ``Framework`` (what one framework sees), and the cheap
facts about this machine (its CPU, whether an accelerator is plugged in, which packages are installed).

Nothing here imports a framework; the adapters (``numpy.py``, ``jax.py``, ``tensorflow.py``) build on it and
``runtime.py`` puts their views together.
"""

from __future__ import annotations

import glob as _glob
import importlib.metadata
import importlib.util
import os
import platform
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PLATFORMS = ("tpu", "gpu", "cpu")


@dataclass(frozen=True)
class Device:
    """One device as one framework sees it."""

    framework: str  # "numpy", "tensorflow" or "jax"
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

    def sees(self, platform_: str) -> bool:
        """Whether it sees a device of the platform ('tpu', 'gpu', 'cpu')."""
        return self.count(platform_) > 0

    def count(self, platform_: str) -> int:
        """How many devices of the platform it sees."""
        return sum(d.platform == platform_ for d in self.devices)

    def describe(self) -> str:
        """One line for the runtime report: version, device labels and any remark."""
        if not self.installed:
            return "not installed"
        devices = ", ".join(d.id for d in self.devices) or "no devices listed"
        remarks = "".join(f" ({text})" for text in (self.error, self.note) if text)
        return f"{self.version}: {devices}{remarks}"


# --- installed packages ------------------------------------------------------------------------------------

def installed(module: str) -> bool:
    """Whether ``module`` could be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def package_version(distribution: str) -> str | None:
    """The installed version of a pip distribution, None if it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# --- the host and what is plugged into it -------------------------------------------------------------------

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


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def hardware_hint(
    environ: Mapping[str, str] | None = None,
    paths: Callable[[str], list[str]] = _glob.glob,
    installed: Callable[[str], bool] = installed,
) -> str:
    """'tpu', 'gpu' or 'cpu' from device files and environment alone: cheap, imports no framework.

    It says what hardware is plugged in, not what a framework can use; 'cpu' is certain (no framework
    can see an accelerator that is not there), the others are confirmed by ``runtime.detect()``.
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


def tpu_name(environ: Mapping[str, str]) -> str:
    """The TPU's name from the TPU VM's environment ("TPU v5litepod-1"), for frameworks that say only "TPU"."""
    kind = environ.get("TPU_ACCELERATOR_TYPE", "")
    if not kind:
        return "TPU"
    return kind if kind.lower().startswith("tpu") else f"TPU {kind}"


# --- helpers of the adapters' probes -----------------------------------------------------------------------

def should_import(module: str, ask: bool | None) -> bool:
    """Whether a probe may import ``module``: when told to, when it is imported already, or where an
    accelerator is plugged in (on a plain CPU machine a framework can only see the CPU, so it is not asked)."""
    if ask is not None:
        return ask
    return module in sys.modules or hardware_hint() != "cpu"


def cpu_only(name: str, label: str, distributions: tuple[str, ...]) -> Framework:
    """An installed framework's view on a machine with no accelerator plugged in: it can only see the CPU."""
    version = next((v for v in map(package_version, distributions) if v), "unknown")
    note = "not imported: no accelerator is plugged in, so it can only see the CPU"
    return Framework(name, version, (Device(name, "cpu", host_cpu_name(), label),), note=note)


def host_device(framework: str, label: str = "cpu:0") -> Device:
    """The host CPU as ``framework``'s device, where nothing more precise is known."""
    return Device(framework, "cpu", host_cpu_name(), label)
