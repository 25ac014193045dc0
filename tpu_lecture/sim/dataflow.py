"""The per-cycle rules of the three dataflows: what every PE does each cycle, vectorised with NumPy.

Weight-stationary and input-stationary share one machine (a tile held in the PEs, a stream entering
from the left with its skew, partial sums flowing down); output-stationary keeps the sums in the PEs
and streams both operands. Each runner returns the result, the useful MACs and the cycles it stepped.
"""

from __future__ import annotations

import numpy as np

WEIGHT_STATIONARY = "weight_stationary"
OUTPUT_STATIONARY = "output_stationary"
INPUT_STATIONARY = "input_stationary"


def _pad(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    padded = np.zeros(shape, X.dtype)
    padded[: X.shape[0], : X.shape[1]] = X
    return padded


def _tiles(size: int, tile: int) -> list[slice]:
    return [slice(start, min(start + tile, size)) for start in range(0, size, tile)]


def _weight_stationary(A, W, rows, cols, dtype, tape):
    """Hold tiles of W in the PEs; stream the rows of A through; partial sums flow down."""
    return _stationary(W, A, rows, cols, dtype, tape, names=("weight", "activation"), transposed=False)


def _input_stationary(A, W, rows, cols, dtype, tape):
    """Hold tiles of Aᵀ in the PEs; stream the columns of W through; partial sums flow down (giving Yᵀ)."""
    result, macs, cycles = _stationary(A.T, W.T, rows, cols, dtype, tape, names=("activation", "weight"),
                                       transposed=True)
    return result.T, macs, cycles


def _stationary(held, stream, rows, cols, dtype, tape, names, transposed):
    """``stream @ held`` with tiles of ``held`` (K×N) kept in the PEs, fold after fold.

    The folds cut N into the array's columns and K into its rows; folds that share output columns
    add into the same accumulators, as the MXU's do.
    """
    k = held.shape[0]
    result = np.zeros((stream.shape[0], held.shape[1]), dtype)
    macs = cycles = 0
    if tape is not None:
        tape.contributions_needed = len(_tiles(k, rows))
    for n_tile in _tiles(held.shape[1], cols):
        for k_tile in _tiles(k, rows):
            out, fold_macs, fold_cycles = _stationary_fold(
                held=held[k_tile, n_tile], stream=stream[:, k_tile], rows=rows, cols=cols, dtype=dtype, tape=tape,
                start=cycles, names=names,
                out_index=lambda s, j, n_tile=n_tile: _output_position(s, j + n_tile.start, transposed),
            )
            result[:, n_tile] += out
            macs, cycles = macs + fold_macs, cycles + fold_cycles
    return result, macs, cycles


def _output_position(stream_index, column, transposed):
    """Where a result leaving the array lands in Y: (row, column), or swapped for input-stationary."""
    return (column, stream_index) if transposed else (stream_index, column)


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


def _output_stationary(A, W, rows, cols, dtype, tape):
    """Each PE accumulates one output: A flows right, W flows down; results shift out at the bottom."""
    result = np.zeros((A.shape[0], W.shape[1]), dtype)
    macs = cycles = 0
    for m_tile in _tiles(A.shape[0], rows):
        for n_tile in _tiles(W.shape[1], cols):
            out, fold_macs, fold_cycles = _output_stationary_fold(
                A[m_tile, :], W[:, n_tile], rows, cols, dtype, tape, cycles, (m_tile.start, n_tile.start)
            )
            result[m_tile, n_tile] = out
            macs, cycles = macs + fold_macs, cycles + fold_cycles
    return result, macs, cycles


def _output_stationary_fold(left, top, rows, cols, dtype, tape, start, origin):
    """One output-stationary fold: ``left`` (r×K) enters the rows, ``top`` (K×c) the columns.

    Row i takes row i of ``left`` skewed by i cycles, column j takes column j of ``top`` skewed by
    j; each PE multiplies the two values passing through it into its accumulator. Once every
    product is done the accumulators shift down one row per cycle and leave at the bottom.
    """
    real_rows, k = left.shape
    real_cols = top.shape[1]
    i, j = np.arange(rows)[:, None], np.arange(cols)[None, :]
    lane, col = np.arange(rows), np.arange(cols)
    activation = np.zeros((rows, cols), dtype)
    weight = np.zeros((rows, cols), dtype)
    acc = np.zeros((rows, cols), dtype)
    acc_valid = np.zeros((rows, cols), bool)
    out = np.zeros((real_rows, real_cols), dtype)
    macs = drained = t = 0
    drain_from = None
    if tape is not None:
        tape.start_fold(start, left=left.T, left_lanes=real_rows, top=top, top_lanes=real_cols)
    while drained < rows:
        computing = macs < real_rows * real_cols * k
        activation[:, 1:] = activation[:, :-1]
        weight[1:, :] = weight[:-1, :]
        activation[:, 0] = 0
        weight[0, :] = 0
        k_row, k_col = t - lane, t - col
        row_in = (k_row >= 0) & (k_row < k) & (lane < real_rows)
        col_in = (k_col >= 0) & (k_col < k) & (col < real_cols)
        activation[row_in, 0] = left[lane[row_in], k_row[row_in]]
        weight[0, col_in] = top[k_col[col_in], col[col_in]]
        k_here = t - i - j
        in_flight = (k_here >= 0) & (k_here < k) & computing
        activation_valid = in_flight & (i < real_rows)
        weight_valid = in_flight & (j < real_cols)
        active = activation_valid & weight_valid
        leaving_row = None
        if computing:
            acc += activation * weight
            acc_valid |= active
            macs += int(active.sum())
        else:
            drain_from = t if drain_from is None else drain_from
            leaving_row = rows - 1 - drained
            bottom = acc[rows - 1, :real_cols].copy()
            acc[1:], acc_valid[1:] = acc[:-1].copy(), acc_valid[:-1].copy()
            acc[0], acc_valid[0] = 0, False
            if leaving_row < real_rows:
                out[leaving_row] = bottom
            drained += 1
        if tape is not None:
            tape.folds[-1]["drain_from"] = drain_from if drain_from is not None else t + 1
            tape.record(
                start + t,
                {"activation": activation, "weight": weight, "psum": acc},
                {"activation": activation_valid, "weight": weight_valid, "psum": acc_valid},
                active,
            )
            if leaving_row is not None and leaving_row < real_rows:
                n_idx = origin[1] + np.arange(real_cols)
                tape.record_output(start + t, np.full(real_cols, origin[0] + leaving_row), n_idx, bottom)
        t += 1
    return out, macs, t


RUNNERS = {
    WEIGHT_STATIONARY: _weight_stationary,
    INPUT_STATIONARY: _input_stationary,
    OUTPUT_STATIONARY: _output_stationary,
}
