"""The two views of a frame: detailed (up to 8×8, every PE shows its values) and compact (up to 32×32, colour).

Detailed: PEs that did a MAC this cycle turn amber; an arrow takes the colour of the value it carries to
the next PE (grey when it carries nothing); the values still waiting to enter sit in skewed
queues on the left (and on top for output-stationary); the outputs gather below the array.

Compact: each PE is one cell of an image: amber if it did a MAC this cycle, otherwise tinted by the value
it keeps (weight teal, activation blue, partial sum purple; darker for larger magnitudes). The waiting
inputs and the outputs are coloured the same way, so the diagonal wave of work can be followed across a
large array.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.patches import FancyBboxPatch
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from tpu_lecture.viz.layout import EDGE, Layout
from tpu_lecture.viz.style import (
    ACTIVE_EDGE,
    ACTIVE_FACE,
    COLORS,
    CONTROL,
    DEAD_ARROW,
    IDLE_EDGE,
    IDLE_FACE,
    LIGHT,
    MUTED,
    NAMES,
    PALE,
)
from tpu_lecture.viz.text import format_value
from tpu_lecture.viz.textcache import add_text

_GAP = 0.11  # half the space between neighbouring PEs (units: PE pitch)
_LINES = {"weight": -0.25, "activation": 0.0, "psum": 0.25}  # where each value sits inside a PE
_LOADING_LINES = {"shadow": -0.29, "weight": -0.1, "activation": 0.09, "psum": 0.28}  # … with a shadow register
_SHADOW_W, _SHADOW_H = 0.6, 0.17  # the shadow register's box inside a PE
_LOAD_X = 0.2  # where the loading path runs down a column (the partial sums run down the middle)
_SUBROWS = 3  # compact view: pixel rows per PE where a tile is loaded (the top one is the shadow register)


class _Box(FancyBboxPatch):
    """A rounded box that never moves, so its outline is worked out once instead of at every draw."""

    _outline = None

    def get_path(self):
        if self._outline is None:
            self._outline = super().get_path()
        return self._outline


class _Boxes(Artist):
    """Many boxes drawn as one layer: on Agg each look (shape, fill, edge, line) is drawn once into a small bitmap
    and then stamped at every box that has it, like the texts (:mod:`~tpu_lecture.viz.textcache`); rasterizing
    300 rounded outlines was a third of a frame. The boxes stay ordinary patches in the axes, so their colours and
    visibility are read and set as before; elsewhere (PDF, SVG) each box draws itself."""

    _stamps: dict[tuple, tuple[np.ndarray, int]] = {}

    def __init__(self, boxes: list, zorder: float):
        super().__init__()
        self.boxes = boxes
        self.set_zorder(zorder)
        self._placed: tuple | None = None  # (renderer, [(x0, y0, path at the origin, shape) per box])

    def draw(self, renderer) -> None:
        if not isinstance(renderer, RendererAgg):
            for box in self.boxes:
                box.draw(renderer)
            return
        if self._placed is None or self._placed[0] is not renderer:
            self._placed = (renderer, [_placement(box) for box in self.boxes])
        gc = renderer.new_gc()
        for box, (x0, y0, path, shape) in zip(self.boxes, self._placed[1]):
            if not box.get_visible():
                continue
            key = (shape, box.get_facecolor(), box.get_edgecolor(), box.get_linewidth(), box.get_linestyle(),
                   renderer.dpi)
            if key not in self._stamps:
                if len(self._stamps) > 2048:
                    self._stamps.clear()
                self._stamps[key] = _stamp(box, path, renderer.dpi)
            image, pad = self._stamps[key]
            renderer.draw_image(gc, round(x0) - pad, round(y0) - pad, image)
        gc.restore()


def _placement(box) -> tuple[float, float, Path, tuple]:
    """Where a box sits in pixels (its lower-left corner) and its outline moved to the origin."""
    path = box.get_transform().transform_path(box.get_path())
    x0, y0 = path.vertices.min(axis=0)
    local = Path(path.vertices - (round(x0), round(y0)), path.codes)
    return x0, y0, local, tuple(np.round(local.vertices, 1).ravel())


def _stamp(box, path: Path, dpi: float) -> tuple[np.ndarray, int]:
    """The box drawn alone on a transparent bitmap (bottom row first), with ``pad`` pixels around its outline."""
    pad = math.ceil(box.get_linewidth() * dpi / 72) + 2
    width, height = np.ceil(path.vertices.max(axis=0)).astype(int) + 2 * pad
    scratch = RendererAgg(int(width), int(height), dpi)
    face = box.get_facecolor()
    box._draw_paths_with_artist_properties(scratch, [(path, Affine2D().translate(pad, pad),
                                                     face if face[3] else None)])
    return np.ascontiguousarray(np.asarray(scratch.buffer_rgba())[::-1]), pad


class DetailView:
    """The artists of a frame in detailed mode: boxes and texts per PE, arrows, queues, outputs.

    ``animated`` registers each artist that changes from cycle to cycle with the renderer, which
    redraws only those over a cached background.
    """

    def __init__(self, run, layout: Layout, ax, animated):
        self.run, self.layout, self.ax, self.animated = run, layout, ax, animated
        self.right, self.down = run.flow.moving("right"), run.flow.moving("down")
        self.loads = run.flow.preloads
        self.lines = _LOADING_LINES if self.loads else _LINES
        self.top_kind = run.stationary if self.loads else self.down
        self.boxes: list[FancyBboxPatch] = []
        self._build_pes()
        self._build_arrows()
        self._build_queues()
        self._build_outputs()

    def box_batches(self) -> list[_Boxes]:
        """The boxes as one artist per drawing layer, for a renderer that redraws them every cycle."""
        layers = sorted({box.get_zorder() for box in self.boxes})
        return [_Boxes([box for box in self.boxes if box.get_zorder() == z], z) for z in layers]

    # ------------------------------------------------------------------ building

    def _box(self, x, y, w, h, gid: str, rounding: float = 0.06, **style) -> FancyBboxPatch:
        patch = _Box((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={rounding}", gid=gid, **style)
        self.ax.add_patch(patch)
        self.boxes.append(patch)
        return patch

    def _text(self, x, y, gid: str, **style):
        return self.animated(add_text(self.ax, x, y, "", ha="center", va="center", gid=gid, **style))

    def _build_pes(self) -> None:
        run, layout, side = self.run, self.layout, 1 - 2 * _GAP
        share = 0.19 if self.loads else 0.22
        size = {"psum": layout.font(share, layout.psum_len, side), "value": layout.font(share, layout.value_len, side)}
        self.pe_box = np.empty((run.rows, run.cols), object)
        self.pe_text = {key: np.empty((run.rows, run.cols), object) for key in self.lines}
        self.shadow_box = np.empty((run.rows, run.cols), object)
        for i, j in np.ndindex(run.rows, run.cols):
            self.pe_box[i, j] = self._box(j + _GAP, i + _GAP, side, side, f"pe-{i}-{j}", rounding=0.08)
            if self.loads:
                self.shadow_box[i, j] = self._shadow_box(i, j)
            for key, dy in self.lines.items():
                kind = run.stationary if key == "shadow" else key
                self.pe_text[key][i, j] = self._text(
                    j + 0.5, i + 0.5 + dy, f"pe-{i}-{j}-{key}", color=COLORS[kind], zorder=4,
                    fontsize=size["psum" if key == "psum" else "value"] * (0.85 if key == "shadow" else 1),
                    fontweight="bold" if key == run.stationary else "normal")

    def _shadow_box(self, i: int, j: int) -> FancyBboxPatch:
        """The shadow register inside PE(i, j): a dashed box above the value the PE computes with."""
        y = i + 0.5 + self.lines["shadow"] - _SHADOW_H / 2
        return self._box(j + 0.5 - _SHADOW_W / 2, y, _SHADOW_W, _SHADOW_H, f"pe-{i}-{j}-shadow-box", rounding=0.04,
                         facecolor="white", edgecolor=COLORS[self.run.stationary], linestyle="--", linewidth=0.8,
                         zorder=3)

    def _build_arrows(self) -> None:
        """Every path a value can take to a neighbour, as one collection of arrow shapes."""
        R, C = self.run.rows, self.run.cols
        paths = {}
        for i in range(R):
            paths["in-left", i] = ((-EDGE + 0.06, i + 0.5), (_GAP, i + 0.5))
            for j in range(C - 1):
                paths["right", i, j] = ((j + 1 - _GAP, i + 0.5), (j + 1 + _GAP, i + 0.5))
        for j in range(C):
            if self.layout.top_depth and not self.loads:
                paths["in-top", j] = ((j + 0.5, -EDGE + 0.06), (j + 0.5, _GAP))
            for i in range(R - 1):
                paths["down", i, j] = ((j + 0.5, i + 1 - _GAP), (j + 0.5, i + 1 + _GAP))
            paths["out", j] = ((j + 0.5, R - _GAP), (j + 0.5, R + EDGE))
            if self.loads:
                paths["load-in", j] = ((j + _LOAD_X, -EDGE + 0.06), (j + _LOAD_X, _GAP))
                for i in range(R - 1):
                    paths["load", i, j] = ((j + _LOAD_X, i + 1 - _GAP), (j + _LOAD_X, i + 1 + _GAP))
        self.arrow_keys = list(paths)
        self.arrows = PolyCollection([_arrow_shape(*ends) for ends in paths.values()], facecolors=DEAD_ARROW,
                                     edgecolors=DEAD_ARROW, linewidths=0.5, zorder=2, gid="arrows")
        self.ax.add_collection(self.animated(self.arrows))

    def _slot(self, x: float, y: float, kind: str, gid: str, font: float):
        box = self._box(x - 0.27, y - 0.23, 0.54, 0.46, gid, facecolor=LIGHT[kind], edgecolor=COLORS[kind],
                        linewidth=0.8)
        return box, self._text(x, y, f"{gid}-text", fontsize=font, color=COLORS[kind])

    def _build_queues(self) -> None:
        run, layout, ax, right, down = self.run, self.layout, self.ax, self.right, self.down
        depth, top_depth, label_pt, slot = layout.queue_depth, layout.top_depth, layout.label_pt, layout.slot
        font = layout.font(0.22, layout.value_len, 0.54)
        self.queue = {(i, d): self._slot(-EDGE - (d + 0.5) * slot, i + 0.5, right, f"queue-{i}-{d}", font)
                      for i in range(run.rows) for d in range(depth)}
        self.queue_more = [self.animated(add_text(ax, -EDGE - depth * slot, i + 0.5, "…", ha="right", va="center",
                                                  color=MUTED, fontsize=font)) for i in range(run.rows)]
        ax.text(-EDGE, -0.12, f"{NAMES[right]}s waiting\n(row i starts i cycles late)", ha="right", va="bottom",
                fontsize=label_pt, color=MUTED)
        self.queue_top = {(d, j): self._slot(j + 0.5, -EDGE - (d + 0.5) * slot, self.top_kind, f"queue-top-{d}-{j}",
                                             font) for d in range(top_depth) for j in range(run.cols)}
        self.queue_top_more = [self.animated(add_text(ax, j + 0.5, -EDGE - top_depth * slot, "⋮", ha="center",
                                                      va="bottom", color=MUTED, fontsize=font))
                               for j in range(run.cols)] if top_depth else []
        if top_depth:
            waiting = (f"next {NAMES[self.top_kind]}s waiting\n(they shift in last row first)" if self.loads
                       else f"{NAMES[down]}s waiting\n(column j starts j cycles late)")
            ax.text(-0.15, -EDGE - (top_depth - 0.5) * slot, waiting, ha="right", va="top", fontsize=label_pt,
                    color=MUTED)
        ax.text(-EDGE, layout.out_y + 0.05, "outputs\nY = A·W", ha="right", va="top", fontsize=label_pt, color=MUTED)

    def _build_outputs(self) -> None:
        run, layout = self.run, self.layout
        w, h = layout.out_w, layout.out_h
        if not layout.output_text:
            extent = (0, run.n * w, layout.out_y + run.m * h, layout.out_y)
            self.out_image = self.animated(self.ax.imshow(np.ones((run.m, run.n, 3)), interpolation="nearest",
                                                          extent=extent))
            return
        font = layout.font(0.2, layout.psum_len, w - 0.06)
        self.first_touch = np.full((run.m, run.n), run.cycles)
        for t in range(run.cycles - 1, -1, -1):
            self.first_touch[run.frame(t).output_new] = t
        self.out_box = np.empty((run.m, run.n), object)
        self.out_text = np.empty((run.m, run.n), object)
        for row, col in np.ndindex(run.m, run.n):
            x, y = col * w, layout.out_y + row * h
            self.out_box[row, col] = self._box(x + 0.03, y + 0.03, w - 0.06, h - 0.06, f"out-{row}-{col}",
                                               rounding=0.05, linewidth=0.8)
            self.out_text[row, col] = self._text(x + w / 2, y + h / 2, f"out-{row}-{col}-text", fontsize=font)

    # ------------------------------------------------------------------ one cycle

    def update(self, frame) -> None:
        """Show ``frame``: PE texts and colours, what each arrow carries, the queues and the outputs."""
        self._update_pes(frame)
        colors = [COLORS[kind] if kind else DEAD_ARROW for kind in self.arrow_carries(frame).values()]
        self.arrows.set_facecolor(colors)
        self.arrows.set_edgecolor(colors)
        self._update_queues(frame)
        self._update_outputs(frame)

    def arrow_carries(self, frame) -> dict[tuple, str | None]:
        """What each arrow carries to the next PE ("activation", "psum", …), or None when nothing."""
        right, stationary = self.right, self.run.stationary
        down = "psum" if frame.phase == "drain" or self.down is None else self.down
        right_valid, down_valid = frame.valid[right], frame.valid[down]
        leaving = frame.valid["psum"][-1] & (frame.phase == "drain" or stationary != "psum")
        carries = {}
        for key in self.arrow_keys:
            kind, *at = key
            if kind == "right":
                carries[key] = right if right_valid[at[0], at[1]] else None
            elif kind == "down":
                carries[key] = down if down_valid[at[0], at[1]] else None
            elif kind == "in-left":
                carries[key] = right if frame.queue_left_valid[at[0], 0] else None
            elif kind == "in-top":
                carries[key] = self.down if frame.queue_top_valid[0, at[0]] else None
            elif kind in ("load-in", "load"):
                below = (0, at[0]) if kind == "load-in" else (at[0] + 1, at[1])
                carries[key] = stationary if frame.loading and frame.valid["shadow"][below] else None
            else:
                carries[key] = "psum" if leaving[at[0]] else None
        return carries

    def _update_pes(self, frame) -> None:
        values = {key: (frame.values[key], frame.valid[key]) for key in self.lines}
        for i, j in np.ndindex(frame.shape):
            active, stores = frame.active[i, j], frame.control[i, j]
            box = self.pe_box[i, j]
            box.set_facecolor(ACTIVE_FACE if active else IDLE_FACE)
            box.set_edgecolor(CONTROL if stores else ACTIVE_EDGE if active else IDLE_EDGE)
            box.set_linewidth(3.0 if stores else 2.4 if active else 1.2)
            for key, (value, valid) in values.items():
                self.pe_text[key][i, j].set_text(format_value(value[i, j]) if valid[i, j] else "")
            if self.loads:
                self.shadow_box[i, j].set_visible(bool(frame.valid["shadow"][i, j]))

    def _update_queues(self, frame) -> None:
        depth = self.layout.queue_depth
        for (i, d), (box, text) in self.queue.items():
            _show(box, text, frame.queue_left[i, d], frame.queue_left_valid[i, d])
        for i, more in enumerate(self.queue_more):
            more.set_visible(bool(frame.queue_left_valid[i, depth:].any()))
        for (d, j), (box, text) in self.queue_top.items():
            _show(box, text, frame.queue_top[d, j], frame.queue_top_valid[d, j])
        for j, more in enumerate(self.queue_top_more):
            more.set_visible(bool(frame.queue_top_valid[self.layout.top_depth:, j].any()))

    def _update_outputs(self, frame) -> None:
        if not self.layout.output_text:
            rgb = np.ones(frame.output.shape + (3,))
            rgb[frame.output_valid] = to_rgb(LIGHT["psum"])
            rgb[frame.output_new] = to_rgb(ACTIVE_FACE)
            self.out_image.set_data(rgb)
            return
        touched = self.first_touch <= frame.cycle
        for row, col in np.ndindex(frame.output.shape):
            new, done = frame.output_new[row, col], frame.output_valid[row, col]
            box, text = self.out_box[row, col], self.out_text[row, col]
            box.set_facecolor(ACTIVE_FACE if new else LIGHT["psum"] if done else "white")
            box.set_edgecolor(ACTIVE_EDGE if new else COLORS["psum"] if done else DEAD_ARROW)
            text.set_text(format_value(frame.output[row, col]) if touched[row, col] else "")
            text.set_color(COLORS["psum"] if done else MUTED)
            text.set_fontstyle("normal" if done else "italic")


def _show(box, text, value, valid) -> None:
    """A queue slot shows its value, or disappears when nothing waits there."""
    box.set_visible(bool(valid))
    text.set_text(format_value(value) if valid else "")


def _arrow_shape(start, end, shaft: float = 0.02, head: float = 0.07, head_length: float = 0.1) -> np.ndarray:
    """The outline of an arrow from ``start`` to ``end`` (data units) as a polygon."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    along = (end - start) / np.linalg.norm(end - start)
    across = np.array([-along[1], along[0]])
    neck = end - along * head_length
    return np.array([start + across * shaft, neck + across * shaft, neck + across * head, end,
                     neck - across * head, neck - across * shaft, start - across * shaft])


