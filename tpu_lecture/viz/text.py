"""The lecture's words for a run: values as the lecture writes them, a frame's title and caption, and the
story of each cycle (which PE multiplied what, which result left the array), read from the run's frames.

Imported by the renderer, the views, the player and the notebooks alike; needs no matplotlib.
"""

from __future__ import annotations

import numbers

import numpy as np


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


def title(run) -> str:
    """The line above a frame: the dataflow, the array and the product."""
    m, k, n = run.shape
    return f"{run.flow.label.capitalize()} {run.rows}×{run.cols} systolic array · A {m}×{k} @ W {k}×{n}"


def caption(run, frame) -> str:
    """The line under a frame: cycle t of T, MACs so far, utilization so far, fold, loading and phase."""
    text = (f"cycle {frame.cycle} of {frame.cycles} · {frame.macs_done} of {run.macs} MACs · "
            f"utilization {frame.utilization:.0%}")
    if frame.folds > 1:
        text += f" · fold {frame.fold + 1} of {frame.folds}"
    if frame.loading:
        kind = f"{run.stationary}s"
        loading = int(frame.shadow_fold[0, 0])
        text += f" · loading the {kind}" if frame.folds == 1 else f" · loading fold {loading + 1}'s {kind}"
    if frame.phase == "drain":
        text += " · draining results"
    return text


def _loading_story(run, frame) -> list[str]:
    """The loads and stores of one cycle: which values shifted into which row's shadow registers, who stored what."""
    lines = []
    if frame.loading:
        rows = [f"row {i} ← {' '.join(format_value(x) for x in frame.values['shadow'][i][frame.valid['shadow'][i]])}"
                for i in range(frame.shape[0]) if frame.valid["shadow"][i].any()]
        lines.append(f"↓ {run.stationary}s shift in: " + ", ".join(rows))
    stores = [f"PE({i},{j}) stores {format_value(frame.values[run.stationary][i, j])}"
              for i, j in zip(*np.nonzero(frame.control))]
    if stores:
        lines.append("control signal: " + ", ".join(stores))
    return lines


def cycle_story(run, t: int) -> list[str]:
    """What happened in cycle ``t``: loads and stores, one line per PE that did a MAC, one per result that left.

    A MAC reads "PE(1,0): B × G + A·E = A·E + B·G": the activation times the weight plus the partial
    sum the PE was given (from the PE above where sums flow down, its own where they stay).
    """
    frame = run.frame(t)
    before = None if frame.starts_empty else run.frame(t - 1)
    values, sums_flow_down = frame.values, run.flows.get("psum") == "down"
    lines = _loading_story(run, frame)
    for i, j in zip(*np.nonzero(frame.active)):
        source = (i - 1, j) if sums_flow_down else (i, j)
        given = "0"
        if before is not None and min(source) >= 0 and before.valid["psum"][source]:
            given = format_value(before.values["psum"][source])
        lines.append(f"PE({i},{j}): {format_value(values['activation'][i, j])} × "
                     f"{format_value(values['weight'][i, j])} + {given} = {format_value(values['psum'][i, j])}")
    for m, n in zip(*np.nonzero(frame.output_new)):
        lines.append(f"   ↓ leaves the array: Y[{m},{n}] = {format_value(frame.output[m, n])}")
    return lines


def run_story(run) -> str:
    """Every cycle's story, one block per cycle, as the lecture prints it beside the frames."""
    lines, width = [], max(8, len(f"cycle {run.cycles - 1}") + 1)
    for t in range(run.cycles):
        for k, line in enumerate(cycle_story(run, t) or ["(no PE busy)"]):
            lines.append(f"{f'cycle {t}' if k == 0 else '':{width}}│ {line}")
    return "\n".join(lines)
