"""The dataflows: one :class:`Dataflow` object each, owning everything the package knows about it.

A dataflow says which value stays in the PEs and which way the others move, how a product is cut
into folds (tiles that fit the array) and how many cycles each fold is in flight (one closed form),
how long loading the held tile takes, and the runner that steps the per-cycle rules. The simulator,
the machine models, the command line and the viewer all read the dataflow from here; adding a
dataflow means adding one :class:`Dataflow` to :data:`DATAFLOWS`.

Weight-stationary and input-stationary share one machine (:mod:`tpu_lecture.sim.stationary`: a tile
held in the PEs and loaded through shadow registers, a stream entering from the left with its skew,
partial sums flowing down); output-stationary (:mod:`tpu_lecture.sim.output_stationary`) keeps the
sums in the PEs and streams both operands.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tpu_lecture.sim import loading, output_stationary
from tpu_lecture.sim.loading import Loading
from tpu_lecture.sim.schedule import Schedule, Sizes, Tile
from tpu_lecture.sim.stationary import FoldWork, StationaryRun

DIRECTIONS = ("right", "down")  # the ways a value can move between neighbouring PEs


@dataclass(frozen=True, eq=False)
class Dataflow:
    """One way of running ``A @ W`` on the array: what stays, what moves, how folds are cut and timed.

    ``held`` names the sizes of the product that the array's rows and columns span (("k", "n"): the
    PEs hold a K×N tile of W); the third size streams through every fold. ``fold_order`` is the
    order in which the folds visit the tiles (outer size first). ``fold_cycles(sizes, R, C)`` is the
    closed form of the cycles one fold is in flight, from its first value in to its last result out;
    ``load_cycles(R, C)`` the cycles of shifting a tile into the PEs before its fold.
    ``runner(A, W, plan, dtype, tape)`` steps every fold of a :class:`Schedule` cycle by cycle and
    returns Y = A @ W, the useful MACs, the cycles and the compute cycles it counted.
    """

    name: str
    aliases: tuple[str, ...]
    stationary: str
    flows: Mapping[str, str]
    held: tuple[str, str]
    fold_order: tuple[str, str]
    fold_cycles: Callable[[Sizes, int, int], int]
    load_cycles: Callable[[int, int], int]
    runner: Callable[..., tuple[np.ndarray, int, int, int]]

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

    @property
    def preloads(self) -> bool:
        """Whether the value that stays is loaded before each fold (not so for the outputs, which start at 0)."""
        return self.stationary != "psum"

    def moving(self, direction: str) -> str | None:
        """The value that moves ``direction`` ("right" or "down") in this dataflow, if any."""
        return next((value for value, way in self.flows.items() if way == direction), None)

    def held_shape(self, m: int, k: int, n: int) -> tuple[int, int]:
        """The shape of what stays in the PEs for an (m×k) @ (k×n) product: W's K×N, Aᵀ's K×M, Y's M×N."""
        sizes = {"m": m, "k": k, "n": n}
        return sizes[self.held[0]], sizes[self.held[1]]

    def schedule(self, m: int, k: int, n: int, rows: int, cols: int, load: str | Loading | None = None) -> Schedule:
        """The folds of an (m×k) @ (k×n) product on a rows×cols array in a loading mode (None: the default)."""
        return Schedule(self, m, k, n, rows, cols, loading.get(load, self))

    def run(self, A: np.ndarray, W: np.ndarray, plan: Schedule, dtype, tape=None):
        """Step every fold of ``plan``: returns Y = A @ W, the useful MACs, the cycles, the compute cycles and the
        :class:`~tpu_lecture.sim.counts.Tally` of the values moved (a runner may leave the tally out)."""
        return self.runner(A, W, plan, dtype, tape)

    def __repr__(self) -> str:
        moves = ", ".join(f"{value} {way}" for value, way in self.flows.items())
        return f"Dataflow({self.label}: {self.stationary} stays, {moves})"


# --------------------------------------------------------------------------- the stationary ones


def _weight_stationary(A, W, plan: Schedule, dtype, tape=None):
    """Hold tiles of W in the PEs; stream A's rows through from the left; partial sums flow down."""

    def work(index: int, tile: Tile) -> FoldWork:
        def add(result, block):
            result[:, tile.n] += block

        return FoldWork(index, tile, W[tile.k, tile.n], A[:, tile.k], lambda s, j: (s, tile.n.start + j), add)

    return StationaryRun(plan, work, dtype, tape, names=("weight", "activation")).run()


def _input_stationary(A, W, plan: Schedule, dtype, tape=None):
    """Hold tiles of Aᵀ in the PEs; stream W's columns through from the left; sums of Yᵀ flow down."""

    def work(index: int, tile: Tile) -> FoldWork:
        def add(result, block):
            result[tile.m, :] += block.T

        return FoldWork(index, tile, A[tile.m, tile.k].T, W[tile.k, :].T, lambda s, j: (tile.m.start + j, s), add)

    return StationaryRun(plan, work, dtype, tape, names=("activation", "weight")).run()


# --------------------------------------------------------------------------- the dataflows

# W is cut into tiles of at most R×C, ceil(k/R)·ceil(n/C) folds. The m rows of A stream through each:
# the last enters row R−1 at cycle m−1+R−1 and its sum leaves column c−1 at cycle m+R+c−3, so a fold
# is in flight m + R + c − 2 cycles (3n − 2 for n×n on n×n). Loading a tile shifts in one row per cycle: R.
WEIGHT_STATIONARY = Dataflow(
    name="weight_stationary", aliases=("ws", "weight-stationary"),
    stationary="weight", flows={"activation": "right", "psum": "down"},
    held=("k", "n"), fold_order=("n", "k"),
    fold_cycles=lambda s, rows, cols: s.m + rows + s.n - 2,
    load_cycles=lambda rows, cols: rows,
    runner=_weight_stationary,
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
    runner=output_stationary.run,
)

# Weight-stationary's machine with the roles swapped: tiles of Aᵀ held, the columns of W streamed,
# so a fold takes n + R + c − 2 cycles (c: the fold's columns of Aᵀ, i.e. rows of A).
INPUT_STATIONARY = Dataflow(
    name="input_stationary", aliases=("is", "input-stationary"),
    stationary="activation", flows={"weight": "right", "psum": "down"},
    held=("k", "m"), fold_order=("m", "k"),
    fold_cycles=lambda s, rows, cols: s.n + rows + s.m - 2,
    load_cycles=lambda rows, cols: rows,
    runner=_input_stationary,
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
