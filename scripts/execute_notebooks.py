"""Refresh every notebook's Colab link and setup cell, execute it top to bottom, and store its outputs.

Run: python scripts/execute_notebooks.py [notebooks/04_systolic_array.ipynb ...]
     python scripts/execute_notebooks.py --slides-only   (the slides of the stored notebooks, in seconds)
The stored outputs are then exactly what the code produces; `python -m pytest` re-runs the
notebooks with nbval and compares them. Colab links and setup cells are generated from
tpu_lecture.GITHUB_REPO, so a fork changes one line. The slides come last, from the executed cells
(tpu_lecture.slides: slide types, speaker notes, RISE settings, and rise.css beside the notebooks), so
the notebooks and their slides never drift apart.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# Stored outputs never depend on the network: notebooks read data from TPU_LECTURE_DATA or fall back.
os.environ.setdefault("TPU_LECTURE_OFFLINE", "1")

import tpu_lecture
from tpu_lecture import slides
from tpu_lecture.files import replaced_when_done
from tpu_lecture.runtime.quiet import without_noise
from tpu_lecture.slide_fit import WIDGET_STATE, WIDGET_VIEW, first_image_data

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def colab_url(name: str, repo: str = tpu_lecture.GITHUB_REPO) -> str:
    return tpu_lecture.colab_url(name, repo)


# Packages the lecture needs beside numpy that a Colab runtime may lack: (module, pip name). Installed with
# their own dependencies (sympy needs mpmath). TensorFlow and JAX are never among them.
SMALL_PACKAGES = (("ml_dtypes", "ml_dtypes"), ("sympy", "sympy"), ("PIL", "pillow"), ("matplotlib", "matplotlib"),
                  ("ipywidgets", "ipywidgets"))


def setup_source(repo: str = tpu_lecture.GITHUB_REPO, commit: str = "main") -> str:
    """The setup cell: in Colab, install the package at ``commit`` (the one these outputs were made with) alone,
    never TensorFlow or JAX, with the notebooks beside it for the command line, and the small missing packages
    with their dependencies; where the package is installed, nothing. A failed install says why in one line,
    and every later cell that uses ``tl`` stops with that same line. Then the runtime report."""
    pairs = [f'("{module}", "{name}")' for module, name in SMALL_PACKAGES]
    small = ",\n              ".join(", ".join(pairs[i:i + 3]) for i in range(0, len(pairs), 3))
    return f'''# NBVAL_IGNORE_OUTPUT
# Setup. In Colab this installs the lecture's package as these outputs were made (commit {commit[:12]}), without
# its dependencies (the runtime already has TensorFlow or JAX), and the small packages it needs that are
# missing; where it is installed, nothing.
import importlib.util
import os
import re
import subprocess
import sys

REPO, COMMIT = "{repo}", "{commit}"


def pip_install(args):
    """None, or one line: why pip could not install args, and what to do."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    said = re.sub(r"\\x1b\\[[0-9;]*[A-Za-z]", "", done.stderr + done.stdout)
    if re.search(r"resolve host|name resolution|unreachable|establish a new connection|timed out", said, re.I):
        return "this runtime is offline: connect it to the internet, then run this cell again"
    if re.search(r"not found|could not read Username|did not match any|not a tree", said, re.I):
        return f"github.com/{{REPO}} at {{COMMIT[:12]}} was not found: set the repository path of your fork, then rerun"
    lines = [line.strip() for line in said.splitlines() if re.match(r"\\s*(ERROR|fatal|error):", line)]
    return f"pip said: {{(lines or said.strip().splitlines() or ['nothing'])[-1]}}"


class NotInstalled:
    """Stands in for the package after a failed install: every later cell stops with the same line."""

    def __init__(self, why):
        self.why = why

    def __getattr__(self, name):
        raise SystemExit(self.why)


if importlib.util.find_spec("tpu_lecture") is None:
    needed = ({small})
    source = os.path.abspath("tpu-lecture-src")  # the clone: package and notebooks (python -m tpu_lecture handout)
    steps = {{"the lecture's package": ["--no-deps", "--src", source, "-e",
                                        f"git+https://github.com/{{REPO}}@{{COMMIT}}#egg=tpu-lecture"],
             "the packages it needs": [pip for module, pip in needed if importlib.util.find_spec(module) is None]}}
    for what, step in steps.items():
        why = pip_install(step) if step else None
        if why is not None:
            tl = NotInstalled(f"Could not install {{what}}: {{why}}.")
            raise SystemExit(tl.why)
    sys.path.insert(0, os.path.join(source, "tpu-lecture"))  # importable now, without restarting the runtime
import tpu_lecture as tl

tl.runtime.keep_framework_logs_out()  # TensorFlow's C++ log lines never reach a cell
tl.use_best_backend()  # Keras on JAX where only JAX sees a TPU (Colab TPUs); otherwise TensorFlow
print(tl.runtime.summary_line())'''


# What the outputs depend on: a commit whose copy of these differs from the working tree did not make them.
PACKAGE_PATHS = ("tpu_lecture", "pyproject.toml")


def executed_commit(allow_dirty: bool = False) -> str:
    """The commit the setup cells install: HEAD, whose package is the one these executions use. Refuses while the
    package has uncommitted changes (the pin would then install another package than the one that ran)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "main"  # not a clone (an unpacked archive): the default branch is all there is to name
    dirty = subprocess.run([*git, "status", "--porcelain", "--", *PACKAGE_PATHS], capture_output=True, text=True)
    if dirty.stdout.strip() and not allow_dirty:
        raise SystemExit(f"{', '.join(PACKAGE_PATHS)} have uncommitted changes: commit them first, so that the "
                         "setup cells pin the package these outputs come from (or pass --allow-dirty)")
    return head.stdout.strip()


def refresh_generated_cells(nb: nbformat.NotebookNode, name: str, commit: str = "main") -> None:
    """Rewrite the cells tagged ``colab-link`` and ``setup`` from the repository setting and ``commit``."""
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "colab-link" in tags:
            cell.source = f"[Open in Colab]({colab_url(name)}) · part of *TPUs from the multiply-accumulate up*"
        if "setup" in tags:
            cell.source = setup_source(commit=commit)


def drop_framework_noise(nb: nbformat.NotebookNode) -> int:
    """Take TensorFlow's and JAX's start-up log lines out of the stored stderr outputs; returns how many
    lines went. Warnings the lecture means (a fallback to stand-in data, say) stay."""
    dropped = 0
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = without_noise(output.text)
                dropped += output.text.count("\n") - text.count("\n")
                if not text:
                    continue
                output.text = text
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    return dropped


def add_still_frames(nb: nbformat.NotebookNode) -> int:
    """Give every stored widget view its frame as ``image/png`` beside the text fallback; returns how many.

    The saved widget state is ipywidgets 8's (controls 2.0.0), which a 7.7.1 front end such as Colab's cannot
    load: classic Notebook 6.5 with 7.7.1 then renders the output's best plain MIME type, which is this frame
    rather than the bare ``SystolicPlayer(...)`` text; JupyterLab 4 still renders the widget from its state.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    added = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            png = first_image_data(state, data[WIDGET_VIEW].get("model_id", "")) if WIDGET_VIEW in data else None
            if png:
                data["image/png"] = png
                added += 1
    return added


def write_atomically(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write the notebook beside ``path`` under a temporary name, then rename it: never half a notebook."""
    with replaced_when_done(path) as partial:
        nbformat.write(nb, partial)


def execute(path: Path, commit: str, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    refresh_generated_cells(nb, path.name, commit)
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources)
    client.execute()
    seconds = time.perf_counter() - start
    drop_framework_noise(nb)
    add_still_frames(nb)
    slides.apply(nb, path.stem)  # after execution: the rules read the outputs (figures, widgets, their size)
    write_atomically(nb, path)
    return seconds


def slides_only(path: Path) -> str:
    """Apply the slide rules to a stored notebook without executing it (its outputs stay as they are)."""
    nb = nbformat.read(path, as_version=4)
    deck = slides.apply(nb, path.stem)
    write_atomically(nb, path)
    return repr(deck)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute (default: all, in order)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="execute although the package has uncommitted changes (the setup cells then pin HEAD)")
    parser.add_argument("--slides-only", action="store_true",
                        help="only write the slide metadata and speaker notes of the stored notebooks")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    slides.write_rise_css(NOTEBOOKS)
    if args.slides_only:
        for path in paths:
            print(f"{path.name}: {slides_only(path.resolve())}", flush=True)
        return 0
    commit = executed_commit(args.allow_dirty)
    for path in paths:
        seconds = execute(path.resolve(), commit)
        size = path.stat().st_size / 1e6
        print(f"{path.name}: executed in {seconds:.1f} s, {size:.2f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
