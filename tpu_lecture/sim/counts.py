"""Where the operands go: how many times each one is read from a buffer, hops between PEs, and leaves as a result.

A run's :class:`Counts` say, per operand (activation, weight, partial sum), how often it moved at each
level of the memory hierarchy; :mod:`tpu_lecture.energy` prices them. The stepping machines count as
they move values (a :class:`Tally` per run); :func:`closed_form` gives the same numbers in O(1) from a
:class:`~tpu_lecture.sim.schedule.Schedule`, and tests hold the two equal and check both against
counts read off the frames.

Conventions (the same for every dataflow and loading mode):

- **buffer reads** (SRAM): a value read into the array at its edge. The held tile is read once per
  fold (r·c values shifted in from the top), the streamed operand once per fold and lane (T·r), and
  output-stationary reads both operands once per fold (K·r activations, K·c weights).
- **hops** (PE to PE): a real value passed to a neighbouring PE inside the fold's tile: a streamed
  value crosses the c PEs that use it (c − 1 hops), a held value shifts down to its row while it
  loads (row i: i hops), a partial sum of weight- or input-stationary runs from row 0 to the bottom
  edge (R − 1 hops, padded rows of a short tile included, since results leave only at the bottom),
  output-stationary's sums drain from their row to the bottom edge (R − 1 − i hops). A short tile's
  values that the wires carry on past its last PE to the array's edge do no work and are not counted.
- **accumulator writes**: every result that leaves the array (T·c per fold; r·c for output-stationary);
  **accumulator reads**: the partial sums read back to add into, once for each fold of K after the first.
- **register accesses**: each MAC reads the value its PE holds and writes its partial sum: 2 per MAC.

These are the quantities SCALE-Sim reports (Samajdar et al., "SCALE-Sim: Systolic CNN Accelerator
Simulator", arXiv:1811.02883, 2018; ISPASS 2020): SRAM reads of the input feature map (activations) and
the filters (weights), SRAM writes of the output feature map, and DRAM traffic for given buffer sizes.
Summed over the folds, the totals are the ones its dataflows imply (each value read once per fold that
uses it): weight-stationary K·N weight reads, M·K·⌈N/C⌉ activation reads, M·N·⌈K/R⌉ output writes;
output-stationary M·K·⌈N/C⌉, K·N·⌈M/R⌉ and M·N; input-stationary M·K, K·N·⌈M/C⌉ and M·N·⌈K/R⌉ (these
are derived from the dataflows and tested against this simulator, not run against SCALE-Sim's code).
Where this model differs: SCALE-Sim counts no PE-to-PE hops or partial-sum reads (it writes each
fold's partial outputs and leaves the read-modify-write to the SRAM), and it prices nothing.

DRAM policy (:func:`dram_traffic`): an input operand that fits its buffer whole is read from DRAM once
per value; one that does not is fetched again for every fold that reads it (DRAM reads = buffer reads).
Results are written to DRAM once each if the partial sums live at once fit the accumulators (for a
dataflow that visits K's folds one after another: one outer tile's T×C outputs); otherwise every partial
sum spills to DRAM and is read back (DRAM traffic = accumulator reads and writes).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

OPERANDS = ("activation", "weight", "psum")


@dataclass(frozen=True)
class Counts:
    """How many times each operand moved at each level in one run (values, not bytes)."""

    macs: int = 0
    activation_reads: int = 0  # activation buffer (SRAM) → array
    weight_reads: int = 0  # weight buffer (SRAM) → array
    psum_reads: int = 0  # accumulators → adder: partial sums read back to add into
    psum_writes: int = 0  # array → accumulators: every result leaving the array
    activation_hops: int = 0  # PE → neighbouring PE
    weight_hops: int = 0
    psum_hops: int = 0
    register_accesses: int = 0  # in-PE: the held value read and the partial sum written, per MAC

    def reads(self, operand: str) -> int:
        """Buffer reads of ``operand`` ("activation", "weight" or "psum")."""
        return getattr(self, f"{_operand(operand)}_reads")

    def hops(self, operand: str) -> int:
        """PE-to-PE hops of ``operand``."""
        return getattr(self, f"{_operand(operand)}_hops")

    def reuse(self, operand: str) -> float:
        """MACs per buffer read of ``operand``: how many times the array uses each value it reads (∞: never read)."""
        reads = self.reads(operand) if operand != "psum" else self.psum_reads + self.psum_writes
        return self.macs / reads if reads else math.inf

    @property
    def buffer_accesses(self) -> int:
        """Every SRAM access: the operands' reads, the partial sums' reads and writes."""
        return self.activation_reads + self.weight_reads + self.psum_reads + self.psum_writes

    @property
    def hops_total(self) -> int:
        return self.activation_hops + self.weight_hops + self.psum_hops

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def __repr__(self) -> str:
        return (f"Counts({self.macs:,} MACs; buffer reads: activation {self.activation_reads:,}, weight "
                f"{self.weight_reads:,}, psum {self.psum_reads:,}; psum writes {self.psum_writes:,}; hops: activation "
                f"{self.activation_hops:,}, weight {self.weight_hops:,}, psum {self.psum_hops:,})")


def _operand(operand: str) -> str:
    if operand not in OPERANDS:
        raise ValueError(f"unknown operand {operand!r}: use one of {', '.join(map(repr, OPERANDS))}")
    return operand


class Tally:
    """The counters a stepping machine adds to as it moves values (plain ints: cheap per cycle), and the cycles
    it stalled or drained."""

    __slots__ = (*(f.name for f in fields(Counts)), "stall_cycles", "drain_cycles")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def counts(self) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) for f in fields(Counts)})


def arrivals(length: int, lanes: range, depth: range) -> list[int]:
    """``a[d]`` = how many (s, i, j) with s < length, i in ``lanes``, j in ``depth`` have s + i + j = d.

    Stream value s of lane i reaches position j of its lane at fold cycle s + i + j (the skew), so this is
    how many real values arrive at those PEs in each cycle of a fold.
    """
    if length <= 0 or len(lanes) == 0 or len(depth) == 0:
        return []
    counts = np.convolve(np.convolve(np.ones(length, np.int64), np.ones(len(lanes), np.int64)),
                         np.ones(len(depth), np.int64))
    return [0] * (lanes.start + depth.start) + counts.tolist()


# --------------------------------------------------------------------------- closed forms


def closed_form(plan) -> Counts:
    """The counts of a run of ``plan`` in O(1): sums over at most four classes of folds (full or short tiles)."""
    total = Counts()
    R = plan.rows
    for count, sizes in plan._classes():
        fold = _fold_counts(plan.flow, sizes, R)
        total = total + Counts(**{key: value * count for key, value in fold.items()})
    return Counts(**{**total.as_dict(), "psum_reads": _later_k_outputs(plan)})


def _fold_counts(flow, sizes, R: int) -> dict[str, int]:
    """One fold's counts (psum reads left to the caller: they depend on where the fold sits in K)."""
    s = sizes._asdict()
    r, c = s[flow.held[0]], s[flow.held[1]]
    macs = s["m"] * s["k"] * s["n"]
    if not flow.preloads:  # output-stationary: r×c sums stay; K activations per row, K weights per column
        k = s["k"]
        moved = {"activation_reads": k * r, "weight_reads": k * c, "activation_hops": k * r * (c - 1),
                 "weight_hops": k * c * (r - 1), "psum_hops": c * (r * (R - 1) - r * (r - 1) // 2),
                 "psum_writes": r * c}
    else:
        T = s[flow.streamed]
        held, moving = flow.stationary, flow.moving("right")
        moved = {f"{held}_reads": r * c, f"{held}_hops": c * r * (r - 1) // 2, f"{moving}_reads": T * r,
                 f"{moving}_hops": T * r * (c - 1), "psum_hops": T * c * (R - 1), "psum_writes": T * c}
    return {"macs": macs, "register_accesses": 2 * macs, **moved}


def _later_k_outputs(plan) -> int:
    """Partial sums read back: every result of a fold that is not the first of its outputs' folds over K."""
    if "k" not in plan.flow.held:
        return 0
    other = plan.flow.held[1] if plan.flow.held[0] == "k" else plan.flow.held[0]
    outputs = plan.stream * plan.sizes._asdict()[other]
    k_folds = math.ceil(plan.k / (plan.rows if plan.flow.held[0] == "k" else plan.cols))
    return outputs * (k_folds - 1)


# --------------------------------------------------------------------------- DRAM


@dataclass(frozen=True)
class Buffers:
    """On-chip buffer sizes in bytes. The default is TPU v1's: a 24 MiB Unified Buffer for activations, 4 MiB of
    accumulators, and a weight FIFO four 64 KiB tiles deep (Jouppi et al., ISCA 2017, section 2)."""

    activation: int = 24 * 2**20
    weight: int = 4 * 64 * 2**10
    accumulator: int = 4 * 2**20

    @classmethod
    def parse(cls, text: str) -> Buffers:
        """Buffers from "ACTIVATION,WEIGHT,ACCUMULATOR" sizes such as "24MiB,256KiB,4MiB" (units B, KB, KiB, MB,
        MiB, GB, GiB; a bare number is bytes)."""
        parts = [part.strip() for part in str(text).split(",")]
        if len(parts) != 3:
            raise ValueError(f"buffer sizes {str(text)[:60]!r} should be three sizes, activation,weight,accumulator "
                             "(e.g. 24MiB,256KiB,4MiB)")
        return cls(*(_bytes(part) for part in parts))

    def __post_init__(self) -> None:
        for name in ("activation", "weight", "accumulator"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"the {name} buffer must be a whole number of bytes ≥ 0, got {value!r}")


_UNITS = {"b": 1, "kb": 1000, "kib": 2**10, "mb": 1000**2, "mib": 2**20, "gb": 1000**3, "gib": 2**30}


def _bytes(text: str) -> int:
    number = text.rstrip("BbIiKkMmGg")
    unit = text[len(number):].strip().lower() or "b"
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or not math.isfinite(value) or value < 0 or value * _UNITS[unit] % 1:
        raise ValueError(f"buffer size {text[:30]!r} is not a whole number of bytes ≥ 0 with a unit of "
                         "B, KB, KiB, MB, MiB, GB or GiB (e.g. 256KiB)")
    return int(value * _UNITS[unit])


@dataclass(frozen=True)
class DramTraffic:
    """Values moved between DRAM (or HBM) and the on-chip buffers, and the policy that decided it."""

    activation_reads: int
    weight_reads: int
    psum_reads: int
    psum_writes: int
    notes: tuple[str, ...]
    spilled: bool = False  # the partial sums did not fit the accumulators: psum_* are 32-bit spills

    @property
    def values(self) -> int:
        return self.activation_reads + self.weight_reads + self.psum_reads + self.psum_writes

    def __repr__(self) -> str:
        return (f"DramTraffic(reads: activation {self.activation_reads:,}, weight {self.weight_reads:,}, psum "
                f"{self.psum_reads:,}; writes {self.psum_writes:,})")


def dram_traffic(plan, counts: Counts, operand_bytes: int, accumulator_bytes: int = 4,
                 buffers: Buffers | None = None) -> DramTraffic:
    """DRAM traffic of a run of ``plan`` with these buffers (the policy is in the module's docstring)."""
    buffers = buffers or Buffers()
    m, k, n = plan.m, plan.k, plan.n
    notes = []

    def operand(name: str, size: int, capacity: int) -> int:
        if size * operand_bytes <= capacity:
            notes.append(f"{name}s fit their buffer ({size * operand_bytes:,} ≤ {capacity:,} bytes): read once")
            return size
        notes.append(f"{name}s do not fit their buffer ({size * operand_bytes:,} > {capacity:,} bytes): every fold "
                     "fetches its tile again")
        return counts.reads(name)

    activations = operand("activation", m * k, buffers.activation)
    weights = operand("weight", k * n, buffers.weight)
    live = _live_outputs(plan) * accumulator_bytes
    if live <= buffers.accumulator:
        notes.append(f"the partial sums live at once fit the accumulators ({live:,} ≤ {buffers.accumulator:,} bytes)")
        reads, writes = 0, m * n
    else:
        notes.append(f"the partial sums live at once ({live:,} bytes) spill out of the accumulators "
                     f"({buffers.accumulator:,} bytes): every one goes to DRAM and back")
        reads, writes = counts.psum_reads, counts.psum_writes
    return DramTraffic(activations, weights, reads, writes, tuple(notes), spilled=live > buffers.accumulator)


def _live_outputs(plan) -> int:
    """Outputs whose partial sums must wait in the accumulators at once (0: they stay in the PEs)."""
    flow = plan.flow
    if "k" not in flow.held:
        return 0
    if flow.fold_order[0] == "k":
        return plan.m * plan.n
    other = flow.fold_order[0]
    step = plan.rows if flow.held[0] == other else plan.cols
    return plan.stream * min(step, plan.sizes._asdict()[other])
