"""One cycle of a systolic array drawn with matplotlib: the figure, its title, legend and caption.

A :class:`FrameRenderer` builds one figure per run (an Agg canvas, never pyplot, so nothing
stacks up in a notebook) and updates its artists in place for each cycle. Up to 8×8 every PE
shows its values as text (:class:`~tpu_lecture.viz.views.DetailView`); up to 32×32 a compact view shows activity
and values as colour (:class:`~tpu_lecture.viz.views.CompactView`). :mod:`tpu_lecture.viz.export` builds on it.
"""

from __future__ import annotations

import io
import numbers

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image

from tpu_lecture.viz.style import ACTIVE_EDGE, ACTIVE_FACE, COLORS, LIGHT, NAMES, TEXT

DETAIL_LIMIT = 8  # up to 8×8 each PE shows its weight, activation and partial sum as text
COMPACT_LIMIT = 32  # up to 32×32 the compact view (colour only); larger arrays are not drawn

LABEL_PT = 10.0  # the small grey labels ("activations waiting", "outputs")

EDGE = 0.4  # space between a queue (or the outputs) and the array, where arrows run (units: PE pitch)
SLOT = 0.62  # pitch of a queue slot in the detailed view
_MAX_W, _MAX_H, _MAX_SCALE = 12.0, 9.0, 1.45  # figure size limits in inches; inches per PE pitch
_MIN_W, _LEGEND_ONE_ROW = 7.0, 10.5  # inches: narrowest figure; narrowest that fits the legend on one row
_TITLE_IN, _LEGEND_ROW_IN, _CAPTION_IN = 0.55, 0.3, 0.55  # inches for the title, a legend row, the caption
_LABEL_IN = 0.4  # inches between the legend and the drawing, for the queue's label


def format_value(x) -> str:
    """A value the way the lecture writes it: 12, 0.375, 1.2e5, A·E + B·G."""
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, (numbers.Real, np.floating)):
        v = float(x)
        if v == 0:
            return "0"
        if v.is_integer() and abs(v) < 1e5:
            return str(int(v))
        return f"{v:.3g}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    return str(x).replace("**", "^").replace("*", "·")


def caption(run, frame) -> str:
    """The line under a frame: cycle t of T, MACs so far, utilization so far, fold and phase."""
    text = (f"cycle {frame.cycle} of {frame.cycles} · {frame.macs_done} of {run.macs} MACs · "
            f"utilization {frame.utilization:.0%}")
    if frame.folds > 1:
        text += f" · fold {frame.fold + 1} of {frame.folds}"
    if frame.phase == "drain":
        text += " · draining results"
    return text


def title(run) -> str:
    m, k, n = run.shape
    name = run.dataflow.replace("_", "-").capitalize()
    return f"{name} {run.rows}×{run.cols} systolic array · A {m}×{k} @ W {k}×{n}"


def check_drawable(rows: int, cols: int) -> bool:
    """True if the array gets the compact view; ValueError if it is too large to draw at all."""
    if max(rows, cols) > COMPACT_LIMIT:
        raise ValueError(
            f"a {rows}x{cols} array is too large to draw (the compact view goes up to "
            f"{COMPACT_LIMIT}x{COMPACT_LIMIT}): for its cycles, MACs and utilization print run.summary() "
            f"(or run python -m tpu_lecture simulate), or animate a smaller array such as 8x8"
        )
    return max(rows, cols) > DETAIL_LIMIT


def check_frames(run) -> None:
    if not getattr(run, "keep_frames", False):
        raise ValueError("this run kept no frames to draw: run it again with matmul(A, W, keep_frames=True)")


def mover(run, direction: str) -> str | None:
    """The value that moves ``direction`` ("right" or "down") in this dataflow, if any."""
    return next((value for value, way in run.flows.items() if way == direction), None)


class FrameFigure(Figure):
    """A Figure that shows itself as a PNG in a notebook, with no pyplot involved."""

    def _repr_png_(self) -> bytes:
        out = io.BytesIO()
        self.savefig(out, format="png")
        return out.getvalue()


