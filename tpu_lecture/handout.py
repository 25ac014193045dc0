"""The handout: each notebook, as executed and stored, as one HTML page a student opens with no Jupyter and
no network, plus an index page.

nbconvert's HTML exporter (the JupyterLab look) writes the pages, with three changes so that nothing is
fetched from the web: math is turned into MathML (which browsers draw themselves) instead of loading MathJax,
require.js and the widget manager are left out, and each widget (the step-through player) is shown as the
frame it stored, with a line saying where it plays. Images are inline; the HTML animation of notebook 04 is
plain JavaScript and plays as it is. A page is written to a temporary file and renamed, and a file the
handout did not write is never replaced.
"""

from __future__ import annotations

import copy
import html
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tpu_lecture import lecture
from tpu_lecture.files import new_folders, remove_new, write_all_atomically
from tpu_lecture.slide_fit import IMAGE_TYPES, WIDGET_STATE, WIDGET_VIEW, first_image_data, source_of

GENERATOR = "tpu_lecture handout"
MARKER = f'<meta name="generator" content="{GENERATOR}">'
OURS = re.compile(rf'<meta\b[^>]*\bcontent="{GENERATOR}"')  # nbconvert rewrites the tag's attributes in its order
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
INSTALL = "pip install -e '.[jupyter]' (it brings nbconvert and latex2mathml)"

