"""How fast the simulator steps: the MXU's shape, the speed-up over plain Python, frames, memory.

Run: python benchmarks/bench_systolic.py
Goals (issue #2, on a 2-core machine): a weight-stationary 128x128 array over 1024x128 @ 128x128
with keep_frames=False in under 1 s and at least 100x faster than a per-PE loop over Python lists
that follows the same rules; frame(t) of an 8x8 run in under 5 ms; memory O(R·C) without frames.
"""

import time
import tracemalloc

import numpy as np

from tpu_lecture.sim.array import SystolicArray


def per_pe_python_loop(A: list[list[int]], W: list[list[int]]) -> list[list[int]]:
    """The same weight-stationary rules, one PE at a time, over plain Python lists (the reference)."""
    m, rows, cols = len(A), len(W), len(W[0])
    activation = [[0] * cols for _ in range(rows)]
    psum = [[0] * cols for _ in range(rows)]
    out = [[0] * cols for _ in range(m)]
    for t in range(m + rows + cols - 2):
        new_activation = [[0] * cols for _ in range(rows)]
        new_psum = [[0] * cols for _ in range(rows)]
        for i in range(rows):
            for j in range(cols):
                if j == 0:
                    s = t - i
                    a = A[s][i] if 0 <= s < m else 0
                else:
                    a = activation[i][j - 1]
                above = psum[i - 1][j] if i > 0 else 0
                new_activation[i][j] = a
                new_psum[i][j] = above + a * W[i][j]
        activation, psum = new_activation, new_psum
        for j in range(cols):
            s = t - (rows - 1) - j
            if 0 <= s < m:
                out[s][j] = psum[rows - 1][j]
    return out


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    A = rng.integers(-128, 128, (1024, 128))
    W = rng.integers(-128, 128, (128, 128))
    mxu = SystolicArray(128, 128)
    run = mxu.matmul(A, W, keep_frames=False)
    assert np.array_equal(run.result, A @ W)
    simulator = best_of(lambda: mxu.matmul(A, W, keep_frames=False), repeat=3)
    print(f"simulator, 128x128 WS, 1024x128 @ 128x128, keep_frames=False: {simulator:.3f} s "
          f"({run.cycles} cycles, {'under' if simulator < 1 else 'OVER'} the 1 s goal)")

    start = time.perf_counter()
    reference = per_pe_python_loop(A.tolist(), W.tolist())
    python_loop = time.perf_counter() - start
    assert np.array_equal(np.array(reference), A @ W)
    ratio = python_loop / simulator
    print(f"per-PE loop over Python lists, same product: {python_loop:.1f} s")
    print(f"speed-up of the simulator over that loop: {ratio:.0f}x ({'meets' if ratio >= 100 else 'MISSES'} 100x)")

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
        print(f"peak memory, 64x64 array, M = {m:>4} ({m + 126} cycles), keep_frames=False: "
              f"{peak / 1e6:.2f} MB, of which inputs/outputs {inputs / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
