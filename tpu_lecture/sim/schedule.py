"""How a product is cut into folds and how long it takes: tiles, fold timings and the closed forms of the cycles.

A :class:`Tile` is one fold's block of the product's iteration space (a range of M, of K and of N);
a :class:`Schedule` is the folds of one product on one array in one loading mode. Which sizes the
array holds, the order of the folds and the cycles of one fold belong to each dataflow
(:mod:`tpu_lecture.sim.dataflow`); the loading modes to :mod:`tpu_lecture.sim.loading`. The schedule
adds them up in closed form, in O(1) time and memory whatever the number of folds, so a run can be
sized before it starts. The simulator does not read these numbers while it steps: tests compare
them with the cycles it counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from tpu_lecture.sim.loading import Loading


class Sizes(NamedTuple):
    """How many rows of A (m), inner values (k) and columns of W (n) a fold covers."""

    m: int
    k: int
    n: int


@dataclass(frozen=True, eq=False)
class Tile:
    """One fold's block of the product: activations ``A[m, k]``, weights ``W[k, n]``, outputs ``Y[m, n]``."""

    m: slice
    k: slice
    n: slice

    @property
    def sizes(self) -> Sizes:
        """How many rows of A, inner values and columns of W this fold covers."""
        return Sizes(*(part.stop - part.start for part in (self.m, self.k, self.n)))

    def span(self, dim: str) -> slice:
        """The range this fold covers along ``dim`` ("m", "k" or "n")."""
        return getattr(self, dim)

    def __repr__(self) -> str:
        parts = ", ".join(f"{dim} {s.start}:{s.stop}" for dim, s in zip("mkn", (self.m, self.k, self.n)))
        return f"Tile({parts})"


def cuts(size: int, step: int) -> list[slice]:
    """``range(size)`` cut into pieces of at most ``step``, in order."""
    return [slice(start, min(start + step, size)) for start in range(0, size, step)]


def _pieces(size: int, step: int) -> list[tuple[int, int]]:
    """``size`` cut into pieces of at most ``step``, as (piece size, how many): full pieces, then the rest."""
    full, rest = divmod(size, step)
    return [(piece, count) for piece, count in ((step, full), (rest, 1)) if piece and count]


class Tiles(Sequence):
    """The tiles of a product in fold order, made on demand: 20000³ on a 1×1 array has 4·10⁸ of them."""

    def __init__(self, flow: Any, sizes: Sizes, rows: int, cols: int):
        self.sizes = sizes
        step = {flow.held[0]: rows, flow.held[1]: cols}
        self._dims = [(dim, sizes._asdict()[dim], step[dim]) for dim in flow.fold_order]
        self._streamed = flow.streamed
        self._counts = [math.ceil(size / by) for _, size, by in self._dims]

    def __len__(self) -> int:
        return self._counts[0] * self._counts[1]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"fold {index} of a product with {len(self)} folds")
        outer, inner = divmod(index % len(self), self._counts[1])
        parts = {dim: slice(at * by, min(at * by + by, size))
                 for (dim, size, by), at in zip(self._dims, (outer, inner))}
        parts[self._streamed] = slice(0, self.sizes._asdict()[self._streamed])
        return Tile(**parts)

    def __iter__(self) -> Iterator[Tile]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Tiles({len(self):,} folds of {self.sizes})"


@dataclass(frozen=True)
class FoldTiming:
    """When one fold happens: its tile starts shifting in, its first activation enters, its last result leaves."""

    index: int
    tile: Tile
    load_start: int | None  # None: nothing is loaded (output-stationary)
    start: int
    compute_cycles: int

    @property
    def end(self) -> int:
        """The first cycle after the fold's last result has left."""
        return self.start + self.compute_cycles


