"""The recorded state of a systolic array, cycle by cycle: what each PE holds and what it did.

The simulator (:mod:`tpu_lecture.sim.array`) writes every cycle's PE state onto a tape while it steps;
:class:`Frame` is one cycle rebuilt from that tape, which is what the visualizer draws.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tpu_lecture.sim.array import Schedule, SystolicRun

# Keeping every frame costs cycles × R × C values; past this the run asks for keep_frames=False.
MAX_FRAME_BYTES = 1 << 30


@dataclass(frozen=True, repr=False)
class Frame:
    """The state of the array at the end of one cycle: what each PE holds and what it did.

    Arrays of shape (rows, cols) hold each PE's weight, activation and partial sum, with a
    ``*_valid`` mask saying whether the PE holds that value at all. ``queue_left[i, d]`` is the
    value that enters row i in d + 1 cycles (``queue_top[d, j]`` likewise for column j, in the
    output-stationary dataflow). ``output`` is the result matrix as collected so far.
    """

    cycle: int
    cycles: int
    fold: int
    folds: int
    fold_cycle: int
    phase: str
    dataflow: str
    weight: np.ndarray
    weight_valid: np.ndarray
    activation: np.ndarray
    activation_valid: np.ndarray
    psum: np.ndarray
    psum_valid: np.ndarray
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


class Tape:
    """Per-cycle recordings of one run, from which :meth:`frame` rebuilds any cycle's state."""

    def __init__(self, plan: Schedule, rows: int, cols: int, m: int, n: int, dtype: np.dtype):
        self.plan, self.rows, self.cols, self.m, self.n, self.dtype = plan, rows, cols, m, n, dtype
        shape = (plan.cycles, rows, cols)
        self.values = {key: np.zeros(shape, dtype) for key in ("weight", "activation", "psum")}
        self.valid = {key: np.zeros(shape, bool) for key in ("weight", "activation", "psum")}
        self.active = np.zeros(shape, bool)
        self.macs_per_cycle = np.zeros(plan.cycles, np.int64)
        self.folds: list[dict] = []
        self.updates: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.contributions_needed = 1

    def check_size(self) -> None:
        itemsize = 8 if self.dtype == object else self.dtype.itemsize
        needed = self.plan.cycles * self.rows * self.cols * (3 * itemsize + 4)
        if needed > MAX_FRAME_BYTES:
            raise ValueError(
                f"keeping all {self.plan.cycles:,} frames of this {self.rows}x{self.cols} run would take "
                f"{needed / 2**30:.1f} GiB: pass keep_frames=False to get the result and statistics only"
            )

    def start_fold(self, start: int, **streams) -> None:
        self.folds.append({"start": start, **streams})

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
        if len(m_idx):
            self.updates.append((t, np.array(m_idx), np.array(n_idx), np.array(values, dtype=self.dtype)))

    def frame(self, t: int, run: SystolicRun) -> Frame:
        fold = bisect.bisect_right([f["start"] for f in self.folds], t) - 1
        streams = self.folds[fold]
        fold_cycle = t - streams["start"]
        output, output_valid, output_new = self._output_at(t)
        queue_left, queue_left_valid = queue(streams["left"], streams["left_lanes"], fold_cycle, self.rows)
        queue_top = queue_top_valid = None
        if "top" in streams:
            top, top_valid = queue(streams["top"], streams["top_lanes"], fold_cycle, self.cols)
            queue_top, queue_top_valid = top.T, top_valid.T
        phase = "drain" if fold_cycle >= streams.get("drain_from", self.plan.cycles) else "compute"
        return Frame(
            cycle=t, cycles=self.plan.cycles, fold=fold, folds=self.plan.folds, fold_cycle=fold_cycle,
            phase=phase, dataflow=run.dataflow,
            weight=self.values["weight"][t], weight_valid=self.valid["weight"][t],
            activation=self.values["activation"][t], activation_valid=self.valid["activation"][t],
            psum=self.values["psum"][t], psum_valid=self.valid["psum"][t], active=self.active[t],
            queue_left=queue_left, queue_left_valid=queue_left_valid,
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
