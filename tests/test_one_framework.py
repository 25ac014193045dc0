"""One framework is enough: with only TensorFlow or only JAX installed (CI makes a venv of each), every
notebook that uses a framework runs top to bottom and says in one line what it skips and why."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
INSTALLED = {name: importlib.util.find_spec(name) is not None for name in ("tensorflow", "jax")}
MISSING = [name for name, present in INSTALLED.items() if not present]
TITLES = {"tensorflow": "TensorFlow", "jax": "JAX"}

pytestmark = pytest.mark.skipif(
    len(MISSING) != 1,
    reason="needs a venv with exactly one of TensorFlow and JAX (CI makes both kinds: .ci/run, step 4)",
)


def _uses_a_framework(path: Path) -> bool:
    code = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    return any(word in code for word in ("keras", "tensorflow", "jax", "tl.benchmark", "tl.sweep", "tl.strategy"))


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _uses_a_framework(p)], ids=lambda p: p.stem)
def test_the_notebook_runs_with_one_framework(path, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_backup = dict(os.environ)
    os.environ.pop("KERAS_BACKEND", None)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    from tpu_lecture.runtime.quiet import is_framework_noise

    noise = [line for o in outputs for line in "".join(o.get("text", "")).splitlines() if is_framework_noise(line)]
    assert not noise, f"{path.name}: {len(noise)} framework log line(s) in a fresh kernel, e.g. {noise[0][:160]!r}"
    text = "\n".join("".join(o.get("text", "")) for o in outputs)
    missing = TITLES[MISSING[0]]
    mentioned = missing.lower() in "".join("".join(c.source) for c in nb.cells if c.cell_type == "code").lower()
    if mentioned:
        said = [line for line in text.splitlines() if missing in line and "not installed" in line]
        assert said, f"{path.name} never says in one line that {missing} is not installed and what it skips"
