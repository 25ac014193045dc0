"""The systolic array, cycle by cycle: a simulator of the TPU's matrix unit (MXU).

An R×C grid of processing elements (PEs). In the weight-stationary dataflow each PE holds one
weight; activations enter each row from the left, one cycle later than the row above (the skew);
every cycle each PE multiplies the activation from its left by its weight, adds the partial sum
from above, passes the activation right and the partial sum down; results leave at the bottom.

The result is produced by stepping those per-cycle rules (vectorised over the PEs with NumPy),
never by ``A @ W``. The simulator is pure: it returns a :class:`SystolicRun` and never draws or
prints; :mod:`tpu_lecture.visualize` reads the run's frames.
"""

from __future__ import annotations

import bisect
import math
import numbers
from dataclasses import dataclass, field

import numpy as np

WEIGHT_STATIONARY = "weight_stationary"
OUTPUT_STATIONARY = "output_stationary"
INPUT_STATIONARY = "input_stationary"

_DATAFLOW_NAMES = {
    "weight_stationary": WEIGHT_STATIONARY, "ws": WEIGHT_STATIONARY, "weight-stationary": WEIGHT_STATIONARY,
    "output_stationary": OUTPUT_STATIONARY, "os": OUTPUT_STATIONARY, "output-stationary": OUTPUT_STATIONARY,
    "input_stationary": INPUT_STATIONARY, "is": INPUT_STATIONARY, "input-stationary": INPUT_STATIONARY,
}

# Which value each dataflow keeps in the PEs, and which way the others move.
_FLOWS = {
    WEIGHT_STATIONARY: {"activation": "right", "psum": "down"},
    INPUT_STATIONARY: {"weight": "right", "psum": "down"},
    OUTPUT_STATIONARY: {"activation": "right", "weight": "down"},
}
_STATIONARY = {WEIGHT_STATIONARY: "weight", INPUT_STATIONARY: "activation", OUTPUT_STATIONARY: "psum"}

# Keeping every frame costs cycles × R × C values; past this the run asks for keep_frames=False.
MAX_FRAME_BYTES = 1 << 30


def canonical_dataflow(dataflow: str) -> str:
    """The full name of a dataflow given its name or alias ("ws", "os", "is")."""
    key = str(dataflow).strip().lower()
    if key not in _DATAFLOW_NAMES:
        raise ValueError(
            f"unknown dataflow {dataflow!r}: use 'weight_stationary' ('ws'), "
            "'output_stationary' ('os') or 'input_stationary' ('is')"
        )
    return _DATAFLOW_NAMES[key]


# --------------------------------------------------------------------------- the closed form


@dataclass(frozen=True)
class Schedule:
    """How a product is cut into folds and how many cycles each fold takes, by formula."""

    dataflow: str
    fold_cycles: tuple[int, ...]
    load_cycles_per_fold: int

    @property
    def folds(self) -> int:
        return len(self.fold_cycles)

    @property
    def cycles(self) -> int:
        return sum(self.fold_cycles)

    @property
    def cycles_per_fold(self) -> int:
        """Cycles of the longest fold (a fold that fills the whole array)."""
        return max(self.fold_cycles)

    @property
    def load_cycles(self) -> int:
        return self.folds * self.load_cycles_per_fold


