"""The core install is enough: without TensorFlow or JAX the simulator, the player and the precision module
work. CI runs this file in a venv made by ``pip install -e .`` alone; elsewhere the frameworks are blocked."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = {"numpy", "matplotlib", "pillow", "ipywidgets", "ml-dtypes", "sympy"}

# Run in a child process in which importing a framework fails as if it were not installed.
BLOCKED = textwrap.dedent("""
    import importlib.abc, sys

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"tensorflow", "jax", "jaxlib", "keras"}:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")

    sys.meta_path.insert(0, NotInstalled())
""")

WORK = textwrap.dedent("""
    import numpy as np
    import tpu_lecture as tl

    A, W = np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2)
    run = tl.SystolicArray(2, 2).matmul(A, W)
    assert np.array_equal(run.result, A @ W) and run.cycles == tl.expected_cycles(3, 4, 2, 2, 2)
    player = tl.animate(*tl.lecture_example())
    player.step(1)
    assert player.cycle == 1 and player.image.value[:4] == b"\\x89PNG"
    assert tl.to_bfloat16(1.00390625) == 1.0  # 1 + 2^-8 is a tie: it rounds to the even neighbour, 1
    assert "bfloat16  0     10000000  1000000" in tl.show_bits(3.0)
    assert tl.macs.mlp_macs_per_sample() == 9_087_648
    print(tl.runtime.summary_line())
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"tensorflow", "jax", "keras"})
    assert heavy == [], heavy
    print("core ok")
""")


def _normalise(requirement: str) -> str:
    return re.split(r"[<>=!~;\\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_the_core_dependencies_are_the_small_ones():
    requires = importlib.metadata.requires("tpu-lecture") or []
    core = {_normalise(r) for r in requires if "extra ==" not in r}
    assert core == CORE, f"core dependencies: {sorted(core)}"
    extras = {_normalise(r) for r in requires if "extra ==" in r}
    assert {"tensorflow", "jax"} <= extras and not ({"tensorflow", "jax", "jupyterlab"} & core)


def test_simulator_player_and_precision_work_without_any_framework():
    done = subprocess.run([sys.executable, "-c", BLOCKED + WORK], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "core ok" in done.stdout
    assert "TensorFlow" not in done.stdout.splitlines()[0] and "JAX" not in done.stdout.splitlines()[0]