# nbconvert's JupyterLab template, less everything it would fetch from a CDN (require.js, MathJax, the
# widget manager, mermaid), plus the generator mark that tells our pages from a user's files.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
""" + MARKER + """
<style>
  .tl-handout-widget img { max-width: 100%; height: auto; }
  .tl-handout-widget figcaption { font-style: italic; color: #555; margin-top: 4px; }
  .tl-tex { color: #8a1c1c; }
  /* WCAG 2.1 AA (axe-core): prompts and code colours at 4.5:1 or more on their backgrounds, links underlined. */
  .jp-InputPrompt, .jp-OutputPrompt { color: #4b5563 !important; opacity: 1 !important; }
  .highlight .m, .highlight .mb, .highlight .mf, .highlight .mh, .highlight .mi, .highlight .il,
  .highlight .mo { color: #006100 !important; }
  .highlight .ow, .highlight .nd { color: #7a1fc2 !important; }
  .highlight .c, .highlight .c1, .highlight .ch, .highlight .cm, .highlight .cpf,
  .highlight .cs { color: #2f5f5f !important; }
  .highlight .se, .highlight .sd, .highlight .ne, .highlight .nl, .highlight .ni,
  .highlight .gr, .highlight .gt, .highlight .err { color: #8a3b00 !important; }
  .highlight .cp { color: #6b5200 !important; }
  .jp-RenderedHTMLCommon a, .jp-RenderedMarkdown a { text-decoration: underline !important; }
</style>
{%- endblock extra_css -%}
"""
# A page must not load anything by itself: no script, stylesheet, image or frame from the web.
EXTERNAL = re.compile(r"""<(script|link|img|iframe|source|embed)\b[^>]*?\b(src|href)\s*=\s*["']?(https?:)?//""", re.I)


class HandoutError(ValueError):
    """Bad input for the handout: a notebook that is not there, an output folder that cannot be one."""


@dataclass(frozen=True)
class Page:
    """One written page: where it is, the notebook it shows, its title and how many figures it holds."""

    path: Path
    notebook: Path
    title: str
    figures: int

    def __repr__(self) -> str:
        size = self.path.stat().st_size / 1e6 if self.path.exists() else 0
        return f"Page({self.path.name}: {self.title!r}, {self.figures} figures, {size:.1f} MB)"


# --------------------------------------------------------------------------- what to convert, and where


def find_notebooks(names: Sequence[str] = ()) -> list[Path]:
    """The notebooks to convert: all of the lecture's (in order) or those named ("04", "04_systolic_array", a path)."""
    if not names:
        found = [NOTEBOOKS / f"{name}.ipynb" for name, _ in lecture.NOTEBOOKS]
        return [p for p in found if p.is_file()] or _none_beside_the_package()
    return [_one_notebook(name) for name in names]


def _none_beside_the_package() -> list[Path]:
    raise HandoutError(f"no notebooks in {NOTEBOOKS}: name the .ipynb files to convert")


def _one_notebook(name: str) -> Path:
    path = Path(name)
    if path.suffix == ".ipynb":
        if not path.is_file():
            raise HandoutError(f"no such notebook: {name} (give the path of an .ipynb file)")
        return path
    try:
        stem = lecture.notebook_name(name)
    except ValueError:
        known = ", ".join(n for n, _ in lecture.NOTEBOOKS)
        raise HandoutError(f"no such notebook: {name!r} (use a number such as 04, a name of {known}, "
                           "or the path of an .ipynb file)") from None
    path = NOTEBOOKS / f"{stem}.ipynb"
    if not path.is_file():
        raise HandoutError(f"no such notebook: {path} is missing (give the path of an .ipynb file)")
    return path


def output_folder(out: Path) -> Path:
    """``out`` as a folder to write into, made if missing; a file in its place is an error."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HandoutError(f"--out {out} is a file, not a folder: give a folder for the handout")
    out.mkdir(parents=True, exist_ok=True)
    return out


def check_ours(target: Path) -> None:
    """Refuse to replace a file the handout did not write (a user's own index.html, say)."""
    if target.exists():
        with open(target, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
        if not OURS.search(head):
            raise HandoutError(f"{target} exists and was not written by the handout: move it, or choose another --out")


# --------------------------------------------------------------------------- the notebook, made static


def count_figures(notebook: dict) -> int:
    """Figures a page of ``notebook`` shows: images, HTML animations and widgets (as their stored frame)."""
    found = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            html_text = "".join(data.get("text/html", ""))
            found += any(k in data for k in IMAGE_TYPES) or WIDGET_VIEW in data or "<img" in html_text
    return found


def static_copy(notebook: dict) -> dict:
    """A copy with every widget replaced by its stored frame, and no widget state left to load a manager for."""
    nb = copy.deepcopy(notebook)
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                png = first_image_data(state, data[WIDGET_VIEW].get("model_id", ""))
                output["data"] = {"text/html": _still(png, "".join(data.get("text/plain", ""))),
                                  "text/plain": data.get("text/plain", "")}
            elif "text/latex" in data:
                data["text/html"] = to_mathml(_tex_body("".join(data["text/latex"])), display="block")
    return nb


def _still(png: str | None, name: str) -> str:
    where = "Open this notebook in JupyterLab or Colab to step through it."
    label = html.escape(name.strip() or "a widget")
    if not png:
        return f'<figure class="tl-handout-widget"><figcaption>{label}: a live widget. {where}</figcaption></figure>'
    return (f'<figure class="tl-handout-widget"><img src="data:image/png;base64,{png}" alt="{label}">'
            f"<figcaption>{label}, as stored: a live player in the notebook. {where}</figcaption></figure>")


def _tex_body(tex: str) -> str:
    return tex.strip().strip("$").replace(r"\displaystyle", "").strip()


def to_mathml(tex: str, display: str = "inline") -> str:
    """TeX as MathML, drawn by the browser with no script; TeX that cannot be converted is shown as it is."""
    import latex2mathml.converter

    try:
        return latex2mathml.converter.convert(tex, display=display)
    except Exception:  # latex2mathml raises many kinds for TeX it does not know: show the source instead
        return f'<code class="tl-tex">{html.escape(tex)}</code>'


# --------------------------------------------------------------------------- nbconvert


def _exporter():
    """nbconvert's HTML exporter with the offline template and markdown math turned into MathML."""
    try:
        import jinja2
        import latex2mathml  # noqa: F401
        from nbconvert.exporters import HTMLExporter
        from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
    except ImportError as missing:
        package = (missing.name or "nbconvert").split(".")[0]
        raise HandoutError(f"{package} is not installed, and the handout needs it: {INSTALL}") from None

    class MathMLRenderer(IPythonRenderer):
        def inline_math(self, body: str) -> str:
            return to_mathml(body)

        def block_math(self, body: str) -> str:
            return to_mathml(body, display="block")

        def latex_environment(self, name: str, body: str) -> str:
            return to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")

    class OfflineHTMLExporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}),
                                      embed_images=self.embed_images, anchor_link_text=self.anchor_link_text,
                                      path=context.get("resources", {}).get("metadata", {}).get("path", ""))
            return MarkdownWithMath(renderer=renderer).render(source)

    return OfflineHTMLExporter(template_name="lab", template_file="handout.html.j2", embed_images=True,
                               extra_loaders=[jinja2.DictLoader({"handout.html.j2": TEMPLATE})])


def render(path: Path, exporter=None) -> tuple[str, dict]:
    """The page of one notebook and the notebook it was made from; raises if the page would need the network."""
    import nbformat

    exporter = exporter or _exporter()
    notebook = read_notebook(path)
    try:
        body, _ = exporter.from_notebook_node(nbformat.from_dict(static_copy(notebook)),
                                                 resources={"metadata": {"path": str(path.parent), "name": path.stem}})
    except Exception as error:  # nbconvert and its templates raise many kinds for a notebook they cannot draw
        raise HandoutError(f"cannot make a page of {path} ({_why(error)}): open it in Jupyter, save it, and "
                           "try again") from None
    external = sorted({m[0] for m in EXTERNAL.finditer(body)})
    if external:
        raise HandoutError(f"the page of {path.name} would load from the web ({', '.join(external)}): "
                           "the nbconvert template changed; update tpu_lecture.handout.TEMPLATE")
    return body, notebook


def read_notebook(path: Path) -> dict:
    """The notebook at ``path``, checked against the notebook format; a HandoutError naming it if it is not one."""
    import nbformat

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HandoutError(f"cannot read the notebook {path} ({_why(error)}): give an .ipynb file saved by "
                           "Jupyter") from None
    _check_shape(path, text)
    try:
        with warnings.catch_warnings():  # nbformat warns (missing cell ids, …) on its way to an error or a fix
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
            nbformat.validate(notebook)
    except Exception as error:  # nbformat raises many kinds (JSON, schema, attribute errors) for what is not one
        why = getattr(error, "message", None) or _why(error)
        raise HandoutError(f"{path} is not a notebook nbformat can read ({_why(why)}): give an .ipynb file "
                           "saved by Jupyter") from None
    return notebook


def _check_shape(path: Path, text: str) -> None:
    """A notebook is a JSON object with a list of cells, each an object: said plainly before nbformat looks."""
    try:
        raw = json.loads(text)
    except RecursionError:
        raise HandoutError(f"{path} is nested too deeply to be a notebook: give an .ipynb file saved by "
                           "Jupyter") from None
    except ValueError as error:
        where = f" at line {error.lineno}" if hasattr(error, "lineno") else ""
        raise HandoutError(f"{path} is not JSON{where}, so not a notebook (empty, cut short or another kind of "
                           "file): give an .ipynb file saved by Jupyter") from None
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise HandoutError(f"{path} is JSON but not a notebook (a notebook is an object with a list of cells): "
                           "give an .ipynb file saved by Jupyter")


def _why(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# --------------------------------------------------------------------------- the whole handout


def title_of(notebook: dict, fallback: str) -> str:
    """The notebook's first heading, without its hashes."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown" and source_of(cell).lstrip().startswith("#"):
            return source_of(cell).lstrip().split("\n", 1)[0].lstrip("#").strip()
    return fallback


def write_handout(notebooks: Sequence[Path], out: Path) -> list[Page]:
    """Write one page per notebook and the index into ``out``. Every target is checked and every page made
    before anything is written, then all are written in one step; a failure (an unreadable notebook, an
    interrupt) leaves ``out`` as it was: a folder it made is removed, an existing one keeps its files."""
    exporter = _exporter()  # a missing nbconvert is said before anything is made
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HandoutError(f"--out {out} is a file, not a folder: give a folder for the handout")
    made = new_folders(out)
    for target in [out / f"{p.stem}.html" for p in notebooks] + [out / "index.html"]:
        check_ours(target)
    pages, bodies = [], {}
    for path in notebooks:
        body, notebook = render(path, exporter)
        bodies[out / f"{path.stem}.html"] = body
        pages.append(Page(out / f"{path.stem}.html", path, title_of(notebook, path.stem), count_figures(notebook)))
    bodies[out / "index.html"] = index_page(pages)
    try:
        output_folder(out)
        write_all_atomically(bodies)
    except BaseException:
        remove_new(made, list(bodies) if made else [])
        raise
    return pages


def index_page(pages: Sequence[Page]) -> str:
    """The handout's front page: one line per notebook, with its segment's minutes where the plan has it."""
    rows = []
    for page in pages:
        minutes = ""
        if page.notebook.stem in {n for n, _ in lecture.NOTEBOOKS}:
            segment = lecture.segment(page.notebook.stem)
            minutes = f"{segment.minutes} min" + ("" if segment.in_class else ", before class")
        rows.append(f'<tr><td><a href="{html.escape(page.path.name)}">{html.escape(page.title)}</a></td>'
                    f"<td>{minutes}</td><td>{page.figures} figures</td></tr>")
    title = "TPUs from the multiply-accumulate up: the handout"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{MARKER}<title>{title}</title>'
            '<style>body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.5}'
            "td{padding:4px 12px 4px 0}</style></head><body>"
            f"<h1>{title}</h1><p>Every notebook of the lecture as it was executed and stored, one page each. "
            "The pages need no Jupyter and no network; the player is shown as a still frame (step through it "
            f"in JupyterLab or Colab), the animations play.</p><table>{''.join(rows)}</table>"
            f"<p><small>{json.dumps(lecture.total_minutes())} minutes in class, Q&amp;A breaks included. "
            f"Made by <code>python -m tpu_lecture handout</code>.</small></p></body></html>\n")
