"""The weight- and input-stationary machine, cycle by cycle, loading included (vectorised over the PEs with NumPy).

Every PE holds a value of the tile it computes with (a weight, for weight-stationary) and has a
**shadow register** for the next tile's value. Each cycle, in this order:

1. **control**: the control signal moves one PE right; at fold start it enters row i at the left
   edge i cycles late, with the fold's first value (the skew). A PE that the signal reaches stores
   its shadow value as the value it computes with.
2. **loading**: while a tile shifts in, every shadow register takes the value of the one above it and
   row 0 takes the next row of the tile from the top edge, last row first, so after R cycles every
   shadow register holds its value of the tile.
3. **stream**: each PE passes its moving value right (row i's left PE takes the stream's next value),
   multiplies the value that arrived by the value it holds and adds the partial sum from the PE above;
   the sums reaching the bottom row leave the array.

The controller starts a tile's load when the shadow registers are free: once the control signal of
the previous fold has reached the last PE (bottom right), and in ``serial`` mode once that fold's last
result has left too. It starts a fold once its tile is in the shadow registers and the previous fold's last
value has entered row 0. It never reads the closed forms of :mod:`tpu_lecture.sim.schedule`: the cycles
it counts are compared with them by the tests.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tpu_lecture.sim.counts import Tally, arrivals
from tpu_lecture.sim.schedule import Schedule, Tile


@dataclass
class FoldWork:
    """One fold of a stationary dataflow: the tile to hold (r×c), the stream (T×r), and where its results go."""

    index: int
    tile: Tile
    held: np.ndarray
    stream: np.ndarray
    place: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (stream index, column) -> Y index
    add: Callable[[np.ndarray, np.ndarray], None]  # add the fold's T×c results into Y


def pad(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``X`` in the top-left corner of a zero matrix of ``shape``."""
    padded = np.zeros(shape, X.dtype)
    padded[: X.shape[0], : X.shape[1]] = X
    return padded


