"""Does the harness cost anything measurable? Time a 2048x2048 float32 matmul through benchmark() and with a
bare time.perf_counter() loop around the same call, interleaved in rounds so drift hits both alike.

Goal (issue 4): benchmark()'s median within 5% of the bare loop's. Prints both medians and their ratio,
for NumPy and, where installed, for JAX (where the bare loop calls block_until_ready itself).

    python benchmarks/bench_harness_overhead.py [--n 2048] [--rounds 15] [--calls 3]

A third, interleaved bare loop shows how far two identical loops differ on this machine: on a busy machine
that noise, not the harness, decides the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from tpu_lecture.bench import harness as bench
from tpu_lecture.bench import matrix_ops as workloads
from tpu_lecture.bench.record import format_seconds


def bare_loop(fn, args, calls: int, wait=lambda out: None) -> list[float]:
    """The simplest honest timing: perf_counter around each call and its wait."""
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        wait(fn(*args))
        samples.append(time.perf_counter() - start)
    return samples


def compare(label: str, fn, args, rounds: int, calls: int, wait=lambda out: None) -> float:
    for _ in range(2):
        wait(fn(*args))  # warm-up for both
    bare, harness, bare_again = [], [], []
    for _ in range(rounds):
        bare += bare_loop(fn, args, calls, wait)
        harness += bench.benchmark(fn, *args, warmup=0, repeat=calls).samples
        bare_again += bare_loop(fn, args, calls, wait)
    bare_median, harness_median = statistics.median(bare), statistics.median(harness)
    ratio = harness_median / bare_median
    noise = statistics.median(bare_again) / bare_median
    verdict = "within 5%" if abs(ratio - 1) <= 0.05 else "NOT within 5%"
    print(f"{label}: bare loop median {format_seconds(bare_median)}, "
          f"benchmark() median {format_seconds(harness_median)}, ratio {ratio:.4f} ({verdict}; "
          f"{len(bare)} calls each; a second bare loop gives ratio {noise:.4f}, the noise of this machine)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    n = args.n

    def nothing() -> None:
        return None

    bare = statistics.median(bare_loop(nothing, (), 20_000))
    harness = statistics.median(bench.benchmark(nothing, warmup=10, repeat=20_000, max_repeat=20_000).samples)
    print(f"an empty function: bare loop median {format_seconds(bare)}, benchmark() median "
          f"{format_seconds(harness)}: the harness adds about {format_seconds(harness - bare)} a call")

    a, b = workloads.host_arrays(n, "float32")
    compare(f"NumPy matmul {n}x{n} float32", np.matmul, (a, b), args.rounds, args.calls)

    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("JAX is not installed: its comparison is skipped")
        return
    x, y = jax.device_put(a), jax.device_put(b)
    matmul = jax.jit(jnp.matmul)
    compare(f"JAX matmul {n}x{n} float32 on {x.devices().pop()}", matmul, (x, y), args.rounds, args.calls,
            wait=jax.block_until_ready)


if __name__ == "__main__":
    main()
