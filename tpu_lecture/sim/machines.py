"""Three machines doing the same matrix product, by cycle count: a scalar CPU core, a vector unit, a
systolic matrix unit (the TPU's MXU).

The scalar machine does one MAC per cycle, the vector machine one row of ``lanes`` MACs, the matrix
machine a whole R×C array of them once its pipeline is full; its cycles come from the simulator's
own closed form, so the counts here and the stepped simulator agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tpu_lecture.checks import whole_number
from tpu_lecture.macs import matmul_macs
from tpu_lecture.sim.array import Utilization, schedule


def scalar_cycles(m: int, k: int, n: int) -> int:
    """Cycles of an M×K×N product on a scalar machine: one MAC per cycle."""
    return matmul_macs(m, k, n)


def vector_cycles(m: int, k: int, n: int, lanes: int) -> int:
    """Cycles on a vector machine with ``lanes`` lanes: each cycle multiplies one activation by a
    vector of up to ``lanes`` weights from one row of W (M·K·⌈N/lanes⌉ cycles)."""
    matmul_macs(m, k, n)
    return m * k * math.ceil(n / whole_number("lanes", lanes))


@dataclass(frozen=True)
class MatrixCycles(Utilization):
    """Cycle count of an M×K×N product on an R×C systolic array, read from the dataflow's schedule.

    The same words as a simulated run: ``compute_cycles`` (a fold in flight and computing),
    ``load_cycles`` (the array only loads a tile), ``stall_cycles`` and ``drain_cycles``, ``cycles`` =
    their sum; ``utilization`` over all the cycles, ``compute_utilization`` over the compute cycles only.
    """

    m: int
    k: int
    n: int
    rows: int
    cols: int
    folds: int
    compute_cycles: int
    load_cycles: int
    dataflow: str = "weight_stationary"
    loading: str | None = "double"
    stall_cycles: int = 0
    drain_cycles: int = 0

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    @property
    def cycles(self) -> int:
        """Total cycles: compute + the loads not hidden + stalls + drains."""
        return self.compute_cycles + self.load_cycles + self.stall_cycles + self.drain_cycles

    @property
    def macs_per_cycle(self) -> float:
        """MACs done per cycle, averaged over the whole run (at most rows·cols)."""
        return self.macs / self.cycles

    def __repr__(self) -> str:
        mode = f", {self.loading} loading" if self.loading else ""
        return (
            f"MatrixCycles({self.m}×{self.k}×{self.n} on {self.rows}×{self.cols} {self.dataflow.replace('_', '-')}"
            f"{mode}: {self.folds:,} folds, {self.cycles:,} cycles = {self.compute_cycles:,} compute + "
            f"{self.load_cycles:,} load, {self.macs_per_cycle:,.1f} MACs/cycle, utilization {self.utilization:.1%})"
        )


def matrix_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str = "ws",
                  load: str | None = None) -> MatrixCycles:
    """Cycles of an M×K×N product on an R×C systolic array (closed form, O(1)), for any dataflow and loading mode.

    The folds and cycles are the simulator's own :func:`~tpu_lecture.sim.array.schedule`, so the two
    agree. Weight-stationary (the MXU's default): W is cut into ⌈K/R⌉·⌈N/C⌉ folds of at most R×C
    weights; each streams all M activation rows through the array in M + R + c − 2 cycles (skew in,
    M rows, drain out; c = the fold's used columns). Each tile takes R cycles to shift in: before its
    fold (``load="serial"``) or, double-buffered (the default), while the previous fold computes.
    """
    plan = schedule(m, k, n, rows, cols, dataflow, load)
    return MatrixCycles(m, k, n, rows, cols, plan.folds, plan.compute_cycles, plan.load_cycles, plan.dataflow,
                        plan.loading.name if plan.loading else None, plan.stall_cycles, plan.drain_cycles)


def compare_machines(
    m: int, k: int, n: int, lanes: int = 128, rows: int = 128, cols: int = 128, load: str | None = None
) -> list[dict[str, Any]]:
    """One row per machine (scalar, vector, matrix) for the same M×K×N product, for a table.

    ``macs_per_cycle`` is also the speedup over the scalar machine (which does 1). The matrix
    machine's ``cycles`` include its weight loads not hidden by double buffering
    (``weight_load_cycles``; ``load="serial"`` loads each tile before its fold) and its stalls (a fold
    waiting for its tile); its ``compute_cycles`` leave both out.

    The defaults are teaching choices, not a real chip: 128×128 is the MXU of TPU v2–v5 (Cloud TPU
    system architecture docs), and 128 vector lanes make the vector machine one MXU row wide, so
    the two differ only in having one dimension or two.
    """
    base = scalar_cycles(m, k, n)
    matrix = matrix_cycles(m, k, n, rows, cols, load=load)
    vector = vector_cycles(m, k, n, lanes)
    machines = [
        ("scalar (CPU)", 1, base, base, 0, 0),
        (f"vector, {lanes} lanes (GPU)", lanes, vector, vector, 0, 0),
        (f"matrix, {rows}×{cols} (TPU MXU)", rows * cols, matrix.cycles, matrix.compute_cycles, matrix.load_cycles,
         matrix.stall_cycles),
    ]
    return [
        {
            "machine": name,
            "peak_macs_per_cycle": peak,
            "cycles": cycles,
            "compute_cycles": compute,
            "weight_load_cycles": load_cycles,
            "stall_cycles": stall,
            "macs_per_cycle": base / cycles,
            "utilization": base / (peak * cycles),
        }
        for name, peak, cycles, compute, load_cycles, stall in machines
    ]
