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
from matplotlib.transforms import IdentityTransform

_PAD = 2
_MAX_STAMPS = 4096


class StampText(Text):
    """A single-line, unrotated Text drawn from a cache of bitmaps on Agg canvases."""

    _stamps: dict[tuple, tuple[np.ndarray, float, float] | None] = {}

    def draw(self, renderer) -> None:
        if not isinstance(renderer, RendererAgg) or "\n" in self.get_text() or self.get_rotation():
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
        the buffer (it is then drawn the ordinary way).
        """
        size = self.get_fontsize() * renderer.dpi / 72
        width = math.ceil(size * (0.75 * len(self.get_text()) + 2))
        height = math.ceil(size * 3)
        scratch = RendererAgg(width, height, renderer.dpi)
        copy = Text()
        copy.update_from(self)
        copy.set_text(self.get_text())
        copy.set_figure(self.figure)
        copy.set_transform(IdentityTransform())
        anchor_x, anchor_y = _ANCHOR_AT[self.get_horizontalalignment()] * width, height / 2
        copy.set_position((anchor_x, anchor_y))
        copy.draw(scratch)
        pixels = np.asarray(scratch.buffer_rgba())[::-1]
        rows, cols = np.nonzero(pixels[..., 3])
        if rows.size == 0:
            return pixels[:1, :1].copy(), anchor_x, anchor_y
        if min(rows.min(), cols.min()) == 0 or rows.max() == height - 1 or cols.max() == width - 1:
            return None
        bottom, top = max(rows.min() - _PAD, 0), rows.max() + _PAD + 1
        left, right = max(cols.min() - _PAD, 0), cols.max() + _PAD + 1
        return np.ascontiguousarray(pixels[bottom:top, left:right]), anchor_x - left, anchor_y - bottom


_ANCHOR_AT = {"left": 0.1, "center": 0.5, "right": 0.9}


def add_text(ax, x: float, y: float, text: str, **kwargs) -> StampText:
    """``ax.text`` for texts that change every frame: a :class:`StampText` added to ``ax``."""
    artist = StampText(x, y, text, **kwargs)
    artist.set_clip_on(False)
    ax.add_artist(artist)
    return artist
