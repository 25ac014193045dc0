"""How tall a notebook cell stands on a slide: the estimates that tell the slide rules when a slide is full.

The slides are laid out at :data:`SLIDE`, a 1280 × 720 projector (or 1920 × 1080 with the browser zoomed to
150%), in JupyterLab's own fonts: RISE draws a slide the size of the window, unscaled. Heights are
estimated from what is stored in the notebook (lines of text, the pixel size of a PNG, a widget's stored
frame), never measured, so the rules give the same answer on every machine; the constants were measured on
the real slides in headless Chromium, and ``tests/test_slides_browser.py`` checks the player's slide fits.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


@dataclass(frozen=True)
class Slide:
    """The slide's size in CSS pixels (what RISE lays out before scaling to the screen) and what fits on it."""

    width: int = 1280
    height: int = 720
    max_image_height: int = 400  # rise.css caps every output image at this on a slide,
    max_frame_height: int = 420  # … the player's frame at this, leaving room for its code and controls,
    frame_height: int = 470  # … or at exactly this (65% of the slide) where its code is hidden (only the player),
    max_animation_height: int = 440  # … the HTML animation's frame at this one, above its controls,
    code_lines: int = 12  # … code at this many lines (more scroll inside the cell),
    output_lines: int = 22  # … text output at this many,
    max_html_height: int = 560  # … and HTML output (tables, the animation with its controls) at this height

    @property
    def budget(self) -> int:
        """The content height one slide holds without scrolling (RISE keeps a margin)."""
        return int(self.height * 0.92)

    def __repr__(self) -> str:
        return (f"Slide({self.width}x{self.height} px, {self.budget} px of content, "
                f"images up to {self.max_image_height} px)")


SLIDE = Slide()

# JupyterLab's default fonts, in CSS pixels (measured on the slides in headless Chromium).
TEXT_LINE, CODE_LINE, OUTPUT_LINE = 18, 17.5, 17
TEXT_CHAR, OUTPUT_CHAR = 7.3, 7.8
CELL_GAP, CODE_PADDING, PROMPT = 12, 12, 70
HEADINGS = {1: 72, 2: 48, 3: 36, 4: 30}
CONTROLS = 75  # the player's caption and its row of buttons and sliders
TABLE_ROW = 34  # a row of a table of results (its cells wrap)
IMAGE_OUTPUT = 8  # the space JupyterLab keeps around an image output


def source_of(cell: dict) -> str:
    """A cell's source as one string (nbformat stores a string or a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def wrapped_lines(text: str, chars_per_line: float) -> int:
    """How many screen lines ``text`` takes when each line wraps at ``chars_per_line``."""
    return sum(max(1, -(-len(line) // int(chars_per_line))) for line in text.rstrip("\n").split("\n"))


def markdown_height(text: str, width: int) -> float:
    """A markdown cell: headings, wrapped paragraph and list lines, and the space between blocks."""
    height, chars = 0.0, (width - 40) / TEXT_CHAR
    text = re.sub(r"<details>.*?</details>", "<details>", text, flags=re.S)  # collapsed: the summary line only
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        level = len(lines[0]) - len(lines[0].lstrip("#"))
        if 0 < level <= 4 and lines[0][level:level + 1] == " ":
            height += HEADINGS[level]
            lines = lines[1:]
        if "<details>" in block:  # a collapsed answer shows its summary line only
            height += TEXT_LINE * 1.5
            continue
        height += sum(wrapped_lines(line, chars) for line in lines if line.strip()) * TEXT_LINE * 1.15 + TEXT_LINE * 0.8
    return height


def png_size(data: str | bytes) -> tuple[int, int] | None:
    """Width and height of a base64 PNG, read from its header (no image library needed)."""
    try:
        raw = base64.b64decode(data[:64] if isinstance(data, str) else data)
    except ValueError:
        return None
    if raw[:8] != b"\x89PNG\r\n\x1a\n" or len(raw) < 24:
        return None
    return struct.unpack(">II", raw[16:24])


def image_height(size: tuple[int, int] | None, width: int, cap: int) -> float:
    """An image shown at its own size, shrunk to the cell's width, capped at ``cap`` by rise.css."""
    if size is None:
        return cap
    w, h = size
    return min(h * min(1.0, width / w) if w else h, cap)


