"""Watch the systolic array work: a frame as a picture, the step-through player, GIF / MP4 / HTML.

>>> run = SystolicArray(2, 2).matmul(*lecture_example())
>>> draw_frame(run, 1)                          # one cycle as a matplotlib figure
>>> animate(A, W)                               # the player: Play, step, slider, speed
>>> save_animation(run, "systolic.gif", fps=2)  # one frame per cycle, for slides
>>> HTML(animation_html(run))                   # plays in a page with no kernel
>>> frame_strip(run)                            # every cycle side by side, one figure

Up to 8×8 every PE shows its values; 9×9 … 32×32 arrays get a compact colour view; larger ones
are not drawn (``run.summary()`` gives their statistics). Imports matplotlib and ipywidgets,
never TensorFlow.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
from matplotlib import animation, rc_context

from tpu_lecture.checks import number, whole_number
from tpu_lecture.files import replaced_when_done
from tpu_lecture.sim import budget
from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim.array import SystolicArray, check_cycle, lecture_example
from tpu_lecture.sim.operands import as_matrix
from tpu_lecture.sim.schedule import Schedule
from tpu_lecture.viz.layout import DETAIL_LIMIT, Layout, check_drawable
from tpu_lecture.viz.player import SystolicPlayer
from tpu_lecture.viz.renderer import FrameFigure, FrameRenderer, legend_handles, own_figure
from tpu_lecture.viz.text import caption, title

HTML_MAX_FRAMES = 400  # an HTML animation embeds every frame; past this a GIF is the better export
MAX_ANIMATION_FRAMES = 1000  # a player, GIF or MP4 of more cycles is too long to watch (8 minutes at 2 fps)
_EMBED_LIMIT_MB = 100  # matplotlib's animation.embed_limit while writing HTML (its default, 20 MB, drops frames)
_FORMATS = (".gif", ".mp4", ".html", ".htm")
_STRIP_HEAD_IN = 1.0  # inches above a frame strip for its one title and legend
_STRIP_ENTRY_IN = 5.0  # inches one entry of a frame strip's legend takes
_STRIP_CAPTION_PT = 14.0  # a frame strip's captions, shrunk where the longest would not fit under its frame


def draw_frame(run, t: int, ax=None):
    """Draw the array at the end of cycle ``t`` (0 … run.cycles − 1); returns the matplotlib Figure.

    Without ``ax`` the figure is a new one of its own (not pyplot's, so nothing piles up in a
    notebook); with ``ax`` the drawing fills that axes.
    """
    run.check_frames()
    check_cycle(t, run.cycles)
    renderer = FrameRenderer(run, ax=ax)
    renderer.draw(t)
    return renderer.figure


def frame_png(run, t: int, dpi: int = 100) -> bytes:
    """Cycle ``t`` as PNG bytes (show it with ``IPython.display.Image(frame_png(run, t))``)."""
    run.check_frames()
    check_cycle(t, run.cycles)
    return FrameRenderer(run, dpi=dpi).png(t)


def render_frames(run, dpi: int = 100) -> list[bytes]:
    """Every cycle as PNG bytes, in order: one figure, its artists updated cycle by cycle."""
    run.check_frames()
    renderer = FrameRenderer(run, dpi=dpi)
    return [renderer.png(t) for t in range(run.cycles)]


def frame_strip(run, cycles=None, per_row: int = 4, dpi: int = 48) -> FrameFigure:
    """Several cycles of a small run side by side (all of them by default), with one title and one legend.

    Each frame keeps its caption ("cycle t of T · …"); ``per_row`` frames make a row. For slides and
    printouts, where a player cannot go: ``style.show(frame_strip(run))`` in a notebook.
    """
    run.check_frames()
    shown = list(range(run.cycles)) if cycles is None else [check_cycle(t, run.cycles) for t in cycles]
    if not shown:
        raise ValueError("cycles is empty: give at least one cycle to draw, e.g. cycles=[0, 1]")
    per_row = whole_number("per_row", per_row)
    width, height = Layout.of(run).fig_size
    rows, cols = math.ceil(len(shown) / per_row), min(per_row, len(shown))
    total_h = height * rows + _STRIP_HEAD_IN
    figure = own_figure((width * cols, total_h), dpi)
    grid = figure.add_gridspec(rows, cols, left=0, right=1, bottom=0, wspace=0, hspace=0,
                               top=1 - _STRIP_HEAD_IN / total_h)
    longest = max(len(caption(run, run.frame(t))) for t in shown)
    caption_pt = min(_STRIP_CAPTION_PT, 0.95 * 72 * width / (0.55 * longest))
    for index, t in enumerate(shown):
        ax = figure.add_subplot(grid[index // per_row, index % per_row])
        FrameRenderer(run, ax=ax, title=False, legend=False, caption_pt=caption_pt).draw(t)
    handles = legend_handles(run)
    per_row = min(len(handles), max(1, int(width * cols / _STRIP_ENTRY_IN)))
    figure.legend(handles=handles, loc="upper center", ncol=per_row, frameon=False, fontsize=16,
                  bbox_to_anchor=(0.5, 1 - 0.45 / total_h))
    figure.suptitle(title(run), fontsize=22, fontweight="bold", y=1 - 0.05 / total_h)
    return figure


def check_frames(plan: Schedule, limit: int = MAX_ANIMATION_FRAMES) -> None:
    """Refuse, before anything is stepped, an animation of more than ``limit`` cycles (one frame each)."""
    budget.estimate(plan, keep_frames=True).refuse(
        max_frames=limit, fix="animate a smaller product (fewer rows of A stream through in fewer cycles), or use "
        "run.summary() / python -m tpu_lecture simulate for its numbers")


def animate(A, W, rows: int | None = None, cols: int | None = None, dataflow: str = "ws",
            fps: float = 2.0, load: str | None = None) -> SystolicPlayer:
    """Run ``A @ W`` on a systolic array and return the step-through player for it.

    Without ``rows`` / ``cols`` the array is the size of the operand that stays in the PEs (W for
    weight-stationary, Aᵀ for input-stationary, the output for output-stationary), at most 8×8,
    so every PE is drawn with its values. ``rows`` alone makes a square array. ``load`` is the
    loading mode ("double", the default, or "serial"; none for output-stationary). Products of
    more than MAX_ANIMATION_FRAMES cycles are refused before they are stepped.
    """
    flow = dataflows.get(dataflow)
    A, W = np.asarray(A), np.asarray(W)
    if A.ndim == 2 and W.ndim == 2:
        held = flow.held_shape(A.shape[0], A.shape[1], W.shape[1])
        if rows is None and cols is None:
            rows, cols = (min(size, DETAIL_LIMIT) for size in held)
        elif rows is None:
            rows = min(held[0], DETAIL_LIMIT)
    rows = 1 if rows is None else whole_number("rows", rows)
    cols = rows if cols is None else whole_number("cols", cols)
    check_drawable(rows, cols)
    array = SystolicArray(rows, cols, flow, load=load)
    A, W = as_matrix(A, "A"), as_matrix(W, "W")
    if A.shape[1] == W.shape[0]:
        check_frames(array.plan(A.shape[0], A.shape[1], W.shape[1]))
    return SystolicPlayer(array.matmul(A, W, keep_frames=True), fps=fps)


def symbolic_example(m: int = 2, k: int = 2, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Matrices of symbols: the lecture's A B / C D and E F / G H for 2×2, else a11 … and w11 …"""
    if (m, k, n) == (2, 2, 2):
        return lecture_example()
    import sympy

    A = np.array([[sympy.Symbol(f"a{i + 1}{j + 1}") for j in range(k)] for i in range(m)], dtype=object)
    W = np.array([[sympy.Symbol(f"w{i + 1}{j + 1}") for j in range(n)] for i in range(k)], dtype=object)
    return A, W


