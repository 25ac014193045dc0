"""Every notebook as live slides: the rules that give each cell its RISE slide type, the speaker notes from
the lecture plan, and the notebook's RISE settings.

``scripts/execute_notebooks.py`` calls :func:`apply` on every notebook it executes, so the notebooks and
their slides never drift apart; ``tests/test_slides.py`` recomputes the slides of every stored notebook and
expects no difference. The rules, first match wins (``slideshow.slide_type`` in the cell's metadata):

- the Colab link, the setup and the parameters cells, code cells with nothing to show and empty cells: *skip*
- a heading (``#``, ``##``) or a closing "**Next:**" line: a new *slide*; a ``###`` heading: a *subslide*
- a cell that shows a widget (the step-through player): a *subslide* of its own, with the short lead-in
  above it; whatever follows starts the next *subslide*. Where its code only names the widget (``player``), the
  code is hidden (``jupyter.source_hidden``, a collapsed input in JupyterLab, none on the slide): the slide shows
  the player, not the line that displays it
- "Key takeaways" and "Exercises" are one slide each: their code cells are *skipped* (the checks and the
  answer boxes are for students) unless they display the takeaways as markdown; the questions appear one
  click at a time as *fragments*
- elsewhere a markdown cell that opens with a list is a *fragment*; a cell that would overflow the slide
  (estimated by :mod:`tpu_lecture.slide_fit`) starts a *subslide*, with its short lead-in
- everything else continues the slide it is on (``-``)
- a section whose heading ends with "*(self-study)*" (or whose heading cell is tagged ``self-study``) is for
  students on their own: all its cells are *skipped*, and so is any other cell tagged ``self-study`` (prose the
  lecturer says instead of showing), so the slides are the notebook's in-class path

Speaker notes (cells tagged ``slide-notes``, type *notes*) are generated after the title and after the
takeaways heading from :data:`tpu_lecture.lecture.SEGMENTS`: rerunning replaces them, never adds more.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tpu_lecture import lecture
from tpu_lecture.files import write_atomically
from tpu_lecture.slide_fit import SLIDE, WIDGET_VIEW, cell_height, source_of, widget_frames

SLIDE_START, SUBSLIDE, FRAGMENT, SKIP, NOTES, CONTINUE = "slide", "subslide", "fragment", "skip", "notes", "-"
SLIDE_TYPES = (SLIDE_START, SUBSLIDE, FRAGMENT, SKIP, NOTES, CONTINUE)
NOTES_TAG = "slide-notes"
SKIPPED_TAGS = ("colab-link", "setup", "parameters")
SELF_STUDY = "self-study"  # the marker of a section that the slides leave out (read on one's own)
LEAD_IN_LINES = 3  # a markdown cell this short, just above a widget or a figure, goes to its slide with it
TITLE = "TPUs from the multiply-accumulate up"

# The notebook-level settings jupyterlab-rise reads from the ``rise`` metadata (its plugin schema). RISE lays a
# slide out at the window's size ("100%"; a fixed size in pixels breaks its layout on other screens), so the
# rules fill slides for a 1280 x 720 window: a 1280 x 720 projector, or 1920 x 1080 with the browser at 150%.
RISE_SETTINGS = {
    "width": "100%",
    "height": "100%",
    "scroll": True,
    "center": False,
    "theme": "simple",
    "transition": "none",
    "slideNumber": "c/t",
    "start_slideshow_at": "beginning",
    "auto_select": "none",
}

# rise.css beside the notebooks: RISE loads it for every notebook in that folder. Only slides (inside .reveal)
# are touched; JupyterLab's notebook view keeps its own look.
RISE_CSS = f"""/* Written by tpu_lecture.slides (scripts/execute_notebooks.py): edit RISE_CSS there, not here. */
/* Slides only (inside .reveal): figures, long code and long printouts fit a {SLIDE.width}x{SLIDE.height} slide
   (a 1280x720 projector, or 1920x1080 with the browser at 150%); what is longer scrolls inside its own cell. */
