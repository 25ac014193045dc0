"""How fast the simulator steps, loading included: the MXU's shape, the speed-up over plain Python, the lecture's
largest MLP layer, frames, memory.

Run: python benchmarks/bench_systolic.py [--skip-layer]
Goals (issues 2 and 11, on a 2-core machine):
- a weight-stationary 128x128 array over 1024x128 @ 128x128, keep_frames=False, with its weights stepped into the
  shadow registers and stored on the control signal: under 1 s in both loading modes, and at least 100x faster than
  a per-PE loop over Python lists that follows the same rules, loading included;
- the lecture's largest MLP layer, 1024x3072 @ 3072x2048 on 128x128, double-buffered, keep_frames=False: under 20 s;
- frame(t) of an 8x8 run in under 5 ms; memory O(R·C) without frames;
- counting every operand's buffer reads, hops and writes while stepping (issue 21) costs at most 10% of a run
  (measured against the same run with the counters stubbed out).
The machine is shared: the load average is printed, and a figure taken under load is not a conclusion.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from tpu_lecture.sim import output_stationary, stationary
from tpu_lecture.sim.array import SystolicArray, schedule
from tpu_lecture.sim.budget import SECONDS_PER_CYCLE, SECONDS_PER_PE_CYCLE


def per_pe_python_loop(A: list[list[int]], W: list[list[int]]) -> tuple[list[list[int]], int]:
    """The same weight-stationary rules, loading included, one PE at a time over plain Python lists.

    Cycles 0 … R − 1 shift W into the shadow registers from the top, last row first. From cycle R the
    activations enter row i at cycle R + s + i with the control signal riding the first of them; a
    PE the signal reaches stores its shadow weight, then every PE multiplies the activation from its
    left by its weight and adds the partial sum from above. Returns Y and the cycles stepped.
    """
    m, rows, cols = len(A), len(W), len(W[0])
    shadow = [[0] * cols for _ in range(rows)]
    weight = [[0] * cols for _ in range(rows)]
    activation = [[0] * cols for _ in range(rows)]
    control = [[False] * cols for _ in range(rows)]
    psum = [[0] * cols for _ in range(rows)]
    out = [[0] * cols for _ in range(m)]
    cycles = rows + m + rows + cols - 2
    for t in range(cycles):
        new = ([[0] * cols for _ in range(rows)], [[0] * cols for _ in range(rows)],
               [[False] * cols for _ in range(rows)])
        for i in range(rows):
            for j in range(cols):
                signal = (t - rows == i) if j == 0 else control[i][j - 1]
                if signal:
                    weight[i][j] = shadow[i][j]
                if j == 0:
                    s = t - rows - i
                    a = A[s][i] if 0 <= s < m else 0
                else:
                    a = activation[i][j - 1]
                above = psum[i - 1][j] if i > 0 else 0
                new[0][i][j], new[1][i][j], new[2][i][j] = a, above + a * weight[i][j], signal
        if t < rows:  # loading: every shadow register takes the one above; row 0 takes W's next row from the top
            shadow = [list(W[rows - 1 - t])] + shadow[:-1]
        activation, psum, control = new
        for j in range(cols):
            s = t - rows - (rows - 1) - j
            if 0 <= s < m:
                out[s][j] = psum[rows - 1][j]
    return out, cycles


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_mxu() -> None:
    rng = np.random.default_rng(0)
    A, W = rng.integers(-128, 128, (1024, 128)), rng.integers(-128, 128, (128, 128))
    fastest = {}
    for load in ("serial", "double"):
        mxu = SystolicArray(128, 128, load=load)
        run = mxu.matmul(A, W, keep_frames=False)
        assert np.array_equal(run.result, A @ W)
        fastest[load] = best_of(lambda mxu=mxu: mxu.matmul(A, W, keep_frames=False), repeat=3)
        print(f"simulator, 128x128 WS {load}, 1024x128 @ 128x128, keep_frames=False: {fastest[load]:.3f} s "
              f"({run.cycles} cycles = {run.compute_cycles} compute + {run.load_cycles} load; "
              f"{'under' if fastest[load] < 1 else 'OVER'} the 1 s goal)")
    start = time.perf_counter()
    reference, cycles = per_pe_python_loop(A.tolist(), W.tolist())
    python_loop = time.perf_counter() - start
    assert np.array_equal(np.array(reference), A @ W) and cycles == run.cycles
    print(f"per-PE loop over Python lists, same rules and loading, same {cycles} cycles: {python_loop:.1f} s")
    for load, seconds in fastest.items():
        ratio = python_loop / seconds
        print(f"speed-up of the simulator ({load}) over that loop: {ratio:.0f}x "
              f"({'meets' if ratio >= 100 else 'MISSES'} 100x)")


class counters_off:
    """The stepping machines with no moves to count (each fold's table of arrivals left empty); MACs still counted."""

    def __enter__(self):
        self.saved = (stationary._moves, output_stationary.arrivals)
        stationary._moves = lambda *args: []
        output_stationary.arrivals = lambda *args: []

    def __exit__(self, *exc):
        stationary._moves, output_stationary.arrivals = self.saved


def bench_counting_overhead() -> None:
    rng = np.random.default_rng(3)
    for flow, (m, k, n, size) in (("ws", (1024, 128, 128, 128)), ("os", (256, 128, 256, 128)),
                                  ("ws", (512, 32, 32, 8))):
        A, W = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
        array = SystolicArray(size, size, flow)
        def step(array=array, A=A, W=W):
            array.matmul(A, W, keep_frames=False)

        def cpu_seconds(fn=step) -> float:  # CPU time: less disturbed than wall time by other work on the machine
            start = time.process_time()
            fn()
            return time.process_time() - start

        counted, plain = [], []
        for _ in range(7):  # interleaved, so a busy spell on the shared machine hits both
            counted.append(cpu_seconds())
            with counters_off():
                plain.append(cpu_seconds())
        counted, plain = min(counted), min(plain)
        overhead = counted / plain - 1
        verdict = "within" if overhead <= 0.10 else "OVER"
        print(f"counting overhead, {flow.upper()} {size}x{size}, {m}x{k} @ {k}x{n}: {counted:.3f} s CPU counted vs "
              f"{plain:.3f} s without counters: {overhead:+.1%} ({verdict} the 10% goal)")


def bench_mlp_layer() -> None:
    """The lecture's MLP: its largest layer at batch 1024, int8 operands as TPU v1's 8-bit MACs (int32 sums)."""
    m, k, n = 1024, 3072, 2048
    rng = np.random.default_rng(1)
    A, W = rng.integers(-8, 8, (m, k), dtype=np.int8), rng.integers(-8, 8, (k, n), dtype=np.int8)
    start, cpu = time.perf_counter(), time.process_time()
    run = SystolicArray(128, 128).matmul(A, W, keep_frames=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert np.array_equal(run.result, A.astype(np.int64) @ W.astype(np.int64))
    plan = schedule(m, k, n, 128, 128, "ws")
    assert run.counts == plan.counts and run.stall_cycles == plan.stall_cycles
    print(f"  counted while stepping = closed form: {run.counts}")
    serial = schedule(m, k, n, 128, 128, "ws", "serial")
    print(f"MLP layer {m}x{k} @ {k}x{n} on 128x128, double-buffered, keep_frames=False: {seconds:.1f} s "
          f"(CPU {cpu:.1f} s; {run.cycles:,} cycles, {run.folds} folds, utilization {run.utilization:.1%}; "
          f"{'under' if seconds < 20 else 'OVER'} the 20 s goal)")
    print(f"  {seconds / run.cycles * 1e6:.1f} µs per cycle; the estimate's model says "
          f"{(SECONDS_PER_CYCLE + SECONDS_PER_PE_CYCLE * 128 * 128) * 1e6:.1f} µs")
    print(f"  serial loading would take {serial.cycles:,} cycles (closed form): utilization "
          f"{run.macs / (128 * 128 * serial.cycles):.1%}")


def bench_frames_and_memory() -> None:
    rng = np.random.default_rng(2)
    small = SystolicArray(8, 8).matmul(rng.integers(-9, 9, (8, 8)), rng.integers(-9, 9, (8, 8)))
    worst = max(best_of(lambda t=t: small.frame(t), repeat=5) for t in range(small.cycles))
    print(f"frame(t), 8x8 run of {small.cycles} cycles, slowest t: {worst * 1000:.2f} ms "
          f"({'under' if worst < 0.005 else 'OVER'} the 5 ms goal)")
    for m in (256, 4096):
        tracemalloc.start()
        SystolicArray(64, 64).matmul(np.ones((m, 64), int), np.ones((64, 64), int), keep_frames=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        inputs = (m * 64 * 2 + 64 * 64) * 8
        print(f"peak memory, 64x64 array, M = {m:>4} ({m + 190} cycles), keep_frames=False: "
              f"{peak / 1e6:.2f} MB, of which inputs/outputs {inputs / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-layer", action="store_true", help="leave out the MLP layer (it takes seconds)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    bench_mxu()
    bench_counting_overhead()
    if not args.skip_layer:
        bench_mlp_layer()
    bench_frames_and_memory()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