def output_height(output: dict, widget_frames: dict[str, tuple[int, int]], slide: Slide = SLIDE) -> float:
    """One stored output: a stream or text, an image, a widget (its stored frame), HTML or markdown."""
    width = slide.width - PROMPT
    data = output.get("data", {})
    if output.get("output_type") == "stream":
        return text_height(_text(output.get("text", "")), width, slide)
    if WIDGET_VIEW in data:
        frame = widget_frames.get(data[WIDGET_VIEW].get("model_id", ""))
        return image_height(frame, width, slide.max_frame_height) + CONTROLS
    for kind in IMAGE_TYPES:
        if kind in data:
            size = png_size(data[kind]) if kind == "image/png" else None
            return image_height(size, width, slide.max_image_height) + IMAGE_OUTPUT
    if "text/html" in data:
        return html_height(_text(data["text/html"]), width, slide)
    if "text/markdown" in data:
        return markdown_height(_text(data["text/markdown"]), width)
    if "text/plain" in data:
        return text_height(_text(data["text/plain"]), width, slide)
    return 0.0


def text_height(text: str, width: int, slide: Slide = SLIDE) -> float:
    """Printed text, wrapped at the cell's width; rise.css scrolls what is past ``slide.output_lines``."""
    return min(wrapped_lines(text, width / OUTPUT_CHAR), slide.output_lines) * OUTPUT_LINE + CODE_PADDING


def html_height(html: str, width: int, slide: Slide = SLIDE) -> float:
    """HTML output: a collapsed <details> is one line, an animation its first frame and controls, a table its
    rows; rise.css scrolls what is taller than ``slide.max_html_height``."""
    if html.lstrip().startswith("<details"):
        return TEXT_LINE * 2
    frame = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]{64})", html)
    if frame:
        height = image_height(png_size(frame[1]), width, slide.max_image_height) + CONTROLS
    elif "<tr" in html:
        height = html.count("<tr") * TABLE_ROW + CODE_PADDING
    else:
        height = wrapped_lines(re.sub(r"<[^>]+>", "", html), width / TEXT_CHAR) * TEXT_LINE + CODE_PADDING
    return min(height, slide.max_html_height)


def widget_frames(notebook: dict) -> dict[str, tuple[int, int]]:
    """For each stored widget view, the size of the first image it holds (the player's frame), by model id."""
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    frames: dict[str, tuple[int, int]] = {}
    for model_id in state:
        size = png_size(first_image_data(state, model_id) or "")
        if size:
            frames[model_id] = size
    return frames


def first_image_data(state: dict, model_id: str, seen: set[str] | None = None) -> str | None:
    """The base64 PNG of the first Image model in a stored widget and its children (the player's frame)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return None
    seen.add(model_id)
    model = state[model_id]
    if model.get("model_name") == "ImageModel":
        for buffer in model.get("buffers", []):
            if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
                return buffer.get("data")
    for child in model.get("state", {}).get("children", []) or []:
        found = first_image_data(state, str(child).removeprefix("IPY_MODEL_"), seen)
        if found:
            return found
    return None


def cell_height(cell: dict, frames: dict[str, tuple[int, int]], slide: Slide = SLIDE) -> float:
    """A whole cell on a slide: its source (markdown rendered, or code lines) and every output, plus the gap."""
    source = source_of(cell)
    if cell.get("cell_type") == "markdown":
        return markdown_height(source, slide.width) + CELL_GAP
    if cell.get("cell_type") != "code":
        return 0.0
    if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False):
        # rise.css hides the code and shows a widget's frame at exactly slide.frame_height
        widget = any(WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", []))
        outputs = sum(slide.frame_height + CONTROLS if WIDGET_VIEW in o.get("data", {}) else
                      output_height(o, frames, slide) for o in cell.get("outputs", []))
        return (0 if widget else CODE_PADDING) + outputs + CELL_GAP
    code = min(source.rstrip("\n").count("\n") + 1, slide.code_lines) if source.strip() else 0
    outputs = sum(output_height(o, frames, slide) for o in cell.get("outputs", []))
    return code * CODE_LINE + CODE_PADDING + outputs + CELL_GAP
