"""The handout: ``python -m tpu_lecture handout`` writes each stored notebook as an HTML page that needs no
network (no script, stylesheet or font from the web; math as MathML; widgets as their stored frame) and an
index; bad input costs one line and exit status 2, and no file the handout did not write is ever replaced.
The pages are opened offline in a browser by tests/test_handout_browser.py.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tpu_lecture import handout
from tpu_lecture.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
nbconvert = pytest.importorskip("nbconvert", reason="nbconvert is not installed: pip install -e '.[jupyter]'")
pytest.importorskip("latex2mathml", reason="latex2mathml is not installed: pip install -e '.[jupyter]'")


def _error_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: "), (out, err)
    return err


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    """The handout of notebooks 00 and 04 (the player, the animation, math), written once for the module."""
    out = tmp_path_factory.mktemp("handout")
    assert main(["handout", "--out", str(out), "00", "04_systolic_array"]) == 0
    return out


def test_the_pages_and_the_index_are_written_and_nothing_else(pages):
    assert sorted(p.name for p in pages.iterdir()) == ["00_start_here.html", "04_systolic_array.html", "index.html"]
    index = (pages / "index.html").read_text(encoding="utf-8")
    assert 'href="00_start_here.html"' in index and 'href="04_systolic_array.html"' in index
    assert "10 min" in index and handout.MARKER in index


@pytest.mark.parametrize("name", ["00_start_here", "04_systolic_array"])
def test_a_page_loads_nothing_from_the_web(pages, name):
    page = (pages / f"{name}.html").read_text(encoding="utf-8")
    assert not handout.EXTERNAL.search(page)
    assert "cdnjs" not in page and "unpkg" not in page and "require.js" not in page and "MathJax.Hub" not in page
    assert not re.search(r"@import|url\((?!data:)", page), "a stylesheet that fetches"
    assert len(handout.OURS.findall(page)) == 1


def test_math_is_mathml_and_the_player_is_its_stored_frame(pages):
    page = (pages / "04_systolic_array.html").read_text(encoding="utf-8")
    assert page.count("<math") >= 10 and "\\begin{pmatrix}" not in page
    stored = json.loads((ROOT / "notebooks" / "04_systolic_array.ipynb").read_text(encoding="utf-8"))
    widgets = sum(handout.WIDGET_VIEW in o.get("data", {}) for c in stored["cells"] for o in c.get("outputs", []))
    stills = re.findall(r'<figure class="tl-handout-widget"><img [^>]*src="data:image/png;base64,', page)
    assert len(stills) == widgets >= 2
    assert "_anim_img" in page, "the HTML animation of section 8 is on the page"


def test_tex_that_cannot_be_converted_is_shown_as_it_is():
    assert handout.to_mathml("3n - 2").startswith("<math")
    assert handout.to_mathml(r"\frac{a}{") == r'<code class="tl-tex">\frac{a}{</code>'


def test_a_second_run_replaces_its_own_pages_atomically(pages, capsys):
    before = (pages / "index.html").stat().st_mtime_ns
    assert main(["handout", "--out", str(pages), "00"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (pages / "index.html").stat().st_mtime_ns >= before
    assert not list(pages.glob(".*.tmp")), "a temporary file was left behind"


def test_a_file_the_handout_did_not_write_is_never_replaced(tmp_path, capsys):
    mine = tmp_path / "index.html"
    mine.write_text("<html>my own page</html>")
    assert main(["handout", "--out", str(tmp_path), "00"]) == 2
    assert "was not written by the handout" in _error_line(capsys)
    assert mine.read_text() == "<html>my own page</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


@pytest.mark.parametrize("argv, says", [
    (["handout", "99"], "no such notebook: '99'"),
    (["handout", "missing.ipynb"], "no such notebook: missing.ipynb"),
])
def test_bad_input_costs_one_line_and_exit_status_2(argv, says, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert says in _error_line(capsys)


def test_an_output_folder_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "handout"
    target.write_text("not a folder")
    assert main(["handout", "--out", str(target), "00"]) == 2
    assert "is a file, not a folder" in _error_line(capsys)
    assert target.read_text() == "not a folder"


def test_without_nbconvert_the_command_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "nbconvert.exporters", None)  # import nbconvert.exporters now fails
    assert main(["handout", "--out", str(tmp_path / "out"), "00"]) == 2
    assert "is not installed, and the handout needs it: pip install -e '.[jupyter]'" in _error_line(capsys)
    assert not (tmp_path / "out" / "00_start_here.html").exists()


def test_the_page_counts_its_figures():
    stored = json.loads((ROOT / "notebooks" / "04_systolic_array.ipynb").read_text(encoding="utf-8"))
    assert handout.count_figures(stored) >= 10
    assert repr(handout.Page(Path("x.html"), Path("x.ipynb"), "X", 3)) == "Page(x.html: 'X', 3 figures, 0.0 MB)"