.reveal .jp-OutputArea-output img {{
  display: block;
  margin: 0;
  max-height: {SLIDE.max_image_height}px;
  max-width: 100%;
  width: auto;
  height: auto;
  object-fit: contain;
}}
.reveal .tl-player .tl-frame {{
  max-height: {SLIDE.max_frame_height}px;
}}
/* A widget cell whose code is hidden (jupyter.source_hidden) shows no code on its slide, and the player's frame
   scaled to {SLIDE.frame_height}px, {SLIDE.frame_height / SLIDE.height:.0%} of the slide's height. */
.reveal .jp-Cell-inputWrapper:has(.jp-InputPlaceholder), .reveal .jp-InputPlaceholder {{
  display: none;
}}
.reveal .jp-CodeCell:has(.jp-InputPlaceholder) .tl-player .tl-frame {{
  height: {SLIDE.frame_height}px;
  max-height: {SLIDE.frame_height}px;
  width: auto;
}}
.reveal .jp-OutputArea-output .animation img {{
  height: {SLIDE.max_animation_height}px;
  max-height: {SLIDE.max_animation_height}px;
  width: auto;
}}
.reveal .jp-CodeCell .jp-InputArea-editor .cm-editor {{
  max-height: {round(SLIDE.code_lines * 17.5 + 12)}px;
}}
.reveal .jp-CodeCell .jp-InputArea-editor .cm-scroller {{
  overflow: auto;
}}
.reveal .jp-OutputArea-output.jp-RenderedHTML {{
  max-height: {SLIDE.max_html_height}px;
  overflow: auto;
}}
.reveal .jp-OutputArea-output pre {{
  max-height: {round(SLIDE.output_lines * 17 + 12)}px;
  overflow-y: auto;
}}
#rise-footer {{
  left: 12px;
  bottom: 4px;
  font-size: 11px;
  color: #6b7280;
}}
"""


@dataclass(frozen=True)
class Deck:
    """What the rules made of one notebook: the slide type of every cell and how many slides that is."""

    name: str
    types: tuple[str, ...]

    @property
    def slides(self) -> int:
        """Slides and subslides, the screens a lecturer goes through (the first visible cell opens one)."""
        starts = sum(t in (SLIDE_START, SUBSLIDE) for t in self.types)
        first = next((t for t in self.types if t not in (SKIP, NOTES)), SLIDE_START)
        return starts + (first not in (SLIDE_START, SUBSLIDE))

    def count(self, slide_type: str) -> int:
        return sum(t == slide_type for t in self.types)

    def __repr__(self) -> str:
        counts = Counter(self.types)
        return (f"Deck({self.name!r}: {self.slides} slides, {counts[FRAGMENT]} fragments, {counts[SKIP]} cells "
                f"skipped, {counts[NOTES]} notes, of {len(self.types)} cells)")


# --------------------------------------------------------------------------- reading cells


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def heading_level(cell: dict) -> int:
    """1 for a cell that opens with ``# …``, 2 for ``## …``, …; 0 for anything else."""
    if cell.get("cell_type") != "markdown":
        return 0
    first = source_of(cell).lstrip().split("\n", 1)[0]
    level = len(first) - len(first.lstrip("#"))
    return level if 0 < level <= 6 and first[level:level + 1] == " " else 0


def shows_widget(cell: dict) -> bool:
    return any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", []))


def only_names_it(cell: dict) -> bool:
    """A code cell whose whole source is one name (the widget it displays), test markers aside."""
    lines = [line for line in source_of(cell).splitlines() if line.strip() and not line.startswith("# NBVAL")]
    return len(lines) == 1 and lines[0].strip().isidentifier()


def shows_prose(cell: dict) -> bool:
    """A code cell that displays markdown (computed takeaways, say): on a slide it reads like text."""
    return any("text/markdown" in o.get("data", {}) for o in cell.get("outputs", []))


def opens_with_list(cell: dict) -> bool:
    """A markdown cell whose first line is a bullet or a numbered item (``- …``, ``1. …``, ``**1.** …``)."""
    first = source_of(cell).lstrip().split("\n", 1)[0]
    return cell.get("cell_type") == "markdown" and bool(re.match(r"([-*+] |\d+\. |\*\*\d+\.\*\*)", first))


