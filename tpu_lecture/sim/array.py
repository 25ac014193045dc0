"""The systolic array, cycle by cycle: a simulator of the TPU's matrix unit (MXU).

An R×C grid of processing elements (PEs). In the weight-stationary dataflow each PE holds one
weight; activations enter each row from the left, one cycle later than the row above (the skew);
every cycle each PE multiplies the activation from its left by its weight, adds the partial sum
from above, passes the activation right and the partial sum down; results leave at the bottom.

The result is produced by stepping those per-cycle rules (vectorised over the PEs with NumPy),
never by ``A @ W``. The simulator is pure: it returns a :class:`SystolicRun` and never draws or
prints; :mod:`tpu_lecture.viz` reads the run's frames. Each dataflow (what stays, what moves, its
fold-cycle formula and per-cycle rules) is a :class:`~tpu_lecture.sim.dataflow.Dataflow`; the
recorded state lives in :mod:`tpu_lecture.sim.tape`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from tpu_lecture.checks import whole_number
from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim.dataflow import Dataflow
from tpu_lecture.sim.schedule import Schedule
from tpu_lecture.sim.tape import Frame, Tape

# --------------------------------------------------------------------------- the closed form


def schedule(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws") -> Schedule:
    """Folds and cycles of an (m×k) @ (k×n) product on a rows×cols (R×C) array, by formula.

    A fold is the part of the product that fits the array at once; it ends when its last result
    has left the array. Each dataflow cuts the product its own way and times a fold by its own
    closed form (:mod:`tpu_lecture.sim.dataflow`): weight-stationary folds take m + R + c − 2
    cycles (c ≤ C: the fold's columns of W; 3n − 2 for n×n on n×n), input-stationary n + R + c − 2,
    output-stationary k + r + c − 2 + R (the drain of R rows included). Loading the held tile (R
    cycles per fold for weight- and input-stationary, none for output-stationary) is counted apart.
    """
    flow = dataflows.get(dataflow)
    sizes = {name: whole_number(name, value) for name, value in
             (("m", m), ("k", k), ("n", n), ("rows", rows), ("cols", cols))}
    return flow.schedule(**sizes)


def expected_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws") -> int:
    """Cycles the simulator takes for an (m×k) @ (k×n) product on an R×C array, loading excluded.

    The sum of the dataflow's fold-cycle formula over its folds (:func:`schedule`): for weight-
    stationary ceil(k/R)·(ceil(n/C)·(m + R − 2) + n), which is 3n − 2 for n×n on n×n.
    """
    return schedule(m, k, n, rows, cols, dataflow).cycles


def check_cycle(t, cycles: int) -> int:
    """``t`` as an int if it is a cycle of a run with ``cycles`` cycles; TypeError / ValueError otherwise."""
    t = whole_number("cycle t", t, minimum=None)
    if not 0 <= t < cycles:
        raise ValueError(f"cycle t = {t} is outside this run: choose t in 0 … {cycles - 1} "
                         f"(the run takes {cycles} cycles, counted from 0)")
    return t


# --------------------------------------------------------------------------- the run


@dataclass(repr=False)
class SystolicRun:
    """The outcome of one product on the array: the result, its statistics, and its frames."""

    rows: int
    cols: int
    flow: Dataflow
    shape: tuple[int, int, int]
    result: np.ndarray
    schedule: Schedule
    macs: int
    cycles: int  # counted while stepping: from the first value in to the last result out
    keep_frames: bool
    _tape: Tape | None = field(default=None)

    @property
    def dataflow(self) -> str:
        """The dataflow's name: "weight_stationary", "output_stationary" or "input_stationary"."""
        return self.flow.name

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
        """Cycles spent loading weights into the PEs (0 where the weights are not what stays)."""
        return self.load_cycles if self.stationary == "weight" else 0

    @property
    def utilization(self) -> float:
        """Useful MACs over what the array could do: macs / (R·C·cycles)."""
        return self.macs / (self.rows * self.cols * self.cycles)

    @property
    def flows(self) -> dict[str, str]:
        """Which values move, and which way: e.g. {"activation": "right", "psum": "down"}."""
        return dict(self.flow.flows)

    @property
    def stationary(self) -> str:
        """The value that stays in the PEs: "weight", "activation" or "psum" (the output)."""
        return self.flow.stationary

    @property
    def frames(self) -> list[Frame]:
        """Every cycle's frame, in order."""
        return [self.frame(t) for t in range(self.cycles)]

    def check_frames(self) -> None:
        """Raise, saying how to keep them, if this run kept no frames."""
        if self._tape is None:
            raise ValueError("this run kept no frames: run it again with matmul(A, W, keep_frames=True)")

    def frame(self, t: int) -> Frame:
        """The state of the array at the end of cycle ``t`` (0 … cycles − 1)."""
        self.check_frames()
        return self._tape.frame(check_cycle(t, self.cycles))

    def summary(self) -> str:
        """A few lines for people: shapes, cycles, MACs, utilization, folds."""
        m, k, n = self.shape
        lines = [
            f"{self.flow.label} {self.rows}x{self.cols} array, A {m}x{k} @ W {k}x{n}",
            f"cycles:      {self.cycles:,} ({self.folds:,} fold{'s' if self.folds != 1 else ''}, "
            f"{self.cycles_per_fold:,} cycles for a full one)",
            f"load cycles: {self.load_cycles:,} (filling the PEs, counted apart)",
            f"MACs:        {self.macs:,} (= M·K·N = {m * k * n:,})",
            f"utilization: {self.utilization:.1%} of {self.rows * self.cols:,} PEs x {self.cycles:,} cycles",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m, k, n = self.shape
        return (f"SystolicRun({self.flow.label} {self.rows}x{self.cols}, {m}x{k} @ {k}x{n}: "
                f"{self.cycles} cycles, {self.macs} MACs, {self.utilization:.1%} utilization, "
                f"{self.folds} fold{'s' if self.folds != 1 else ''})")


# --------------------------------------------------------------------------- the array


class SystolicArray:
    """An R×C grid of multiply-accumulate PEs running one dataflow (a name, an alias or a Dataflow object).

    >>> run = SystolicArray(4, 4).matmul(A, W)
    >>> run.result, run.cycles, run.utilization
    """

    def __init__(self, rows: int, cols: int | None = None, dataflow: str = "weight_stationary"):
        cols = rows if cols is None else cols
        self.rows, self.cols = whole_number("array rows", rows), whole_number("array cols", cols)
        self.flow = dataflows.get(dataflow)

    @property
    def dataflow(self) -> str:
        """The dataflow's name (its aliases, such as "ws", are accepted on the way in)."""
        return self.flow.name

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
        plan = self.flow.schedule(m, k, n, self.rows, self.cols)
        tape = Tape(plan, self.rows, self.cols, m, n, acc_dtype) if keep_frames else None
        if tape is not None:
            tape.check_size()
        result, macs, cycles = self.flow.run(A, W, plan, self.rows, self.cols, acc_dtype, tape)
        return SystolicRun(self.rows, self.cols, self.flow, (m, k, n), result, plan, macs, cycles, keep_frames, tape)


def lecture_example():
    """The lecture's 2×2 example as sympy symbols: activations A B / C D, weights E F / G H."""
    import sympy

    a, b, c, d, e, f, g, h = sympy.symbols("A B C D E F G H")
    A = np.array([[a, b], [c, d]], dtype=object)
    W = np.array([[e, f], [g, h]], dtype=object)
    return A, W


# --------------------------------------------------------------------------- the PE rules, checked on the frames


def assert_pe_rules(run: SystolicRun) -> int:
    """Check every MAC in a run's frames against the PE's rules; returns how many MACs were checked.

    An active PE must hold its activation × its weight plus the partial sum it was given (from the
    PE above where sums flow down, its own where they stay), and each moving value must be the one
    its neighbour held a cycle before. Symbols are compared after expanding. AssertionError names
    the cycle, the PE and the values when a rule fails.
    """
    run.check_frames()
    checked, before = 0, None
    for t in range(run.cycles):
        frame = run.frame(t)
        previous = before if frame.fold_cycle > 0 else None  # a fold starts from empty PEs
        for i, j in zip(*np.nonzero(frame.active)):
            _check_pe(run.flows, frame, previous, int(i), int(j))
            checked += 1
        before = frame
    return checked


def _check_pe(flows: dict[str, str], frame: Frame, before: Frame | None, i: int, j: int) -> None:
    values, at = frame.values, f"cycle {frame.cycle}, PE({i},{j})"
    for value, way in flows.items():
        source = (i, j - 1) if way == "right" else (i - 1, j)
        if value != "psum" and before is not None and min(source) >= 0:
            _expect(values[value][i, j], before.values[value][source], f"{at}: the {value} should come from PE{source}")
    if before is None:
        given = 0
    elif flows.get("psum") == "down":
        given = before.values["psum"][i - 1, j] if i > 0 else 0
    else:
        given = before.values["psum"][i, j]
    product = values["activation"][i, j] * values["weight"][i, j]
    _expect(values["psum"][i, j], product + given, f"{at}: the partial sum should be activation × weight + {given}")


def _expect(actual, expected, what: str) -> None:
    if actual == expected:
        return
    difference = actual - expected
    if getattr(difference, "expand", lambda: difference)() != 0:
        raise AssertionError(f"{what} = {expected}, but it is {actual}")


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
