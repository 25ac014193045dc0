"""Output-stationary, cycle by cycle: each PE keeps one output's sum while both operands stream through it.

A's rows of the fold's tile enter the array's rows from the left, W's columns its columns from the
top, both skewed; every PE multiplies the two values passing through it into the sum it keeps. Once
every product is done, the sums shift down one row per cycle and leave at the bottom. Nothing is
loaded before a fold, so every fold starts from empty PEs right after the previous one has drained.
"""

from __future__ import annotations

import numpy as np

from tpu_lecture.sim.schedule import Schedule, Tile


class _OutputTile:
    """The PEs of one output-stationary fold: the operands passing through, and the sums they keep."""

    def __init__(self, left: np.ndarray, top: np.ndarray, rows: int, cols: int, dtype):
        self.left, self.top, self.rows = left, top, rows
        self.real_rows, self.k = left.shape
        self.real_cols = top.shape[1]
        self.i, self.j = np.arange(rows)[:, None], np.arange(cols)[None, :]
        self.lane, self.col = np.arange(rows), np.arange(cols)
        self.activation = np.zeros((rows, cols), dtype)
        self.weight = np.zeros((rows, cols), dtype)
        self.acc = np.zeros((rows, cols), dtype)
        self.acc_valid = np.zeros((rows, cols), bool)
        self.out = np.zeros((self.real_rows, self.real_cols), dtype)
        self.macs = self.drained = 0

    def fold_of(self, index: int) -> np.ndarray:
        """Which fold each PE's sum belongs to: this one, where a sum is kept."""
        return np.where(self.acc_valid, index, -1).astype(np.int32)

    @property
    def computing(self) -> bool:
        """True until every product of the tile is done; then the sums drain."""
        return self.macs < self.real_rows * self.real_cols * self.k

    def shift_in(self, t: int, computing: bool) -> dict[str, np.ndarray]:
        """Activations move right and weights down; the edges take the next skewed inputs. Returns who holds what."""
        self.activation[:, 1:] = self.activation[:, :-1]
        self.weight[1:, :] = self.weight[:-1, :]
        self.activation[:, 0] = 0
        self.weight[0, :] = 0
        k_row, k_col = t - self.lane, t - self.col
        row_in = (k_row >= 0) & (k_row < self.k) & (self.lane < self.real_rows)
        col_in = (k_col >= 0) & (k_col < self.k) & (self.col < self.real_cols)
        self.activation[row_in, 0] = self.left[self.lane[row_in], k_row[row_in]]
        self.weight[0, col_in] = self.top[k_col[col_in], self.col[col_in]]
        k_here = t - self.i - self.j
        in_flight = (k_here >= 0) & (k_here < self.k) & computing
        return {"activation": in_flight & (self.i < self.real_rows), "weight": in_flight & (self.j < self.real_cols)}

    def accumulate(self, active: np.ndarray) -> None:
        """Every PE adds the product of the two values passing through it to the sum it keeps."""
        self.acc += self.activation * self.weight
        self.acc_valid |= active
        self.macs += int(active.sum())

    def drain(self) -> tuple[int, np.ndarray] | None:
        """The sums shift down one row; returns (row of the tile, its results) when a real row leaves."""
        leaving_row = self.rows - 1 - self.drained
        bottom = self.acc[self.rows - 1, : self.real_cols].copy()
        self.acc[1:], self.acc_valid[1:] = self.acc[:-1].copy(), self.acc_valid[:-1].copy()
        self.acc[0], self.acc_valid[0] = 0, False
        self.drained += 1
        if leaving_row >= self.real_rows:
            return None
        self.out[leaving_row] = bottom
        return leaving_row, bottom


def run(A: np.ndarray, W: np.ndarray, plan: Schedule, dtype, tape=None) -> tuple[np.ndarray, int, int, int]:
    """Step every fold in order, each from empty PEs; returns Y, the MACs, the cycles and the compute cycles."""
    result = np.zeros((plan.m, plan.n), dtype)
    macs = cycles = 0
    for index, tile in enumerate(plan.tiles):
        block, fold_macs, fold_cycles = _fold(A, W, tile, plan.rows, plan.cols, dtype, tape, cycles, index)
        result[tile.m, tile.n] += block
        macs, cycles = macs + fold_macs, cycles + fold_cycles
    return result, macs, cycles, cycles


def _fold(A, W, tile: Tile, rows, cols, dtype, tape, start, index):
    """One output-stationary fold: A's rows of the tile enter the array's rows, W's columns its columns.

    Row i takes row i of A skewed by i cycles, column j takes column j of W skewed by j; each PE
    multiplies the two values passing through it into its accumulator. Once every product is done
    the accumulators shift down one row per cycle and leave at the bottom.
    """
    pes = _OutputTile(A[tile.m, :], W[:, tile.n], rows, cols, dtype)
    if tape is not None:
        tape.start_fold(index, None, pes.left.T, pes.real_rows, start=start, top=pes.top, top_lanes=pes.real_cols)
    t = 0
    while pes.drained < rows:
        computing = pes.computing
        valid = pes.shift_in(t, computing)
        active = valid["activation"] & valid["weight"]
        leaving = None
        if computing:
            pes.accumulate(active)
        else:
            leaving = pes.drain()
            if tape is not None:
                tape.mark_drain(start + t)
        if tape is not None:
            values = {"activation": pes.activation, "weight": pes.weight, "psum": pes.acc}
            tape.record(start + t, values, {**valid, "psum": pes.acc_valid}, active, held_fold=pes.fold_of(index))
            if leaving is not None:
                row, results = leaving
                columns = tile.n.start + np.arange(pes.real_cols)
                tape.record_output(start + t, np.full(pes.real_cols, tile.m.start + row), columns, results)
        t += 1
    return pes.out, pes.macs, t
