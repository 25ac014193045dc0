"""Where everything of a frame goes: the geometry that the renderer and both views share, as one object.

Lengths are in units of the PE pitch (the distance between neighbouring PEs): the array spans
x = 0 … cols and y = 0 … rows (y grows downwards), the queues sit left of it (and above it for
output-stationary), the outputs below. :meth:`Layout.of` reads from a run what has to fit (how deep
the queues get, how long the texts are) and chooses inches per pitch so that the drawing, title,
legend and caption fit the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tpu_lecture.viz.text import format_value

DETAIL_LIMIT = 8  # up to 8×8 each PE shows its weight, activation and partial sum as text
COMPACT_LIMIT = 32  # up to 32×32 the compact view (colour only); larger arrays are not drawn

LABEL_PT = 10.0  # the small grey labels ("activations waiting", "outputs")
EDGE = 0.4  # space between a queue (or the outputs) and the array, where arrows run (units: PE pitch)
SLOT = 0.62  # pitch of a queue slot in the detailed view
_MAX_W, _MAX_H, _MAX_SCALE = 12.0, 9.0, 1.45  # figure size limits in inches; inches per PE pitch
_MIN_W, _LEGEND_ENTRY_IN = 7.0, 2.625  # inches: narrowest figure; width of one legend entry
TITLE_IN, _LEGEND_ROW_IN, _CAPTION_IN = 0.55, 0.3, 0.55  # inches for the title, a legend row, the caption
_LABEL_IN = 0.4  # inches between the legend and the drawing, for the queue's label


def check_drawable(rows: int, cols: int) -> bool:
    """True if the array gets the compact view; ValueError if it is too large to draw at all."""
    if max(rows, cols) > COMPACT_LIMIT:
        raise ValueError(
            f"a {rows}x{cols} array is too large to draw (the compact view goes up to "
            f"{COMPACT_LIMIT}x{COMPACT_LIMIT}): for its cycles, MACs and utilization print run.summary() "
            f"(or run python -m tpu_lecture simulate), or animate a smaller array such as 8x8"
        )
    return max(rows, cols) > DETAIL_LIMIT


@dataclass(frozen=True)
class Layout:
    """The geometry of one run's frames (units: PE pitch, unless a name says inches or points)."""

    compact: bool  # the compact (colour) view rather than the detailed one
    # what has to fit, read from the first cycle of every fold
    queue_depth: int  # queue slots drawn left of the array (deeper queues end in "…")
    top_depth: int  # queue slots drawn above it (0: nothing enters from the top)
    output_text: bool  # outputs shown as numbers (small products) rather than colour
    value_len: int  # characters of the longest value waiting or held
    psum_len: int  # characters of the longest result
    value_scale: dict  # largest magnitude of each kind of value (None for symbols), for the compact view's tints
    # the drawing's extent
    slot: float  # pitch of a queue slot
    left: float  # room left of the array
    top: float  # room above it
    out_w: float  # width and height of one output cell; top of the outputs
    out_h: float
    out_y: float
    bottom: float  # bottom of the drawing
    right_edge: float  # right end of the drawing
    # the figure
    legend_rows: int
    legend_cols: int
    own_width_in: float  # width of the renderer's own figure, before any zoom into a given axes
    zoom: float  # 1, or the shrink to fit a given axes: fonts and margins shrink with it
    scale: float  # inches per PE pitch
    fig_size: tuple[float, float]  # inches
    width: float  # the axes' extent in PE pitches, from (x0, y0)
    height: float
    x0: float
    y0: float

    @classmethod
    def of(cls, run, box_in: tuple[float, float] | None = None) -> Layout:
        """The layout of ``run``'s frames in a figure of its own, or zoomed into a box of ``box_in`` inches."""
        compact = check_drawable(run.rows, run.cols)
        contents = _contents(run, compact)
        extent = _extent(run, compact, contents["output_text"], contents["queue_depth"], contents["top_depth"])
        entries = legend_entries(run)
        figure = _fit(extent["left"], extent["top"], extent["right_edge"], extent["bottom"], box_in, entries)
        return cls(compact=compact, **contents, **extent, **figure)

    @property
    def pt(self) -> float:
        """Points per PE pitch."""
        return self.scale * 72

    @property
    def inch(self) -> float:
        """One inch of the renderer's own figure in PE pitches, zoomed like the drawing."""
        return self.zoom / self.scale

    @property
    def label_pt(self) -> float:
        """Font size of the small grey labels, zoomed with the drawing."""
        return LABEL_PT * self.zoom

    @property
    def title_pt(self) -> float:
        """Font size of the title and the caption."""
        return (15.0 if self.own_width_in >= 8 else 13.0) * self.zoom

    def font(self, share: float, text_len: int, width: float) -> float:
        """A font size (points): ``share`` of a PE pitch, shrunk so ``text_len`` characters fit ``width``."""
        return max(4.0, min(share * self.pt, 0.92 * width * self.pt / (0.6 * max(text_len, 1))))


