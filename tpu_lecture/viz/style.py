"""The lecture's look: one calm palette for every figure, matplotlib settings, and ``show`` for notebooks.

The simulator's drawings and the notebooks' charts take their colours from here, so restyling the
lecture means editing this file. matplotlib is imported only by :func:`use` and :func:`show`.
"""

from __future__ import annotations

from typing import Any

# One colour per kind of value, chosen for every eye (issue 22): each pair that must be told apart is at least
# ΔE 10 apart in CAM02-UCS for normal vision and for simulated deuteranopia, protanopia and tritanopia (Machado,
# Oliveira and Fernandes 2009, severity 100), and the values written as text keep 4.5:1 contrast (WCAG 2.1) on
# every fill they sit on; tests/test_palette.py recomputes both. The names keep the lecture's words for the hues.
INK, MUTED, GRID, EDGE_GREY = "#1e293b", "#6b7280", "#e2e8f0", "#94a3b8"
TEAL, BLUE, PURPLE, AMBER, RED = "#134e4a", "#4f46e5", "#581c87", "#f59e0b", "#dc2626"

# The values inside the systolic array, and their pale fills.
COLORS = {"weight": TEAL, "activation": BLUE, "psum": PURPLE}
LIGHT = {"weight": "#ccfbf1", "activation": "#e0e7ff", "psum": "#f3e8ff"}
NAMES = {"weight": "weight", "activation": "activation", "psum": "partial sum"}
ACTIVE_FACE, ACTIVE_EDGE = "#fde68a", AMBER
# The control signal that tells a PE to store the value it loaded: drawn in red, as the lecture's slides draw it.
CONTROL = RED
IDLE_FACE, IDLE_EDGE = "#f8fafc", EDGE_GREY
DEAD_ARROW, TEXT = "#cbd5e1", INK
PALE = "#f1f5f9"

# Charts: the same hues, named by what they usually stand for in the lecture.
SERIES = (TEAL, BLUE, PURPLE, AMBER, RED, MUTED)
KIND_COLORS = {"cpu": MUTED, "gpu": BLUE, "tpu": TEAL}
MEASURED, MEASURED_EDGE = AMBER, "#92400e"  # points the simulator stepped (or a run measured), over a formula
FOLD_FILLS = ("#f59e0b", "#fcd34d")  # alternate folds in a timeline of the array's work
LOADING = EDGE_GREY  # cycles spent loading the tile that stays in the PEs

# The bit fields of a floating-point number: (edge and text, fill).
BIT_FIELDS = {"sign": ("#92400e", "#fef3c7"), "exponent": (TEAL, LIGHT["weight"]),
              "mantissa": (BLUE, LIGHT["activation"])}

RC_PARAMS: dict[str, Any] = {
    "figure.dpi": 80, "font.size": 10, "axes.titlesize": 11.5, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.titlecolor": INK, "axes.labelcolor": INK, "axes.edgecolor": EDGE_GREY,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": GRID,
    "axes.axisbelow": True, "xtick.color": MUTED, "ytick.color": MUTED, "legend.frameon": False,
}


def use() -> None:
    """Apply the lecture's matplotlib settings to every figure made from now on."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC_PARAMS)


def show(fig: Any) -> None:
    """Show a figure once (Jupyter, Colab and nbval alike) and free its memory: no figures pile up."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)

# Several chips' rooflines on one chart (bench.plots.plot_rooflines): CPUs slate, GPUs greens, TPUs blues to pink,
# taken in order within each kind, every one of the seven told apart by every eye (and 3:1 on white, as a line's
# colour should be); and the shading and label of the memory-bound region left of every ridge point.
CHIP_SHADES = {"cpu": ("#1e293b",), "gpu": ("#65a30d", "#4d7c0f"), "tpu": ("#0284c7", "#1d4ed8", "#1e3a8a", "#db2777")}
AMBER_LIGHT, AMBER_DARK = "#fef3c7", "#92400e"

# What tests/test_palette.py checks. Colours that must be told apart, by where they meet:
MUST_DIFFER = {
    "the array's values and signals": {"weight": TEAL, "activation": BLUE, "partial sum": PURPLE,
                                       "control signal": CONTROL, "PE did a MAC": ACTIVE_EDGE},
    "chart series": dict(zip(("teal", "blue", "purple", "amber", "red", "muted"), SERIES)),
    "chips on one roofline chart": {f"{kind} {n}": c for kind, shades in CHIP_SHADES.items()
                                    for n, c in enumerate(shades)},
}
# Every (text colour, background) a figure writes: the frames' values on each fill, their labels, the charts'.


def over_white(color: str, alpha: float) -> str:
    """The colour ``color`` (#rrggbb) shows at ``alpha`` over a white page."""
    rgb = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(alpha * c + (1 - alpha) * 255):02x}" for c in rgb)


_SHADED = over_white(AMBER_LIGHT, 0.55)  # the roofline's memory-bound region (alpha 0.55), under its label
TEXT_ON = sorted({
    *((COLORS[k], face) for k in COLORS for face in (IDLE_FACE, ACTIVE_FACE, LIGHT[k], "white")),
    (PURPLE, LIGHT["psum"]), (MUTED, "white"), (INK, "white"), (TEXT, IDLE_FACE), (AMBER_DARK, _SHADED),
    (AMBER_DARK, "white"), *((edge, face) for edge, face in BIT_FIELDS.values()), (TEAL, "white"),
})
