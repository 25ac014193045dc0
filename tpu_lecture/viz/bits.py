"""A number's bits drawn as the lecture shows them: one box per bit, coloured by field (sign, exponent,
mantissa), one row per format, so float32, bfloat16 and float16 can be compared at a glance."""

from __future__ import annotations

from matplotlib.patches import Patch, Rectangle

from tpu_lecture import precision
from tpu_lecture.viz.renderer import FrameFigure, own_figure
from tpu_lecture.viz.style import BIT_FIELDS, INK, MUTED

_ROW_PITCH = 1.9  # rows of bits, one per format, this far apart (units: one bit's box)


def draw_bits(ax, y: float, fields: precision.BitFields) -> None:
    """One row of boxes at height ``y``, one per bit, coloured by field, with the format's name and the value stored."""
    x = 0
    for field in ("sign", "exponent", "mantissa"):
        edge, face = BIT_FIELDS[field]
        for bit in getattr(fields, field):
            ax.add_patch(Rectangle((x + 0.05, y), 0.9, 1, facecolor=face, edgecolor=edge, linewidth=1.2))
            ax.text(x + 0.5, y + 0.48, bit, ha="center", va="center", fontsize=10.5, color=edge, family="monospace")
            x += 1
    ax.text(-0.7, y + 0.5, fields.fmt, ha="right", va="center", fontsize=11, color=INK, fontweight="bold")
    ax.text(x + 0.7, y + 0.5, f"= {fields.stored:.12g}", ha="left", va="center", fontsize=11, color=INK)


def bits_figure(value: float, formats: tuple[str, ...] = ("float32", "bfloat16", "float16"),
                dpi: int = 100) -> FrameFigure:
    """``value`` stored in each of ``formats``, one row of bits each; shows how bfloat16 is float32's top half."""
    if not formats:
        raise ValueError("formats is empty: name at least one, e.g. formats=('float32', 'bfloat16')")
    figure = own_figure((11, 3.4), dpi)
    ax = figure.add_subplot()
    for row, fmt in enumerate(formats):
        draw_bits(ax, -_ROW_PITCH * row, precision.bit_fields(value, fmt))
    if formats[0] == "float32" and "bfloat16" in formats:
        ax.annotate("", xy=(0, 1.3), xytext=(16, 1.3), arrowprops=dict(arrowstyle="<->", color=MUTED))
        ax.text(8, 1.45, "bfloat16 keeps these 16 bits of float32", ha="center", va="bottom", fontsize=9, color=MUTED)
    ax.legend(handles=[Patch(facecolor=face, edgecolor=edge, label=name) for name, (edge, face) in BIT_FIELDS.items()],
              loc="lower right", fontsize=9.5)
    ax.set(xlim=(-6.5, 42), ylim=(-_ROW_PITCH * (len(formats) - 1) - 0.2, 2.3), aspect="equal")
    shown = f"{', '.join(formats[:-1])} and {formats[-1]}" if len(formats) > 1 else formats[0]
    ax.set_title(f"{value} stored in {shown}")
    ax.axis("off")
    return figure
