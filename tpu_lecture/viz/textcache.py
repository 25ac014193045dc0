"""Text that renders each distinct look once and then stamps the bitmap: fast frames on Agg.

Matplotlib lays out and rasterizes every glyph of every Text on every draw, which is most of
the time of an 8×8 frame (about 200 short numbers). A systolic array's texts repeat (the same
numbers, colours and sizes come back cycle after cycle), so :class:`StampText` draws itself once
into a small Agg buffer per (text, colour, font, dpi) and afterwards copies that buffer into the
figure. On other renderers (PDF, SVG) it is an ordinary Text.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.text import Text

_PAD = 2
_MAX_STAMPS = 4096


class StampText(Text):
    """A single-line, unrotated Text drawn from a cache of bitmaps on Agg canvases."""

    _stamps: dict[tuple, tuple[np.ndarray, float, float] | None] = {}

    def draw(self, renderer) -> None:
        text = self.get_text()
        plain = "\n" not in text and "$" not in text and not self.get_rotation() and not self.get_usetex()
        if not isinstance(renderer, RendererAgg) or not plain:
            return super().draw(renderer)
        if not self.get_visible() or self.get_text() == "":
            return
        key = (self.get_text(), to_rgba(self.get_color()), hash(self.get_fontproperties()), self.get_alpha(),
               self.get_horizontalalignment(), self.get_verticalalignment(), renderer.dpi)
        if key[4] not in _ANCHOR_AT:
            return super().draw(renderer)
        if key not in self._stamps:
            self._stamps[key] = self._render(renderer)
            if len(self._stamps) > _MAX_STAMPS:
                self._stamps.pop(next(iter(self._stamps)))
        stamp = self._stamps[key]
        if stamp is None:
            return super().draw(renderer)
        image, anchor_x, anchor_y = stamp
        x, y = self.get_transform().transform((float(self._x), float(self._y)))
        gc = renderer.new_gc()
        self._set_gc_clip(gc)
        renderer.draw_image(gc, round(x - anchor_x), round(y - anchor_y), image)
        gc.restore()
        self.stale = False

    def _render(self, renderer) -> tuple[np.ndarray, float, float] | None:
        """Draw this text into a small buffer of its own, cropped to the ink.

        Returns the bitmap (bottom row first, as ``draw_image`` wants it) and the offset of the
        text's anchor from the bitmap's lower-left corner, in pixels; None if the text did not fit
        the buffer (it is then drawn the ordinary way). The glyphs are drawn straight onto the buffer at a
        known baseline (no Text layout, the slow part of a miss); the anchor is placed as matplotlib's layout
        places it: the ink's middle (or left, right edge) across, and up the line box whose height and descent
        are at least those of "lp" (so every number of a column sits on one baseline).
        """
        size = self.get_fontsize() * renderer.dpi / 72
        width = math.ceil(size * (0.75 * len(self.get_text()) + 2))
        height = math.ceil(size * 3)
        scratch = RendererAgg(width, height, renderer.dpi)
        gc = scratch.new_gc()
        gc.set_foreground(self.get_color())
        gc.set_alpha(self.get_alpha())
        gc.set_antialiased(self._antialiased)
        baseline_x, baseline_up = size, height * 0.4
        scratch.draw_text(gc, baseline_x, height - baseline_up, self.get_text(), self.get_fontproperties(), 0,
                          mtext=self)
        gc.restore()
        pixels = np.asarray(scratch.buffer_rgba())[::-1]
        rows, cols = np.nonzero(pixels[..., 3])
        if rows.size == 0:
            return pixels[:1, :1].copy(), 0.0, 0.0
        if min(rows.min(), cols.min()) == 0 or rows.max() == height - 1 or cols.max() == width - 1:
            return None
        line_h, line_d = _line_metrics(renderer, self.get_fontproperties())
        ink_bottom, ink_top = rows.min(), rows.max() + 1
        h = max(ink_top - ink_bottom, line_h)
        d = max(baseline_up - ink_bottom, line_d)
        across = {"left": cols.min(), "center": (cols.min() + cols.max() + 1) / 2, "right": cols.max() + 1}
        up = {"center": baseline_up - d + h / 2, "bottom": baseline_up - d, "top": baseline_up - d + h,
              "baseline": baseline_up, "center_baseline": baseline_up + (h - d) / 2}
        va = self.get_verticalalignment()
        if va not in up:
            return None
        anchor_x, anchor_y = across[self.get_horizontalalignment()], up[va]
        bottom, top = max(ink_bottom - _PAD, 0), ink_top + _PAD
        left, right = max(cols.min() - _PAD, 0), cols.max() + _PAD + 1
        return np.ascontiguousarray(pixels[bottom:top, left:right]), anchor_x - left, anchor_y - bottom


_LINE_METRICS: dict[tuple, tuple[float, float]] = {}


def _line_metrics(renderer, prop) -> tuple[float, float]:
    """Height and descent of "lp" in pixels: matplotlib's least line box for a font."""
    key = (hash(prop), renderer.dpi)
    if key not in _LINE_METRICS:
        _, h, d = RendererAgg(1, 1, renderer.dpi).get_text_width_height_descent("lp", prop, False)
        _LINE_METRICS[key] = (h, d)
    return _LINE_METRICS[key]


_ANCHOR_AT = ("left", "center", "right")


def add_text(ax, x: float, y: float, text: str, **kwargs) -> StampText:
    """``ax.text`` for texts that change every frame: a :class:`StampText` added to ``ax``."""
    artist = StampText(x, y, text, **kwargs)
    artist.set_clip_on(False)
    ax.add_artist(artist)
    return artist