def schedule(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws") -> Schedule:
    """Folds and cycles of an (m×k) @ (k×n) product on a rows×cols (R×C) array, by formula.

    A fold is the part of the product that fits the array at once; it ends when its last result
    has left the array. Partial sums always travel through all R rows; a fold narrower than the
    array (its tile has c ≤ C columns) finishes when its last used column is done.

    - weight-stationary: W is cut into tiles of at most R×C, ceil(k/R)·ceil(n/C) folds. The m rows
      of A stream through each: the last enters row R−1 at cycle m−1+R−1 and its sum leaves column
      c−1 at cycle m+R+c−3, so a fold takes **m + R + c − 2** cycles (3n − 2 for n×n on n×n). In all:
      ceil(k/R)·(ceil(n/C)·(m + R − 2) + n). Loading a tile shifts in one row per cycle: R cycles per
      fold, counted apart.
    - input-stationary: the same machine with the roles swapped (tiles of Aᵀ held, the columns of W
      streamed): folds of **n + R + c − 2** cycles; ceil(k/R)·(ceil(m/C)·(n + R − 2) + m) in all;
      R load cycles per fold.
    - output-stationary: each PE accumulates one output; A enters from the left and W from the top,
      both skewed. A tile of r×c outputs does its last MAC at cycle k+r+c−3, then the results shift
      down and out in R cycles: **k + r + c − 2 + R** per fold, nothing to preload;
      ceil(m/R)·ceil(n/C)·(k + R − 2) + ceil(n/C)·m + ceil(m/R)·n in all.
    """
    dataflow = canonical_dataflow(dataflow)
    for name, value in (("m", m), ("k", k), ("n", n), ("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} = {value!r}: sizes must be whole numbers of at least 1")
    k_folds = math.ceil(k / rows)
    if dataflow == WEIGHT_STATIONARY:
        fold_cycles = [m + rows + c - 2 for c in _tile_sizes(n, cols) for _ in range(k_folds)]
    elif dataflow == INPUT_STATIONARY:
        fold_cycles = [n + rows + c - 2 for c in _tile_sizes(m, cols) for _ in range(k_folds)]
    else:
        fold_cycles = [k + r + c - 2 + rows for r in _tile_sizes(m, rows) for c in _tile_sizes(n, cols)]
    load = 0 if dataflow == OUTPUT_STATIONARY else rows
    return Schedule(dataflow, tuple(fold_cycles), load)


def _tile_sizes(size: int, tile: int) -> list[int]:
    return [min(tile, size - start) for start in range(0, size, tile)]


def expected_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws") -> int:
    """Cycles the simulator takes for an (m×k) @ (k×n) product on an R×C array, loading excluded.

    The closed forms (derived in :func:`schedule`):
    weight-stationary ceil(k/R)·(ceil(n/C)·(m + R − 2) + n), which is 3n − 2 for n×n on n×n;
    input-stationary ceil(k/R)·(ceil(m/C)·(n + R − 2) + m);
    output-stationary ceil(m/R)·ceil(n/C)·(k + R − 2) + ceil(n/C)·m + ceil(m/R)·n.
    """
    dataflow = canonical_dataflow(dataflow)
    schedule(m, k, n, rows, cols, dataflow)
    ceil = math.ceil
    if dataflow == WEIGHT_STATIONARY:
        return ceil(k / rows) * (ceil(n / cols) * (m + rows - 2) + n)
    if dataflow == INPUT_STATIONARY:
        return ceil(k / rows) * (ceil(m / cols) * (n + rows - 2) + m)
    return ceil(m / rows) * ceil(n / cols) * (k + rows - 2) + ceil(n / cols) * m + ceil(m / rows) * n


# --------------------------------------------------------------------------- one frame


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


# --------------------------------------------------------------------------- the run


@dataclass(repr=False)
class SystolicRun:
    """The outcome of one product on the array: the result, its statistics, and its frames."""

    rows: int
    cols: int
    dataflow: str
    shape: tuple[int, int, int]
    result: np.ndarray
    schedule: Schedule
    macs: int
    cycles: int  # counted while stepping: from the first value in to the last result out
    keep_frames: bool
    _tape: _Tape | None = field(default=None)

    @property
    def m(self) -> int:
        return self.shape[0]

    @property
    def k(self) -> int:
        return self.shape[1]

    @property
    def n(self) -> int:
        return self.shape[2]

    @property
    def folds(self) -> int:
        return self.schedule.folds

    @property
    def cycles_per_fold(self) -> int:
        return self.schedule.cycles_per_fold

    @property
    def load_cycles(self) -> int:
        """Cycles spent filling the PEs with the stationary operand, counted apart from ``cycles``."""
        return self.schedule.load_cycles

    @property
    def weight_load_cycles(self) -> int:
        """Cycles spent loading weights into the PEs (weight-stationary only; 0 otherwise)."""
        return self.load_cycles if self.dataflow == WEIGHT_STATIONARY else 0

    @property
    def utilization(self) -> float:
        """Useful MACs over what the array could do: macs / (R·C·cycles)."""
        return self.macs / (self.rows * self.cols * self.cycles)

    @property
    def flows(self) -> dict[str, str]:
        """Which values move, and which way: e.g. {"activation": "right", "psum": "down"}."""
        return dict(_FLOWS[self.dataflow])

    @property
    def stationary(self) -> str:
        """The value that stays in the PEs: "weight", "activation" or "psum" (the output)."""
        return _STATIONARY[self.dataflow]

    @property
    def frames(self) -> list[Frame]:
        """Every cycle's frame, in order."""
        return [self.frame(t) for t in range(self.cycles)]

    def frame(self, t: int) -> Frame:
        """The state of the array at the end of cycle ``t`` (0 … cycles − 1)."""
        if self._tape is None:
            raise ValueError("this run kept no frames: run it again with matmul(A, W, keep_frames=True)")
        if isinstance(t, bool) or not isinstance(t, numbers.Integral):
            raise TypeError(f"cycle t must be a whole number, got {t!r}")
        if not 0 <= t < self.cycles:
            raise ValueError(f"cycle t = {t} is outside this run: t must be in 0 … {self.cycles - 1}")
        return self._tape.frame(int(t), self)

    def summary(self) -> str:
        """A few lines for people: shapes, cycles, MACs, utilization, folds."""
        m, k, n = self.shape
        lines = [
            f"{self.dataflow.replace('_', '-')} {self.rows}x{self.cols} array, A {m}x{k} @ W {k}x{n}",
            f"cycles:      {self.cycles:,} ({self.folds:,} fold{'s' if self.folds != 1 else ''}, "
            f"{self.cycles_per_fold:,} cycles for a full one)",
            f"load cycles: {self.load_cycles:,} (filling the PEs, counted apart)",
            f"MACs:        {self.macs:,} (= M·K·N = {m * k * n:,})",
            f"utilization: {self.utilization:.1%} of {self.rows * self.cols:,} PEs x {self.cycles:,} cycles",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m, k, n = self.shape
        return (f"SystolicRun({self.dataflow.replace('_', '-')} {self.rows}x{self.cols}, {m}x{k} @ {k}x{n}: "
                f"{self.cycles} cycles, {self.macs} MACs, {self.utilization:.1%} utilization, "
                f"{self.folds} fold{'s' if self.folds != 1 else ''})")


# --------------------------------------------------------------------------- the array


class SystolicArray:
    """An R×C grid of multiply-accumulate PEs running one dataflow.

    >>> run = SystolicArray(4, 4).matmul(A, W)
    >>> run.result, run.cycles, run.utilization
    """

    def __init__(self, rows: int, cols: int | None = None, dataflow: str = "weight_stationary"):
        cols = rows if cols is None else cols
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"array {name} must be a whole number, got {value!r}")
        if rows < 1 or cols < 1:
            raise ValueError(f"array size must be at least 1x1, got {rows}x{cols}")
        self.rows, self.cols = int(rows), int(cols)
        self.dataflow = canonical_dataflow(dataflow)

    @property
    def pes(self) -> int:
        """Processing elements, which is also the most MACs the array does in one cycle."""
        return self.rows * self.cols

    def __repr__(self) -> str:
        return f"SystolicArray({self.rows}x{self.cols}, {self.dataflow})"

    def matmul(self, A, W, keep_frames: bool = True) -> SystolicRun:
        """Multiply activations A (M×K) by weights W (K×N) by stepping the array cycle by cycle."""
        A, W, acc_dtype = _prepare(A, W)
        m, k = A.shape
        n = W.shape[1]
        plan = schedule(m, k, n, self.rows, self.cols, self.dataflow)
        tape = _Tape(plan, self.rows, self.cols, m, n, acc_dtype) if keep_frames else None
        if tape is not None:
            tape.check_size()
        result, macs, cycles = _RUNNERS[self.dataflow](A, W, self.rows, self.cols, acc_dtype, tape)
        return SystolicRun(
            self.rows, self.cols, self.dataflow, (m, k, n), result, plan, macs, cycles, keep_frames, tape
        )


def lecture_example():
    """The lecture's 2×2 example as sympy symbols: activations A B / C D, weights E F / G H."""
    import sympy

    a, b, c, d, e, f, g, h = sympy.symbols("A B C D E F G H")
    A = np.array([[a, b], [c, d]], dtype=object)
    W = np.array([[e, f], [g, h]], dtype=object)
    return A, W


# --------------------------------------------------------------------------- input checks


def _prepare(A, W) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Check shapes and types, round bfloat16/float16 inputs, and pick the accumulator dtype."""
    A, W = _as_matrix(A, "A"), _as_matrix(W, "W")
    if A.shape[1] != W.shape[0]:
        raise ValueError(
            f"A is {A.shape[0]}x{A.shape[1]} but W is {W.shape[0]}x{W.shape[1]}: inner sizes must match "
            "(A's columns = W's rows)"
        )
    acc_dtype = _accumulator_dtype(A, W)
    return A.astype(acc_dtype), W.astype(acc_dtype), acc_dtype


def _as_matrix(X, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix but has shape {X.shape}: "
                         f"reshape it, e.g. {name}.reshape(1, -1) for one row")
    if X.size == 0:
        raise ValueError(f"{name} is {X.shape[0]}x{X.shape[1]}: matrices need at least one row and one column")
    _check_dtype(X, name)
    return X


def _check_dtype(X: np.ndarray, name: str) -> None:
    supported = ("integers, floats (float16, float32, float64, bfloat16) or sympy symbols")
    if X.dtype == object:
        bad = next((x for x in X.flat if not _is_symbolic_or_number(x)), None)
        if bad is not None:
            raise TypeError(f"{name} holds {bad!r} of type {type(bad).__name__}: the simulator takes {supported}")
        return
    if X.dtype.kind == "b":
        raise TypeError(f"{name} is boolean: convert it with {name}.astype(int) first")
    if X.dtype.kind in "iu" or X.dtype.kind == "f" or _is_bfloat16(X.dtype):
        return
    raise TypeError(f"{name} has dtype {X.dtype}: the simulator takes {supported}")


def _is_symbolic_or_number(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, numbers.Number) and not isinstance(x, complex):
        return True
    return type(x).__module__.startswith("sympy")


def _is_bfloat16(dtype: np.dtype) -> bool:
    return dtype.name == "bfloat16"


def _accumulator_dtype(A: np.ndarray, W: np.ndarray) -> np.dtype:
    """The MXU's rule: bfloat16 (and float16) products accumulate in float32; integers in int32 when
    no sum can overflow it (TPU v1's 8-bit MACs feed 32-bit accumulators), otherwise int64."""
    kinds = {A.dtype.kind, W.dtype.kind}
    if A.dtype == object or W.dtype == object:
        return np.dtype(object)
    if any(_is_bfloat16(X.dtype) or X.dtype == np.float16 for X in (A, W)):
        if np.float64 in (A.dtype, W.dtype):
            return np.dtype(np.float64)
        return np.dtype(np.float32)
    if kinds <= set("iu"):
        return _integer_accumulator(A, W)
    return np.result_type(A.dtype, W.dtype, np.float32)


def _integer_accumulator(A: np.ndarray, W: np.ndarray) -> np.dtype:
    largest = int(np.abs(A.astype(np.int64)).max()) * int(np.abs(W.astype(np.int64)).max()) * A.shape[1]
    return np.dtype(np.int32) if largest < 2**31 else np.dtype(np.int64)


# --------------------------------------------------------------------------- the tape of frames


class _Tape:
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
        queue_left, queue_left_valid = _queue(streams["left"], streams["left_lanes"], fold_cycle, self.rows)
        queue_top = queue_top_valid = None
        if "top" in streams:
            top, top_valid = _queue(streams["top"], streams["top_lanes"], fold_cycle, self.cols)
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


def _queue(stream: np.ndarray, real_lanes: int, fold_cycle: int, lanes: int) -> tuple[np.ndarray, np.ndarray]:
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


# --------------------------------------------------------------------------- the dataflows


def _pad(X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    padded = np.zeros(shape, X.dtype)
    padded[: X.shape[0], : X.shape[1]] = X
    return padded


def _tiles(size: int, tile: int) -> list[slice]:
    return [slice(start, min(start + tile, size)) for start in range(0, size, tile)]


def _weight_stationary(A, W, rows, cols, dtype, tape):
    """Hold tiles of W in the PEs; stream the rows of A through; partial sums flow down."""
    m, k = A.shape
    result = np.zeros((m, W.shape[1]), dtype)
    macs = cycles = 0
    if tape is not None:
        tape.contributions_needed = len(_tiles(k, rows))
    for n_tile in _tiles(W.shape[1], cols):
        for k_tile in _tiles(k, rows):
            out, fold_macs, fold_cycles = _stationary_fold(
                held=W[k_tile, n_tile], stream=A[:, k_tile], rows=rows, cols=cols, dtype=dtype, tape=tape,
                start=cycles, names=("weight", "activation"),
                out_index=lambda s, j, n_tile=n_tile: (s, j + n_tile.start),
            )
            result[:, n_tile] += out
            macs, cycles = macs + fold_macs, cycles + fold_cycles
    return result, macs, cycles


def _input_stationary(A, W, rows, cols, dtype, tape):
    """Hold tiles of Aᵀ in the PEs; stream the columns of W through; partial sums flow down."""
    m, k = A.shape
    result = np.zeros((m, W.shape[1]), dtype)
    macs = cycles = 0
    if tape is not None:
        tape.contributions_needed = len(_tiles(k, rows))
    for m_tile in _tiles(m, cols):
        for k_tile in _tiles(k, rows):
            out, fold_macs, fold_cycles = _stationary_fold(
                held=A[m_tile, k_tile].T, stream=W[k_tile, :].T, rows=rows, cols=cols, dtype=dtype, tape=tape,
                start=cycles, names=("activation", "weight"),
                out_index=lambda s, j, m_tile=m_tile: (j + m_tile.start, s),
            )
            result[m_tile, :] += out.T
            macs, cycles = macs + fold_macs, cycles + fold_cycles
    return result, macs, cycles


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


_RUNNERS = {
    WEIGHT_STATIONARY: _weight_stationary,
    INPUT_STATIONARY: _input_stationary,
    OUTPUT_STATIONARY: _output_stationary,
}
