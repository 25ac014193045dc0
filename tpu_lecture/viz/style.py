"""The lecture's look: one calm palette for every figure, matplotlib settings, and ``show`` for notebooks.

The simulator's drawings and the notebooks' charts take their colours from here, so restyling the
lecture means editing this file. matplotlib is imported only by :func:`use` and :func:`show`.
"""

from __future__ import annotations

from typing import Any

# Tailwind's slate / teal / blue / purple / amber: one colour per kind of value.
INK, MUTED, GRID, EDGE_GREY = "#1e293b", "#64748b", "#e2e8f0", "#94a3b8"
TEAL, BLUE, PURPLE, AMBER, RED = "#0f766e", "#1d4ed8", "#7e22ce", "#d97706", "#dc2626"

# The values inside the systolic array, and their pale fills.
COLORS = {"weight": TEAL, "activation": BLUE, "psum": PURPLE}
LIGHT = {"weight": "#ccfbf1", "activation": "#dbeafe", "psum": "#f3e8ff"}
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
MEASURED, MEASURED_EDGE = "#f59e0b", "#b45309"  # points the simulator stepped (or a run measured), over a formula
FOLD_FILLS = ("#f59e0b", "#fbbf24")  # alternate folds in a timeline of the array's work
LOADING = EDGE_GREY  # cycles spent loading the tile that stays in the PEs

# The bit fields of a floating-point number: (edge and text, fill).
BIT_FIELDS = {"sign": (AMBER, "#fef3c7"), "exponent": (TEAL, LIGHT["weight"]), "mantissa": (BLUE, LIGHT["activation"])}

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

# Several chips' rooflines on one chart (bench.plots.plot_rooflines): CPUs slate, GPUs greens, TPUs sky to pink,
# taken in order within each kind; and the shading and label of the memory-bound region left of every ridge point.
CHIP_SHADES = {"cpu": (MUTED,), "gpu": ("#65a30d", "#15803d"), "tpu": ("#0ea5e9", "#2563eb", "#7c3aed", "#db2777")}
AMBER_LIGHT, AMBER_DARK = "#fef3c7", "#b45309"
