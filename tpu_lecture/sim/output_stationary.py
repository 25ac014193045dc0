"""Output-stationary, cycle by cycle: each PE keeps one output's sum while both operands stream through it.

A's rows of the fold's tile enter the array's rows from the left, W's columns its columns from the
top, both skewed; every PE multiplies the two values passing through it into the sum it keeps. Once
every product is done, the sums shift down one row per cycle and leave at the bottom. Nothing is
loaded before a fold, so every fold starts from empty PEs right after the previous one has drained.
"""

from __future__ import annotations

import numpy as np

from tpu_lecture.sim.counts import Tally, arrivals
from tpu_lecture.sim.schedule import Schedule, Tile
from tpu_lecture.sim.stationary import busy_pes_by_cycle, skewed


class _OutputTile:
    """The PEs of one output-stationary fold: the operands passing through, and the sums they keep.

    The operands enter from skewed feeds (row i takes A's row i at fold cycle k + i, column j W's
    column j at k + j); with ``track`` (frames kept) a flag travels with each value saying it is real.
    """

    def __init__(self, left: np.ndarray, top: np.ndarray, rows: int, cols: int, dtype, track: bool):
        self.left, self.top, self.rows = left, top, rows
        self.real_rows, self.k = left.shape
        self.real_cols = top.shape[1]
        self.left_in, self.left_valid = skewed(left.T, rows)
        self.top_in, self.top_valid = skewed(top, cols)
        self.activation, self.weight, self.product, self.acc = (np.zeros((rows, cols), dtype) for _ in range(4))
        self.activation_valid, self.weight_valid, self.acc_valid = (np.zeros((rows, cols), bool) for _ in range(3))
        self.out = np.zeros((self.real_rows, self.real_cols), dtype)
        self.busy = busy_pes_by_cycle(self.k, rows, cols, self.real_rows, self.real_cols)
        self.track, self.macs, self.drained = track, 0, 0
        r, c, k = self.real_rows, self.real_cols, self.k
        # per fold cycle: activations entering column 0 / passed right inside the tile, weights entering row 0 /
        # passed down inside it (A's value s of row i is at PE(i, j) at s + i + j, W's likewise)
        parts = [arrivals(k, range(r), range(1)), arrivals(k, range(r), range(1, c)),
                 arrivals(k, range(c), range(1)), arrivals(k, range(c), range(1, r))]
        length = max(map(len, parts))
        self.moves = list(zip(*(part + [0] * (length - len(part)) for part in parts)))

    def fold_of(self, index: int) -> np.ndarray:
        """Which fold each PE's sum belongs to: this one, where a sum is kept."""
        return np.where(self.acc_valid, index, -1).astype(np.int32)

    @property
    def computing(self) -> bool:
        """True until every product of the tile is done; then the sums drain."""
        return self.macs < self.real_rows * self.real_cols * self.k

    def shift_in(self, t: int, computing: bool) -> dict[str, np.ndarray] | None:
        """Activations move right and weights down; the edges take the next skewed inputs. Returns who holds what."""
        self.activation[:, 1:] = self.activation[:, :-1]
        self.weight[1:, :] = self.weight[:-1, :]
        entering = t < len(self.left_in), t < len(self.top_in)
        self.activation[:, 0] = self.left_in[t] if entering[0] else 0
        self.weight[0, :] = self.top_in[t] if entering[1] else 0
        if not self.track:
            return None
        self.activation_valid[:, 1:] = self.activation_valid[:, :-1]
        self.weight_valid[1:, :] = self.weight_valid[:-1, :]
        self.activation_valid[:, 0] = self.left_valid[t] if entering[0] else False
        self.weight_valid[0, :] = self.top_valid[t] if entering[1] else False
        return {"activation": self.activation_valid & computing, "weight": self.weight_valid & computing}

    def accumulate(self, t: int, active: np.ndarray | None, tally: Tally) -> None:
        """Every PE adds the product of the two values passing through it to the sum it keeps."""
        np.multiply(self.activation, self.weight, out=self.product)
        self.acc += self.product
        if active is not None:
            self.acc_valid |= active
        self.macs += self.busy(t)
        if t < len(self.moves):
            reads_a, hops_a, reads_w, hops_w = self.moves[t]
            tally.activation_reads += reads_a
            tally.activation_hops += hops_a
            tally.weight_reads += reads_w
            tally.weight_hops += hops_w

    def drain(self, tally: Tally) -> tuple[int, np.ndarray] | None:
        """The sums shift down one row; returns (row of the tile, its results) when a real row leaves."""
        leaving_row = self.rows - 1 - self.drained
        # the real rows still in the array above the bottom one move down (row i is at row i + drained)
        tally.psum_hops += self.real_cols * max(0, min(self.real_rows, self.rows - 1 - self.drained))
        bottom = self.acc[self.rows - 1, : self.real_cols].copy()
        self.acc[1:], self.acc_valid[1:] = self.acc[:-1].copy(), self.acc_valid[:-1].copy()
        self.acc[0], self.acc_valid[0] = 0, False
        self.drained += 1
        if leaving_row >= self.real_rows:
            return None
        tally.psum_writes += self.real_cols
        self.out[leaving_row] = bottom
        return leaving_row, bottom


def run(A: np.ndarray, W: np.ndarray, plan: Schedule, dtype, tape=None) -> tuple[np.ndarray, int, int, int, Tally]:
    """Step every fold in order, each from empty PEs; returns Y, the MACs, the cycles, the compute cycles (the
    drains left out) and the tally of every value moved and of the drain cycles."""
    result = np.zeros((plan.m, plan.n), dtype)
    macs = cycles = 0
    tally = Tally()
    for index, tile in enumerate(plan.tiles):
        block, fold_macs, fold_cycles = _fold(A, W, tile, plan.rows, plan.cols, dtype, tape, cycles, index, tally)
        result[tile.m, tile.n] += block
        macs, cycles = macs + fold_macs, cycles + fold_cycles
    tally.macs, tally.register_accesses = macs, 2 * macs
    return result, macs, cycles, cycles - tally.drain_cycles, tally


def _fold(A, W, tile: Tile, rows, cols, dtype, tape, start, index, tally: Tally):
    """One output-stationary fold: A's rows of the tile enter the array's rows, W's columns its columns.

    Row i takes row i of A skewed by i cycles, column j takes column j of W skewed by j; each PE
    multiplies the two values passing through it into its accumulator. Once every product is done
    the accumulators shift down one row per cycle and leave at the bottom.
    """
    pes = _OutputTile(A[tile.m, :], W[:, tile.n], rows, cols, dtype, track=tape is not None)
    if tape is not None:
        tape.start_fold(index, None, pes.left.T, pes.real_rows, start=start, top=pes.top, top_lanes=pes.real_cols)
    t = 0
    while pes.drained < rows:
        computing = pes.computing
        valid = pes.shift_in(t, computing)
        active = None if valid is None else valid["activation"] & valid["weight"]
        leaving = None
        if computing:
            pes.accumulate(t, active, tally)
        else:
            leaving = pes.drain(tally)
            tally.drain_cycles += 1
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
