"""The recorded state of a systolic array, cycle by cycle: what each PE holds and what it did.

The dataflows' per-cycle rules (:mod:`tpu_lecture.sim.dataflow`) write every cycle's PE state onto a
:class:`Tape` while they step, through its methods only; :class:`Frame` is one cycle rebuilt from
the tape, which is what the visualizer draws.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tpu_lecture.sim.schedule import Schedule

# Keeping every frame costs cycles × R × C values; past this the run asks for keep_frames=False.
MAX_FRAME_BYTES = 1 << 30

VALUES = ("weight", "activation", "psum")  # what a PE can hold: its weight, activation and partial sum


@dataclass(frozen=True, repr=False)
class Frame:
    """The state of the array at the end of one cycle: what each PE holds and what it did.

    ``values[key]`` (key: "weight", "activation" or "psum") is each PE's value, an array of shape
    (rows, cols), and ``valid[key]`` says whether the PE holds that value at all. ``active`` marks
    the PEs that did a MAC. ``queue_left[i, d]`` is the value that enters row i in d + 1 cycles
    (``queue_top[d, j]`` likewise for column j, in the output-stationary dataflow). ``output`` is
    the result matrix as collected so far.
    """

    cycle: int
    cycles: int
    fold: int
    folds: int
    fold_cycle: int
    phase: str
    dataflow: str
    values: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    active: np.ndarray
    queue_left: np.ndarray
    queue_left_valid: np.ndarray
    queue_top: np.ndarray | None
    queue_top_valid: np.ndarray | None
    output: np.ndarray
    output_valid: np.ndarray
    output_new: np.ndarray
    macs_done: int

    @property
    def shape(self) -> tuple[int, int]:
        """The array's (rows, cols)."""
        return self.active.shape

    @property
    def utilization(self) -> float:
        """Useful MACs so far over the MACs the array could have done in cycles 0 … t."""
        rows, cols = self.shape
        return self.macs_done / (rows * cols * (self.cycle + 1))

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (f"Frame(cycle {self.cycle} of {self.cycles}, fold {self.fold + 1}/{self.folds}, {self.phase}, "
                f"{int(self.active.sum())} of {rows * cols} PEs did a MAC, {self.macs_done} MACs so far)")


@dataclass
class FoldRecord:
    """What the tape keeps of one fold: its first cycle, the streams at its edges, when its drain begins.

    ``left[s, i]`` enters row i at fold cycle s + i (the skew); only the first ``left_lanes`` rows
    take a stream. ``top`` (output-stationary) enters the columns the same way. ``drain_from`` is
    the fold cycle at which results start shifting out (None: the fold never drains).
    """

    start: int
    left: np.ndarray
    left_lanes: int
    top: np.ndarray | None = None
    top_lanes: int = 0
    drain_from: int | None = None

    def phase(self, fold_cycle: int) -> str:
        """"drain" once the fold's results shift out, "compute" before."""
        return "drain" if self.drain_from is not None and fold_cycle >= self.drain_from else "compute"


