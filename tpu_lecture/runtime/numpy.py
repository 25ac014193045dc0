"""The NumPy adapter: the host CPU, where every benchmark's baseline runs.

NumPy computes before it returns and works in host memory, so there is nothing to wait for and nothing
to copy; it is not a framework of the runtime report, which lists those that may see an accelerator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tpu_lecture.runtime import machine
from tpu_lecture.runtime.machine import Device, Framework

NAME = "numpy"
TITLE = "NumPy"
MODULES = ("numpy", "ml_dtypes")  # a value whose type comes from these modules is NumPy's
HOST_ONLY = True  # runs on the host CPU only: no accelerator, no host-to-device copy
REPORTED = False  # not listed in the runtime report


def probe(ask: bool | None = None) -> Framework:
    """NumPy's one device, the host CPU (NumPy is a dependency of the package, so it is installed)."""
    return Framework(NAME, machine.package_version("numpy") or "unknown", (machine.host_device(NAME),))


def sync(out: Any) -> None:
    """NumPy finishes its work before returning: nothing to wait for."""


def device_of(out: Any, known: Sequence[Device]) -> Device | None:
    """A NumPy array lives in host memory."""
    return known[0] if known else machine.host_device(NAME)


def place(array: Any, device: Device) -> Any:
    """Host arrays are already where NumPy computes."""
    return array


def kernel(operation: str, device: Device) -> Callable[..., Any]:
    """NumPy's function for ``operation``: 'add', 'matmul', 'triad' (x + 3y) or 'chain' (((3x + y)·2 + x)·5 + y), the
    last two one operation, one pass over memory, at a time."""
    import numpy as np

    return {"add": np.add, "matmul": np.matmul, "triad": _triad, "chain": _chain}[operation]


def _triad(x: Any, y: Any) -> Any:
    return x + y * y.dtype.type(3)


def _chain(x: Any, y: Any) -> Any:
    three, two, five = (x.dtype.type(c) for c in (3, 2, 5))
    return ((x * three + y) * two + x) * five + y


def module() -> Any:
    """NumPy, imported."""
    import numpy as np

    return np


def matmul_precision() -> str:
    """NumPy multiplies float32 matrices in float32: always 'highest'."""
    return "highest"
