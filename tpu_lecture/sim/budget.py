"""How big a run is before it starts: its cycles, time and memory from the closed forms, in O(1).

:func:`estimate` reads the cycles from the schedule's closed forms (no per-fold lists, so even a
product of 20000³ on a 1×1 array is sized at once), the memory from the arrays the simulator will
allocate, and the time from the cost of one stepped cycle measured on the lecture's reference
machine. :meth:`RunEstimate.refuse` turns the limits into errors that give the numbers and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tpu_lecture.sim.schedule import Schedule
from tpu_lecture.sim.tape import check_size, frame_bytes

# Seconds per stepped cycle ≈ a + b · R · C, keep_frames=False, numbers: CPU time measured on the 2-core development
# machine (2026-12-02, NumPy 2): 6.6 µs a cycle on 1×1 … 8×8, 19 µs on 128×128 with one fold in flight, 26 µs with
# two (benchmarks/bench_systolic.py, the MLP layer), 59 µs on 256×256; rounded up to cover overlapping folds.
SECONDS_PER_CYCLE = 8e-6
SECONDS_PER_PE_CYCLE = 1.0e-9
OBJECT_SLOWDOWN = 60.0  # sympy symbols: 595 µs a cycle on 8×8, measured the same way (Python ints: about 2×)
# The simulator's own arrays beyond the frames (the PEs' registers, the result, each fold's skewed stream):
# past this it refuses before allocating anything.
MAX_STATE_BYTES = 4 << 30
_REGISTERS = 12  # R×C arrays the stepping keeps (values, next values, held, shadow, control, …)


def _count(value: int | float) -> str:
    """A count as a line can hold it: 393,598, or 1.00e+29 past a quadrillion (exact, whatever its size)."""
    value = round(value)
    if abs(value) < 10**15:
        return f"{value:,}"
    digits = str(abs(value))
    return f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"


def _human_seconds(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{_count(seconds / size)} {unit}"
    return f"{seconds:,.1f} s"


def _human_bytes(size: int) -> str:
    if size < 2**30:
        return f"{size / 2**20:,.1f} MiB"
    return f"{size / 2**30:,.1f} GiB" if size < 2**40 else f"{_count(size // 2**30)} GiB"


@dataclass(frozen=True)
class RunEstimate:
    """A run's size before it starts: its schedule (cycles in closed form), the bytes it allocates, its time."""

    schedule: Schedule
    dtype: np.dtype
    keep_frames: bool

    @property
    def objects(self) -> bool:
        """Whether the values are Python objects (sympy symbols, exact ints): stepped far more slowly."""
        return self.dtype.kind == "O"

    @property
    def itemsize(self) -> int:
        return 8 if self.objects else self.dtype.itemsize

    @property
    def cycles(self) -> int:
        return self.schedule.cycles

    @property
    def frame_bytes(self) -> int:
        """Bytes of the frames kept (0 without them)."""
        plan = self.schedule
        return frame_bytes(plan.cycles, plan.rows, plan.cols, self.itemsize) if self.keep_frames else 0

    @property
    def state_bytes(self) -> int:
        """Bytes of the simulator's own arrays: registers, A, W and Y, one fold's skewed stream and results."""
        plan = self.schedule
        stream = plan.stream + plan.rows + plan.cols
        per_fold = 2 * stream * max(plan.rows, plan.cols)
        operands = plan.m * plan.k + plan.k * plan.n + plan.m * plan.n
        return self.itemsize * (_REGISTERS * plan.rows * plan.cols + operands + per_fold)

    @property
    def seconds(self) -> float:
        """Estimated time to step the run here: cycles × the measured cost of one cycle of an R×C array."""
        plan = self.schedule
        per_cycle = SECONDS_PER_CYCLE + SECONDS_PER_PE_CYCLE * plan.rows * plan.cols
        return float(min(plan.cycles, 10**300)) * per_cycle * (OBJECT_SLOWDOWN if self.objects else 1.0)

    def describe(self) -> str:
        """One line: the cycles, the time and the memory."""
        plan = self.schedule
        frames = f" + {_human_bytes(self.frame_bytes)} of frames" if self.keep_frames else ""
        folds = f"{_count(plan.folds)} fold{'s' if plan.folds != 1 else ''}"
        return (f"{_count(plan.cycles)} cycles of a {_count(plan.rows)}x{_count(plan.cols)} array ({folds}): about "
                f"{_human_seconds(self.seconds)} to step here, {_human_bytes(self.state_bytes)} of arrays{frames}")

    def refuse(self, max_seconds: float | None = None, max_frames: int | None = None, fix: str = "") -> None:
        """Raise ValueError, with the numbers and ``fix``, if the run is beyond memory, time or frame limits.

        Memory always counts (its fix is always a smaller product); time and frames only where a limit is given.
        """
        plan, why = self.schedule, None
        if self.keep_frames:
            check_size(plan, self.dtype)
        if self.state_bytes > MAX_STATE_BYTES:
            why = f"its arrays would not fit in the {_human_bytes(MAX_STATE_BYTES)} the simulator allows itself"
            fix = "simulate a smaller product (A, W and the result Y are part of it) or a smaller array"
        elif max_frames is not None and plan.cycles > max_frames:
            why = f"an animation shows one frame per cycle, at most {max_frames:,}"
        elif max_seconds is not None and self.seconds > max_seconds:
            why = f"stepping it would take longer than the {max_seconds:,.0f} s allowed"
        if why is not None:
            raise ValueError(f"this run is too big: {why} ({self.describe()}){': ' + fix if fix else ''}")

    def __repr__(self) -> str:
        return f"RunEstimate({self.describe()})"


def estimate(plan: Schedule, dtype=np.int64, keep_frames: bool = False) -> RunEstimate:
    """The size of stepping ``plan`` with values of ``dtype`` (O(1): nothing is allocated, no fold is listed)."""
    return RunEstimate(plan, np.dtype(dtype), keep_frames)
