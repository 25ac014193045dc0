"""A table of chips (TPU generations, GPUs, CPUs): peak rates, memory bandwidth, and where each number comes from.

``get("TPU v5e")`` looks a chip up by its canonical name; ``match("TPU v5 lite")`` maps a device name as a
runtime reports it (JAX's ``device_kind``, TensorFlow's device details, ``/proc/cpuinfo``) onto the table.
Peak rates count 1 MAC as 2 FLOPs and are dense (no sparsity). A chip has one peak per number format it
multiplies in (``chip.peak("float32")``, ``chip.peak("bfloat16")``): a percentage of peak must use the
format that ran. Every figure names its source: the TPU v1 paper, Google's Cloud TPU pages, NVIDIA's
datasheets. Every TPU is dated (``chip.dates``: in service or announced, each with its source), and
``timeline()`` lists them in order.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Sources.
JOUPPI_2017 = ("Jouppi et al., 'In-Datacenter Performance Analysis of a Tensor Processing Unit', ISCA 2017, "
               "arXiv:1704.04760")
CLOUD_TPU_DOCS = "Google Cloud TPU documentation, system architecture pages"
SCALING_BOOK = "'How to Scale Your Model' (jax-ml scaling-book), TPU chapter"
NVIDIA_DATASHEET = "NVIDIA H100 / H200 Tensor Core GPU datasheets (SXM parts, dense)"
JAX_DEVICE_MODEL = ("JAX shows each TensorCore of a v2/v3 chip as its own device; v4 and v5p join their two "
                    "TensorCores into one device (megacore)")

GOOGLE_IO_2017 = "Google blog, 'Build and train machine learning models on our new Google Cloud TPUs', 17 May 2017"
GOOGLE_IO_2018 = "Google I/O 2018 keynote, 8 May 2018: the third-generation TPU"
GOOGLE_IO_2021 = ("Google I/O 2021 keynote, 18 May 2021: TPU v4 pods; described in Jouppi et al., 'TPU v4: An "
                  "Optically Reconfigurable Supercomputer for Machine Learning', ISCA 2023, arXiv:2304.01433")
V5E_BLOG = "Google Cloud blog, Cloud TPU v5e announced at Google Cloud Next, 29 August 2023"
V5P_BLOG = "Google Cloud blog, 'Introducing Cloud TPU v5p and AI Hypercomputer', 6 December 2023"
TRILLIUM_BLOG = "Google Cloud blog, 'Introducing Trillium, sixth-generation TPUs', Google I/O, 14 May 2024"
IRONWOOD_BLOG = ("Google blog, 'Ironwood: the first Google TPU for the age of inference', Google Cloud Next, "
                 "9 April 2025")

GB = 1e9
GIB = 2**30
TERA = 1e12


@dataclass(frozen=True)
class Dated:
    """When something happened to a chip ("2017-05" or "2015"), what it was, and where that is written."""

    date: str
    event: str
    source: str

    @property
    def year(self) -> int:
        return int(self.date[:4])

    def __repr__(self) -> str:
        return f"Dated({self.date}, {self.event})"


@dataclass(frozen=True)
class Chip:
    """One chip with its peak compute, memory and the source of every number."""

    name: str
    kind: str  # "tpu", "gpu" or "cpu"
    peak_flops: float  # FLOP/s (1 MAC = 2 FLOPs) in peak_dtype, dense
    peak_dtype: str
    memory_bandwidth: float | None  # bytes/s of the main memory (HBM, DDR)
    source: str
    memory_bytes: float | None = None
    memory_kind: str | None = None
    tensorcores: int | None = None
    mxus_per_tensorcore: int | None = None
    mxu: tuple[int, int] | None = None  # (rows, cols) of one matrix unit
    devices_per_chip: int | None = 1  # how many framework devices one chip shows up as (None: not known)
    estimate: bool = False
    notes: str = ""
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = field(default=(), repr=False)  # regexes over normalised runtime device names
    other_peaks: tuple[tuple[str, float], ...] = ()  # (format, FLOP/s) besides the headline peak_dtype
    dates: tuple[Dated, ...] = ()  # when it entered service or was announced, each with its source

    @property
    def year(self) -> int | None:
        """The year of the chip's first date (in service or announced), None where the table has none."""
        return min(d.year for d in self.dates) if self.dates else None

    @property
    def memory_per_tensorcore(self) -> float | None:
        """Bytes of main memory (HBM from v2 on) per TensorCore, where the table knows both (TPU v2: 8 GiB)."""
        if self.memory_bytes is None or not self.tensorcores:
            return None
        return self.memory_bytes / self.tensorcores

    @property
    def peaks(self) -> dict[str, float]:
        """Peak FLOP/s (int8: ops/s) per number format the chip multiplies in, the headline one included."""
        return {self.peak_dtype: self.peak_flops, **dict(self.other_peaks)}

    def peak(self, dtype: str, per_device: bool = False) -> float | None:
        """Peak in ``dtype`` ("float32", "tfloat32", "bfloat16", "float16", "int8"), None where the
        source gives none (a TPU's float32, say, which it computes in several bfloat16 passes)."""
        value = self.peaks.get(DTYPE_NAMES.get(str(dtype).lower(), str(dtype).lower()))
        if value is None or not per_device:
            return value
        return value / (self.devices_per_chip or 1)

    @property
    def peak_flops_per_device(self) -> float:
        """Peak FLOP/s of one framework device (a v2/v3 TensorCore is half a chip)."""
        return self.peak_flops / (self.devices_per_chip or 1)

    @property
    def macs_per_cycle(self) -> int | None:
        """MACs per cycle of all the chip's matrix units together, where the table knows them."""
        if self.mxu is None or self.tensorcores is None or self.mxus_per_tensorcore is None:
            return None
        return self.mxu[0] * self.mxu[1] * self.tensorcores * self.mxus_per_tensorcore

    @property
    def ridge_point(self) -> float:
        """FLOPs per byte at which the roofline turns from memory-bound to compute-bound."""
        from tpu_lecture.roofline import ridge_point

        return ridge_point(self.peak_flops, self._bandwidth())

    def attainable_flops(self, intensity: float) -> float:
        """The roofline: FLOP/s reachable at ``intensity`` FLOPs per byte, min(peak, bandwidth x intensity)."""
        from tpu_lecture.roofline import attainable_flops

        return attainable_flops(intensity, self.peak_flops, self._bandwidth())

    def _bandwidth(self) -> float:
        if self.memory_bandwidth is None:
            raise ValueError(f"{self.name} has no memory bandwidth in the table: the roofline needs one; "
                             "pass memory_bandwidth= (bytes/s) to cpu_estimate() or use a chip that has it")
        return self.memory_bandwidth

    def summary(self) -> str:
        """One line: name, peak, bandwidth, ridge point."""
        parts = [f"{self.name}: {self.peak_flops / TERA:g} TFLOP/s {self.peak_dtype}"]
        if self.memory_bandwidth is not None:
            parts.append(f"{self.memory_bandwidth / GB:g} GB/s")
            parts.append(f"ridge {self.ridge_point:.0f} FLOPs/byte")
        if self.estimate:
            parts.append("(estimate)")
        return ", ".join(parts)

    def __repr__(self) -> str:
        bandwidth = "unknown" if self.memory_bandwidth is None else f"{self.memory_bandwidth / GB:g} GB/s"
        label = " estimate" if self.estimate else ""
        return (f"Chip({self.name!r}, {self.kind}, peak {self.peak_flops / TERA:g} TFLOP/s {self.peak_dtype}, "
                f"memory {bandwidth}{label})")