class Tape:
    """Per-cycle recordings of one run, from which :meth:`frame` rebuilds any cycle's state."""

    def __init__(self, plan: Schedule, rows: int, cols: int, m: int, n: int, dtype: np.dtype):
        self.plan, self.rows, self.cols, self.m, self.n, self.dtype = plan, rows, cols, m, n, dtype
        shape = (plan.cycles, rows, cols)
        self.values = {key: np.zeros(shape, dtype) for key in VALUES}
        self.valid = {key: np.zeros(shape, bool) for key in VALUES}
        self.active = np.zeros(shape, bool)
        self.macs_per_cycle = np.zeros(plan.cycles, np.int64)
        self.folds: list[FoldRecord] = []
        self.updates: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    @property
    def contributions_needed(self) -> int:
        """How many folds add into each output before it is complete (one per tile of K)."""
        return self.plan.contributions

    def check_size(self) -> None:
        """Refuse a tape that would not fit in memory, saying how to run without one."""
        itemsize = 8 if self.dtype == object else self.dtype.itemsize
        needed = self.plan.cycles * self.rows * self.cols * (3 * itemsize + 4)
        if needed > MAX_FRAME_BYTES:
            raise ValueError(
                f"keeping all {self.plan.cycles:,} frames of this {self.rows}x{self.cols} run would take "
                f"{needed / 2**30:.1f} GiB: pass keep_frames=False to get the result and statistics only"
            )

    def start_fold(self, start: int, left: np.ndarray, left_lanes: int, top: np.ndarray | None = None,
                   top_lanes: int = 0) -> FoldRecord:
        """A fold begins at cycle ``start`` with these streams waiting at the left (and top) edge."""
        record = FoldRecord(start, left, left_lanes, top, top_lanes)
        self.folds.append(record)
        return record

    def mark_drain(self, t: int) -> None:
        """The current fold's results start shifting out at cycle ``t`` (later calls keep the first)."""
        fold = self.folds[-1]
        if fold.drain_from is None:
            fold.drain_from = t - fold.start

    def record(self, t: int, values: dict, valid: dict, active: np.ndarray) -> None:
        """Copy cycle t's PE state; the MAC count of the frames comes from ``active``."""
        if t >= self.plan.cycles:
            raise RuntimeError(f"the simulation ran past the {self.plan.cycles} cycles its closed form allows")
        for key, value in values.items():
            self.values[key][t] = value
            self.valid[key][t] = valid[key]
        self.active[t] = active
        self.macs_per_cycle[t] = active.sum()

    def record_output(self, t: int, m_idx: np.ndarray, n_idx: np.ndarray, values: np.ndarray) -> None:
        """Results leave the array at cycle t and add into outputs Y[m_idx, n_idx]."""
        if len(m_idx):
            self.updates.append((t, np.array(m_idx), np.array(n_idx), np.array(values, dtype=self.dtype)))

    def frame(self, t: int) -> Frame:
        """The state at the end of cycle ``t`` (checked by the caller to be a cycle of the run)."""
        fold = bisect.bisect_right([f.start for f in self.folds], t) - 1
        record = self.folds[fold]
        fold_cycle = t - record.start
        output, output_valid, output_new = self._output_at(t)
        queue_left, queue_left_valid = queue(record.left, record.left_lanes, fold_cycle, self.rows)
        queue_top = queue_top_valid = None
        if record.top is not None:
            top, top_valid = queue(record.top, record.top_lanes, fold_cycle, self.cols)
            queue_top, queue_top_valid = top.T, top_valid.T
        return Frame(
            cycle=t, cycles=self.plan.cycles, fold=fold, folds=self.plan.folds, fold_cycle=fold_cycle,
            phase=record.phase(fold_cycle), dataflow=self.plan.dataflow,
            values={key: self.values[key][t] for key in VALUES}, valid={key: self.valid[key][t] for key in VALUES},
            active=self.active[t], queue_left=queue_left, queue_left_valid=queue_left_valid,
            queue_top=queue_top, queue_top_valid=queue_top_valid,
            output=output, output_valid=output_valid, output_new=output_new,
            macs_done=int(self.macs_per_cycle[: t + 1].sum()),
        )

    def _output_at(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        output = np.zeros((self.m, self.n), self.dtype)
        count = np.zeros((self.m, self.n), np.int64)
        new = np.zeros((self.m, self.n), bool)
        for cycle, m_idx, n_idx, values in self.updates:
            if cycle > t:
                break
            output[m_idx, n_idx] = output[m_idx, n_idx] + values
            count[m_idx, n_idx] += 1
            if cycle == t:
                new[m_idx, n_idx] = True
        return output, count >= self.contributions_needed, new


def queue(stream: np.ndarray, real_lanes: int, fold_cycle: int, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """Values still waiting to enter each lane (row) at the end of ``fold_cycle``.

    ``stream[s, i]`` enters lane i at cycle s + i (the skew), so it waits at distance
    d = s + i − fold_cycle − 1 from the array's edge.
    """
    length = stream.shape[0]
    depth = length + lanes
    lane = np.arange(lanes)[:, None]
    s = fold_cycle + 1 + np.arange(depth)[None, :] - lane
    valid = (s >= 0) & (s < length) & (lane < real_lanes)
    values = np.zeros((lanes, depth), stream.dtype)
    values[valid] = stream[s[valid], np.broadcast_to(lane, s.shape)[valid]]
    return values, valid