class CompactView:
    """The image artists of a frame in compact mode: one coloured cell per PE, queue slot and output.

    Where a tile is loaded, the top third of each PE's cell is its shadow register (tinted while it
    holds the next tile's value) and the rest the value it computes with; red marks the PEs the
    control signal reached this cycle.
    """

    def __init__(self, run, layout: Layout, ax, animated):
        self.run, self.layout = run, layout
        self.right, self.down = run.flow.moving("right"), run.flow.moving("down")
        self.loads = run.flow.preloads
        self.top_kind = run.stationary if self.loads else self.down
        R, C, D, T = run.rows, run.cols, layout.queue_depth, layout.top_depth
        self.pes = animated(ax.imshow(np.ones((R * _SUBROWS if self.loads else R, C, 3)), extent=(0, C, R, 0),
                                      interpolation="nearest"))
        animated(ax.vlines(np.arange(1, C), 0, R, color="white", linewidth=0.6, zorder=2))
        animated(ax.hlines(np.arange(1, R), 0, C, color="white", linewidth=0.6, zorder=2))
        self.left = animated(ax.imshow(np.ones((R, D, 3)), extent=(-EDGE - D, -EDGE, R, 0), interpolation="nearest"))
        self.top = None
        if T:
            self.top = animated(ax.imshow(np.ones((T, C, 3)), extent=(0, C, -EDGE, -EDGE - T), interpolation="nearest"))
            label = (f"next {NAMES[self.top_kind]}s waiting\n(they shift in last row first)" if self.loads
                     else f"{NAMES[self.down]}s waiting\n(column j starts j cycles late)")
            ax.text(-0.3, -EDGE - T, label, ha="right", va="top", fontsize=layout.label_pt, color=MUTED)
        out_w, out_h, out_y = layout.out_w, layout.out_h, layout.out_y
        self.out = animated(ax.imshow(np.ones((run.m, run.n, 3)), interpolation="nearest",
                                      extent=(0, run.n * out_w, out_y + run.m * out_h, out_y)))
        ax.text(-EDGE, -0.2, f"{NAMES[self.right]}s waiting\n(row i starts i cycles late)",
                ha="right", va="bottom", fontsize=layout.label_pt, color=MUTED)
        ax.text(-EDGE, out_y, "outputs\nY = A·W", ha="right", va="top", fontsize=layout.label_pt, color=MUTED)

    def update(self, frame) -> None:
        """Show ``frame``: each PE, queue slot and output tinted by its value, amber where a MAC happened."""
        scale, kept = self.layout.value_scale, self.run.stationary
        rgb = _shade(frame.values[kept], frame.valid[kept], scale[kept], COLORS[kept], IDLE_FACE,
                     lightest=0.1, darkest=0.55)
        rgb[frame.active] = to_rgb(ACTIVE_FACE)
        rgb[frame.control] = to_rgb(CONTROL)
        if self.loads:
            shadow = _shade(frame.values["shadow"], frame.valid["shadow"], scale[kept], COLORS[kept], IDLE_FACE,
                            lightest=0.1, darkest=0.55)
            rgb = np.repeat(rgb, _SUBROWS, axis=0)
            rgb[::_SUBROWS] = shadow
        self.pes.set_data(rgb)
        D, right = self.layout.queue_depth, self.right
        left = _shade(frame.queue_left[:, :D], frame.queue_left_valid[:, :D], scale[right], COLORS[right], "white")
        self.left.set_data(left[:, ::-1])
        if self.top is not None:
            T, top_kind = self.layout.top_depth, self.top_kind
            top = _shade(frame.queue_top[:T], frame.queue_top_valid[:T], scale[top_kind], COLORS[top_kind], "white")
            self.top.set_data(top[::-1])
        out = _shade(frame.output, frame.output_valid, scale["psum"], COLORS["psum"], PALE)
        out[frame.output_new] = to_rgb(ACTIVE_FACE)
        self.out.set_data(out)


def _shade(values: np.ndarray, valid: np.ndarray, largest: float | None, color: str, empty: str,
           lightest: float = 0.25, darkest: float = 1.0) -> np.ndarray:
    """RGB per cell: ``empty`` where nothing is held, else ``color``, lighter for smaller magnitudes."""
    rgb = np.empty(valid.shape + (3,))
    rgb[...] = to_rgb(empty)
    if largest is None:
        strength = np.full(valid.shape, (lightest + darkest) / 2)
    else:
        magnitude = np.clip(np.abs(values.astype(np.float64)) / largest, 0, 1)
        strength = lightest + (darkest - lightest) * magnitude
    tint = np.asarray(to_rgb(color))
    blend = 1 - strength[..., None] * (1 - tint)
    rgb[valid] = blend[valid]
    return rgb
