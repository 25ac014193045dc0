"""The systolic array, cycle by cycle: a simulator of the TPU's matrix unit (MXU).

An R×C grid of processing elements (PEs). In the weight-stationary dataflow each PE holds one
weight; activations enter each row from the left, one cycle later than the row above (the skew);
every cycle each PE multiplies the activation from its left by its weight, adds the partial sum
from above, passes the activation right and the partial sum down; results leave at the bottom.

The result is produced by stepping those per-cycle rules (vectorised over the PEs with NumPy),
never by ``A @ W``. The simulator is pure: it returns a :class:`SystolicRun` and never draws or
prints; :mod:`tpu_lecture.viz` reads the run's frames. The per-cycle rules live in
:mod:`tpu_lecture.sim.dataflow`, the recorded state in :mod:`tpu_lecture.sim.tape`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from tpu_lecture.sim.dataflow import INPUT_STATIONARY, OUTPUT_STATIONARY, RUNNERS, WEIGHT_STATIONARY
from tpu_lecture.sim.tape import Frame, Tape

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
    _tape: Tape | None = field(default=None)

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
        tape = Tape(plan, self.rows, self.cols, m, n, acc_dtype) if keep_frames else None
        if tape is not None:
            tape.check_size()
        result, macs, cycles = RUNNERS[self.dataflow](A, W, self.rows, self.cols, acc_dtype, tape)
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
