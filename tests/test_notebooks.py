"""The notebooks' shape: the skeleton of DESIGN.md, stored outputs, no foreign images, links from one setting.

nbval (collected from notebooks/ by `python -m pytest`) re-executes them and compares outputs; these
tests check what nbval does not.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

import tpu_lecture

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
LISTED = re.findall(r"^\| \d\d \| `(\d\d_\w+)` \|", README, flags=re.M)


def _load_script():
    spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = _load_script()


def _cells(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _tagged(cells, tag):
    return [c for c in cells if tag in c.get("metadata", {}).get("tags", [])]


def test_readme_lists_the_whole_lecture_in_order():
    assert sorted(LISTED) == LISTED and len(LISTED) == 10
    for name in LISTED:
        assert script.colab_url(f"{name}.ipynb") in README


@pytest.mark.parametrize("name", LISTED)
def test_notebook_follows_the_skeleton(name):
    cells = _cells(name)
    assert _source(cells[0]).startswith(f"# {name[:2]} · ")
    assert "What you will learn" in _source(cells[0])
    [link] = _tagged(cells, "colab-link")
    assert script.colab_url(f"{name}.ipynb") in _source(link)
    [setup] = _tagged(cells, "setup")
    assert _source(setup) == script.setup_source(commit=_pinned_commit(setup))
    assert len(_tagged(cells, "parameters")) == 1
    headings = [_source(c) for c in cells if c["cell_type"] == "markdown"]
    assert any(h.lstrip().startswith("## Key takeaways") for h in headings)
    exercises = [h for h in headings if h.lstrip().startswith("## Exercises")]
    assert exercises and "<details>" in "".join(headings[headings.index(exercises[0]):])


@pytest.mark.parametrize("name", LISTED)
def test_notebook_is_stored_executed_small_and_draws_its_own_figures(name):
    path = ROOT / "notebooks" / f"{name}.ipynb"
    assert path.stat().st_size < 2_000_000
    cells = _cells(name)
    code = [c for c in cells if c["cell_type"] == "code" and _source(c).strip()]
    assert all(c["execution_count"] is not None for c in code), "execute it with scripts/execute_notebooks.py"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            assert not re.search(r"!\[[^\]]*\]\(https?:", _source(cell)), "draw figures with code"
            assert not re.search(r"<img[^>]+src=[\"']https?:", _source(cell))


def _pinned_commit(setup_cell) -> str:
    [commit] = re.findall(r'^REPO, COMMIT = "[^"]+", "([0-9a-f]{40})"$', _source(setup_cell), flags=re.M)
    return commit


@pytest.mark.parametrize("name", LISTED)
def test_the_setup_cell_pins_a_commit_of_this_history(name):
    """Colab installs the package these outputs were made with: a commit that this clone's history holds."""
    import shutil
    import subprocess

    [setup] = _tagged(_cells(name), "setup")
    commit = _pinned_commit(setup)
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git clone: the pinned commit cannot be looked up here")
    found = subprocess.run(["git", "-C", str(ROOT), "merge-base", "--is-ancestor", commit, "HEAD"])
    assert found.returncode == 0, f"{name} pins {commit[:12]}, which is not in this branch's history: re-execute it"


def test_the_repository_path_is_one_setting():
    assert script.setup_source().count(tpu_lecture.GITHUB_REPO) == 1
    assert tpu_lecture.GITHUB_REPO in script.colab_url("00_start_here.ipynb")


OFFLINE = ("  error: subprocess-exited-with-error\n  \x1b[31m×\x1b[0m git clone --filter=blob:none --quiet "
           "https://github.com/x/y did not run successfully.\n      fatal: unable to access 'https://github.com/x/y/': "
           "Could not resolve host: github.com\n  note: This error originates from a subprocess, and is likely not a "
           "problem with pip.\n")
MISSING = ("      fatal: could not read Username for 'https://github.com': No such device or address\n"
           "  note: This error originates from a subprocess, and is likely not a problem with pip.\n")
OTHER = "ERROR: Could not find a version that satisfies the requirement sympy (from versions: none)\n"


class FakePip:
    """Stands in for ``subprocess.run`` in the setup cell: records each pip call, fails with ``stderr`` where told."""

    def __init__(self, fail_on: str | None = None, stderr: str = OTHER):
        self.calls: list[list[str]] = []
        self.fail_on, self.stderr = fail_on, stderr

    def __call__(self, command, **kwargs):
        import subprocess

        self.calls.append(command[command.index("install") + 1:])
        failed = self.fail_on is not None and any(self.fail_on in part for part in command)
        return subprocess.CompletedProcess(command, 1 if failed else 0, "", self.stderr if failed else "")


