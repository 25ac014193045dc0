"""Benchmark #2 and demo #3 on an accelerator, measured by this package: the results notebooks 08 and 09 set
beside their own runs, written with their provenance (chip, versions, date, command).

Two training runs, both on Keras's JAX backend by default (the path to a Colab TPU, and the backend of the
H200 figures shipped today, which other scripts measured):
  mlp:  the lecture's MLP on CIFAR-shaped data at batch 1024 (or each --batches), --mlp-epochs epochs of
        --mlp-samples samples; the first epoch compiles, samples/s come from the others.
  char: the lecture's Shakespeare model at full size (Embedding 512, two LSTM(512), Dense 256) at batch 1024
        × 100 characters, --char-epochs epochs of --char-steps steps; characters/s from the epochs after the first.
Each result records the dtype it trained in and the peak of the format its matrix units ran in. The data are
synthetic (throughput does not depend on the pixels or bytes): no accuracy or loss is reported as a result.

    python benchmarks/accelerator_training.py --out results/h200.jsonl              # about 2 minutes on an H200
    python benchmarks/accelerator_training.py --out r.jsonl --batches 128,256,512,1024,2048,4096,8192
    python benchmarks/accelerator_training.py --out r.jsonl --tiny --allow-cpu      # seconds, for the tests

It refuses to run on a CPU (the figures would be mistaken for an accelerator's) unless --allow-cpu, appends to
--out (never overwrites) and prints one line per result.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

LECTURE = {"mlp_samples": 50_000, "mlp_epochs": 4, "char_epochs": 3, "char_steps": 20, "batch": 1024}
TINY = {"mlp_samples": 64, "mlp_epochs": 2, "char_epochs": 2, "char_steps": 2, "batch": 16}
SOURCE = "measured by benchmarks/accelerator_training.py"


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line, with the lecture's sizes unless --tiny."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON-lines file to append the results to")
    parser.add_argument("--backend", choices=["jax", "tensorflow"], default="jax")
    parser.add_argument("--policy", default="float32", help="Keras dtype policy, e.g. mixed_bfloat16")
    parser.add_argument("--batches", default=None, help="comma-separated MLP batch sizes (default: 1024)")
    parser.add_argument("--workloads", default="mlp,char", help="which runs: mlp, char or both")
    parser.add_argument("--tiny", action="store_true", help="sizes that run in seconds (tests)")
    parser.add_argument("--allow-cpu", action="store_true", help="run even where no accelerator is found")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else LECTURE
    for name, value in sizes.items():
        setattr(args, name, value)
    args.batches = [int(b) for b in (args.batches or str(sizes["batch"])).split(",")]
    args.workloads = [w.strip() for w in args.workloads.split(",")]
    unknown = set(args.workloads) - {"mlp", "char"}
    if unknown or any(b < 1 for b in args.batches):
        parser.error(f"--workloads takes mlp and/or char (not {sorted(unknown)}); --batches positive integers")
    return args


def provenance(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    """What a result needs to be re-made: the command and the sizes it ran."""
    command = "python benchmarks/accelerator_training.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    return {"command": command, "policy": args.policy, "tiny": args.tiny, "series": "accelerator_training.py"}


def run_mlp(tl: Any, keras: Any, detected: Any, args: argparse.Namespace, extra: dict[str, Any]) -> list[Any]:
    """The lecture's MLP at each batch size: one result per batch, scaled to a 50,000-image epoch."""
    from tpu_lecture import data
    from tpu_lecture.bench import training

    cifar = data.synthetic_cifar10(args.mlp_samples, 1, seed=0)
    pixels = data.flatten_images(cifar.x_train)
    results = []
    for batch in args.batches:
        x, y = data.whole_batches(pixels, cifar.y_train, batch_size=min(batch, len(pixels)))
        model = tl.build_in_distribution(tl.mlp_model, seed=0)
        flops = tl.count_model(model).training_flops_per_sample
        report = tl.train(model, x, y, epochs=args.mlp_epochs, batch_size=min(batch, len(x)), synthetic=True)
        results.append(training.result_from_training(
            report, name=f"MLP training epoch, batch {batch}", workload="mlp_epoch", per_epoch=50_000,
            flops_per_sample=flops, dtype=keras.config.dtype_policy().compute_dtype, detected=detected,
            params={"batch_size": batch, **extra}, source=SOURCE,
            note="the lecture's 9-layer MLP on synthetic CIFAR-shaped data (throughput only)"))
    return results