class FrameRenderer:
    """A figure for one run whose artists are updated in place by :meth:`draw`, cycle by cycle.

    ``renderer.png(t)`` gives cycle t as PNG bytes. Without ``ax`` the renderer owns its figure
    and redraws only what changes between cycles over a cached background; with ``ax`` it draws
    into that axes (for example a pyplot one) and the caller shows or saves the figure.
    """

    def __init__(self, run, ax=None, dpi: int = 100):
        check_frames(run)
        self.run = run
        self.compact = check_drawable(run.rows, run.cols)
        self.right, self.down = mover(run, "right"), mover(run, "down")
        self.cycle: int | None = None
        self._dynamic: list = []
        self._background = None
        self._scan()
        self._place()
        self.owns_figure = ax is None
        if ax is None:
            self._fit()
            self.figure = FrameFigure(figsize=self.fig_size, dpi=dpi)
            FigureCanvasAgg(self.figure)
            ax = self.figure.add_axes((0, 0, 1, 1))
        else:
            self.figure = ax.figure
            box = ax.get_window_extent().transformed(self.figure.dpi_scale_trans.inverted())
            self._fit((box.width, box.height))
        self.ax = ax
        ax.set_xlim(self.x0, self.x0 + self.width)
        ax.set_ylim(self.y0 + self.height, self.y0)
        ax.set_aspect("equal")
        ax.set_axis_off()
        self.pt = self.scale * 72  # points per PE pitch
        self._build_frame_text()
        if self.compact:
            from tpu_lecture.viz.views import CompactView

            self.view = CompactView(self)
        else:
            from tpu_lecture.viz.views import DetailView

            self.view = DetailView(self)
        self._dynamic.sort(key=lambda artist: artist.get_zorder())

    def __repr__(self) -> str:
        view = "compact" if self.compact else "detailed"
        return f"FrameRenderer({self.run!r}, {view} view, showing cycle {self.cycle})"

    def animated(self, artist):
        """Register an artist that changes from cycle to cycle (it is redrawn over the background)."""
        self._dynamic.append(artist)
        return artist

    # ------------------------------------------------------------------ geometry

    def _scan(self) -> None:
        """How deep the queues get and how long the longest texts are, read from each fold's first cycle."""
        run = self.run
        starts = np.concatenate([[0], np.cumsum(run.schedule.fold_cycles)[:-1]]).astype(int)
        firsts = [run.frame(int(t)) for t in starts]
        has_top = firsts[0].queue_top is not None
        # Queue slots drawn: enough for the whole staircase of small arrays; the rest is shown as "…".
        cap, top_cap = (max(8, run.rows), max(8, run.rows)) if self.compact else (run.rows + 2, max(3, 11 - run.rows))
        self.queue_depth = min(cap, max(_depth(f.queue_left_valid.any(axis=0)) for f in firsts))
        self.top_depth = min(top_cap, max(_depth(f.queue_top_valid.any(axis=1)) for f in firsts)) if has_top else 0
        self.queue_values = [f.queue_left[f.queue_left_valid] for f in firsts]
        self.top_values = [f.queue_top[f.queue_top_valid] for f in firsts] if has_top else []
        self.output_text = not self.compact and run.m <= 12 and run.n <= 12
        held = [getattr(f, run.stationary)[getattr(f, f"{run.stationary}_valid")] for f in firsts]
        self.held_values = held
        self.psum_len = max(len(format_value(x)) for x in run.result.flat)
        self.value_len = max([len(format_value(x)) for values in self.queue_values + self.top_values + held
                              for x in values] + [1])

    def _place(self) -> None:
        """The drawing's extent in PE pitches: queues left (and top), the array, outputs below."""
        run = self.run
        self.slot = 1.0 if self.compact else SLOT
        self.left = EDGE + self.queue_depth * self.slot + 0.3
        self.top = (EDGE + self.top_depth * self.slot) if self.top_depth else 0.1
        self.out_w = min(1.0, run.cols / run.n)
        if self.output_text:
            self.out_h = 0.46 if run.m <= 4 else 0.32
        else:
            self.out_h = min(self.out_w, 0.5 * run.rows / run.m)
        self.out_y = run.rows + EDGE + 0.15
        self.bottom = self.out_y + run.m * self.out_h + 0.1
        self.right_edge = max(run.cols, run.n * self.out_w) + 0.35

    def _fit(self, box_in: tuple[float, float] | None = None) -> None:
        """Choose inches per PE pitch so that the drawing, title, legend and caption fit the figure.

        The layout is worked out for a figure of the renderer's own; drawn into a given axes of
        ``box_in`` inches, everything (fonts and margins too) is zoomed to fit that box.
        """
        content_w, content_h = self.left + self.right_edge, self.top + self.bottom
        for rows in (1, 2):
            bands = _TITLE_IN + _LEGEND_ROW_IN * rows + _LABEL_IN + _CAPTION_IN
            scale = min(_MAX_W / content_w, (_MAX_H - bands) / content_h, _MAX_SCALE)
            fig_w, fig_h = max(content_w * scale, _MIN_W), content_h * scale + bands
            if fig_w >= _LEGEND_ONE_ROW:
                break
        self.legend_rows, self.own_width_in, self.zoom = rows, fig_w, 1.0
        if box_in is not None:
            self.zoom = min(box_in[0] / fig_w, box_in[1] / fig_h)
            scale, fig_w, fig_h = scale * self.zoom, *box_in
        self.scale, self.fig_size = scale, (fig_w, fig_h)
        self.width, self.height = fig_w / scale, fig_h / scale
        above = (_TITLE_IN + _LEGEND_ROW_IN * rows + _LABEL_IN) * self.zoom / scale
        spare_h = self.height - content_h - bands * self.zoom / scale
        self.x0 = -self.left - (self.width - content_w) / 2
        self.y0 = -self.top - above - spare_h / 2

    @property
    def label_pt(self) -> float:
        """Font size of the small grey labels, zoomed with the drawing."""
        return LABEL_PT * self.zoom

    def font(self, share: float, text_len: int, width: float) -> float:
        """A font size (points): ``share`` of a PE pitch, shrunk so ``text_len`` characters fit ``width``."""
        return max(4.0, min(share * self.pt, 0.92 * width * self.pt / (0.6 * max(text_len, 1))))

    def _build_frame_text(self) -> None:
        run, ax = self.run, self.ax
        big = (15.0 if self.own_width_in >= 8 else 13.0) * self.zoom
        mid_x, inch = self.x0 + self.width / 2, self.zoom / self.scale
        ax.text(mid_x, self.y0 + 0.15 * inch, title(run), ha="center", va="top", fontsize=big, color=TEXT,
                fontweight="bold", gid="title")
        self.caption_text = self.animated(ax.text(mid_x, self.y0 + self.height - 0.12 * inch, "", ha="center",
                                                  va="bottom", fontsize=big, color=TEXT, gid="caption"))
        handles = [Patch(facecolor=LIGHT[run.stationary], edgecolor=COLORS[run.stationary],
                         label=f"{NAMES[run.stationary]}: stays in the PE")]
        handles += [Patch(facecolor=LIGHT[v], edgecolor=COLORS[v], label=f"{NAMES[v]} {arrow} moves {way}")
                    for v, way in run.flows.items() for arrow in ["→" if way == "right" else "↓"]]
        handles.append(Patch(facecolor=ACTIVE_FACE, edgecolor=ACTIVE_EDGE, label="PE did a MAC this cycle"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(mid_x, self.y0 + _TITLE_IN * inch),
                  bbox_transform=ax.transData, ncol=4 // self.legend_rows, frameon=False,
                  fontsize=min(11.0, 0.75 * big), handlelength=1.2, columnspacing=1.6, borderaxespad=0, borderpad=0.2)

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

    def png(self, t: int | None = None) -> bytes:
        """The figure as PNG bytes after drawing cycle ``t`` (or the cycle shown)."""
        pixels = self.rgba(t)
        height, width = pixels.shape[:2]
        image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1).convert("RGB")
        out = io.BytesIO()
        image.save(out, format="png", compress_level=1)
        return out.getvalue()

    def _draw_background(self, canvas) -> None:
        """Draw everything that never changes (title, legend, labels) once, and keep its pixels."""
        shown = [artist.get_visible() for artist in self._dynamic]
        for artist in self._dynamic:
            artist.set_visible(False)
        canvas.draw()
        self._background = (canvas.get_renderer(), canvas.copy_from_bbox(self.figure.bbox))
        for artist, visible in zip(self._dynamic, shown):
            artist.set_visible(visible)


def _depth(waiting: np.ndarray) -> int:
    """How many queue slots are needed so that every waiting value has one (``waiting``: one flag per slot)."""
    return int(np.nonzero(waiting)[0].max()) + 1 if waiting.any() else 1