def animation_html(run, fps: float = 2.0, dpi: int = 80) -> str:
    """The animation as HTML with its own play controls (matplotlib's ``to_jshtml``): no kernel needed."""
    run.check_frames()
    _check_fps(fps)
    if run.cycles > HTML_MAX_FRAMES:
        raise ValueError(
            f"this run has {run.cycles} cycles, and an HTML animation embeds every one as an image "
            f"(at most {HTML_MAX_FRAMES}): save a .gif instead, or animate a smaller product"
        )
    movie = _animation(FrameRenderer(run, dpi=dpi), fps)
    with rc_context({"animation.embed_limit": _EMBED_LIMIT_MB}):
        return _self_contained(movie.to_jshtml(fps=fps, default_mode="once"))


# to_jshtml draws its buttons with an icon font fetched from a CDN; offline they come out blank. The glyphs are
# ones every browser font has (⏮ and ⏭ show as empty boxes in Debian's Chromium).
_BUTTON_GLYPHS = {
    "fa-play fa-flip-horizontal": "◀", "fa-fast-backward": "«", "fa-step-backward": "◁", "fa-pause": "❚❚",
    "fa-play": "▶", "fa-step-forward": "▷", "fa-fast-forward": "»", "fa-minus": "−", "fa-plus": "+",
}


