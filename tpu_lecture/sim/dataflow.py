"""The dataflows: one :class:`Dataflow` object each, owning everything the package knows about it.

A dataflow says which value stays in the PEs and which way the others move, how a product is cut
into folds (tiles that fit the array) and how many cycles each fold takes (one closed form), how
long loading the held tile takes, and the per-cycle rules that step a fold (vectorised over the
PEs with NumPy). The simulator, the machine models, the command line and the viewer all read the
dataflow from here; adding a dataflow means adding one :class:`Dataflow` to :data:`DATAFLOWS`.

Weight-stationary and input-stationary share one machine (a tile held in the PEs, a stream entering
from the left with its skew, partial sums flowing down); output-stationary keeps the sums in the PEs
and streams both operands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tpu_lecture.sim.schedule import Schedule, Sizes, Tile, cuts

DIRECTIONS = ("right", "down")  # the ways a value can move between neighbouring PEs


@dataclass(frozen=True, eq=False)
class Dataflow:
    """One way of running ``A @ W`` on the array: what stays, what moves, how folds are cut and timed.

    ``held`` names the sizes of the product that the array's rows and columns span (("k", "n"): the
    PEs hold a K×N tile of W); the third size streams through every fold. ``fold_order`` is the
    order in which the folds visit the tiles (outer size first). ``fold_cycles(sizes, R, C)`` is the
    closed form of one fold's cycles, from the first value in to its last result out;
    ``load_cycles(R, C)`` the cycles of filling the PEs before a fold (counted apart).
    ``step_fold(A, W, tile, R, C, dtype, tape, start)`` steps one fold cycle by cycle and returns
    its block of Y (= ``A[m, k] @ W[k, n]`` of the tile), the useful MACs and the cycles it took.
    """

    name: str
    aliases: tuple[str, ...]
    stationary: str
    flows: Mapping[str, str]
    held: tuple[str, str]
    fold_order: tuple[str, str]
    fold_cycles: Callable[[Sizes, int, int], int]
    load_cycles: Callable[[int, int], int]
    step_fold: Callable[..., tuple[np.ndarray, int, int]]

    def __post_init__(self) -> None:
        if sorted(self.held) != sorted(self.fold_order) or not set(self.held) < set("mkn"):
            raise ValueError(f"dataflow {self.name}: held {self.held} and fold_order {self.fold_order} must name "
                             "the same two of 'm', 'k', 'n'")
        if any(way not in DIRECTIONS for way in self.flows.values()):
            raise ValueError(f"dataflow {self.name}: values move {DIRECTIONS}, not {dict(self.flows)}")

    @property
    def label(self) -> str:
        """The name as the lecture writes it: "weight-stationary"."""
        return self.name.replace("_", "-")

    @property
    def streamed(self) -> str:
        """The size of the product that streams through every fold ("m" for weight-stationary)."""
        return next(dim for dim in "mkn" if dim not in self.held)

    def moving(self, direction: str) -> str | None:
        """The value that moves ``direction`` ("right" or "down") in this dataflow, if any."""
        return next((value for value, way in self.flows.items() if way == direction), None)

    def held_shape(self, m: int, k: int, n: int) -> tuple[int, int]:
        """The shape of what stays in the PEs for an (m×k) @ (k×n) product: W's K×N, Aᵀ's K×M, Y's M×N."""
        sizes = {"m": m, "k": k, "n": n}
        return sizes[self.held[0]], sizes[self.held[1]]

    def schedule(self, m: int, k: int, n: int, rows: int, cols: int) -> Schedule:
        """The folds of an (m×k) @ (k×n) product on a rows×cols array, each fold's cycles by the closed form."""
        sizes = {"m": m, "k": k, "n": n}
        step = {**sizes, self.held[0]: rows, self.held[1]: cols}
        outer, inner = self.fold_order
        whole = {self.streamed: slice(0, sizes[self.streamed])}
        tiles = tuple(Tile(**{outer: a, inner: b, **whole})
                      for a in cuts(sizes[outer], step[outer]) for b in cuts(sizes[inner], step[inner]))
        fold_cycles = tuple(self.fold_cycles(tile.sizes, rows, cols) for tile in tiles)
        return Schedule(self.name, tiles, fold_cycles, self.load_cycles(rows, cols))

    def run(self, A: np.ndarray, W: np.ndarray, plan: Schedule, rows: int, cols: int, dtype, tape=None):
        """Step every fold of ``plan`` in order; folds that share outputs add into the same accumulators.

        Returns the result Y = A @ W, the useful MACs done and the cycles stepped.
        """
        result = np.zeros((A.shape[0], W.shape[1]), dtype)
        macs = cycles = 0
        for tile in plan.tiles:
            block, fold_macs, fold_cycles = self.step_fold(A, W, tile, rows, cols, dtype, tape, cycles)
            result[tile.m, tile.n] += block
            macs, cycles = macs + fold_macs, cycles + fold_cycles
        return result, macs, cycles

    def __repr__(self) -> str:
        moves = ", ".join(f"{value} {way}" for value, way in self.flows.items())
        return f"Dataflow({self.label}: {self.stationary} stays, {moves})"


