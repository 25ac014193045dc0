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
    assert _source(setup) == script.setup_source()
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


def test_the_repository_path_is_one_setting():
    assert script.setup_source().count(tpu_lecture.GITHUB_REPO) == 1
    assert tpu_lecture.GITHUB_REPO in script.colab_url("00_start_here.ipynb")
