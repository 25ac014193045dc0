"""The compact view of a 9×9 … 32×32 array: activity and values as colour, no text per PE.

Each PE is one cell of an image: amber if it did a MAC this cycle, otherwise tinted by the value
it keeps (weight teal, activation blue, partial sum purple; darker for larger magnitudes). The
waiting inputs and the outputs are coloured the same way, so the diagonal wave of work can be
followed across a large array.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from tpu_lecture.drawing import ACTIVE_FACE, COLORS, EDGE, IDLE_FACE, MUTED, NAMES

_PALE = "#f1f5f9"


class CompactView:
    """The image artists of a :class:`~tpu_lecture.drawing.FrameRenderer` in compact mode."""

    def __init__(self, renderer):
        self.r = renderer
        run, ax = renderer.run, renderer.ax
        R, C, D = run.rows, run.cols, renderer.queue_depth
        self.scale = {"psum": _largest(run.result), renderer.right: _largest(*renderer.queue_values)}
        if run.stationary != "psum":
            self.scale[run.stationary] = _largest(*renderer.held_values)
        self.pes = renderer.animated(ax.imshow(np.ones((R, C, 3)), extent=(0, C, R, 0), interpolation="nearest"))
        renderer.animated(ax.vlines(np.arange(1, C), 0, R, color="white", linewidth=0.6, zorder=2))
        renderer.animated(ax.hlines(np.arange(1, R), 0, C, color="white", linewidth=0.6, zorder=2))
        self.left = renderer.animated(ax.imshow(np.ones((R, D, 3)), extent=(-EDGE - D, -EDGE, R, 0),
                                                interpolation="nearest"))
        self.top = None
        if renderer.top_depth:
            T = renderer.top_depth
            self.top = renderer.animated(ax.imshow(np.ones((T, C, 3)), extent=(0, C, -EDGE, -EDGE - T),
                                                   interpolation="nearest"))
            self.scale[renderer.down] = _largest(*renderer.top_values)
            ax.text(-0.3, -EDGE - T, f"{NAMES[renderer.down]}s waiting\n(column j starts j cycles late)",
                    ha="right", va="top", fontsize=renderer.label_pt, color=MUTED)
        out_w, out_h, out_y = renderer.out_w, renderer.out_h, renderer.out_y
        self.out = renderer.animated(ax.imshow(np.ones((run.m, run.n, 3)), interpolation="nearest",
                                               extent=(0, run.n * out_w, out_y + run.m * out_h, out_y)))
        ax.text(-EDGE, -0.2, f"{NAMES[renderer.right]}s waiting\n(row i starts i cycles late)",
                ha="right", va="bottom", fontsize=renderer.label_pt, color=MUTED)
        ax.text(-EDGE, out_y, "outputs\nY = A·W", ha="right", va="top", fontsize=renderer.label_pt, color=MUTED)

    def update(self, frame) -> None:
        kept = self.r.run.stationary
        values, valid = getattr(frame, kept), getattr(frame, f"{kept}_valid")
        rgb = _shade(values, valid, self.scale[kept], COLORS[kept], IDLE_FACE, lightest=0.1, darkest=0.55)
        rgb[frame.active] = to_rgb(ACTIVE_FACE)
        self.pes.set_data(rgb)
        right = self.r.right
        D = self.r.queue_depth
        left = _shade(frame.queue_left[:, :D], frame.queue_left_valid[:, :D], self.scale[right], COLORS[right],
                      "white")
        self.left.set_data(left[:, ::-1])
        if self.top is not None:
            T = self.r.top_depth
            down = self.r.down
            top = _shade(frame.queue_top[:T], frame.queue_top_valid[:T], self.scale[down], COLORS[down], "white")
            self.top.set_data(top[::-1])
        out = _shade(frame.output, frame.output_valid, self.scale["psum"], COLORS["psum"], _PALE)
        out[frame.output_new] = to_rgb(ACTIVE_FACE)
        self.out.set_data(out)


def _largest(*arrays) -> float | None:
    """The largest magnitude in numeric arrays (None for symbols: their colour shows presence only)."""
    values = [np.asarray(a) for a in arrays if np.asarray(a).size]
    if not values or any(v.dtype == object for v in values):
        return None
    return max(float(np.abs(v.astype(np.float64)).max()) for v in values) or 1.0


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