def is_lead_in(cell: dict) -> bool:
    """A short markdown cell (no heading) that introduces what comes right below it."""
    source = source_of(cell).strip()
    return (cell.get("cell_type") == "markdown" and not heading_level(cell) and bool(source)
            and source.count("\n") < LEAD_IN_LINES)


def is_self_study(cell: dict) -> bool:
    """A heading cell that opens a self-study section: its heading ends with "(self-study)", or it is tagged so."""
    if not heading_level(cell):
        return False
    first = source_of(cell).lstrip().split("\n", 1)[0]
    return SELF_STUDY in tags(cell) or bool(re.search(r"\(self-study\)\W*$", first, flags=re.I))


def self_study_cells(cells: list[dict]) -> list[int]:
    """The indices of the cells in self-study sections: from such a heading to the next heading of its level or
    higher (or the closing "**Next:**" line)."""
    inside, level, found = False, 0, []
    for index, cell in enumerate(cells):
        here = heading_level(cell)
        if (here and here <= level) or source_of(cell).strip().startswith("**Next:**"):
            inside = False
        if is_self_study(cell):
            inside, level = True, heading_level(cell)
        if (inside or SELF_STUDY in tags(cell)) and NOTES_TAG not in tags(cell):
            found.append(index)
    return found


def self_study_titles(cells: list[dict]) -> list[str]:
    """The headings of the self-study sections, without their marker (for the speaker notes)."""
    return [re.sub(r"\s*\*?\(self-study\)\*?\W*$", "", source_of(c).lstrip().split("\n", 1)[0].lstrip("# "),
                   flags=re.I) for c in cells if is_self_study(c)]


def section_name(cell: dict) -> str | None:
    """'takeaways' or 'exercises' for the headings that open those sections, else None."""
    if heading_level(cell) != 2:
        return None
    title = source_of(cell).lstrip()[3:].strip().casefold()
    return "takeaways" if title.startswith("key takeaways") else "exercises" if title.startswith("exercises") else None


# --------------------------------------------------------------------------- the rules


def fixed_type(cell: dict, section: str | None, after_widget: bool) -> str | None:
    """The slide type the rules give a cell by what it is, or None where only the slide's fill decides."""
    source = source_of(cell).strip()
    if set(tags(cell)) & set(SKIPPED_TAGS) or not source:
        return SKIP
    if cell.get("cell_type") == "code" and (not cell.get("outputs") or (section and not shows_prose(cell))):
        return SKIP
    level = heading_level(cell)
    if level in (1, 2) or (cell.get("cell_type") == "markdown" and source.startswith("**Next:**")):
        return SLIDE_START
    if level >= 3 or shows_widget(cell) or after_widget:
        return SUBSLIDE
    if opens_with_list(cell):
        return FRAGMENT
    return None


def slide_types(cells: list[dict], frames: dict | None = None) -> list[str]:
    """The slide type of each cell (the generated notes cells must already be taken out)."""
    frames = frames or {}
    types: list[str | None] = []
    section, after_widget = None, False
    for cell in cells:
        if heading_level(cell) in (1, 2) or source_of(cell).strip().startswith("**Next:**"):
            section = section_name(cell)
        kind = fixed_type(cell, section, after_widget)
        after_widget = shows_widget(cell) or (after_widget and kind == SKIP)
        types.append(kind)
    for index in self_study_cells(cells):
        types[index] = SKIP
    _pull_lead_ins(cells, types)
    _fill_slides(cells, types, frames)
    return [t or CONTINUE for t in types]


def _previous_shown(types: list[str | None], index: int) -> int | None:
    """The nearest cell above ``index`` that is on a slide (not skipped)."""
    return next((j for j in range(index - 1, -1, -1) if types[j] != SKIP), None)


def _pull_lead_ins(cells: list[dict], types: list[str | None]) -> None:
    """A widget's subslide starts at the short lead-in just above it, which then belongs to the widget."""
    for index, cell in enumerate(cells):
        if types[index] == SUBSLIDE and shows_widget(cell):
            above = _previous_shown(types, index)
            if above is not None and types[above] in (None, FRAGMENT) and is_lead_in(cells[above]):
                types[above], types[index] = SUBSLIDE, None


