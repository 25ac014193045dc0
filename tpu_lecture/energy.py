"""Where the energy goes: the simulator's counts of every operand movement, priced in picojoules by level.

A multiply-accumulate costs about a picojoule; fetching its operands from DRAM costs hundreds of times
more. A systolic array wins by reuse, and the simulator counts the reuse exactly
(:mod:`tpu_lecture.sim.counts`); this module prices each count with published figures, per number
format and level (MAC, register, PE-to-PE hop, SRAM buffer, DRAM), and prices the same work on two
baseline **models**: a CPU-like one (every operand from cache, every result written back) and a
GPU-like one (operands reused from the register file). They are models, not measurements: no
instruction fetch, control, clock tree or leakage is priced (see :data:`LEFT_OUT`).

Sources, every figure:
- Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm at 0.9 V:
  8-bit integer multiply 0.2 pJ, 32-bit integer add 0.1 pJ, 16-bit float multiply 1.1 pJ, 32-bit float
  multiply 3.7 pJ and add 0.9 pJ; a 64-bit SRAM read about 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB);
  DRAM 1.3–2.6 nJ per 64 bits (the low end is used here, which favours no one: it shrinks DRAM's share).
- Chen, Emer and Sze, "Eyeriss", ISCA 2016, and Sze, Chen, Yang and Emer, "Efficient Processing of Deep
  Neural Networks: A Tutorial and Survey", Proc. IEEE 2017 (65 nm): an operand access costs about 1× a
  MAC at the PE's register file, 2× from a neighbouring PE, 6× from the global buffer, 200× from DRAM.
  Horowitz has no register or wire figure, so the ``"horowitz"`` table takes those two from Eyeriss's
  ratios times the format's MAC; the ``"eyeriss"`` table uses the normalised ratios throughout.
- bfloat16 has no figure of its own in Horowitz: its multiply is priced as float16's (1.1 pJ), an
  upper bound, since bfloat16's 8-bit significand needs a smaller multiplier than float16's 11-bit one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tpu_lecture.sim.counts import Buffers, Counts, DramTraffic, dram_traffic

HOROWITZ = "Horowitz, ISSCC 2014, 45 nm"
EYERISS = "Chen et al., Eyeriss, ISCA 2016 / Sze et al., Proc. IEEE 2017 (normalised to a MAC)"
LEVELS = ("MAC", "register", "PE hop", "SRAM buffer", "DRAM")
FORMATS = ("int8", "bfloat16", "float16", "float32")
OPERAND_BYTES = {"int8": 1, "bfloat16": 2, "float16": 2, "float32": 4}
ACCUMULATOR_BYTES = 4  # int8 sums in int32, the floats in float32 (the MXU's rule, and TPU v1's 32-bit accumulators)
SOURCES = ("horowitz", "eyeriss")
LEFT_OUT = ("instruction fetch and decode", "control and clock tree", "leakage (static power)",
            "the host and its interconnect", "DRAM refresh and I/O beyond the access itself")

# Horowitz 2014, 45 nm: a MAC = a multiply in the operand format + an add in the accumulator format.
_MULTIPLY_PJ = {"int8": 0.2, "bfloat16": 1.1, "float16": 1.1, "float32": 3.7}
_ADD_PJ = {"int8": 0.1, "bfloat16": 0.9, "float16": 0.9, "float32": 0.9}  # int32 add; float32 add
_SRAM_PJ_PER_BYTE = {"8 KB": 10 / 8, "32 KB": 20 / 8, "1 MB": 100 / 8}  # 64-bit reads
_DRAM_PJ_PER_BYTE = 1300 / 8
_EYERISS_RATIO = {"register": 1, "PE hop": 2, "SRAM buffer": 6, "DRAM": 200}


def check_format(fmt: str) -> str:
    """``fmt`` if it is a format the energy table knows; ValueError naming the choices otherwise."""
    if fmt not in OPERAND_BYTES:
        raise ValueError(f"unknown number format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown energy table {source!r}: use 'horowitz' (45 nm picojoules) or 'eyeriss' "
                         "(costs normalised to a MAC)")
    return source


@dataclass(frozen=True)
class EnergyTable:
    """Energy per MAC and per byte moved at each level, for one number format, with the source of each figure."""

    fmt: str
    mac_pj: float
    pj_per_byte: dict[str, float]  # level → pJ per byte accessed
    sources: dict[str, str]
    cache_pj_per_byte: float  # the baselines' caches: a 32 KB L1 (CPU), an 8 KB register file (GPU)
    register_file_pj_per_byte: float

    def access_pj(self, level: str, nbytes: int) -> float:
        """Energy of one access of ``nbytes`` at ``level``."""
        return self.pj_per_byte[level] * nbytes

    def rows(self) -> list[dict]:
        """The table for people: level, pJ per operand value (and per 32-bit partial sum), relative to a MAC, source."""
        size = OPERAND_BYTES[self.fmt]
        out = [{"level": "MAC", "pJ per value": self.mac_pj, "pJ per partial sum": None, "× a MAC": 1.0,
                "source": self.sources["MAC"]}]
        for level in LEVELS[1:]:
            value = self.access_pj(level, size)
            out.append({"level": level, "pJ per value": value, "pJ per partial sum": self.access_pj(level, 4),
                        "× a MAC": value / self.mac_pj, "source": self.sources[level]})
        return out


def table(fmt: str = "int8", source: str = "horowitz") -> EnergyTable:
    """The energy table for operands in ``fmt`` from ``source`` ("horowitz": 45 nm pJ; "eyeriss": normalised)."""
    fmt, source = check_format(fmt), _check_source(source)
    size = OPERAND_BYTES[fmt]
    mac = _MULTIPLY_PJ[fmt] + _ADD_PJ[fmt]
    ratio = {level: _EYERISS_RATIO[level] * mac / size for level in _EYERISS_RATIO}  # per byte, from a value's cost
    if source == "eyeriss":
        per_byte, sources = ratio, dict.fromkeys(_EYERISS_RATIO, EYERISS)
    else:
        per_byte = {"register": ratio["register"], "PE hop": ratio["PE hop"],
                    "SRAM buffer": _SRAM_PJ_PER_BYTE["1 MB"], "DRAM": _DRAM_PJ_PER_BYTE}
        sources = {"register": EYERISS, "PE hop": EYERISS, "SRAM buffer": f"{HOROWITZ}, 1 MB SRAM, 100 pJ / 64 bits",
                   "DRAM": f"{HOROWITZ}, DRAM 1.3 nJ / 64 bits (low end of 1.3–2.6)"}
    sources["MAC"] = (f"{HOROWITZ}: {fmt} multiply {_MULTIPLY_PJ[fmt]} pJ + "
                      f"{'int32' if fmt == 'int8' else 'float32'} add {_ADD_PJ[fmt]} pJ")
    return EnergyTable(fmt, mac, per_byte, sources, _SRAM_PJ_PER_BYTE["32 KB"], _SRAM_PJ_PER_BYTE["8 KB"])


@dataclass(frozen=True)
class EnergySplit:
    """A product's energy by level, in picojoules, with the MACs it did; ``model`` says what was priced."""

    label: str
    macs: int
    pj: dict[str, float]
    model: str
    notes: tuple[str, ...] = field(default=())

    @property
    def total_pj(self) -> float:
        return sum(self.pj.values())

    @property
    def per_mac_pj(self) -> float:
        return self.total_pj / self.macs

    def share(self, level: str) -> float:
        """The fraction of the energy spent at ``level``."""
        return self.pj[level] / self.total_pj

    def __repr__(self) -> str:
        parts = ", ".join(f"{level} {self.share(level):.0%}" for level in LEVELS if self.pj.get(level))
        return f"EnergySplit({self.label}: {self.per_mac_pj:.2f} pJ per MAC; {parts})"