def _run_setup_cell(monkeypatch, missing: set[str], pip: FakePip, names: dict | None = None) -> str:
    import contextlib
    import importlib.util
    import io
    import subprocess

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in missing else real_find_spec(name, *a))
    monkeypatch.setattr(subprocess, "run", pip)
    monkeypatch.setattr("tpu_lecture.runtime.keep_framework_logs_out", lambda: True)  # the test's own stderr stays
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(script.setup_source(commit=COMMIT), "setup cell", "exec"), {} if names is None else names)
    return out.getvalue()


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_setup_cell_does_nothing_where_the_package_is_installed(monkeypatch):
    pip = FakePip()
    printed = _run_setup_cell(monkeypatch, set(), pip)
    assert pip.calls == [] and "Keras backend" in printed


def test_the_setup_cell_on_colab_installs_the_pinned_commit_with_its_notebooks_and_small_ones(monkeypatch):
    import sys

    pip = FakePip()
    monkeypatch.setattr(sys, "path", list(sys.path))
    _run_setup_cell(monkeypatch, {"tpu_lecture", "sympy", "ml_dtypes"}, pip)
    first, second = pip.calls
    source = str(ROOT / "tpu-lecture-src")
    assert first == ["-q", "--no-deps", "--src", source, "-e",
                     f"git+https://github.com/{tpu_lecture.GITHUB_REPO}@{COMMIT}#egg=tpu-lecture"]
    assert sys.path[0] == str(ROOT / "tpu-lecture-src" / "tpu-lecture"), "importable without a restart"
    assert second == ["-q", "ml_dtypes", "sympy"], "small packages come with their dependencies (sympy: mpmath)"
    everything = " ".join(part for call in pip.calls for part in call)
    assert "tensorflow" not in everything and "jax" not in everything


@pytest.mark.parametrize(("stderr", "cause", "fail_on"), [
    (OFFLINE, "this runtime is offline", "git+"),
    (MISSING, f"github.com/{tpu_lecture.GITHUB_REPO} at {COMMIT[:12]} was not found", "git+"),
    (OTHER, "pip said: ERROR: Could not find a version that satisfies the requirement sympy", "sympy"),
])
def test_the_setup_cell_says_in_one_line_why_it_cannot_install_and_later_cells_say_the_same(
        monkeypatch, stderr, cause, fail_on):
    names: dict = {}
    with pytest.raises(SystemExit) as stop:
        _run_setup_cell(monkeypatch, {"tpu_lecture", "sympy"}, FakePip(fail_on=fail_on, stderr=stderr), names)
    message = str(stop.value)
    assert "\n" not in message and "\x1b" not in message and cause in message, message
    assert message.startswith("Could not install ") and "originates from a subprocess" not in message
    with pytest.raises(SystemExit) as later:
        getattr(names["tl"], "SystolicArray")  # what the next cell does: the same line, no NameError  # noqa: B009
    assert str(later.value) == message


@pytest.mark.parametrize("name", LISTED)
def test_every_stored_widget_carries_its_frame_for_a_front_end_that_cannot_load_its_state(name):
    """ipywidgets 7.7.1 (Colab's) cannot load the saved 8.x widget state: such a front end shows the frame."""
    from tpu_lecture.slide_fit import WIDGET_STATE, WIDGET_VIEW, first_image_data

    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    views = [o["data"] for c in nb["cells"] for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]
    for data in views:
        frame = first_image_data(state, data[WIDGET_VIEW]["model_id"])
        assert frame and data.get("image/png") == frame and "text/plain" in data


@pytest.mark.parametrize("name", LISTED)
def test_no_stored_output_holds_framework_log_lines(name):
    from tpu_lecture.runtime.quiet import is_framework_noise

    noisy = [line for cell in _cells(name) for output in cell.get("outputs", [])
             for line in "".join(output.get("text", "")).splitlines() if is_framework_noise(line)]
    assert not noisy, f"{len(noisy)} framework log lines stored, e.g. {noisy[0][:100]!r}"


def test_framework_noise_is_told_from_what_matters():
    from tpu_lecture.runtime.quiet import is_framework_noise, without_noise

    noise = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
             "I0000 00:00:1795674186.818040   15311 port.cc:153] oneDNN custom operations are on.",
             "E0000 00:00:1795674191.121674   15311 cuda_platform.cc:52] failed call to cuInit: INTERNAL"]
    kept = ["/tmp/ipykernel_1/2.py:1: FallbackDataWarning: CIFAR-10 is not available", "ValueError: bad size"]
    assert all(map(is_framework_noise, noise)) and not any(map(is_framework_noise, kept))
    assert without_noise("\n".join(noise + kept) + "\n") == "\n".join(kept) + "\n"


@pytest.mark.parametrize("name", LISTED)
def test_a_notebook_that_quotes_the_install_command_quotes_the_readmes(name):
    install = re.search(r"```bash\n(python3 -m venv[^\n]+)\n```", README).group(1)
    quoted = [line for cell in _cells(name) if cell["cell_type"] == "markdown"
              for line in _source(cell).splitlines() if "pip install -e" in line]
    assert all(line.strip() == install for line in quoted), quoted