# --------------------------------------------------------------------------- held tile, streamed operand


def _pad(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    padded = np.zeros(shape, X.dtype)
    padded[: X.shape[0], : X.shape[1]] = X
    return padded


def _weight_stationary_fold(A, W, tile: Tile, rows, cols, dtype, tape, start):
    """Hold the tile of W in the PEs; stream A's rows through from the left; partial sums flow down."""
    return _stationary_fold(W[tile.k, tile.n], A[:, tile.k], rows, cols, dtype, tape, start,
                            names=("weight", "activation"), out_index=lambda s, j: (s, tile.n.start + j))


def _input_stationary_fold(A, W, tile: Tile, rows, cols, dtype, tape, start):
    """Hold the tile of Aᵀ in the PEs; stream W's columns through from the left; sums of Yᵀ flow down."""
    out, macs, cycles = _stationary_fold(A[tile.m, tile.k].T, W[tile.k, :].T, rows, cols, dtype, tape, start,
                                         names=("activation", "weight"), out_index=lambda s, j: (tile.m.start + j, s))
    return out.T, macs, cycles


def _stationary_fold(held, stream, rows, cols, dtype, tape, start, names, out_index):
    """One fold of a stationary dataflow: ``held`` (r×c ≤ R×C) sits in the PEs, ``stream`` (T×r) flows in.

    Row i of the array takes column i of the stream, skewed by i cycles. Every cycle each PE passes
    its moving value right and its partial sum down, then multiplies and adds; sums that reach the
    bottom row leave. The fold ends when the last of the T×c results has left. Returns those
    results, the useful MACs done and the cycles taken.
    """
    T, real_rows = stream.shape
    real_cols = held.shape[1]
    S = _pad(held, (rows, cols))
    entering = _skewed(stream, rows, dtype)
    moving, moving_next = np.zeros((rows, cols), dtype), np.zeros((rows, cols), dtype)
    psum, psum_next = np.zeros((rows, cols), dtype), np.zeros((rows, cols), dtype)
    product = np.zeros((rows, cols), dtype)
    out = np.zeros((T, real_cols), dtype)
    busy = _busy_pes_by_cycle(T, rows, cols, real_rows, real_cols)
    masks = _FoldMasks(T, rows, cols, real_rows, real_cols, held_name=names[0], moving_name=names[1])
    macs = results_left = t = 0
    if tape is not None:
        tape.start_fold(start, left=stream, left_lanes=real_rows)
    while results_left < T * real_cols:
        moving_next[:, 1:] = moving[:, :-1]
        moving_next[:, 0] = entering[t] if t < len(entering) else 0
        moving, moving_next = moving_next, moving
        np.multiply(moving, S, out=product)
        np.add(psum[:-1], product[1:], out=psum_next[1:])
        psum_next[0] = product[0]
        psum, psum_next = psum_next, psum
        macs += busy(t)

        first, last = max(0, t - (rows - 1) - (T - 1)), min(real_cols - 1, t - (rows - 1))
        if first <= last:
            leaving = np.arange(first, last + 1)
            out[t - (rows - 1) - leaving, leaving] = psum[rows - 1, first : last + 1]
            results_left += last - first + 1
            if tape is not None:
                tape.record_output(start + t, *out_index(t - (rows - 1) - leaving, leaving), psum[rows - 1, leaving])
        if tape is not None:
            tape.record(start + t, *masks.at(t, S, moving, psum))
        t += 1
    return out, macs, t


def _skewed(stream: np.ndarray, rows: int, dtype) -> np.ndarray:
    """The values entering the left edge, cycle by cycle: row i gets ``stream[t − i, i]`` at cycle t."""
    T, real_rows = stream.shape
    entering = np.zeros((T + rows - 1, rows), dtype)
    for i in range(real_rows):
        entering[i : i + T, i] = stream[:, i]
    return entering


def _busy_pes_by_cycle(T: int, rows: int, cols: int, real_rows: int, real_cols: int):
    """How many PEs do a useful MAC at cycle t: those holding a weight whose activation has arrived.

    Stream element s is at PE(i, j) at cycle s + i + j, so the busy PEs at cycle t are the held
    ones on the anti-diagonals i + j = t − T + 1 … t.
    """
    on_diagonal = np.zeros(rows + cols, np.int64)
    np.add.at(on_diagonal, (np.arange(real_rows)[:, None] + np.arange(real_cols)[None, :]).ravel(), 1)
    before = np.concatenate([[0], np.cumsum(on_diagonal)])

    def busy(t: int) -> int:
        high = min(t + 1, len(on_diagonal))
        low = min(max(0, t - T + 1), high)
        return int(before[high] - before[low])

    return busy


class _FoldMasks:
    """Which PEs hold which value at cycle t of a stationary fold (kept only when frames are)."""

    def __init__(self, T, rows, cols, real_rows, real_cols, held_name, moving_name):
        self.T, self.real_rows = T, real_rows
        self.i, self.j = np.arange(rows)[:, None], np.arange(cols)[None, :]
        self.held_valid = _pad(np.ones((real_rows, real_cols), bool), (rows, cols))
        self.held_name, self.moving_name = held_name, moving_name

    def at(self, t, held, moving, psum):
        stream_index = t - self.i - self.j
        in_flight = (stream_index >= 0) & (stream_index < self.T)
        moving_valid = in_flight & (self.i < self.real_rows)
        values = {self.held_name: held, self.moving_name: moving, "psum": psum}
        valid = {self.held_name: self.held_valid, self.moving_name: moving_valid, "psum": in_flight}
        return values, valid, moving_valid & self.held_valid


# --------------------------------------------------------------------------- output-stationary


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


def _output_stationary_fold(A, W, tile: Tile, rows, cols, dtype, tape, start):
    """One output-stationary fold: A's rows of the tile enter the array's rows, W's columns its columns.

    Row i takes row i of A skewed by i cycles, column j takes column j of W skewed by j; each PE
    multiplies the two values passing through it into its accumulator. Once every product is done
    the accumulators shift down one row per cycle and leave at the bottom.
    """
    pes = _OutputTile(A[tile.m, :], W[:, tile.n], rows, cols, dtype)
    if tape is not None:
        tape.start_fold(start, left=pes.left.T, left_lanes=pes.real_rows, top=pes.top, top_lanes=pes.real_cols)
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
            tape.record(start + t, values, {**valid, "psum": pes.acc_valid}, active)
            if leaving is not None:
                row, results = leaving
                columns = tile.n.start + np.arange(pes.real_cols)
                tape.record_output(start + t, np.full(pes.real_cols, tile.m.start + row), columns, results)
        t += 1
    return pes.out, pes.macs, t


# --------------------------------------------------------------------------- the dataflows

# W is cut into tiles of at most R×C, ceil(k/R)·ceil(n/C) folds. The m rows of A stream through each:
# the last enters row R−1 at cycle m−1+R−1 and its sum leaves column c−1 at cycle m+R+c−3, so a fold
# takes m + R + c − 2 cycles (3n − 2 for n×n on n×n). Loading a tile shifts in one row per cycle.
WEIGHT_STATIONARY = Dataflow(
    name="weight_stationary", aliases=("ws", "weight-stationary"),
    stationary="weight", flows={"activation": "right", "psum": "down"},
    held=("k", "n"), fold_order=("n", "k"),
    fold_cycles=lambda s, rows, cols: s.m + rows + s.n - 2,
    load_cycles=lambda rows, cols: rows,
    step_fold=_weight_stationary_fold,
)

# Each PE accumulates one output; A enters from the left and W from the top, both skewed. A tile of
# r×c outputs does its last MAC at cycle k+r+c−3, then the sums shift down and out in R cycles:
# k + r + c − 2 + R per fold, nothing to preload.
OUTPUT_STATIONARY = Dataflow(
    name="output_stationary", aliases=("os", "output-stationary"),
    stationary="psum", flows={"activation": "right", "weight": "down"},
    held=("m", "n"), fold_order=("m", "n"),
    fold_cycles=lambda s, rows, cols: s.k + s.m + s.n - 2 + rows,
    load_cycles=lambda rows, cols: 0,
    step_fold=_output_stationary_fold,
)

# Weight-stationary's machine with the roles swapped: tiles of Aᵀ held, the columns of W streamed,
# so a fold takes n + R + c − 2 cycles (c: the fold's columns of Aᵀ, i.e. rows of A).
INPUT_STATIONARY = Dataflow(
    name="input_stationary", aliases=("is", "input-stationary"),
    stationary="activation", flows={"weight": "right", "psum": "down"},
    held=("k", "m"), fold_order=("m", "k"),
    fold_cycles=lambda s, rows, cols: s.n + rows + s.m - 2,
    load_cycles=lambda rows, cols: rows,
    step_fold=_input_stationary_fold,
)

DATAFLOWS: tuple[Dataflow, ...] = (WEIGHT_STATIONARY, OUTPUT_STATIONARY, INPUT_STATIONARY)


def get(dataflow: str | Dataflow) -> Dataflow:
    """The dataflow with this name or alias ("weight_stationary", "ws", "weight-stationary", …); a Dataflow as it is."""
    if isinstance(dataflow, Dataflow):
        return dataflow
    key = str(dataflow).strip().lower()
    for flow in DATAFLOWS:
        if key == flow.name or key in flow.aliases:
            return flow
    names = [f"{flow.name!r} ({flow.aliases[0]!r})" for flow in DATAFLOWS]
    raise ValueError(f"unknown dataflow {dataflow!r}: use {', '.join(names[:-1])} or {names[-1]}")
