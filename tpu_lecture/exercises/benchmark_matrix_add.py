"""Checked exercises of notebook 06 · Benchmark #1: matrix add and multiply. Every answer is computed here from the
package: the workload counters, the hardware table and the H200 reference results shipped with it (never from the
timings of the runtime the notebook runs on, which differ from one machine to the next)."""

from __future__ import annotations

import re

from tpu_lecture import hardware
from tpu_lecture.bench.matrix_ops import workload_counts
from tpu_lecture.bench.record import BenchmarkResult
from tpu_lecture.bench.store import reference_results
from tpu_lecture.exercises.checker import Exercise, Mistake

ADD = (16384, 16384)  # the lecture's largest add: two 16384² matrices, 1 GiB each in float32
MATMUL = (8192, 8192, 8192)
PRODUCT = (2048, 2048, 2048)  # exercise 1: a product whose intensity section 1 does not print
SPEEDUP = 100  # exercise 4: the speed-up over NumPy a student is asked to reach
TF32_MATMUL = "matmul 8192x8192x8192 float32 (TF32)"  # the H200's default-precision float32 product ran in TF32


def _reference(case: str, kind: str) -> BenchmarkResult:
    """The one reference result of ``case`` on a device kind ("gpu": the H200, "cpu": its host), not from a sweep."""
    [found] = [r for r in reference_results() if r.case == case and r.device_kind == kind
               and not r.params.get("series")]
    return found


def _add_bytes(dtype: str = "float32") -> int:
    return workload_counts("add", ADD, dtype)[1]


def _intensity(dtype: str = "bfloat16", shape: tuple[int, int, int] = PRODUCT) -> float:
    flops, bytes_moved = workload_counts("matmul", shape, dtype)
    return flops / bytes_moved


def _ideal_ms(chip: str, dtype: str = "float32") -> float:
    """Milliseconds of the 16384² add at the chip's full memory bandwidth: bytes read and written ÷ bytes per s."""
    return _add_bytes(dtype) / hardware.get(chip).memory_bandwidth * 1e3


def _copy_speedup() -> float:
    """The H200's speed-up over NumPy with the host-to-device copy timed too, as the run's note reports it."""
    note = _reference("add 16384x16384 float32", "gpu").note
    return float(re.search(r"only ([\d.]+)x when the host-to-device copy", note).group(1))


def _copy_and_add_s() -> float:
    return _reference("add 16384x16384 float32", "cpu").median / _copy_speedup()


def _adds_for_speedup(target: float = SPEEDUP) -> float:
    """k adds on inputs copied once: (copy + add) + (k − 1) adds on the device, against k NumPy adds; the k at which
    NumPy's time is ``target`` times the device's."""
    numpy_add = _reference("add 16384x16384 float32", "cpu").median
    device_add = _reference("add 16384x16384 float32", "gpu").median
    return target * (_copy_and_add_s() - device_add) / (numpy_add - target * device_add)


def _link_bytes_per_s() -> float:
    """The host link's speed the H200 run implies: its two input matrices over the copy + add time."""
    return 2 * _add_bytes() / 3 / _copy_and_add_s()


def _matmul_copy_s() -> float:
    return 2 * workload_counts("matmul", MATMUL, "float32")[1] / 3 / _link_bytes_per_s()


def _matmul_speedup_with_copy() -> float:
    device = _reference(TF32_MATMUL, "gpu").median
    return _reference("matmul 8192x8192x8192 float32", "cpu").median / (_matmul_copy_s() + device)


def _worked_intensity() -> str:
    n = PRODUCT[0]
    flops, bytes_moved = workload_counts("matmul", PRODUCT, "bfloat16")
    return (f"An n × n product does n³ MACs = 2n³ FLOPs and moves 3n² elements (A and B read, C written); in "
            f"bfloat16 an element is 2 bytes. For n = {n:,}: {flops:,} FLOPs over {bytes_moved:,} bytes = 2n / 6 = "
            f"{_intensity():,.1f} FLOPs per byte (`workload_counts(\"matmul\", ({n}, {n}, {n}), \"bfloat16\")` "
            f"gives both numbers); in float32 half that, {_intensity('float32'):,.1f}. Unlike the add's 1/12, it "
            "grows with n: each element read is used n times.")