def run_char(tl: Any, keras: Any, detected: Any, args: argparse.Namespace, extra: dict[str, Any]) -> list[Any]:
    """The lecture's Shakespeare model at full size on random bytes: characters per second."""
    import numpy as np

    from tpu_lecture.bench import training

    batch, seq_len = (LECTURE["batch"] if not args.tiny else TINY["batch"]), 100
    windows = batch * args.char_steps
    codes = np.random.default_rng(0).integers(32, 127, size=(windows, seq_len + 1)).astype(np.int32)
    sizes = {} if not args.tiny else {"embedding_dim": 16, "rnn_units": 16}
    model = tl.build_in_distribution(tl.char_model, seq_len=seq_len, seed=0, **sizes)
    flops = tl.count_model(model, sequence_length=seq_len).training_flops_per_sample
    report = tl.train(model, codes[:, :-1], codes[:, 1:], epochs=args.char_epochs, batch_size=batch,
                      items_per_sample=seq_len, unit="characters")
    return [training.result_from_training(
        report, name=f"Shakespeare LSTM, batch {batch}", workload="shakespeare_lstm", flops_per_sample=flops,
        dtype=keras.config.dtype_policy().compute_dtype, detected=detected, source=SOURCE,
        params={"batch_size": batch, "sequence_length": seq_len, "steps": args.char_steps,
                "parameters": model.count_params(), **extra},
        note="the lecture's Shakespeare model (Embedding 512, LSTM 512 x 2, Dense 256) on random bytes"
             if not args.tiny else "a tiny stand-in of the Shakespeare model (test run)")]


def stamp_provenance(results: list[Any]) -> None:
    """The fields a reference record carries (see accelerator_reference.py): timed epochs, how the timing waited
    for the device, driver/CUDA versions and form factor where nvidia-smi reports them, who measured it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("accelerator_reference",
                                                  Path(__file__).with_name("accelerator_reference.py"))
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    facts = reference.gpu_facts()
    for r in results:
        r.repeats = r.repeats or len(r.samples) or len(r.params.get("epoch_seconds", [])[1:]) or None  # timed epochs
        r.sync_method = "model.fit() returns when the epoch's last step is done (the loss is read back)"
        r.form_factor = facts.get("form_factor")
        r.versions = {**r.versions, **{k: v for k, v in facts.items() if k in ("driver", "cuda")}}
        r.provenance = "measured by tpu_lecture's training harness (benchmarks/accelerator_training.py)"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    import keras

    import tpu_lecture as tl

    detected = tl.runtime.detect()
    if detected.accelerator == "cpu" and not args.allow_cpu:
        print(f"no accelerator found ({detected.summary_line()}): run this on a GPU or TPU machine, or pass "
              "--allow-cpu to measure the CPU anyway", file=sys.stderr)
        return 2
    if args.policy != "float32":
        keras.mixed_precision.set_global_policy(args.policy)
    print(detected.summary_line())
    extra = provenance(args, argv)
    runs = {"mlp": run_mlp, "char": run_char}
    results = [r for name in args.workloads for r in runs[name](tl, keras, detected, args, extra)]
    stamp_provenance(results)
    tl.save_results(results, args.out)
    for r in results:
        share = "" if r.percent_of_peak is None else f", {r.percent_of_peak:.3g}% of the {r.peak_dtype} peak"
        print(f"{r.name}: {r.items_per_s:,.0f} {r.item_unit}/s{share} ({r.device}, {r.dtype})")
    print(f"{len(results)} results appended to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