def price(counts: Counts, dram: DramTraffic, fmt: str = "int8", source: str = "horowitz",
          label: str = "systolic array") -> EnergySplit:
    """A systolic run's energy by level from its counts and its DRAM traffic."""
    t = table(fmt, source)
    size, acc = OPERAND_BYTES[fmt], ACCUMULATOR_BYTES
    operand_hops = counts.activation_hops + counts.weight_hops
    result_bytes = acc if dram.spilled else size  # finished results leave in the operand format, spills in 32 bits
    pj = {
        "MAC": counts.macs * t.mac_pj,
        "register": counts.register_accesses * t.access_pj("register", size),
        "PE hop": operand_hops * t.access_pj("PE hop", size) + counts.psum_hops * t.access_pj("PE hop", acc),
        "SRAM buffer": (counts.activation_reads + counts.weight_reads) * t.access_pj("SRAM buffer", size)
        + (counts.psum_reads + counts.psum_writes) * t.access_pj("SRAM buffer", acc),
        "DRAM": (dram.activation_reads + dram.weight_reads) * t.access_pj("DRAM", size)
        + dram.psum_reads * t.access_pj("DRAM", acc) + dram.psum_writes * t.access_pj("DRAM", result_bytes),
    }
    return EnergySplit(label, counts.macs, pj, f"{t.fmt}, {source} table", dram.notes)