def _worked_ideal() -> str:
    h200 = hardware.get("H200")
    measured = _reference("add 16384x16384 float32", "gpu").median * 1e3
    return (f"3 · 16384² · 4 bytes = {_add_bytes():,} bytes (`workload_counts` counts A, B and C). At "
            f"{h200.memory_bandwidth / 1e12:.1f} TB/s (`hardware.get(\"H200\").memory_bandwidth`) that is "
            f"{_ideal_ms('H200'):.2f} ms. The reference measured {measured:.2f} ms, "
            f"{_ideal_ms('H200') / measured:.0%} of the memory's speed: no add can beat its bandwidth.")


def _worked_v5e() -> str:
    v5e = hardware.get("TPU v5e")
    return (f"The TPU v5e's HBM delivers {v5e.memory_bandwidth / 1e9:,.0f} GB/s. In bfloat16 the add moves "
            f"{_add_bytes('bfloat16'):,} bytes, half of float32's: {_ideal_ms('TPU v5e', 'bfloat16'):.2f} ms, "
            f"against {_ideal_ms('TPU v5e'):.2f} ms in float32. Its {v5e.peak_flops / 1e12:.0f} TFLOP/s never "
            f"enter: the 16384² add's {workload_counts('add', ADD, 'bfloat16')[0]:,} FLOPs would take "
            f"{workload_counts('add', ADD, 'bfloat16')[0] / v5e.peak_flops * 1e6:.1f} µs at the peak.")


def _worked_adds() -> str:
    numpy_add = _reference("add 16384x16384 float32", "cpu").median * 1e3
    device_add = _reference("add 16384x16384 float32", "gpu").median * 1e3
    both = _copy_and_add_s() * 1e3
    return (f"From the reference: NumPy {numpy_add:.0f} ms per add; the H200 {device_add:.2f} ms per add; copy + add "
            f"{both:.0f} ms (NumPy's time ÷ the {_copy_speedup()}x of the run's note). k adds on inputs copied once "
            f"take {both:.0f} + {device_add:.2f} · (k − 1) ms on the device and {numpy_add:.0f} · k ms with NumPy. "
            f"Setting NumPy's time to {SPEEDUP} times the device's: {numpy_add:.0f} k = "
            f"{SPEEDUP} · ({both - device_add:.2f} + {device_add:.2f} k), so k = {SPEEDUP} · {both - device_add:.2f} / "
            f"({numpy_add:.0f} − "
            f"{SPEEDUP * device_add:.0f}) = {_adds_for_speedup():.1f}: from about {_adds_for_speedup():.0f} adds on, "
            "the copy is paid back a hundredfold.")


def _worked_matmul() -> str:
    device = _reference(TF32_MATMUL, "gpu").median * 1e3
    numpy_s = _reference("matmul 8192x8192x8192 float32", "cpu").median
    inputs = 2 * workload_counts("matmul", MATMUL, "float32")[1] / 3
    return (f"The two 8192² float32 inputs are {inputs / 1e9:.2f} GB; at the {_link_bytes_per_s() / 1e9:.1f} GB/s "
            f"that the H200's add run implies for its host link (section 6) they take {_matmul_copy_s() * 1e3:.0f} ms "
            f"to copy. With the {device:.2f} ms product (run in TF32, NumPy's in float32: a speed-up labelled so): "
            f"{_matmul_copy_s() * 1e3 + device:.0f} ms, against NumPy's "
            f"{numpy_s:.2f} s: {_matmul_speedup_with_copy():.1f}x faster, copy included. The product does 2n³ FLOPs "
            f"on 2n² input elements, {MATMUL[0]:,} per element copied; the add does n² on 2n², half of one: compute "
            "hides the copy only where there is much of it per byte.")