def _fill_slides(cells: list[dict], types: list[str | None], frames: dict) -> None:
    """Start a subslide where a cell would overflow the slide it is on (not in takeaways or exercises)."""
    used, section = 0.0, None
    for index, cell in enumerate(cells):
        if types[index] == SKIP:
            continue
        if types[index] == SLIDE_START:
            section = section_name(cell)
        height = cell_height(cell, frames)
        if types[index] in (SLIDE_START, SUBSLIDE) or section or shows_widget(cell):
            used = height if types[index] in (SLIDE_START, SUBSLIDE) else used + height
            continue
        if used + height > SLIDE.budget and used > 0:
            above = _previous_shown(types, index)
            start = above if above is not None and types[above] is None and is_lead_in(cells[above]) else index
            types[start] = SUBSLIDE
            used = sum(cell_height(cells[j], frames) for j in range(start, index + 1) if types[j] != SKIP)
        else:
            used += height


# --------------------------------------------------------------------------- speaker notes


def _minute_marks(name: str) -> tuple[lecture.Segment, int, int, list[lecture.Segment]]:
    """The notebook's segment, its start minute in class, its index among the taught segments, and those."""
    this = lecture.segment(name)
    taught = [s for s in lecture.SEGMENTS if s.in_class]
    if not this.in_class:
        return this, 0, -1, taught
    index = taught.index(this)
    return this, sum(s.minutes for s in taught[:index]), index, taught


def speaker_notes(name: str, deck_slides: int, self_study: list[str] | tuple[str, ...] = ()) -> tuple[str, str]:
    """The opening and closing notes of a notebook: its minutes, its pace, the Q&A breaks around it, and the
    sections left to self-study (not on the slides)."""
    this, start, index, taught = _minute_marks(name)
    left = (f" Left to self-study (not on the slides; point students to them): {'; '.join(self_study)}."
            if self_study else "")
    source = "the original outline" if this.minutes_from == "outline" else "this lecture's plan"
    pace = this.minutes * 60 / max(deck_slides, 1)
    head = "**Speaker notes** (generated from `tpu_lecture/lecture.py` by `tpu_lecture.slides`; edits are overwritten)"
    if index < 0:
        opening = (f"{head}. Before class: \"{this.title}\", about {this.minutes} minutes for students on their own "
                   f"({source}). Presenting it: {deck_slides} slides, about {pace:.0f} s each. The lecture itself is "
                   f"{len(taught)} segments, {lecture.total_minutes()} minutes with its Q&A breaks.")
        return opening, f"{head}. Wrap up by minute {this.minutes}; in class, segment 1 follows: {taught[0].title}."
    before = taught[index - 1] if index else None
    after = taught[index + 1] if index + 1 < len(taught) else None
    came = f"; it follows {_name(before)}" if before else "; it opens the lecture"
    opening = (f"{head}. Segment {index + 1} of {len(taught)}, \"{this.title}\": {this.minutes} minutes ({source}), "
               f"from minute {start} to {start + this.minutes} of {lecture.total_minutes()}{came}. "
               f"{deck_slides} slides: about {pace:.0f} s each; the player and the figures take longer, the "
               f"code can go fast.{left}")
    nxt = f"next: {_name(after)}" if after else "the lecture ends here: thank the room and take questions"
    closing = (f"{head}. Time check: these takeaways by minute {start + this.minutes - 2}, done by minute "
               f"{start + this.minutes}; {nxt}.")
    return opening, closing


def _name(segment: lecture.Segment) -> str:
    if segment.notebook is None:
        return f"a Q&A break ({segment.minutes} min)"
    return f"\"{segment.title}\" ({segment.minutes} min, notebook {segment.notebook[:2]})"


def _notes_cell(text: str, index: int) -> dict:
    import nbformat.v4 as nbf

    cell = nbf.new_markdown_cell(text, metadata={"slideshow": {"slide_type": NOTES}, "tags": [NOTES_TAG]})
    cell["id"] = f"slide-notes-{index}"
    return cell


# --------------------------------------------------------------------------- applying them


def plan_name(name: str) -> str | None:
    """The lecture plan's name for a notebook file's stem, or None where the notebook is not in the plan."""
    known = {n for n, _ in lecture.NOTEBOOKS}
    return name if name in known else None


