"""The systolic array, cycle by cycle: a simulator of the TPU's matrix unit (MXU).

An R×C grid of processing elements (PEs). In the weight-stationary dataflow each PE holds one
weight, shifted in from the top and stored when the control signal reaches it; activations enter
each row from the left, one cycle later than the row above (the skew); every cycle each PE
multiplies the activation from its left by its weight, adds the partial sum from above, passes the
activation right and the partial sum down; results leave at the bottom.

The result is produced by stepping those per-cycle rules (vectorised over the PEs with NumPy),
never by ``A @ W``. The simulator is pure: it returns a :class:`SystolicRun` and never draws or
prints; :mod:`tpu_lecture.viz` reads the run's frames. Each dataflow (what stays, what moves, its
fold-cycle formula and per-cycle rules) is a :class:`~tpu_lecture.sim.dataflow.Dataflow`; the loading
modes live in :mod:`tpu_lecture.sim.loading`, the recorded state in :mod:`tpu_lecture.sim.tape`.

Cycles, the same words for every dataflow: ``compute_cycles`` (a fold in flight and computing: the
lecture's 3n − 2 for one n×n fold), ``load_cycles`` (the array only loads a tile: the loads not hidden
by overlap), ``stall_cycles`` (double-buffered: a fold waiting for its tile while the one before drains
its last sums) and ``drain_cycles`` (output-stationary: R cycles per fold shifting the sums out);
``cycles`` = compute + load + stall + drain, the run's length. ``utilization`` = useful MACs /
(R·C·cycles); ``compute_utilization`` counts the compute cycles alone, for every dataflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tpu_lecture.checks import whole_number
from tpu_lecture.sim import budget, counts
from tpu_lecture.sim import dataflow as dataflows
from tpu_lecture.sim import loading as loadings
from tpu_lecture.sim.counts import Counts
from tpu_lecture.sim.dataflow import Dataflow
from tpu_lecture.sim.loading import Loading
from tpu_lecture.sim.operands import prepare
from tpu_lecture.sim.schedule import Schedule
from tpu_lecture.sim.tape import FoldRecord, Frame, Tape

# --------------------------------------------------------------------------- the closed form


def schedule(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws", load: str | None = None) -> Schedule:
    """Folds and cycles of an (m×k) @ (k×n) product on a rows×cols (R×C) array, by formula, in O(1).

    A fold is the part of the product that fits the array at once; it is in flight from its first
    value in to its last result out. Each dataflow cuts the product its own way and times a fold by
    its own closed form (:mod:`tpu_lecture.sim.dataflow`): weight-stationary folds take m + R + c − 2
    cycles (c ≤ C: the fold's columns of W; 3n − 2 for n×n on n×n), input-stationary n + R + c − 2,
    output-stationary k + r + c − 2 + R (the drain of R rows included). Weight- and input-stationary
    shift each tile in for R cycles, ``load`` = "serial" (before its fold) or "double" (the default:
    while the previous fold computes); output-stationary loads nothing.
    """
    flow = dataflows.get(dataflow)
    sizes = {name: whole_number(name, value) for name, value in
             (("m", m), ("k", k), ("n", n), ("rows", rows), ("cols", cols))}
    return flow.schedule(**sizes, load=load)


def expected_counts(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws",
                    load: str | None = None) -> Counts:
    """Every operand's buffer reads, PE-to-PE hops and accumulator reads/writes of a product, in O(1)
    (the conventions and their references: :mod:`tpu_lecture.sim.counts`)."""
    return counts.closed_form(schedule(m, k, n, rows, cols, dataflow, load))


def expected_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws", load: str | None = None) -> int:
    """Cycles the simulator takes for an (m×k) @ (k×n) product on an R×C array, loading included (O(1)).

    Serial: Σ over folds (R + the fold's cycles), for weight-stationary ceil(k/R)·(ceil(n/C)·(m + 2R − 2) + n).
    Double-buffered: R + (folds − 1)·max(T, 2R + C − 1) + the last fold's cycles (T: the streamed size).
    One n×n fold on an n×n array: n + 3n − 2 either way. ``schedule(...).compute_cycles`` gives the
    cycles without the loads (3n − 2).
    """
    return schedule(m, k, n, rows, cols, dataflow, load).cycles


def estimate(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws", load: str | None = None,
             keep_frames: bool = False, dtype="int64") -> budget.RunEstimate:
    """A run's cycles, time and memory before it starts, from the closed forms (O(1): nothing is stepped or listed)."""
    return budget.estimate(schedule(m, k, n, rows, cols, dataflow, load), dtype, keep_frames)


def check_cycle(t, cycles: int) -> int:
    """``t`` as an int if it is a cycle of a run with ``cycles`` cycles; TypeError / ValueError otherwise."""
    t = whole_number("cycle t", t, minimum=None)
    if not 0 <= t < cycles:
        raise ValueError(f"cycle t = {t} is outside this run: choose t in 0 … {cycles - 1} "
                         f"(the run takes {cycles} cycles, counted from 0)")
    return t


# --------------------------------------------------------------------------- the run


class Utilization:
    """The lecture's two utilizations, from ``macs``, ``rows``, ``cols``, ``cycles`` and ``compute_cycles``: the
    same words for a run that was stepped (:class:`SystolicRun`) and one counted by formula (``MatrixCycles``)."""

    @property
    def utilization(self) -> float:
        """Useful MACs over what the array could do in the whole run: macs / (R·C·cycles), loading included."""
        return self.macs / (self.rows * self.cols * self.cycles)

    @property
    def compute_utilization(self) -> float:
        """Useful MACs over what the array could do while computing: macs / (R·C·compute_cycles)."""
        return self.macs / (self.rows * self.cols * self.compute_cycles)


@dataclass(repr=False)
class SystolicRun(Utilization):
    """The outcome of one product on the array: the result, its statistics, and its frames."""

    rows: int
    cols: int
    flow: Dataflow
    loading: Loading | None
    shape: tuple[int, int, int]
    result: np.ndarray
    schedule: Schedule
    macs: int
    cycles: int  # counted while stepping: from the first load (or value in) to the last result out
    compute_cycles: int  # counted while stepping: some fold in flight, not stalled, not draining
    keep_frames: bool
    counts: Counts | None = None  # counted while stepping: every operand's buffer reads, hops and writes
    stall_cycles: int = 0  # counted while stepping: a fold waiting for its tile (double-buffered)
    drain_cycles: int = 0  # counted while stepping: output-stationary's sums shifting out
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
        """Cycles a full fold is in flight (its first value in to its last result out)."""
        return self.schedule.cycles_per_fold

    @property
    def load_cycles(self) -> int:
        """Cycles in which the array only loaded a tile (the loads not hidden by overlap)."""
        return self.cycles - self.compute_cycles - self.stall_cycles - self.drain_cycles

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

    @property
    def fold_records(self) -> list[FoldRecord]:
        """What the frames keep of each fold: when it loads and starts, its streams, the tile it holds."""
        self.check_frames()
        return list(self._tape.folds)

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
        mode = f", {self.loading.name} loading" if self.loading else ""
        folds = f"{self.folds:,} fold{'s' if self.folds != 1 else ''}"
        return "\n".join([
            f"{self.flow.label} {self.rows}x{self.cols} array{mode}, A {m}x{k} @ W {k}x{n}",
            f"cycles:      {self.cycles:,} = {self.compute_cycles:,} compute + {self.load_cycles:,} load "
            f"(not hidden){self._stall_and_drain()}",
            f"folds:       {folds}, a full one in flight for {self.cycles_per_fold:,} cycles; "
            f"{self.schedule.load_cycles_per_fold:,} cycles to load a tile",
            f"MACs:        {self.macs:,} (= M·K·N = {m * k * n:,})",
            f"utilization: {self.utilization:.1%} of {self.rows * self.cols:,} PEs x {self.cycles:,} cycles "
            f"({self.compute_utilization:.1%} of the compute cycles)",
        ])

    def _stall_and_drain(self) -> str:
        return "".join(f" + {value:,} {name}" for name, value in
                       (("stall", self.stall_cycles), ("drain", self.drain_cycles)) if value)

    def __repr__(self) -> str:
        m, k, n = self.shape
        mode = f" {self.loading.name}" if self.loading else ""
        return (f"SystolicRun({self.flow.label} {self.rows}x{self.cols}{mode}, {m}x{k} @ {k}x{n}: "
                f"{self.cycles} cycles ({self.compute_cycles} compute), {self.macs} MACs, "
                f"{self.utilization:.1%} utilization, {self.folds} fold{'s' if self.folds != 1 else ''})")


# --------------------------------------------------------------------------- the array


class SystolicArray:
    """An R×C grid of multiply-accumulate PEs running one dataflow (a name, an alias or a Dataflow object).

    ``load`` chooses how the weight- and input-stationary dataflows load their tiles: "double"
    (double-buffered, the default, as on the MXU) or "serial"; output-stationary loads nothing.

    >>> run = SystolicArray(4, 4).matmul(A, W)
    >>> run.result, run.cycles, run.utilization
    """

    def __init__(self, rows: int, cols: int | None = None, dataflow: str = "weight_stationary",
                 load: str | None = None):
        cols = rows if cols is None else cols
        self.rows, self.cols = whole_number("array rows", rows), whole_number("array cols", cols)
        self.flow = dataflows.get(dataflow)
        self.loading = loadings.get(load, self.flow)

    @property
    def dataflow(self) -> str:
        """The dataflow's name (its aliases, such as "ws", are accepted on the way in)."""
        return self.flow.name

    @property
    def pes(self) -> int:
        """Processing elements, which is also the most MACs the array does in one cycle."""
        return self.rows * self.cols

    def __repr__(self) -> str:
        mode = f", {self.loading.name} loading" if self.loading else ""
        return f"SystolicArray({self.rows}x{self.cols}, {self.dataflow}{mode})"

    def plan(self, m: int, k: int, n: int) -> Schedule:
        """The schedule of an (m×k) @ (k×n) product on this array (closed forms, nothing stepped)."""
        return self.flow.schedule(m, k, n, self.rows, self.cols, self.loading)

    def matmul(self, A, W, keep_frames: bool = True) -> SystolicRun:
        """Multiply activations A (M×K) by weights W (K×N) by stepping the array cycle by cycle.

        Before anything is allocated the run is sized from the closed forms and refused, with the
        numbers and the fix, if its frames or arrays would not fit in memory.
        """
        A, W, acc_dtype = prepare(A, W)
        m, k = A.shape
        n = W.shape[1]
        plan = self.plan(m, k, n)
        budget.estimate(plan, acc_dtype, keep_frames).refuse()
        tape = Tape(plan, acc_dtype) if keep_frames else None
        result, macs, cycles, compute, *tally = self.flow.run(A, W, plan, acc_dtype, tape)
        split = (tally[0].counts(), tally[0].stall_cycles, tally[0].drain_cycles) if tally else (None, 0, 0)
        return SystolicRun(self.rows, self.cols, self.flow, self.loading, (m, k, n), result, plan, macs, cycles,
                           compute, keep_frames, *split, _tape=tape)


def lecture_example():
    """The lecture's 2×2 example as sympy symbols: activations A B / C D, weights E F / G H."""
    import sympy

    a, b, c, d, e, f, g, h = sympy.symbols("A B C D E F G H")
    A = np.array([[a, b], [c, d]], dtype=object)
    W = np.array([[e, f], [g, h]], dtype=object)
    return A, W