def _self_contained(html: str) -> str:
    """The page with plain-text button labels instead of the remote icon font, so it works offline."""
    html = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", html)
    for icon, glyph in _BUTTON_GLYPHS.items():
        html = html.replace(f'<i class="fa {icon}"></i>', glyph)
    # A screen reader names the frame slider (axe-core: form elements must have labels).
    return re.sub(r'<input(?=[^>]*class="anim-slider")', '<input aria-label="frame (cycle)"', html)


def save_animation(run, path, fps: float = 2.0, dpi: int = 100) -> Path:
    """Write the animation, one frame per cycle: .gif (Pillow), .mp4 (needs ffmpeg) or .html.

    The frames go to a temporary file beside ``path`` that is renamed into place once complete, so
    an interrupted export (Ctrl-C, a full disk, an error) leaves a file already at ``path`` as it was.
    """
    run.check_frames()
    _check_fps(fps)
    path = check_output_path(path)
    suffix = path.suffix.lower()
    if run.cycles > MAX_ANIMATION_FRAMES:
        raise ValueError(f"this run has {run.cycles:,} cycles, one frame each, and an animation is limited to "
                         f"{MAX_ANIMATION_FRAMES:,} frames: animate a smaller product")
    if suffix == ".mp4" and not animation.writers.is_available("ffmpeg"):
        raise OSError(f"cannot write {path.name}: MP4 needs ffmpeg, which was not found on this machine; "
                      "install it (apt-get install ffmpeg, or conda install ffmpeg) or save a .gif or .html")
    with replaced_when_done(path) as partial:
        if suffix in (".html", ".htm"):
            partial.write_text(animation_html(run, fps=fps, dpi=dpi), encoding="utf-8")
        elif suffix == ".gif":
            _save_gif(FrameRenderer(run, dpi=dpi), partial, fps)
        else:
            _animation(FrameRenderer(run, dpi=dpi), fps).save(partial, writer=animation.FFMpegWriter(fps=fps), dpi=dpi)
    return path


def _save_gif(renderer: FrameRenderer, path: Path, fps: float) -> None:
    """One GIF frame per cycle, straight from the renderer's redrawn pixels (no full figure redraw per frame)."""
    frames = [renderer.image(t) for t in range(renderer.run.cycles)]
    frames[0].save(path, format="gif", save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0,
                   optimize=False)




def _animation(renderer: FrameRenderer, fps: float) -> animation.FuncAnimation:
    """A matplotlib animation of the renderer's figure: one frame per cycle, played once."""
    return animation.FuncAnimation(renderer.figure, renderer.draw, frames=range(renderer.run.cycles),
                                   interval=1000 / fps, repeat=False)


def _check_fps(fps) -> None:
    number("fps (frames per second)", fps, low=0, high=60, low_open=True)


def check_output_path(path) -> Path:
    """``path`` as a Path if an animation can be saved there (.gif, .mp4 or .html, a folder that exists and can be
    written); otherwise an error that says what to do instead, before anything is stepped or rendered."""
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise ValueError(f"cannot save an animation as {path.name!r}: end the file name in .gif, .mp4 or .html")
    _check_writable(path)
    return path


def _check_writable(path: Path) -> None:
    """Fail before any rendering if ``path`` cannot be written, saying what to do instead."""
    folder = path.parent
    if path.is_dir():
        raise OSError(f"cannot write {path}: it is a folder; give a file name such as {path / 'systolic.gif'}")
    if not folder.is_dir():
        raise OSError(f"cannot write {path}: the folder {folder} does not exist; create it first "
                      f"(mkdir -p {folder}) or choose another path")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OSError(f"cannot write {path}: no permission to write there; choose a folder you can write to")
