"""How fast is the step-through player, and how long does a GIF for slides take?

Goals (issue 22, "seen from the back row"), on a 2-core machine:
- 8×8 array: from setting the slider's value to the new PNG bytes being in the Image widget, at most
  30 ms of CPU time per frame on the first visit of each cycle, weight-stationary with the shadow registers and
  the control signal drawn (its tiles load cycle by cycle; "two folds" loads the next tile while the first
  one computes), so that Play at 10 frames per second leaves headroom and a scrubbed slider keeps up. CPU time
  is the goal's measure because other work on a shared machine stretches the wall time; both are printed.
  Measured three ways: the first visit of every cycle (a new player, no text rasterized yet), a revisit with the
  PNG cache emptied (each text already rasterized once), and a revisit served from the player's PNG cache.
- 4×4 array: ``save_animation(run, "x.gif")`` in at most 1 second (wall time).

    python benchmarks/bench_player.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np

from tpu_lecture.sim.array import SystolicArray
from tpu_lecture.viz.export import save_animation
from tpu_lecture.viz.player import SystolicPlayer
from tpu_lecture.viz.textcache import StampText

FRAME_GOAL_MS = 30.0  # CPU time per frame, first visit, 8x8 weight-stationary with loading drawn
GIF_GOAL_S = 1.0


def random_run(size: int, dataflow: str = "ws", seed: int = 0, folds: int = 1):
    """A size×size array over a product of ``folds`` tiles of K; 3·size rows stream through each of several folds."""
    rng = np.random.default_rng(seed)
    A = rng.integers(-8, 8, size=(size if folds == 1 else 3 * size, folds * size))
    W = rng.integers(-8, 8, size=(folds * size, size))
    return SystolicArray(size, size, dataflow).matmul(A, W, keep_frames=True)


def slider_to_png_ms(player: SystolicPlayer, cycles) -> list[tuple[float, float]]:
    """(wall, CPU) milliseconds from ``slider.value = t`` until the Image widget holds new PNG bytes, per cycle.

    The CPU time of this process is printed beside the wall time because a shared machine's other
    jobs stretch the wall time; on an idle machine the two agree.
    """
    times = []
    for t in cycles:
        before = player.image.value
        start, start_cpu = time.perf_counter(), time.process_time()
        player.slider.value = t
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if player.image.value == before or player.cycle != t:
            raise RuntimeError(f"setting the slider to {t} did not put a new frame into the widget")
        times.append((elapsed * 1000, elapsed_cpu * 1000))
    return times


def describe(times: list[tuple[float, float]]) -> str:
    wall = sorted(w for w, _ in times)
    p90 = wall[min(len(wall) - 1, int(0.9 * len(wall)))]
    cpu = statistics.median(c for _, c in times)
    return (f"median {statistics.median(wall):6.1f} ms, p90 {p90:6.1f} ms, max {max(wall):6.1f} ms "
            f"(CPU median {cpu:5.1f} ms)")


def bench_player(size: int, dataflow: str, rounds: int, folds: int = 1) -> float:
    """Prints the three timings for one array; returns the median CPU time of the first visits."""
    run = random_run(size, dataflow, folds=folds)
    forward = list(range(1, run.cycles)) + [0]
    first, fresh, cached, builds = [], [], [], []
    for _ in range(rounds):
        StampText._stamps.clear()
        start = time.perf_counter()
        player = SystolicPlayer(run)
        builds.append((time.perf_counter() - start) * 1000)
        first += slider_to_png_ms(player, forward)
        player._pngs.clear()
        fresh += slider_to_png_ms(player, forward)
        cached += slider_to_png_ms(player, forward)
    width, height = player.renderer.figure.canvas.get_width_height()
    loads = sum(run.frame(t).loading for t in range(run.cycles))
    print(f"{size}x{size} {dataflow}, {run.folds} fold(s), {run.cycles} cycles ({loads} of them loading a tile), "
          f"{width}x{height} px, {rounds} rounds "
          f"(new player: median {statistics.median(builds):.0f} ms)")
    print(f"  first visit of each cycle  {describe(first)}")
    print(f"  revisit, PNG cache emptied {describe(fresh)}")
    print(f"  revisit from the PNG cache {describe(cached)}")
    return statistics.median(c for _, c in first)


def bench_gif(size: int, rounds: int) -> float:
    run = random_run(size)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            start = time.perf_counter()
            path = save_animation(run, Path(folder) / f"array{n}.gif", fps=2)
            times.append(time.perf_counter() - start)
        size_kb = path.stat().st_size / 1024
    print(f"{size}x{size} GIF export, {run.cycles} frames ({size_kb:.0f} KiB): "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="repeat each measurement this many times")
    args = parser.parse_args()
    import ipywidgets

    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores{load}, "
          f"Python {platform.python_version()}, matplotlib {matplotlib.__version__}, "
          f"ipywidgets {ipywidgets.__version__}")
    frame_ms = bench_player(8, "ws", args.rounds)
    frame_ms = max(frame_ms, bench_player(8, "ws", args.rounds, folds=2))
    bench_player(8, "os", args.rounds)
    bench_player(16, "ws", args.rounds)
    gif_s = bench_gif(4, args.rounds)
    print(f"goal: 8x8 weight-stationary slider -> new PNG in <= {FRAME_GOAL_MS:.0f} ms of CPU time on a first visit: "
          f"{frame_ms:.1f} ms median (worse of one and two folds), {'met' if frame_ms <= FRAME_GOAL_MS else 'NOT met'}")
    met = "met" if gif_s <= GIF_GOAL_S else "NOT met"
    print(f"goal: 4x4 GIF in <= {GIF_GOAL_S:.0f} s: {gif_s:.2f} s median, {met}")


if __name__ == "__main__":
    main()