# Other spellings of the number formats, mapped onto the names the table uses.
DTYPE_NAMES = {"fp32": "float32", "f32": "float32", "tf32": "tfloat32", "bf16": "bfloat16", "fp16": "float16",
               "f16": "float16", "half": "float16", "i8": "int8"}

_TPU_SUFFIX = r"(?![\w.])"

CHIPS: tuple[Chip, ...] = (
    Chip(
        "TPU v1", "tpu",
        peak_flops=92 * TERA, peak_dtype="int8",  # 65,536 MACs x 0.7 GHz x 2 ops (Jouppi 2017)
        memory_bandwidth=34 * GB, memory_bytes=8 * GIB, memory_kind="DDR3",  # Jouppi 2017
        tensorcores=1, mxus_per_tensorcore=1, mxu=(256, 256),
        source=JOUPPI_2017,
        notes=("8-bit integer inference chip at 700 MHz, TDP 75 W; its TOPS count a MAC as 2 ops, but the paper's "
               "roofline and ridge point count a MAC as 1 op"),
        patterns=(r"\btpu ?v1" + _TPU_SUFFIX,),
        dates=(Dated("2015", "in service in Google's datacenters", JOUPPI_2017),
               Dated("2017", "described in the paper (ISCA 2017)", JOUPPI_2017)),
    ),
    Chip(
        "TPU v2", "tpu",
        peak_flops=45 * TERA, peak_dtype="bfloat16",  # lecture era figure; not on today's Cloud TPU pages
        memory_bandwidth=700 * GB,  # not confirmed by today's Cloud TPU pages
        memory_bytes=16 * GIB, memory_kind="HBM",  # 8 GiB per TensorCore
        tensorcores=2, mxus_per_tensorcore=1, mxu=(128, 128), devices_per_chip=2,
        source=f"{CLOUD_TPU_DOCS} (cores, MXUs, HBM); peak is the lecture era's 45 TFLOPS, bandwidth not confirmed",
        notes="45 TFLOPS and 700 GB/s are not on today's Cloud TPU pages; " + JAX_DEVICE_MODEL,
        patterns=(r"\btpu ?v2" + _TPU_SUFFIX,),
        dates=(Dated("2017-05", "announced as Cloud TPU at Google I/O", GOOGLE_IO_2017),),
    ),
    Chip(
        "TPU v3", "tpu",
        peak_flops=123 * TERA, peak_dtype="bfloat16", memory_bandwidth=900 * GB,  # Cloud TPU docs
        memory_bytes=32 * GIB, memory_kind="HBM",
        tensorcores=2, mxus_per_tensorcore=2, mxu=(128, 128), devices_per_chip=2,
        source=CLOUD_TPU_DOCS, notes=JAX_DEVICE_MODEL,
        patterns=(r"\btpu ?v3" + _TPU_SUFFIX,),
        dates=(Dated("2018-05", "announced at Google I/O", GOOGLE_IO_2018),),
    ),
    Chip(
        "TPU v4", "tpu",
        peak_flops=275 * TERA, peak_dtype="bfloat16", memory_bandwidth=1200 * GB,  # Cloud TPU docs
        memory_bytes=32 * GIB, memory_kind="HBM",
        tensorcores=2, mxus_per_tensorcore=4, mxu=(128, 128), devices_per_chip=1,
        source=CLOUD_TPU_DOCS, notes=JAX_DEVICE_MODEL,
        patterns=(r"\btpu ?v4" + _TPU_SUFFIX + r"(?! ?(lite|i\b))",),
        dates=(Dated("2021-05", "announced at Google I/O", GOOGLE_IO_2021),),
    ),
    Chip(
        "TPU v5e", "tpu",
        peak_flops=197 * TERA, peak_dtype="bfloat16", memory_bandwidth=819 * GB,  # Cloud TPU docs; scaling-book
        memory_bytes=16 * GB, memory_kind="HBM",
        tensorcores=1, mxus_per_tensorcore=4, mxu=(128, 128),
        source=f"{CLOUD_TPU_DOCS}; {SCALING_BOOK} gives the same 1.97e14 FLOP/s and 8.1e11 B/s",
        notes="Colab's free TPU runtime (v5e-1); JAX reports it as 'TPU v5 lite'",
        aliases=("v5e", "v5 lite", "v5litepod"),
        patterns=(r"\btpu ?v5 ?(lite|e)\b", r"\bv5litepod\b"),
        other_peaks=(("int8", 393 * TERA),),  # Cloud TPU docs, v5e page: 393 TOPS int8
        dates=(Dated("2023-08", "announced at Google Cloud Next", V5E_BLOG),),
    ),
    Chip(
        "TPU v5p", "tpu",
        peak_flops=459 * TERA, peak_dtype="bfloat16", memory_bandwidth=2765 * GB,  # Cloud TPU docs
        memory_bytes=95 * GB, memory_kind="HBM",
        tensorcores=2, mxus_per_tensorcore=4, mxu=(128, 128), devices_per_chip=1,
        source=CLOUD_TPU_DOCS, notes="JAX reports it as 'TPU v5' or 'TPU v5p'; " + JAX_DEVICE_MODEL,
        aliases=("v5p",),
        patterns=(r"\btpu ?v5 ?p\b", r"\btpu ?v5$"),
        dates=(Dated("2023-12", "announced", V5P_BLOG),),
    ),
    Chip(
        "TPU v6e", "tpu",
        peak_flops=918 * TERA, peak_dtype="bfloat16", memory_bandwidth=1638 * GB,  # Cloud TPU docs
        memory_bytes=32 * GB, memory_kind="HBM",
        tensorcores=1, mxus_per_tensorcore=2, mxu=(256, 256),
        source=CLOUD_TPU_DOCS,
        notes=("Trillium; the docs' MXU count and clock do not reconcile with 918 TFLOPS, so no clock is derived; "
               "JAX reports it as 'TPU v6 lite'"),
        aliases=("Trillium", "v6e", "v6 lite"),
        patterns=(r"\btpu ?v6 ?(lite|e)\b", r"\btrillium\b"),
        other_peaks=(("int8", 1836 * TERA),),  # Cloud TPU docs, v6e page: 1836 TOPS int8
        dates=(Dated("2024-05", "announced as Trillium at Google I/O", TRILLIUM_BLOG),),
    ),
    Chip(
        "TPU7x", "tpu",
        peak_flops=2307 * TERA, peak_dtype="bfloat16", memory_bandwidth=7380 * GB,  # Cloud TPU docs
        memory_bytes=192 * GIB, memory_kind="HBM",
        tensorcores=2, mxus_per_tensorcore=None, mxu=None, devices_per_chip=None,
        source=CLOUD_TPU_DOCS, notes="Ironwood; MXU count and size are not stated on the docs' pages",
        aliases=("Ironwood", "TPU v7", "TPU v7x"),
        patterns=(r"\btpu ?7x\b", r"\btpu ?v7x?\b", r"\bironwood\b"),
        dates=(Dated("2025-04", "announced as Ironwood at Google Cloud Next", IRONWOOD_BLOG),),
    ),
    Chip(
        "K80", "gpu",
        peak_flops=2.8 * TERA, peak_dtype="float32", memory_bandwidth=160 * GB,  # one die, boost off (Jouppi 2017)
        source=f"{JOUPPI_2017}, comparison chips (per die, boost off)",
        notes="a K80 board holds two dies; each die is one framework device",
        aliases=("Tesla K80",),
        patterns=(r"\bk80\b",),
    ),
    Chip(
        "H100", "gpu",
        peak_flops=989 * TERA, peak_dtype="bfloat16",  # dense; 1979 with sparsity (NVIDIA datasheet)
        memory_bandwidth=3350 * GB, memory_bytes=80 * GB, memory_kind="HBM3",
        source=f"{NVIDIA_DATASHEET}: H100 SXM",
        notes="the SXM part; PCIe and NVL parts have other figures and are not matched",
        aliases=("H100 SXM", "NVIDIA H100"),
        patterns=(r"\bh100\b(?!.*\b(pcie|nvl)\b)",),
        other_peaks=(("float32", 67 * TERA), ("tfloat32", 494.5 * TERA), ("float16", 989 * TERA),
                     ("int8", 1979 * TERA)),  # NVIDIA H100 datasheet, SXM, dense (sparsity doubles the last three)
    ),
    Chip(
        "H200", "gpu",
        peak_flops=989 * TERA, peak_dtype="bfloat16",  # same compute as H100 (NVIDIA datasheet)
        memory_bandwidth=4800 * GB, memory_bytes=141 * GB, memory_kind="HBM3e",
        source=f"{NVIDIA_DATASHEET}: H200 (same compute as H100 SXM)",
        notes="the SXM part; the NVL part has other figures and is not matched",
        aliases=("NVIDIA H200",),
        patterns=(r"\bh200\b(?!.*\bnvl\b)",),
        other_peaks=(("float32", 67 * TERA), ("tfloat32", 494.5 * TERA), ("float16", 989 * TERA),
                     ("int8", 1979 * TERA)),  # NVIDIA H200 datasheet, SXM, dense: the H100's compute
    ),
    # Colab's GPUs: NVIDIA's product datasheets, dense tensor-core peaks (sparsity doubles them).
    Chip(
        "T4", "gpu",
        peak_flops=65 * TERA, peak_dtype="float16",  # no bfloat16 on Turing (NVIDIA T4 datasheet)
        memory_bandwidth=320 * GB, memory_bytes=16 * GB, memory_kind="GDDR6",
        source="NVIDIA T4 datasheet (mixed-precision FP16 tensor cores)",
        notes="Colab's free GPU; 8.1 TFLOPS in float32 without tensor cores",
        aliases=("Tesla T4", "NVIDIA T4"),
        patterns=(r"\bt4\b",),
        other_peaks=(("float32", 8.1 * TERA), ("int8", 130 * TERA)),  # NVIDIA T4 datasheet (no TF32, no bf16)
    ),
    Chip(
        "L4", "gpu",
        peak_flops=121 * TERA, peak_dtype="bfloat16",  # 242 with sparsity (NVIDIA L4 datasheet)
        memory_bandwidth=300 * GB, memory_bytes=24 * GB, memory_kind="GDDR6",
        source="NVIDIA L4 datasheet (BF16 tensor cores, dense)",
        aliases=("NVIDIA L4",),
        patterns=(r"\bl4\b",),
        other_peaks=(("float32", 30.3 * TERA), ("tfloat32", 60 * TERA), ("float16", 121 * TERA),
                     ("int8", 242 * TERA)),  # NVIDIA L4 datasheet, dense (it lists 120 / 242 / 485 with sparsity)
    ),
    Chip(
        "A100 40GB", "gpu",
        peak_flops=312 * TERA, peak_dtype="bfloat16",  # 624 with sparsity (NVIDIA A100 datasheet)
        memory_bandwidth=1555 * GB, memory_bytes=40 * GB, memory_kind="HBM2",
        source="NVIDIA A100 datasheet (BF16 tensor cores, dense; SXM4 40 GB)",
        aliases=("A100", "A100-SXM4-40GB", "NVIDIA A100"),
        patterns=(r"\ba100\b(?!.*\b(80 ?gb|pcie)\b)",),
        other_peaks=(("float32", 19.5 * TERA), ("tfloat32", 156 * TERA), ("float16", 312 * TERA),
                     ("int8", 624 * TERA)),  # NVIDIA A100 datasheet, dense (sparsity doubles the last three)
    ),
    Chip(
        "A100 80GB", "gpu",
        peak_flops=312 * TERA, peak_dtype="bfloat16",  # 624 with sparsity (NVIDIA A100 datasheet)
        memory_bandwidth=2039 * GB, memory_bytes=80 * GB, memory_kind="HBM2e",
        source="NVIDIA A100 datasheet (BF16 tensor cores, dense; SXM4 80 GB)",
        aliases=("A100-SXM4-80GB",),
        patterns=(r"\ba100\b(?!.*\bpcie\b).*\b80 ?gb\b(?!.*\bpcie\b)",),
        other_peaks=(("float32", 19.5 * TERA), ("tfloat32", 156 * TERA), ("float16", 312 * TERA),
                     ("int8", 624 * TERA)),  # NVIDIA A100 datasheet, dense (sparsity doubles the last three)
    ),
    Chip(
        "Haswell E5-2699 v3", "cpu",
        peak_flops=1.3 * TERA, peak_dtype="float32", memory_bandwidth=51 * GB,  # per die (Jouppi 2017)
        source=f"{JOUPPI_2017}, comparison chips (per die)",
        notes="the server CPU the TPU v1 paper compares with; 2.6 TOPS in 8-bit",
        aliases=("E5-2699 v3", "Haswell"),
        patterns=(r"\be5-2699 v3\b",),
        other_peaks=(("int8", 2.6 * TERA),),  # Jouppi 2017, comparison chips (per die)
    ),
)