EXERCISES = (
    Exercise(1, "a 2048³ bfloat16 product's intensity, predicted then counted", answer=_intensity,
             unit="FLOPs per byte", rel_tol=1e-3,
             hint="a product does 2n³ FLOPs (1 MAC = 2) and moves 3n² elements (A, B read; C written) of 2 bytes "
                  "each in bfloat16",
             mistakes=(Mistake(lambda: _intensity("float32"), "that counts 4 bytes per element, float32's, or counts "
                                                             "MACs instead of FLOPs: a bfloat16 element is 2 bytes, "
                                                             "a MAC 2 FLOPs"),
                       Mistake(lambda: 2 * PRODUCT[0] / 4, "count the bytes of C too: the product writes it")),
             confirm=lambda: f"`workload_counts(\"matmul\", {PRODUCT}, \"bfloat16\")` gives {_intensity():,.2f} "
                             "FLOPs per byte.",
             worked=_worked_intensity),
    Exercise(2, "the H200's ideal 16384² add", answer=lambda: _ideal_ms("H200"), unit="ms", rel_tol=0.01,
             hint="an add is memory-bound: its time is at least the bytes it moves (A, B and C) over the memory "
                  "bandwidth of the hardware table",
             mistakes=(Mistake(lambda: _ideal_ms("H200") * 2 / 3, "the add writes C too: three matrices move, "
                                                                 "not two"),
                       Mistake(lambda: _ideal_ms("H200") / 1e3, "right, but in seconds: give it in ms"),
                       Mistake(lambda: _reference("add 16384x16384 float32", "gpu").median * 1e3,
                               "that is the measured time; the ideal one moves the bytes at the full bandwidth")),
             worked=_worked_ideal),
    Exercise(3, "a TPU v5e's 16384² add in bfloat16", answer=lambda: _ideal_ms("TPU v5e", "bfloat16"), unit="ms",
             rel_tol=0.01,
             hint="the same bytes-over-bandwidth rule, with the v5e's HBM bandwidth and 2-byte elements",
             mistakes=(Mistake(lambda: _ideal_ms("TPU v5e"), "that is the float32 add: bfloat16 moves half the bytes"),
                       Mistake(lambda: workload_counts("add", ADD, "bfloat16")[0] / hardware.get("TPU v5e").peak_flops
                               * 1e3, "that is the time at the peak FLOP/s: the add is memory-bound, its bytes "
                                      "decide")),
             worked=_worked_v5e),
    Exercise(4, "copy once, then add k times: k for 100x", answer=_adds_for_speedup, unit="adds", rel_tol=0.01,
             hint="the device needs (copy + add) + (k − 1) adds, NumPy k adds: set NumPy's time to 100 times the "
                  "device's and solve for k; copy + add = NumPy's time ÷ the speed-up with the copy",
             mistakes=(Mistake(lambda: SPEEDUP * _copy_and_add_s() / _reference("add 16384x16384 float32",
                                                                                 "cpu").median,
                               "the device's adds after the copy take time too: 0.97 ms each, 100 times that is "
                               "a third of a NumPy add"),),
             worked=_worked_adds),
    Exercise(5, "the 8192³ product's speed-up, copy included", answer=_matmul_speedup_with_copy, unit="x",
             rel_tol=0.03,
             hint="copy the two 8192² float32 inputs at the link speed of section 6 (the add run's inputs over its "
                  "copy + add time), add the product's time, and divide NumPy's time by the sum",
             mistakes=(Mistake(lambda: _reference("matmul 8192x8192x8192 float32", "cpu").median
                               / _reference(TF32_MATMUL, "gpu").median,
                               "that leaves the copy out: the question times it too"),
                       Mistake(_copy_speedup, "1.3x is the add's: the product does thousands of FLOPs per element "
                                              "copied, the add half of one")),
             worked=_worked_matmul),
)
