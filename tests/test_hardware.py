"""The chip table: every number has a source, names as runtimes report them map to the right chip, and
the roofline numbers follow from peak and bandwidth (closed forms, and the cross-checks the sources give)."""

import math
import re

import pytest

from tpu_lecture import hardware, macs, roofline


def test_every_chip_names_its_source_and_has_positive_figures():
    for chip in hardware.CHIPS:
        assert chip.source.strip(), chip.name
        assert chip.peak_flops > 0 and chip.kind in ("tpu", "gpu", "cpu")
        assert chip.memory_bandwidth is None or chip.memory_bandwidth > 0


def test_the_table_holds_the_published_figures():
    expected = {  # (peak TFLOP/s, bandwidth GB/s): Jouppi et al. 2017, Cloud TPU docs, NVIDIA datasheets
        "TPU v1": (92, 34), "TPU v2": (45, 700), "TPU v3": (123, 900), "TPU v4": (275, 1200),
        "TPU v5e": (197, 819), "TPU v5p": (459, 2765), "TPU v6e": (918, 1638), "TPU7x": (2307, 7380),
        "K80": (2.8, 160), "H100": (989, 3350), "H200": (989, 4800), "Haswell E5-2699 v3": (1.3, 51),
    }
    for name, (tflops, gbs) in expected.items():
        chip = hardware.get(name)
        assert chip.peak_flops == pytest.approx(tflops * 1e12)
        assert chip.memory_bandwidth == pytest.approx(gbs * 1e9)


def test_tpu_v1_peak_is_its_macs_times_clock_times_two():
    # Jouppi et al.: 65,536 8-bit MACs at 700 MHz, 92 TeraOps/s with a MAC counted as 2 ops.
    v1 = hardware.get("TPU v1")
    assert v1.macs_per_cycle == 65_536
    assert v1.peak_flops == pytest.approx(macs.macs_to_flops(v1.macs_per_cycle) * 0.7e9, rel=0.01)
    assert v1.peak_dtype == "int8"


def test_macs_per_cycle_from_mxus():
    assert hardware.get("TPU v5e").macs_per_cycle == 4 * 128 * 128
    assert hardware.get("TPU v4").macs_per_cycle == 2 * 4 * 128 * 128
    assert hardware.get("TPU7x").macs_per_cycle is None  # not stated by the docs: no guess


@pytest.mark.parametrize(("name", "canonical"), [
    ("TPU v5e", "TPU v5e"), ("tpu  V5E", "TPU v5e"), ("v5e", "TPU v5e"), ("Trillium", "TPU v6e"),
    ("ironwood", "TPU7x"), ("H200", "H200"), ("NVIDIA H200", "H200"), ("TPU v1", "TPU v1"),
])
def test_get_by_name_or_alias(name, canonical):
    assert hardware.get(name).name == canonical


def test_get_unknown_says_which_chips_exist():
    with pytest.raises(ValueError, match="no chip called 'TPU v99'.*TPU v1.*H200"):
        hardware.get("TPU v99")
    with pytest.raises(TypeError, match="string"):
        hardware.get(5)


@pytest.mark.parametrize(("reported", "canonical"), [
    ("TPU v2", "TPU v2"),
    ("TPU v3", "TPU v3"),
    ("TPU v4", "TPU v4"),
    ("TPU v5 lite", "TPU v5e"),
    ("TPU v5e", "TPU v5e"),
    ("TPU v5litepod-8", "TPU v5e"),
    ("TPU v5", "TPU v5p"),
    ("TPU v5p", "TPU v5p"),
    ("TPU v6 lite", "TPU v6e"),
    ("TPU v6e", "TPU v6e"),
    ("TPU7x", "TPU7x"),
    ("NVIDIA H100 80GB HBM3", "H100"),
    ("NVIDIA H100", "H100"),
    ("NVIDIA H200", "H200"),
    ("Tesla K80", "K80"),
    ("Tesla T4", "T4"),
    ("NVIDIA L4", "L4"),
    ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
    ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
    ("Intel(R) Xeon(R) CPU E5-2699 v3 @ 2.30GHz", "Haswell E5-2699 v3"),
])
def test_match_names_as_runtimes_report_them(reported, canonical):
    assert hardware.match(reported).name == canonical


@pytest.mark.parametrize("reported", [
    "NVIDIA H100 PCIe", "NVIDIA H100 NVL", "NVIDIA H200 NVL",  # other figures than the table's SXM parts
    "NVIDIA GH200 480GB", "TPU v4 lite", "NVIDIA A100 80GB PCIe", "NVIDIA A100-PCIE-40GB", "cpu", "AMD EPYC 7B12", "",
])
def test_match_gives_none_rather_than_a_wrong_chip(reported):
    assert hardware.match(reported) is None


def test_match_none_and_bad_type():
    assert hardware.match(None) is None
    with pytest.raises(TypeError):
        hardware.match(3.5)


def test_ridge_point_v5e_matches_the_scaling_book():
    # the scaling-book's TPU chapter: a matmul needs about 240 FLOPs per byte to be compute-bound on v5e.
    assert hardware.get("TPU v5e").ridge_point == pytest.approx(240, rel=0.01)


def test_roofline_is_bandwidth_times_intensity_then_flat():
    h200 = hardware.get("H200")
    ridge = 989e12 / 4.8e12
    assert h200.ridge_point == pytest.approx(ridge)
    assert h200.attainable_flops(1) == pytest.approx(4.8e12)
    assert h200.attainable_flops(ridge / 2) == pytest.approx(989e12 / 2)
    assert h200.attainable_flops(ridge * 10) == pytest.approx(989e12)
    # element-wise add of float32: 1 FLOP per 12 bytes, deep in the memory-bound region
    add = roofline.arithmetic_intensity(1, 12)
    assert h200.attainable_flops(add) == pytest.approx(4.8e12 / 12)