def skewed(stream: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The values entering the left edge by fold cycle (row i gets ``stream[d − i, i]`` at d), and where real."""
    T, real_rows = stream.shape
    entering = np.zeros((T + rows - 1, rows), stream.dtype)
    valid = np.zeros((T + rows - 1, rows), bool)
    for i in range(real_rows):
        entering[i : i + T, i] = stream[:, i]
        valid[i : i + T, i] = True
    return entering, valid


def busy_pes_by_cycle(T: int, rows: int, cols: int, real_rows: int, real_cols: int) -> Callable[[int], int]:
    """How many PEs do a useful MAC at fold cycle d: those holding a real value whose stream value has arrived.

    Stream element s is at PE(i, j) at fold cycle s + i + j, so the busy PEs are the real ones on the
    anti-diagonals i + j = d − T + 1 … d.
    """
    on_diagonal = np.zeros(rows + cols, np.int64)
    np.add.at(on_diagonal, (np.arange(real_rows)[:, None] + np.arange(real_cols)[None, :]).ravel(), 1)
    before = np.concatenate([[0], np.cumsum(on_diagonal)])

    def busy(d: int) -> int:
        high = min(d + 1, len(on_diagonal))
        low = min(max(0, d - T + 1), high)
        return int(before[high] - before[low])

    return busy


class _Fold:
    """A fold in the array: its skewed stream, the sums that left the bottom row so far, its busy PEs by cycle.

    ``bottom[d, j]`` is what left column j at fold cycle R − 1 + d: stream value s's result leaves
    column j at d = s + j, so the results are read off ``bottom``'s diagonals once the fold is done.
    """

    def __init__(self, work: FoldWork, start: int, rows: int, cols: int):
        self.work, self.start = work, start
        self.T, self.real_rows = work.stream.shape
        self.real_cols = work.held.shape[1]
        self.entering, self.entering_valid = skewed(work.stream, rows)
        self.bottom = np.zeros((self.T + self.real_cols - 1, self.real_cols), work.stream.dtype)
        self.busy = busy_pes_by_cycle(self.T, rows, cols, self.real_rows, self.real_cols)
        self.moves = _moves(self.T, rows, self.real_rows, self.real_cols)
        self.adds_into = work.tile.k.start > 0  # a later fold of K: its results add into partial sums already kept

    def results(self) -> np.ndarray:
        """The fold's T×c results, read off the diagonals of what left the bottom row."""
        s, j = np.arange(self.T)[:, None], np.arange(self.real_cols)[None, :]
        return self.bottom[s + j, j]


def _moves(T: int, rows: int, real_rows: int, real_cols: int) -> list[tuple[int, int, int]]:
    """Per fold cycle: stream values entering column 0, stream values passed into columns 1 … c − 1, and
    partial sums of the real columns passed into rows 1 … R − 1 (stream value s is at PE(i, j) at s + i + j)."""
    parts = (arrivals(T, range(real_rows), range(1)), arrivals(T, range(real_rows), range(1, real_cols)),
             arrivals(T, range(1, rows), range(real_cols)))
    length = max(map(len, parts))
    return list(zip(*(part + [0] * (length - len(part)) for part in parts)))


class _Registers:
    """The registers of every PE: the moving value, the partial sum, the held value, its shadow, the control bit.

    With ``track`` (frames kept) each also has a flag saying whether it holds a real value, and the
    held and shadow registers say which fold's tile they hold.
    """

    def __init__(self, rows: int, cols: int, dtype, track: bool):
        def zeros(kind=dtype):
            return np.zeros((rows, cols), kind)

        self.moving, self.moving_next, self.psum, self.psum_next = zeros(), zeros(), zeros(), zeros()
        self.product, self.held, self.shadow = zeros(), zeros(), zeros()
        self.control, self.control_next = zeros(bool), zeros(bool)
        self.track = track
        if track:
            self.moving_valid, self.psum_valid = zeros(bool), zeros(bool)
            self.held_valid, self.shadow_valid = zeros(bool), zeros(bool)
            self.held_fold, self.shadow_fold = np.full((rows, cols), -1, np.int32), np.full((rows, cols), -1, np.int32)

    def move_control(self, entering_row: int | None) -> np.ndarray:
        """The control signal moves one PE right (entering at ``entering_row``); PEs it reaches store their shadow."""
        now, nxt = self.control, self.control_next
        nxt[:, 1:] = now[:, :-1]
        nxt[:, 0] = False
        if entering_row is not None:
            nxt[entering_row, 0] = True
        self.control, self.control_next = nxt, now
        np.copyto(self.held, self.shadow, where=nxt)
        if self.track:
            np.copyto(self.held_valid, self.shadow_valid, where=nxt)
            np.copyto(self.held_fold, self.shadow_fold, where=nxt)
            self.shadow_valid[nxt] = False
        return nxt

    def shift_shadow(self, row: np.ndarray, row_valid: np.ndarray, fold: int) -> None:
        """Every shadow register takes the value above it; row 0 takes ``row`` from the top edge."""
        self.shadow[1:] = self.shadow[:-1]
        self.shadow[0] = row
        if self.track:
            self.shadow_valid[1:] = self.shadow_valid[:-1]
            self.shadow_valid[0] = row_valid
            self.shadow_fold[1:] = self.shadow_fold[:-1]
            self.shadow_fold[0] = fold

    def stream(self, feeding: list[_Fold], t: int) -> None:
        """Moving values pass right, the left column takes the streams' next values; every PE multiplies and adds."""
        nxt = self.moving_next
        nxt[:, 1:] = self.moving[:, :-1]
        if len(feeding) == 1:
            nxt[:, 0] = feeding[0].entering[t - feeding[0].start]
        else:
            nxt[:, 0] = 0
            for fold in feeding:
                nxt[:, 0] += fold.entering[t - fold.start]
        self.moving, self.moving_next = nxt, self.moving
        np.multiply(self.moving, self.held, out=self.product)
        np.add(self.psum[:-1], self.product[1:], out=self.psum_next[1:])
        self.psum_next[0] = self.product[0]
        self.psum, self.psum_next = self.psum_next, self.psum
        if self.track:
            self.moving_valid[:, 1:] = self.moving_valid[:, :-1]
            self.moving_valid[:, 0] = False
            for fold in feeding:
                self.moving_valid[:, 0] |= fold.entering_valid[t - fold.start]
            self.psum_valid[1:] = self.psum_valid[:-1]
            self.psum_valid[0] = self.moving_valid[0]


class StationaryRun:
    """Steps every fold of ``plan`` on one continuous array; ``names`` = (what is held, what moves)."""

    def __init__(self, plan: Schedule, work: Callable[[int, Tile], FoldWork], dtype, tape, names: tuple[str, str]):
        self.plan, self.work, self.tape, self.names = plan, work, tape, names
        self.R, self.C = plan.rows, plan.cols
        self.pes = _Registers(self.R, self.C, dtype, tape is not None)
        self.result = np.zeros((plan.m, plan.n), dtype)
        self.tiles = iter(enumerate(plan.tiles))
        self.to_load, self.loading, self.loaded = plan.folds, None, deque()
        self.flight: list[_Fold] = []
        self.feeding: list[_Fold] = []
        self.last: _Fold | None = None
        self.wave_start: int | None = None
        self.latched = True  # the control signal of the last fold started has reached every PE
        self.macs = self.compute_cycles = 0
        self.tally = Tally()
        self.held_reads = self.held_hops = self.stream_reads = self.stream_hops = 0

    def run(self) -> tuple[np.ndarray, int, int, int, Tally]:
        """Step until every fold's last result has left; returns Y, the MACs, the cycles, the compute cycles and
        the tally of every value moved."""
        t = 0
        while self.to_load or self.loading or self.loaded or self.flight:
            self._decide(t)
            self._step(t)
            t += 1
        tally, (held, moving) = self.tally, self.names
        tally.macs, tally.register_accesses = self.macs, 2 * self.macs
        setattr(tally, f"{held}_reads", self.held_reads)
        setattr(tally, f"{held}_hops", self.held_hops)
        setattr(tally, f"{moving}_reads", self.stream_reads)
        setattr(tally, f"{moving}_hops", self.stream_hops)
        return self.result, self.macs, t, self.compute_cycles, self.tally

    def _decide(self, t: int) -> None:
        """The controller, at the start of cycle t: start loading the next tile, start the next fold."""
        if self.loading is None and self.to_load and self._shadows_free():
            index, tile = next(self.tiles)
            work = self.work(index, tile)
            feed = pad(work.held, (self.R, self.C))[::-1]
            feed_valid = pad(np.ones(work.held.shape, bool), (self.R, self.C))[::-1]
            self.held_reads += work.held.size  # the tile leaves its buffer
            self.loading, self.to_load = [work, feed, feed_valid, 0, feed_valid.sum(1).tolist(), 0], self.to_load - 1
            if self.tape is not None:
                self.tape.start_fold(work.index, load_start=t, left=work.stream, left_lanes=work.stream.shape[1],
                                     held=feed[::-1], held_valid=feed_valid[::-1])
        row_free = self.last is None or self.last.start + self.last.T <= t
        if self.loaded and row_free:
            fold = _Fold(self.loaded.popleft(), t, self.R, self.C)
            self.flight.append(fold)
            self.feeding.append(fold)
            self.last, self.wave_start, self.latched = fold, t, False
            if self.tape is not None:
                self.tape.fold_starts(fold.work.index, t)

    def _shadows_free(self) -> bool:
        """Every PE has stored the tile before (the control signal reached the last one) and no tile waits;
        serial loading also waits for the fold in flight to finish."""
        if self.loaded or not self.latched:
            return False
        return self.plan.loading.overlaps or not self.flight

    def _step(self, t: int) -> None:
        pes, loading = self.pes, self.loading is not None
        if self.wave_start is not None:
            row = t - self.wave_start
            reached = pes.move_control(row if row < self.R else None)
            if reached[self.R - 1, self.C - 1]:
                self.latched, self.wave_start = True, None
        elif pes.control[self.R - 1, self.C - 1]:
            pes.control[self.R - 1, self.C - 1] = False  # the signal leaves the array
        if loading:
            self._shift_in()
        self.feeding = [fold for fold in self.feeding if t - fold.start < len(fold.entering)]
        pes.stream(self.feeding, t)
        computing = bool(self.flight)
        waiting = bool(self.to_load or self.loading is not None or self.loaded)  # a fold still to start
        stalled = (computing and waiting and self.plan.loading.overlaps
                   and self.last.start + self.last.T <= t)  # its row 0 is free, but its tile is not in yet
        self.compute_cycles += computing and not stalled
        self.tally.stall_cycles += stalled
        for fold in self.flight:
            d = t - fold.start
            self.macs += fold.busy(d)
            if d < len(fold.moves):  # stream values read in at the left edge and passed right, sums passed down
                reads, hops, sums = fold.moves[d]
                self.stream_reads, self.stream_hops = self.stream_reads + reads, self.stream_hops + hops
                self.tally.psum_hops += sums
        if self.tape is not None:
            self._record(t, loading, computing, stalled)
        for fold in list(self.flight):
            self._collect(fold, t)

    def _shift_in(self) -> None:
        """One cycle of loading: the tile's next row enters the shadow registers from the top edge."""
        work, feed, feed_valid, u, row_counts, in_shadow = self.loading
        self.pes.shift_shadow(feed[u], feed_valid[u], work.index)
        self.held_hops += in_shadow  # the real values already in the shadow registers moved one PE down
        self.loading[3], self.loading[5] = u + 1, in_shadow + row_counts[u]
        if u + 1 == self.R:
            self.loaded.append(work)
            self.loading = None

    def _collect(self, fold: _Fold, t: int) -> None:
        """The sums reaching the bottom row for ``fold`` leave the array; a finished fold adds into Y."""
        d = t - fold.start - (self.R - 1)  # the stream index whose sum leaves column 0 now
        if d < 0:
            return
        fold.bottom[d] = self.pes.psum[self.R - 1, : fold.real_cols]
        results = min(fold.real_cols - 1, d) - max(0, d - (fold.T - 1)) + 1  # real results leaving now
        self.tally.psum_writes += results
        if fold.adds_into:
            self.tally.psum_reads += results
        if self.tape is not None:
            leaving = np.arange(max(0, d - (fold.T - 1)), min(fold.real_cols - 1, d) + 1)
            self.tape.record_output(t, *fold.work.place(d - leaving, leaving), fold.bottom[d, leaving])
        if d == fold.T + fold.real_cols - 2:
            fold.work.add(self.result, fold.results())
            self.flight.remove(fold)

    def _record(self, t: int, loading: bool, computing: bool, stalled: bool) -> None:
        pes, (held, moving) = self.pes, self.names
        values = {held: pes.held, moving: pes.moving, "psum": pes.psum, "shadow": pes.shadow}
        valid = {held: pes.held_valid, moving: pes.moving_valid, "psum": pes.psum_valid, "shadow": pes.shadow_valid}
        self.tape.record(t, values, valid, pes.moving_valid & pes.held_valid, control=pes.control,
                         held_fold=pes.held_fold, shadow_fold=pes.shadow_fold, loading=loading, computing=computing,
                         stalled=stalled)