def of_plan(plan, fmt: str = "int8", buffers: Buffers | None = None, source: str = "horowitz",
            counts: Counts | None = None) -> EnergySplit:
    """The energy of a product on the array by its schedule (closed-form counts unless a run's ``counts`` are
    given), with DRAM traffic for ``buffers`` (default: TPU v1's)."""
    counts = plan.counts if counts is None else counts
    dram = dram_traffic(plan, counts, OPERAND_BYTES[check_format(fmt)], ACCUMULATOR_BYTES, buffers)
    return price(counts, dram, fmt, source, label=plan.flow.label)


def of_run(run, fmt: str = "int8", buffers: Buffers | None = None, source: str = "horowitz") -> EnergySplit:
    """The energy of a stepped run, from the counts it made while stepping."""
    return of_plan(run.schedule, fmt, buffers, source, counts=run.counts)


def _compulsory_dram(m: int, k: int, n: int, t: EnergyTable) -> float:
    """Each input read from DRAM once, each result written once: the least any machine moves."""
    return (m * k + k * n + m * n) * t.access_pj("DRAM", OPERAND_BYTES[t.fmt])


def cpu_like(m: int, k: int, n: int, fmt: str = "int8", source: str = "horowitz") -> EnergySplit:
    """A MODEL of a CPU doing the same MACs: both operands loaded from a 32 KB L1 cache for every MAC, the
    partial sum read from it and written back, the values passing through registers, DRAM touched once per value."""
    t, macs = table(fmt, source), m * k * n
    size, acc = OPERAND_BYTES[fmt], ACCUMULATOR_BYTES
    pj = {"MAC": macs * t.mac_pj, "register": macs * 4 * t.access_pj("register", size), "PE hop": 0.0,
          "SRAM buffer": macs * (2 * size + 2 * acc) * t.cache_pj_per_byte, "DRAM": _compulsory_dram(m, k, n, t)}
    return EnergySplit("CPU-like (model)", macs, pj, f"{fmt}: every operand from a 32 KB cache "
                       f"({HOROWITZ}: 20 pJ / 64 bits), every result written back")


def gpu_like(m: int, k: int, n: int, fmt: str = "int8", source: str = "horowitz", reuse: int = 8) -> EnergySplit:
    """A MODEL of a GPU doing the same MACs: each operand read from a 32 KB shared memory once per ``reuse`` MACs
    (register blocking), every MAC reading its operands and partial sum from an 8 KB-class register file."""
    if isinstance(reuse, bool) or not isinstance(reuse, int) or reuse < 1:
        raise ValueError(f"reuse must be a whole number of MACs ≥ 1 per operand read, got {reuse!r}")
    t, macs = table(fmt, source), m * k * n
    size, acc = OPERAND_BYTES[fmt], ACCUMULATOR_BYTES
    pj = {"MAC": macs * t.mac_pj, "register": macs * (2 * size + 2 * acc) * t.register_file_pj_per_byte,
          "PE hop": 0.0, "SRAM buffer": 2 * macs / reuse * size * t.cache_pj_per_byte,
          "DRAM": _compulsory_dram(m, k, n, t)}
    return EnergySplit("GPU-like (model)", macs, pj, f"{fmt}: register-file reuse, each operand read from shared "
                       f"memory once per {reuse} MACs ({HOROWITZ}: 8 KB / 32 KB SRAM)")


def compare(m: int, k: int, n: int, rows: int = 128, cols: int = 128, fmt: str = "int8",
            buffers: Buffers | None = None, source: str = "horowitz", load: str | None = None) -> list[EnergySplit]:
    """The same product priced on the array in each dataflow (closed forms) and on the two baseline models."""
    from tpu_lecture.sim.array import schedule

    runs = [of_plan(schedule(m, k, n, rows, cols, flow, None if flow == "os" else load), fmt, buffers, source)
            for flow in ("ws", "os", "is")]
    return [*runs, gpu_like(m, k, n, fmt, source), cpu_like(m, k, n, fmt, source)]