def apply(notebook: dict, name: str) -> Deck:
    """Write the slide metadata, the speaker notes and the RISE settings into ``notebook`` (in place)."""
    cells = [c for c in notebook["cells"] if NOTES_TAG not in tags(c)]
    types = slide_types(cells, widget_frames(notebook))
    for cell, kind in zip(cells, types):
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
        if shows_widget(cell) and only_names_it(cell):
            cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True
    deck = Deck(name, tuple(types))
    if plan_name(name):
        opening, closing = speaker_notes(name, deck.slides, self_study_titles(cells))
        takeaways = next((i for i, c in enumerate(cells) if section_name(c) == "takeaways"), None)
        if takeaways is not None:
            cells.insert(takeaways + 1, _notes_cell(closing, 2))
        cells.insert(1, _notes_cell(opening, 1))
        deck = Deck(name, tuple(c["metadata"]["slideshow"]["slide_type"] for c in cells))
    notebook["cells"] = cells
    notebook.setdefault("metadata", {})["rise"] = rise_settings(name)
    return deck


def presenting_seconds(notebook: dict) -> int:
    """How long a notebook's stored slides take to present at the lecture's slide budget: each slide
    ``lecture.SLIDE_SECONDS``, a slide with the step-through player ``lecture.PLAYER_SECONDS``."""
    shown = [c for c in notebook["cells"] if c.get("metadata", {}).get("slideshow", {}).get("slide_type")
             not in (SKIP, NOTES)]
    deck = Deck("", tuple(c["metadata"]["slideshow"]["slide_type"] for c in shown))
    players = sum(shows_widget(c) for c in shown)
    return deck.slides * lecture.SLIDE_SECONDS + players * (lecture.PLAYER_SECONDS - lecture.SLIDE_SECONDS)


def rise_settings(name: str) -> dict:
    """The notebook's ``rise`` metadata: :data:`RISE_SETTINGS` and a footer naming the lecture and the segment."""
    footer = f"{TITLE} · {name[:2]}"
    if plan_name(name):
        segment = lecture.segment(name)
        footer += f" · {segment.title} · {segment.minutes} min"
    return {**RISE_SETTINGS, "footer": footer}


def differences(notebook: dict, name: str) -> list[str]:
    """Where the stored slides differ from what the rules make of the notebook now (empty: in step)."""
    fresh = copy.deepcopy(notebook)
    apply(fresh, name)
    found = []
    if notebook.get("metadata", {}).get("rise") != fresh["metadata"]["rise"]:
        found.append("the notebook's rise settings")
    stored = [(c.get("metadata", {}).get("slideshow", {}).get("slide_type"), source_of(c)) for c in notebook["cells"]]
    wanted = [(c["metadata"]["slideshow"]["slide_type"], source_of(c)) for c in fresh["cells"]]
    if len(stored) != len(wanted):
        found.append(f"{len(stored)} cells stored, {len(wanted)} with the generated notes")
    for index, (have, want) in enumerate(zip(stored, wanted)):
        if have != want:
            what = "notes text" if have[0] == want[0] else f"slide type {have[0]} instead of {want[0]}"
            found.append(f"cell {index}: {what}")
    return found


def write_rise_css(folder: Path) -> Path:
    """Write :data:`RISE_CSS` as ``rise.css`` in ``folder`` (atomically); returns its path."""
    return write_atomically(Path(folder) / "rise.css", RISE_CSS)


def describe(notebook: dict, name: str) -> str:
    """One line per slide: its number and the first words of the cells on it (for a lecturer's overview)."""
    lines, number = [], 0
    for cell in notebook["cells"]:
        kind = cell.get("metadata", {}).get("slideshow", {}).get("slide_type", CONTINUE)
        if kind in (SKIP, NOTES):
            continue
        first = source_of(cell).strip().split("\n", 1)[0][:60]
        if kind in (SLIDE_START, SUBSLIDE) or not lines:
            number += 1
            lines.append(f"{number:>3} {'' if kind == SLIDE_START else '  '}{first}")
        elif kind == FRAGMENT:
            lines[-1] += " | +" + first[:20]
    return json.dumps(name) + f": {number} slides\n" + "\n".join(lines)
