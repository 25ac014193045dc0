"""One cycle of a systolic array drawn with matplotlib: the figure, its title, legend and caption.

A :class:`FrameRenderer` builds one figure per run (an Agg canvas, never pyplot, so nothing
stacks up in a notebook) and updates its artists in place for each cycle. Where everything goes is
a :class:`~tpu_lecture.viz.layout.Layout`; up to 8×8 every PE shows its values as text
(:class:`~tpu_lecture.viz.views.DetailView`), up to 32×32 a compact view shows activity and values
as colour (:class:`~tpu_lecture.viz.views.CompactView`). :mod:`tpu_lecture.viz.export` builds on it.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image

from tpu_lecture.viz.layout import TITLE_IN, Layout
from tpu_lecture.viz.style import ACTIVE_EDGE, ACTIVE_FACE, COLORS, CONTROL, IDLE_FACE, LIGHT, NAMES, TEXT
from tpu_lecture.viz.text import caption, title
from tpu_lecture.viz.textcache import add_text
from tpu_lecture.viz.views import CompactView, DetailView


class FrameFigure(Figure):
    """A Figure that shows itself as a PNG in a notebook, with no pyplot involved."""

    def _repr_png_(self) -> bytes:
        out = io.BytesIO()
        self.savefig(out, format="png")
        return out.getvalue()


def own_figure(figsize: tuple[float, float], dpi: float) -> FrameFigure:
    """A new figure on an Agg canvas of its own (never pyplot's, so nothing piles up in a notebook)."""
    figure = FrameFigure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def legend_handles(run) -> list[Patch]:
    """The legend of a frame: what stays in the PEs (and its next tile loading), what moves which way, the PEs
    that did a MAC, and the control signal that makes a PE store the value it loaded."""
    kept = run.stationary
    handles = [Patch(facecolor=LIGHT[kept], edgecolor=COLORS[kept], label=f"{NAMES[kept]}: stays in the PE")]
    if run.flow.preloads:
        handles.append(Patch(facecolor="white", edgecolor=COLORS[kept], linestyle="--",
                             label=f"next {NAMES[kept]} ↓ loading (shadow)"))
    handles += [Patch(facecolor=LIGHT[v], edgecolor=COLORS[v], label=f"{NAMES[v]} {arrow} moves {way}")
                for v, way in run.flows.items() for arrow in ["→" if way == "right" else "↓"]]
    handles.append(Patch(facecolor=ACTIVE_FACE, edgecolor=ACTIVE_EDGE, label="PE did a MAC this cycle"))
    if run.flow.preloads:
        handles.append(Patch(facecolor=IDLE_FACE, edgecolor=CONTROL, linewidth=2.4,
                             label=f"control signal: store the {NAMES[kept]}"))
    return handles


class FrameRenderer:
    """A figure for one run whose artists are updated in place by :meth:`draw`, cycle by cycle.

    ``renderer.png(t)`` gives cycle t as PNG bytes. Without ``ax`` the renderer owns its figure
    and redraws only what changes between cycles over a cached background; with ``ax`` it draws
    into that axes (for example a pyplot one) and the caller shows or saves the figure. A frame
    strip turns off each frame's ``title`` and ``legend`` (it draws them once) and may set the
    caption's size (``caption_pt``).
    """

    def __init__(self, run, ax=None, dpi: int = 100, *, title: bool = True, legend: bool = True,
                 caption_pt: float | None = None):
        run.check_frames()
        self.run = run
        self.cycle: int | None = None
        self._dynamic: list = []
        self._background = None
        self.owns_figure = ax is None
        if ax is None:
            self.layout = Layout.of(run)
            self.figure = own_figure(self.layout.fig_size, dpi)
            ax = self.figure.add_axes((0, 0, 1, 1))
        else:
            self.figure = ax.figure
            box = ax.get_window_extent().transformed(self.figure.dpi_scale_trans.inverted())
            self.layout = Layout.of(run, (box.width, box.height))
        self.ax = ax
        layout = self.layout
        ax.set_xlim(layout.x0, layout.x0 + layout.width)
        ax.set_ylim(layout.y0 + layout.height, layout.y0)
        ax.set_aspect("equal")
        ax.set_axis_off()
        self._build_frame_text(title, legend, caption_pt)
        self.view = (CompactView if layout.compact else DetailView)(run, layout, ax, self.animated)
        # The view's boxes change every cycle too: hidden from the background, drawn as one batch per layer.
        self._batched = getattr(self.view, "boxes", [])
        if self._batched:
            self._dynamic += self.view.box_batches()
        self._dynamic.sort(key=lambda artist: artist.get_zorder())

    def __repr__(self) -> str:
        view = "compact" if self.layout.compact else "detailed"
        return f"FrameRenderer({self.run!r}, {view} view, showing cycle {self.cycle})"

    def animated(self, artist):
        """Register an artist that changes from cycle to cycle (it is redrawn over the background)."""
        self._dynamic.append(artist)
        return artist

    def _build_frame_text(self, with_title: bool, with_legend: bool, caption_pt: float | None) -> None:
        run, ax, layout = self.run, self.ax, self.layout
        big, inch = layout.title_pt, layout.inch
        mid_x = layout.x0 + layout.width / 2
        if with_title:
            ax.text(mid_x, layout.y0 + 0.15 * inch, title(run), ha="center", va="top", fontsize=big, color=TEXT,
                    fontweight="bold", gid="title")
        self.caption_text = self.animated(add_text(ax, mid_x, layout.y0 + layout.height - 0.12 * inch, "",
                                                   ha="center", va="bottom", fontsize=caption_pt or big, color=TEXT,
                                                   gid="caption"))
        if with_legend:
            anchor = (mid_x, layout.y0 + TITLE_IN * inch)
            ax.legend(handles=legend_handles(run), loc="upper center", bbox_to_anchor=anchor,
                      bbox_transform=ax.transData, ncol=layout.legend_cols, frameon=False,
                      fontsize=min(11.0, 0.75 * big), handlelength=1.2, columnspacing=1.6, borderaxespad=0,
                      borderpad=0.2, labelcolor=TEXT)

    # ------------------------------------------------------------------ one cycle

    def draw(self, t: int):
        """Update every artist to show the end of cycle ``t``; returns that cycle's frame."""
        frame = self.run.frame(t)
        self.caption_text.set_text(caption(self.run, frame))
        self.view.update(frame)
        self.cycle = frame.cycle
        return frame

    def rgba(self, t: int | None = None) -> np.ndarray:
        """The figure's pixels (height × width × 4) after drawing cycle ``t`` (or the cycle shown)."""
        if t is not None and t != self.cycle:
            self.draw(t)
        canvas = self.figure.canvas
        if not self.owns_figure:
            canvas.draw()
            return np.asarray(canvas.buffer_rgba())
        renderer = canvas.get_renderer()
        if self._background is None or self._background[0] is not renderer:
            self._draw_background(canvas)
        canvas.restore_region(self._background[1])
        for artist in self._dynamic:
            artist.draw(renderer)
        return np.asarray(canvas.buffer_rgba())

    def image(self, t: int | None = None) -> Image.Image:
        """The figure as a Pillow image of at most 256 colours after drawing cycle ``t`` (or the cycle shown).

        A frame is a few flat colours and their anti-aliased edges, so a palette loses nothing one can see, and
        its PNG encodes several times faster and smaller than full colour (a frame for the widget, each GIF frame).
        """
        pixels = self.rgba(t)
        height, width = pixels.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1).convert("RGB")
        return image.quantize(256, method=Image.Quantize.FASTOCTREE)

    def png(self, t: int | None = None) -> bytes:
        """The figure as PNG bytes after drawing cycle ``t`` (or the cycle shown)."""
        out = io.BytesIO()
        self.image(t).save(out, format="png", compress_level=1)
        return out.getvalue()

    def _draw_background(self, canvas) -> None:
        """Draw everything that never changes (title, legend, labels) once, and keep its pixels."""
        moving = self._dynamic + self._batched
        shown = [artist.get_visible() for artist in moving]
        for artist in moving:
            artist.set_visible(False)
        canvas.draw()
        self._background = (canvas.get_renderer(), canvas.copy_from_bbox(self.figure.bbox))
        for artist, visible in zip(moving, shown):
            artist.set_visible(visible)