def test_per_device_peak_halves_for_v2_v3_tensorcores():
    assert hardware.get("TPU v3").peak_flops_per_device == pytest.approx(123e12 / 2)
    assert hardware.get("TPU v4").peak_flops_per_device == pytest.approx(275e12)


def test_reprs_and_summaries_are_readable():
    v5e = hardware.get("TPU v5e")
    assert "TPU v5e" in repr(v5e) and "197 TFLOP/s" in repr(v5e) and "819 GB/s" in repr(v5e)
    assert "ridge 241 FLOPs/byte" in v5e.summary()
    assert [c.kind for c in hardware.chips("gpu")] == ["gpu"] * len(hardware.chips("gpu"))
    with pytest.raises(ValueError, match="kind"):
        hardware.chips("fpga")


CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) CPU @ 2.30GHz
cpu MHz\t\t: 2299.998
flags\t\t: fpu sse sse2 avx avx2 fma
"""


def test_cpu_estimate_is_cores_times_clock_times_lanes_times_fma():
    files = {"/proc/cpuinfo": CPUINFO}
    chip = hardware.cpu_estimate(cores=4, read=lambda path: files.get(path, ""))
    assert chip.estimate and chip.kind == "cpu" and chip.peak_dtype == "float32"
    assert chip.peak_flops == pytest.approx(4 * 2.3e9 * 8 * 2 * 2)
    assert "estimate" in chip.source and "4 cores" in chip.source and "2.30 GHz" in chip.source
    assert "Intel(R) Xeon(R) CPU @ 2.30GHz" in chip.name


def test_cpu_estimate_prefers_the_maximum_clock_and_avx512():
    files = {"/proc/cpuinfo": CPUINFO.replace("avx2", "avx2 avx512f"),
             "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "3500000\n"}
    chip = hardware.cpu_estimate(cores=2, read=lambda path: files.get(path, ""))
    assert chip.peak_flops == pytest.approx(2 * 3.5e9 * 16 * 2 * 2)


def test_cpu_estimate_without_bandwidth_has_no_roofline():
    chip = hardware.cpu_estimate(cores=1, clock_hz=1e9, float32_lanes=4, read=lambda path: "")
    assert chip.peak_flops == pytest.approx(1e9 * 4 * 2 * 2)
    with pytest.raises(ValueError, match="no memory bandwidth"):
        _ = chip.ridge_point
    with_bandwidth = hardware.cpu_estimate(cores=1, clock_hz=1e9, float32_lanes=4, memory_bandwidth=10e9,
                                           read=lambda path: "")
    assert with_bandwidth.ridge_point == pytest.approx(16e9 / 10e9)


@pytest.mark.parametrize("bad", [{"cores": 0}, {"clock_hz": -1.0}, {"float32_lanes": math.nan}, {"fma_units": 0}])
def test_cpu_estimate_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="positive"):
        hardware.cpu_estimate(read=lambda path: CPUINFO, **{"cores": 1, **bad})


def test_cpu_estimate_of_this_machine_runs():
    chip = hardware.cpu_estimate()
    assert chip.peak_flops > 0 and chip.estimate


def test_every_chip_has_one_peak_per_format_and_the_headline_among_them():
    t4 = hardware.get("T4")
    assert t4.peak("float32") == pytest.approx(8.1e12) and t4.peak("fp16") == pytest.approx(65e12)
    assert t4.peak("bfloat16") is None and t4.peak("tf32") is None  # Turing has neither
    h200 = hardware.get("H200")
    assert h200.peak("tfloat32") == pytest.approx(494.5e12) and h200.peak("bf16") == h200.peak_flops
    assert hardware.get("TPU v5e").peak("float32") is None  # TPUs multiply float32 in bfloat16 passes
    assert hardware.get("TPU v3").peak("bfloat16", per_device=True) == pytest.approx(61.5e12)
    for chip in hardware.chips():
        assert chip.peaks[chip.peak_dtype] == chip.peak_flops
        assert set(chip.peaks) <= {"float32", "tfloat32", "bfloat16", "float16", "int8"}
        low_precision = [v for k, v in chip.peaks.items() if k in ("bfloat16", "float16")]
        if "float32" in chip.peaks and low_precision:
            assert max(low_precision) > chip.peaks["float32"], chip.name


def test_every_tpu_is_dated_with_a_source_in_order():
    dated = hardware.timeline("tpu")
    assert [c.name for c in dated] == [c.name for c in hardware.chips("tpu")]
    years = {c.name: c.year for c in dated}
    assert years == {"TPU v1": 2015, "TPU v2": 2017, "TPU v3": 2018, "TPU v4": 2021, "TPU v5e": 2023,
                     "TPU v5p": 2023, "TPU v6e": 2024, "TPU7x": 2025}
    v1 = hardware.get("TPU v1")
    assert [d.date for d in v1.dates] == ["2015", "2017"] and all(d.source == hardware.JOUPPI_2017 for d in v1.dates)
    for chip in dated:
        for when in chip.dates:
            assert re.fullmatch(r"\d{4}(-\d{2})?", when.date) and when.event and when.source, chip.name
    assert hardware.get("H200").year is None and hardware.timeline("gpu") == []


def test_hbm_per_tensorcore_is_the_chips_share():
    assert hardware.get("TPU v2").memory_per_tensorcore == 8 * 2**30  # the lecture's "8 GB per TensorCore"
    assert hardware.get("TPU v3").memory_per_tensorcore == 16 * 2**30
    assert hardware.get("TPU v5e").memory_per_tensorcore == 16e9
    assert hardware.get("H200").memory_per_tensorcore is None
