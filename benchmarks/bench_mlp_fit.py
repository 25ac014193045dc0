"""Does training through tpu_lecture's helpers cost speed? Issue 6's goal: at least 90% of a plain ``fit``.

Both sides train the lecture's MLP on the same synthetic CIFAR-shaped data at batch 1024:
  plain:   model.fit(x, y, batch_size, epochs)                                  (Keras alone)
  helpers: synthetic_cifar10 → flatten_images → whole_batches → train(model, …)  (tpu_lecture)
Both sides train one and the same model (so the same compiled step), warmed by one untimed epoch so
compilation is not counted. Then the two alternate (A B B A …) and each call is timed from outside, wall
clock of the whole call: samples/s is epochs × samples / seconds. Medians over the rounds are compared.
Other processes on the machine add noise: more --rounds, and a quiet machine, give steadier figures.

    python benchmarks/bench_mlp_fit.py [--samples 10240] [--batch 1024] [--epochs 2] [--rounds 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_240)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed call")
    parser.add_argument("--rounds", type=int, default=8, help="timed calls per side")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default=os.environ.get("KERAS_BACKEND"))
    args = parser.parse_args(argv)
    for name in ("samples", "batch", "epochs", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend

    import keras

    from tpu_lecture import data, models

    cifar = data.synthetic_cifar10(args.samples, 1, seed=0)
    x, y = data.whole_batches(data.flatten_images(cifar.x_train), cifar.y_train, batch_size=args.batch)
    n = len(x)
    model = models.mlp_model(seed=0)

    def plain() -> None:
        model.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0)

    reports = []

    def helpers() -> None:
        reports.append(models.train(model, x, y, epochs=args.epochs, batch_size=args.batch, synthetic=True))

    def timed(run) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process, all threads) of one call."""
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        return time.perf_counter() - wall, time.process_time() - cpu

    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, {os.cpu_count()} CPU cores")
    print(f"lecture MLP, {n:,} synthetic CIFAR-shaped samples, batch {args.batch}, {args.epochs} epoch(s) per call")
    warm = time.perf_counter()
    model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0)
    print(f"warm-up (compilation + one epoch): {time.perf_counter() - warm:.1f} s")

    wall: dict[str, list[float]] = {"plain": [], "helpers": []}
    cpu: dict[str, list[float]] = {"plain": [], "helpers": []}
    for r in range(args.rounds):
        order = (("plain", plain), ("helpers", helpers))
        for name, run in order if r % 2 == 0 else order[::-1]:
            seconds, cpu_seconds = timed(run)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
        print(
            f"round {r + 1}: plain {wall['plain'][-1]:.2f} s ({cpu['plain'][-1]:.1f} CPU s), "
            f"helpers {wall['helpers'][-1]:.2f} s ({cpu['helpers'][-1]:.1f} CPU s)"
        )

    samples = args.epochs * n
    rate = {name: samples / statistics.median(ts) for name, ts in wall.items()}
    ratio = rate["helpers"] / rate["plain"]
    paired = statistics.median(p / h for p, h in zip(wall["plain"], wall["helpers"]))
    cpu_ratio = statistics.median(cpu["plain"]) / statistics.median(cpu["helpers"])
    own = [rep.samples_per_second for rep in reports if rep.samples_per_second]
    print(f"plain keras fit:     {rate['plain']:,.0f} samples/s (median wall time of {args.rounds} calls)")
    print(f"tpu_lecture helpers: {rate['helpers']:,.0f} samples/s (median wall time of {args.rounds} calls)")
    print(f"ratio helpers/plain: {ratio:.3f}  (goal ≥ 0.90: {'met' if ratio >= 0.9 else 'NOT met'})")
    print(f"  same, median of the {args.rounds} side-by-side pairs: {paired:.3f}")
    print(f"  same, in samples per CPU-second (less sensitive to other processes): {cpu_ratio:.3f}")
    if own:
        print(f"train()'s own report, epochs after the first: {statistics.median(own):,.0f} samples/s")
    print(f"last report: {reports[-1]!r}")
    return 0 if ratio >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