@dataclass(frozen=True)
class Schedule:
    """The folds of one (m×k) @ (k×n) product on a rows×cols array, their timing and their cycles in closed form.

    Conventions (the same for every dataflow and mode): cycles are counted from cycle 0, the first
    cycle of the first load (or of the first value entering, where nothing is loaded), to the cycle in
    which the last result leaves, inclusive. A fold is *in flight* from the cycle its first value
    enters to the cycle its last result leaves (its fold formula, e.g. M + R + c − 2, drain
    included). :attr:`compute_cycles` are the cycles in which some fold is in flight;
    :attr:`load_cycles` the others, in which the array only loads a tile or waits to load one (the
    loads not hidden by overlap). The cycles in flight split into :attr:`compute_cycles`,
    :attr:`stall_cycles` (double-buffered: a fold waiting for its tile while the one before drains) and
    :attr:`drain_cycles` (output-stationary's R cycles per fold of shifting the sums out), so
    :attr:`cycles` = compute + load + stall + drain.
    """

    flow: Any  # the Dataflow
    m: int
    k: int
    n: int
    rows: int
    cols: int
    loading: Loading | None

    @property
    def dataflow(self) -> str:
        """The dataflow's name."""
        return self.flow.name

    @property
    def sizes(self) -> Sizes:
        return Sizes(self.m, self.k, self.n)

    @property
    def stream(self) -> int:
        """Values streamed through every fold (rows of A for weight-stationary): T."""
        return self.sizes._asdict()[self.flow.streamed]

    @property
    def tiles(self) -> Tiles:
        """Every fold's tile, in order (made on demand)."""
        return Tiles(self.flow, self.sizes, self.rows, self.cols)

    @property
    def folds(self) -> int:
        """How many folds the product takes (tiles that fit the array at once)."""
        return len(self.tiles)

    @property
    def load_cycles_per_fold(self) -> int:
        """Cycles to shift one tile into the shadow registers (R; 0 where nothing is loaded)."""
        return self.flow.load_cycles(self.rows, self.cols) if self.loading is not None else 0

    def fold_cycles(self, sizes: Sizes) -> int:
        """Cycles a fold of these sizes is in flight: its first value in to its last result out."""
        return self.flow.fold_cycles(sizes, self.rows, self.cols)

    @property
    def cycles_per_fold(self) -> int:
        """Cycles of the longest fold (a fold that fills the whole array)."""
        return max(self.fold_cycles(sizes) for _, sizes in self._classes())

    def pitch(self, sizes: Sizes) -> int:
        """Cycles from a fold's first value in to the next fold's (a fold of these sizes, not the last one).

        The next tile may start shifting in once the control signal has reached every PE (R + C − 1
        cycles after the fold's first value), serial loading also waits for the fold's last result
        to leave, and loading takes R cycles. Serial: R + max(fold cycles, R + C − 1), which is
        R + the fold's cycles unless a tiny batch streams through a narrow tile. Double-buffered:
        the next fold also waits for this one's T values to enter: max(T, 2R + C − 1). Nothing to
        load (output-stationary): the fold's cycles.
        """
        in_flight = self.fold_cycles(sizes)
        if self.loading is None:
            return in_flight
        wave = self.rows + self.cols - 1
        if self.loading.overlaps:
            return max(self.stream, wave + self.load_cycles_per_fold)
        return self.load_cycles_per_fold + max(in_flight, wave)

    @property
    def in_flight_cycles(self) -> int:
        """Cycles in which some fold is in flight: compute + stall + drain."""
        return self.cycles - self.load_cycles

    @property
    def compute_cycles(self) -> int:
        """Cycles of computing alone: some fold in flight, not stalled, not draining (3n − 2 for one n×n fold
        of weight-stationary on an n×n array)."""
        return self.in_flight_cycles - self.stall_cycles - self.drain_cycles

    @property
    def drain_cycles(self) -> int:
        """Output-stationary: the R cycles per fold in which the finished sums shift out (0 for the others)."""
        return 0 if self.flow.preloads else self.rows * self.folds

    @property
    def stall_cycles(self) -> int:
        """Double-buffered: cycles in which a fold's values have all entered and a fold is still in flight, but
        the next fold waits for its tile (the load of R cycles starts only once the control signal has passed
        every PE, R + C − 1 cycles after the fold's first value). Per fold but the last:
        min(pitch, fold cycles) − T, where the pitch max(T, 2R + C − 1) exceeds the streamed size T."""
        if self.loading is None or not self.loading.overlaps:
            return 0

        def stall(sizes: Sizes) -> int:
            return max(0, min(self.pitch(sizes), self.fold_cycles(sizes)) - self.stream)

        return sum(count * stall(sizes) for count, sizes in self._classes()) - stall(self._last())

    @property
    def load_cycles(self) -> int:
        """Cycles in which the array only loads (or waits to load) a tile: the loads not hidden by overlap.

        The first load, then between folds whatever of the pitch the fold itself does not fill.
        """
        last = self._last()
        gaps = sum(count * max(0, self.pitch(sizes) - self.fold_cycles(sizes)) for count, sizes in self._classes())
        return self.load_cycles_per_fold + gaps - max(0, self.pitch(last) - self.fold_cycles(last))

    @property
    def cycles(self) -> int:
        """Total cycles of the product: the first load, each fold's pitch but the last's, the last fold's cycles.

        Serial, usually: Σ (R + fold cycles). Double-buffered: R + (folds − 1)·max(T, 2R + C − 1) +
        the last fold's cycles. Output-stationary: Σ fold cycles.
        """
        last = self._last()
        pitches = sum(count * self.pitch(sizes) for count, sizes in self._classes())
        return self.load_cycles_per_fold + pitches - self.pitch(last) + self.fold_cycles(last)

    @property
    def contributions(self) -> int:
        """How many folds add into each output: one per tile of K (partial sums of the same outputs)."""
        return math.ceil(self.k / {self.flow.held[0]: self.rows, self.flow.held[1]: self.cols}.get("k", self.k))

    @property
    def counts(self):
        """Every operand's buffer reads, hops and accumulator reads/writes in closed form (see :mod:`.counts`)."""
        from tpu_lecture.sim.counts import closed_form

        return closed_form(self)

    def timeline(self) -> Iterator[FoldTiming]:
        """Each fold's timing in order, by the same rules as the closed forms (O(1) memory, one fold at a time)."""
        per_fold, previous = self.load_cycles_per_fold, None
        for index, tile in enumerate(self.tiles):
            start = per_fold if previous is None else previous.start + self.pitch(previous.tile.sizes)
            load_start = start - per_fold if self.loading is not None else None
            if self.loading is not None and self.loading.overlaps and previous is not None:
                load_start = previous.start + self.rows + self.cols - 1
            previous = FoldTiming(index, tile, load_start, start, self.fold_cycles(tile.sizes))
            yield previous

    @property
    def fold_starts(self) -> tuple[int, ...]:
        """The cycle at which each fold's first value enters (for small products: one entry per fold)."""
        return tuple(fold.start for fold in self.timeline())

    def _classes(self) -> list[tuple[int, Sizes]]:
        """The folds grouped by size: at most four kinds (full or cut short along each held size), with counts."""
        first, second = self.flow.held
        sizes = self.sizes._asdict()
        found = []
        for a, count_a in _pieces(sizes[first], self.rows):
            for b, count_b in _pieces(sizes[second], self.cols):
                found.append((count_a * count_b, Sizes(**{**sizes, first: a, second: b})))
        return found

    def _last(self) -> Sizes:
        """The sizes of the last fold (cut short along both held sizes where they do not divide)."""
        return self.tiles[-1].sizes

    def __repr__(self) -> str:
        mode = f", {self.loading.name} loading" if self.loading else ""
        folds = f"{self.folds:,} fold{'s' if self.folds != 1 else ''}"
        return (f"Schedule({self.flow.label} {self.rows}x{self.cols}{mode}, {self.m}x{self.k} @ {self.k}x{self.n}: "
                f"{folds}, {self.cycles:,} cycles = {self.compute_cycles:,} compute + {self.load_cycles:,} load"
                f"{_extra(self.stall_cycles, self.drain_cycles)})")


def _extra(stall: int, drain: int) -> str:
    """" + 9 stall", " + 8 drain" where there are any."""
    return "".join(f" + {value:,} {name}" for name, value in (("stall", stall), ("drain", drain)) if value)