def _key(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


def chips(kind: str | None = None) -> list[Chip]:
    """All chips in the table, or those of one kind ("tpu", "gpu", "cpu")."""
    if kind is not None and kind not in ("tpu", "gpu", "cpu"):
        raise ValueError(f"kind {kind!r} is not one of 'tpu', 'gpu', 'cpu'")
    return [c for c in CHIPS if kind is None or c.kind == kind]


def timeline(kind: str = "tpu") -> list[Chip]:
    """The chips of one kind that the table dates, oldest first (for TPUs: v1 in 2015 to Ironwood in 2025)."""
    return sorted((c for c in chips(kind) if c.dates), key=lambda c: min(d.date for d in c.dates))


def get(name: str) -> Chip:
    """The chip with this canonical name or alias (case does not matter): ``get("TPU v5e")``."""
    if not isinstance(name, str):
        raise TypeError(f"chip name must be a string such as 'TPU v5e', not {type(name).__name__}")
    wanted = _key(name)
    for chip in CHIPS:
        if wanted in {_key(n) for n in (chip.name, *chip.aliases)}:
            return chip
    known = ", ".join(c.name for c in CHIPS)
    raise ValueError(f"no chip called {name!r} in the table; known chips: {known} "
                     "(use match() for a name as a runtime reports it)")


def match(device_name: str | None) -> Chip | None:
    """The table's chip for a device name as a runtime reports it, or None when the table does not know it.

    ``match("TPU v5 lite")`` is TPU v5e and ``match("NVIDIA H100 80GB HBM3")`` is H100; a part whose
    figures differ from the table's (an H100 PCIe, say) gives None rather than a wrong peak.
    """
    if device_name is None:
        return None
    if not isinstance(device_name, str):
        raise TypeError(f"device name must be a string, not {type(device_name).__name__}")
    text = _key(device_name)
    text = re.sub(r"^(google|nvidia|tesla|nvidia tesla)\s+", "", text)
    for chip in CHIPS:
        if any(re.search(p, text) for p in chip.patterns):
            return chip
    try:
        return get(device_name)
    except ValueError:
        return None


# --- a CPU estimate: cores x clock x SIMD lanes x FMA ------------------------------------------------------

FLOAT32_LANES = {"avx512f": 16, "avx2": 8, "avx": 8, "asimd": 4, "neon": 4, "sse2": 4}


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cpu_estimate(
    cores: int | None = None,
    clock_hz: float | None = None,
    float32_lanes: int | None = None,
    fma_units: int = 2,
    memory_bandwidth: float | None = None,
    read: Callable[[str], str] = _read,
) -> Chip:
    """An estimated float32 peak of this machine's CPU: cores x clock x SIMD lanes x 2 FLOPs per FMA x FMA units.

    It is an estimate, labelled as one: turbo clocks, AVX-512 down-clocking and the number of FMA units
    (2 on most server cores, an assumption) move the real figure. Whatever is not given is read from
    ``/proc/cpuinfo`` (via ``read``, which tests replace). The memory bandwidth is unknown unless given.
    """
    cpuinfo = read("/proc/cpuinfo")
    model = _cpuinfo_field(cpuinfo, "model name") or _cpuinfo_field(cpuinfo, "Model") or "unknown CPU"
    if cores is None:
        cores = _usable_cores()
    clock_from = "given"
    if clock_hz is None:
        clock_hz, clock_from = _clock_hz(cpuinfo, model, read)
    if float32_lanes is None:
        flags = set((_cpuinfo_field(cpuinfo, "flags") or _cpuinfo_field(cpuinfo, "Features") or "").split())
        float32_lanes = next((lanes for flag, lanes in FLOAT32_LANES.items() if flag in flags), 4)
    for label, value in (("cores", cores), ("clock_hz", clock_hz), ("float32_lanes", float32_lanes),
                         ("fma_units", fma_units)):
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{label} must be a positive number, not {value!r}")
    flops_per_cycle = float32_lanes * 2 * fma_units
    peak = cores * clock_hz * flops_per_cycle
    formula = (f"{cores} cores x {clock_hz / 1e9:.2f} GHz ({clock_from}) x {float32_lanes} float32 lanes "
               f"x 2 FLOPs per FMA x {fma_units} FMA units")
    return Chip(
        f"CPU estimate: {model} ({cores} cores)", "cpu",
        peak_flops=peak, peak_dtype="float32", memory_bandwidth=memory_bandwidth,
        source=f"estimate from this machine's /proc/cpuinfo: {formula}", estimate=True,
        notes="an estimate, not a datasheet figure: clocks, turbo and the FMA-unit count are assumptions",
    )


def _cpuinfo_field(cpuinfo: str, name: str) -> str | None:
    found = re.search(rf"^{re.escape(name)}\s*:\s*(.+)$", cpuinfo, flags=re.MULTILINE)
    return found.group(1).strip() if found else None


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _clock_hz(cpuinfo: str, model: str, read: Callable[[str], str]) -> tuple[float, str]:
    """The clock and where it was read: the maximum frequency, the model's nominal clock, or the current one."""
    max_khz = read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").strip()
    if max_khz.isdigit():
        return int(max_khz) * 1e3, "cpufreq maximum"
    nominal = re.search(r"@\s*([\d.]+)\s*GHz", model)
    if nominal:
        return float(nominal.group(1)) * 1e9, "nominal clock in the model name"
    mhz = _cpuinfo_field(cpuinfo, "cpu MHz")
    if mhz:
        try:
            return float(mhz) * 1e6, "current clock in /proc/cpuinfo"
        except ValueError:
            pass
    return 2.0e9, "assumed: no clock reported"
