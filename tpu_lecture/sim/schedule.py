"""How a product is cut into folds: the tiles of the M×K×N product that fit the array at once, in order.

A :class:`Tile` is one fold's block of the product's iteration space (a range of M, of K and of N);
a :class:`Schedule` is the folds of one product with each fold's cycles and load cycles. The rules
that choose the tiles and their cycle counts belong to each dataflow (:mod:`tpu_lecture.sim.dataflow`);
this module only holds the result, so the simulator, the machine models and the viewer read one plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


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


@dataclass(frozen=True)
class Schedule:
    """The folds of one product on one array, by formula: each fold's tile, its cycles and its loading."""

    dataflow: str
    tiles: tuple[Tile, ...]
    fold_cycles: tuple[int, ...]
    load_cycles_per_fold: int

    @property
    def folds(self) -> int:
        """How many folds the product takes (tiles that fit the array at once)."""
        return len(self.fold_cycles)

    @property
    def cycles(self) -> int:
        """Compute cycles of the whole product: from the first value in to the last result out."""
        return sum(self.fold_cycles)

    @property
    def cycles_per_fold(self) -> int:
        """Cycles of the longest fold (a fold that fills the whole array)."""
        return max(self.fold_cycles)

    @property
    def load_cycles(self) -> int:
        """Cycles spent filling the PEs with the stationary operand, counted apart from :attr:`cycles`."""
        return self.folds * self.load_cycles_per_fold

    @property
    def fold_starts(self) -> tuple[int, ...]:
        """The cycle at which each fold begins."""
        starts, total = [], 0
        for cycles in self.fold_cycles:
            starts.append(total)
            total += cycles
        return tuple(starts)

    @property
    def contributions(self) -> int:
        """How many folds add into each output: one per tile of K (partial sums of the same outputs)."""
        return len({(tile.k.start, tile.k.stop) for tile in self.tiles})
