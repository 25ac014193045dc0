"""How fast is the results store with its schema checks? Save and load a semester's worth of results.

Every line is parsed, checked field by field against the schema, upgraded and built into a BenchmarkResult whose
figures are all computed once (``record.usable``). Goal: a file of 10,000 results (a semester of sweeps) loads in
under 2 s and appends in under 0.5 s, on one core of a laptop. Prints the figures.

    python benchmarks/bench_store.py [--records 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tpu_lecture.bench import store
from tpu_lecture.bench.record import BenchmarkResult


def semester(records: int) -> list[BenchmarkResult]:
    """Results shaped like a sweep's: samples, params, versions, a peak."""
    return [BenchmarkResult(name=f"matmul {n}x{n}x{n} float32", median=1e-3 * (1 + i % 7), min=9e-4, max=2e-3,
                            spread=0.05, samples=tuple(1e-3 * (1 + j / 100) for j in range(20)), flops=2.0 * n**3,
                            bytes_moved=12.0 * n * n, workload="matmul", shape=(n, n, n), size=n, dtype="float32",
                            precision="default", device="NVIDIA H200", device_kind="gpu", framework="jax",
                            framework_version="0.11.2", versions={"python": "3.12", "jax": "0.11.2"}, chip="H200",
                            peak_flops=494.5e12, peak_dtype="tfloat32", params={"round_medians": [1e-3, 1.1e-3]},
                            date="2027-01-15T10:00:00+00:00", source="bench")
            for i, n in enumerate([256, 1024, 4096, 8192] * (records // 4))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    results = semester(args.records)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "semester.jsonl"
        start = time.perf_counter()
        store.save_results(results, path)
        saved = time.perf_counter() - start
        start = time.perf_counter()
        loaded = store.load_results(path)
        load = time.perf_counter() - start
        size = path.stat().st_size
    assert len(loaded) == len(results)
    print(f"{len(results):,} results, {size / 1e6:.1f} MB: saved in {saved:.3f} s (goal < 0.5 s), "
          f"loaded in {load:.3f} s (goal < 2 s), {load / len(results) * 1e6:.0f} µs a record")


if __name__ == "__main__":
    main()
