"""Refresh every notebook's Colab link and setup cell, execute it top to bottom, and store its outputs.

Run: python scripts/execute_notebooks.py [notebooks/04_systolic_array.ipynb ...]
The stored outputs are then exactly what the code produces; `python -m pytest` re-runs the
notebooks with nbval and compares them. Colab links and setup cells are generated from
tpu_lecture.GITHUB_REPO, so a fork changes one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import tpu_lecture

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def colab_url(name: str, repo: str = tpu_lecture.GITHUB_REPO) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{name}"


def setup_source(repo: str = tpu_lecture.GITHUB_REPO) -> str:
    """The setup cell: on Colab install the package alone (never TensorFlow or JAX); elsewhere a no-op."""
    return f'''# NBVAL_IGNORE_OUTPUT
# Setup. In Colab this installs the lecture's package without its dependencies (Colab already has
# TensorFlow or JAX, NumPy, matplotlib and ipywidgets) plus any small ones that are missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("tpu_lecture") is None:
    small = [name for name in ("ml_dtypes", "sympy") if importlib.util.find_spec(name) is None]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "git+https://github.com/{repo}", *small], check=True)
import tpu_lecture as tl

tl.use_best_backend()  # Keras on JAX where only JAX sees a TPU (Colab TPUs); otherwise TensorFlow
print(tl.runtime.summary_line())'''


def refresh_generated_cells(nb: nbformat.NotebookNode, name: str) -> None:
    """Rewrite the cells tagged ``colab-link`` and ``setup`` from the repository setting."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "colab-link" in tags:
            cell.source = f"[Open in Colab]({colab_url(name)}) · part of *TPUs from the multiply-accumulate up*"
        if "setup" in tags:
            cell.source = setup_source()


def execute(path: Path, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    refresh_generated_cells(nb, path.name)
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources)
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute (default: all, in order)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        seconds = execute(path.resolve())
        size = path.stat().st_size / 1e6
        print(f"{path.name}: executed in {seconds:.1f} s, {size:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
