"""The recorded state of a systolic array, cycle by cycle: what each PE holds, what it loads and what it did.

The dataflows' per-cycle rules (:mod:`tpu_lecture.sim.stationary`, :mod:`tpu_lecture.sim.dataflow`)
write every cycle's PE state onto a :class:`Tape` while they step, through its methods only;
:class:`Frame` is one cycle rebuilt from the tape, which is what the visualizer draws.
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

# What a PE can hold: its weight, activation and partial sum, and the shadow register the next tile loads into.
VALUES = ("weight", "activation", "psum", "shadow")


def frame_bytes(cycles: int, rows: int, cols: int, itemsize: int) -> int:
    """Bytes a tape of ``cycles`` frames takes: four values, four flags, the control bit and two fold ids per PE."""
    return cycles * rows * cols * (len(VALUES) * itemsize + len(VALUES) + 1 + 2 * 4)


@dataclass(frozen=True, repr=False)
class Frame:
    """The state of the array at the end of one cycle: what each PE holds, loads and did.

    ``values[key]`` (key: "weight", "activation", "psum" or "shadow") is each PE's value, an array of
    shape (rows, cols), and ``valid[key]`` says whether the PE holds that value at all; "shadow" is
    the register the next tile shifts into (of the kind that stays: a weight for weight-stationary).
    ``control`` marks the PEs the control signal reached this cycle (they stored their shadow value);
    ``held_fold`` / ``shadow_fold`` say which fold's tile each PE computes with / loads (−1: none).
    ``active`` marks the PEs that did a MAC. ``queue_left[i, d]`` is the value that enters row i in
    d + 1 cycles (``queue_top[d, j]`` likewise for column j: the streamed weights of output-stationary,
    the next tile waiting to load for the others). ``output`` is the result matrix collected so far.
    ``phase`` is "load" (no fold in flight: the array only loads), "compute", "stall" (a fold waiting for
    its tile while the one before finishes) or "drain", so the frames' phases add up to the run's split. ``fold`` is
    the last fold whose first value has entered (the first fold before that), ``fold_cycle`` the
    cycles since (negative while its tile is still loading); ``starts_empty`` marks the cycles whose
    PEs do not carry on from the cycle before (cycle 0, and each output-stationary fold's first).
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
    control: np.ndarray
    held_fold: np.ndarray
    shadow_fold: np.ndarray
    loading: bool
    starts_empty: bool
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
        loading = ", loading a tile" if self.loading else ""
        return (f"Frame(cycle {self.cycle} of {self.cycles}, fold {self.fold + 1}/{self.folds}, {self.phase}{loading}, "
                f"{int(self.active.sum())} of {rows * cols} PEs did a MAC, {self.macs_done} MACs so far)")


@dataclass
class FoldRecord:
    """What the tape keeps of one fold: when its tile loads and its first value enters, its streams, its drain.

    ``left[s, i]`` enters row i at fold cycle s + i (the skew); only the first ``left_lanes`` rows
    take a stream. ``top`` (output-stationary) enters the columns the same way. ``held`` is the tile
    that stays (padded to the array, ``held_valid`` where real); it shifts in from the top, last row
    first, from cycle ``load_start`` (None: nothing is loaded). ``drain_from`` is the fold cycle at
    which results start shifting out (None: the fold never drains).
    """

    index: int
    load_start: int | None
    left: np.ndarray
    left_lanes: int
    start: int | None = None
    top: np.ndarray | None = None
    top_lanes: int = 0
    held: np.ndarray | None = None
    held_valid: np.ndarray | None = None
    drain_from: int | None = None

    def phase(self, fold_cycle: int) -> str:
        """"drain" once the fold's results shift out, "compute" before."""
        return "drain" if self.drain_from is not None and fold_cycle >= self.drain_from else "compute"


class Tape:
    """Per-cycle recordings of one run, from which :meth:`frame` rebuilds any cycle's state."""

    def __init__(self, plan: Schedule, dtype: np.dtype):
        check_size(plan, dtype)
        self.plan, self.rows, self.cols, self.m, self.n, self.dtype = plan, plan.rows, plan.cols, plan.m, plan.n, dtype
        shape = (plan.cycles, plan.rows, plan.cols)
        self.values = {key: np.zeros(shape, dtype) for key in VALUES}
        self.valid = {key: np.zeros(shape, bool) for key in VALUES}
        self.active = np.zeros(shape, bool)
        self.control = np.zeros(shape, bool)
        self.held_fold = np.full(shape, -1, np.int32)
        self.shadow_fold = np.full(shape, -1, np.int32)
        self.loading = np.zeros(plan.cycles, bool)
        self.computing = np.zeros(plan.cycles, bool)
        self.stalled = np.zeros(plan.cycles, bool)
        self.macs_per_cycle = np.zeros(plan.cycles, np.int64)
        self.folds: list[FoldRecord] = []
        self.updates: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    @property
    def contributions_needed(self) -> int:
        """How many folds add into each output before it is complete (one per tile of K)."""
        return self.plan.contributions

    def start_fold(self, index: int, load_start: int | None, left: np.ndarray, left_lanes: int, **parts) -> FoldRecord:
        """Fold ``index`` begins: its tile starts loading at ``load_start`` (or its value enters, if nothing loads)."""
        record = FoldRecord(index, load_start, left, left_lanes, **parts)
        self.folds.append(record)
        return record

    def fold_starts(self, index: int, t: int) -> None:
        """Fold ``index``'s first value enters the array at cycle ``t``."""
        self.folds[index].start = t

    def mark_drain(self, t: int) -> None:
        """The current fold's results start shifting out at cycle ``t`` (later calls keep the first)."""
        fold = self.folds[-1]
        if fold.drain_from is None:
            fold.drain_from = t - fold.start

    def record(self, t: int, values: dict, valid: dict, active: np.ndarray, *, control=None, held_fold=None,
               shadow_fold=None, loading: bool = False, computing: bool = True, stalled: bool = False) -> None:
        """Copy cycle t's PE state; the MAC count of the frames comes from ``active``."""
        if t >= self.plan.cycles:
            raise RuntimeError(f"the simulation ran past the {self.plan.cycles} cycles its closed form allows")
        for key, value in values.items():
            self.values[key][t] = value
            self.valid[key][t] = valid[key]
        for store, value in ((self.control, control), (self.held_fold, held_fold), (self.shadow_fold, shadow_fold)):
            if value is not None:
                store[t] = value
        self.active[t] = active
        self.loading[t], self.computing[t], self.stalled[t] = loading, computing, stalled
        self.macs_per_cycle[t] = active.sum()

    def record_output(self, t: int, m_idx: np.ndarray, n_idx: np.ndarray, values: np.ndarray) -> None:
        """Results leave the array at cycle t and add into outputs Y[m_idx, n_idx]."""
        if len(m_idx):
            self.updates.append((t, np.array(m_idx), np.array(n_idx), np.array(values, dtype=self.dtype)))

    def frame(self, t: int) -> Frame:
        """The state at the end of cycle ``t`` (checked by the caller to be a cycle of the run)."""
        starts = [f.start for f in self.folds]
        fold = max(0, bisect.bisect_right(starts, t) - 1)
        record = self.folds[fold]
        fold_cycle = t - record.start
        output, output_valid, output_new = self._output_at(t)
        queue_left, queue_left_valid = self._queue_left(t)
        queue_top, queue_top_valid = self._queue_top(t, record, fold_cycle)
        phase = ("stall" if self.stalled[t] else record.phase(fold_cycle)) if self.computing[t] else "load"
        return Frame(
            cycle=t, cycles=self.plan.cycles, fold=fold, folds=self.plan.folds, fold_cycle=fold_cycle, phase=phase,
            dataflow=self.plan.dataflow, values={key: self.values[key][t] for key in VALUES},
            valid={key: self.valid[key][t] for key in VALUES}, active=self.active[t], control=self.control[t],
            held_fold=self.held_fold[t], shadow_fold=self.shadow_fold[t], loading=bool(self.loading[t]),
            starts_empty=t == 0 or (record.load_start is None and fold_cycle == 0),
            queue_left=queue_left, queue_left_valid=queue_left_valid, queue_top=queue_top,
            queue_top_valid=queue_top_valid, output=output, output_valid=output_valid, output_new=output_new,
            macs_done=int(self.macs_per_cycle[: t + 1].sum()),
        )

    def _queue_left(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """The values waiting at the left edge, of every fold still to enter (the next fold's right behind)."""
        depth = max(f.left.shape[0] for f in self.folds) + 2 * self.rows + self.cols
        values, valid = np.zeros((self.rows, depth), self.dtype), np.zeros((self.rows, depth), bool)
        for record in self.folds:
            if record.start + record.left.shape[0] + self.rows > t + 1 and record.start <= t + depth:
                part, part_valid = queue(record.left, record.left_lanes, t - record.start, self.rows, depth)
                values[part_valid], valid = part[part_valid], valid | part_valid
        return values, valid

    def _queue_top(self, t: int, record: FoldRecord, fold_cycle: int):
        """Output-stationary: the weights waiting above each column. Else: the next tile waiting to shift in."""
        if record.top is not None:
            top, top_valid = queue(record.top, record.top_lanes, fold_cycle, self.cols)
            return top.T, top_valid.T
        if record.held is None:
            return None, None
        waiting = next((f for f in self.folds if f.load_start + self.rows - 1 > t), None)
        values, valid = np.zeros((self.rows, self.cols), self.dtype), np.zeros((self.rows, self.cols), bool)
        if waiting is not None:
            u = t - waiting.load_start + 1 + np.arange(self.rows)  # slot d holds load cycle u's row of the tile
            real = (u >= 0) & (u < self.rows)
            values[real] = waiting.held[self.rows - 1 - u[real]]
            valid[real] = waiting.held_valid[self.rows - 1 - u[real]]
        return values, valid

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


def check_size(plan: Schedule, dtype: np.dtype) -> None:
    """Refuse, before allocating anything, a tape that would not fit in memory, saying how to run without one."""
    itemsize = 8 if np.dtype(dtype).kind == "O" else np.dtype(dtype).itemsize
    needed = frame_bytes(plan.cycles, plan.rows, plan.cols, itemsize)
    if needed > MAX_FRAME_BYTES:
        raise ValueError(
            f"keeping all {plan.cycles:,} frames of this {plan.rows}x{plan.cols} run would take "
            f"{needed / 2**30:,.1f} GiB (the limit is {MAX_FRAME_BYTES / 2**30:.0f} GiB): pass keep_frames=False "
            "to get the result and statistics only, or simulate a smaller product"
        )


def queue(stream: np.ndarray, real_lanes: int, fold_cycle: int, lanes: int,
          depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Values still waiting to enter each lane (row) at the end of ``fold_cycle`` (negative: before the fold starts).

    ``stream[s, i]`` enters lane i at cycle s + i (the skew), so it waits at distance
    d = s + i − fold_cycle − 1 from the array's edge; ``depth`` slots are kept (default: the whole stream).
    """
    length = stream.shape[0]
    depth = length + lanes if depth is None else depth
    lane = np.arange(lanes)[:, None]
    s = fold_cycle + 1 + np.arange(depth)[None, :] - lane
    valid = (s >= 0) & (s < length) & (lane < real_lanes)
    values = np.zeros((lanes, depth), stream.dtype)
    values[valid] = stream[s[valid], np.broadcast_to(lane, s.shape)[valid]]
    return values, valid