def legend_entries(run) -> int:
    """How many entries a frame's legend has: what stays, what moves, a MAC; the shadow and the control signal."""
    return 1 + len(run.flows) + 1 + (2 if run.flow.preloads else 0)


def _contents(run, compact: bool) -> dict:
    """How deep the queues get, how long the texts are and how large the values: every value the frames can show."""
    firsts = [run.frame(t) for t in sorted({0, *run.schedule.fold_starts})]
    records = run.fold_records
    streamed = [r.left[:, : r.left_lanes] for r in records]
    topped = [r.top[:, : r.top_lanes] for r in records if r.top is not None]
    held = [r.held[r.held_valid] for r in records if r.held is not None]
    # Queue slots drawn: enough for the whole staircase of small arrays; the rest is shown as "…".
    cap, top_cap = (max(8, run.rows), max(8, run.rows)) if compact else (run.rows + 2, max(3, 11 - run.rows))
    scale = {"psum": _largest(run.result), run.flow.moving("right"): _largest(*streamed)}
    if run.stationary != "psum":
        scale[run.stationary] = _largest(*held)
    if topped:
        scale[run.flow.moving("down")] = _largest(*topped)
        top_depth = min(top_cap, max(_depth(f.queue_top_valid.any(axis=1)) for f in firsts))
    else:
        top_depth = min(top_cap, run.rows) if held else 0
    return {
        "queue_depth": min(cap, max(_depth(f.queue_left_valid.any(axis=0)) for f in firsts)),
        "top_depth": top_depth,
        "output_text": not compact and run.m <= 12 and run.n <= 12,
        "value_len": max([len(format_value(x)) for values in streamed + topped + held for x in np.ravel(values)] + [1]),
        "psum_len": max(len(format_value(x)) for x in run.result.flat),
        "value_scale": scale,
    }


def _extent(run, compact: bool, output_text: bool, queue_depth: int, top_depth: int) -> dict:
    """The drawing's extent in PE pitches: queues left (and top), the array, outputs below."""
    slot = 1.0 if compact else SLOT
    out_w = min(1.0, run.cols / run.n)
    # Outputs as numbers get a box each; as colour they shrink to fit half the array's height.
    out_h = (0.46 if run.m <= 4 else 0.32) if output_text else min(out_w, 0.5 * run.rows / run.m)
    out_y = run.rows + EDGE + 0.15
    return {
        "slot": slot, "left": EDGE + queue_depth * slot + 0.3, "top": (EDGE + top_depth * slot) if top_depth else 0.1,
        "out_w": out_w, "out_h": out_h, "out_y": out_y, "bottom": out_y + run.m * out_h + 0.1,
        "right_edge": max(run.cols, run.n * out_w) + 0.35,
    }


def _fit(left: float, top: float, right_edge: float, bottom: float, box_in: tuple[float, float] | None,
         entries: int) -> dict:
    """Inches per PE pitch so that the drawing, title, legend and caption fit the figure.

    The legend takes as few rows as the figure's width allows for its ``entries``. The layout is
    worked out for a figure of the renderer's own; drawn into a given axes of ``box_in`` inches,
    everything (fonts and margins too) is zoomed to fit that box.
    """
    content_w, content_h = left + right_edge, top + bottom
    for rows in range(1, entries + 1):
        bands = TITLE_IN + _LEGEND_ROW_IN * rows + _LABEL_IN + _CAPTION_IN
        scale = min(_MAX_W / content_w, (_MAX_H - bands) / content_h, _MAX_SCALE)
        fig_w, fig_h = max(content_w * scale, _MIN_W), content_h * scale + bands
        if math.ceil(entries / rows) * _LEGEND_ENTRY_IN <= fig_w:
            break
    own_width_in, zoom = fig_w, 1.0
    if box_in is not None:
        zoom = min(box_in[0] / fig_w, box_in[1] / fig_h)
        scale, fig_w, fig_h = scale * zoom, *box_in
    width, height = fig_w / scale, fig_h / scale
    above = (TITLE_IN + _LEGEND_ROW_IN * rows + _LABEL_IN) * zoom / scale
    spare_h = height - content_h - bands * zoom / scale
    return {"legend_rows": rows, "legend_cols": math.ceil(entries / rows), "own_width_in": own_width_in, "zoom": zoom,
            "scale": scale, "fig_size": (fig_w, fig_h), "width": width, "height": height,
            "x0": -left - (width - content_w) / 2, "y0": -top - above - spare_h / 2}


def _depth(waiting: np.ndarray) -> int:
    """How many queue slots are needed so that every waiting value has one (``waiting``: one flag per slot)."""
    return int(np.nonzero(waiting)[0].max()) + 1 if waiting.any() else 1


def _largest(*arrays) -> float | None:
    """The largest magnitude in numeric arrays (None for symbols: their colour shows presence only)."""
    values = [np.asarray(a) for a in arrays if np.asarray(a).size]
    if not values or any(v.dtype == object for v in values):
        return None
    return max(float(np.abs(v.astype(np.float64)).max()) for v in values) or 1.0
