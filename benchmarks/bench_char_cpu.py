"""Does demo #3 learn on this CPU in time? Notebook 09's CPU run, timed outside the notebook.

Goals (issue 12): a held-out loss of at most 1.8 nats per character within 120 s of training on 2 CPU cores,
and a sample at the checker's temperature with at least 60% of its words from the training text and no word
more than twice in a row. The sizes are read from the CPU branch of notebook 09's parameters cell, so this
script trains exactly what the notebook trains: the same text split, windows, model, optimizer and steps.
Other processes on the machine slow it down: run it when ``uptime`` shows a quiet machine.

    python benchmarks/bench_char_cpu.py [--backend tensorflow|jax] [--repeat 1]

Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
import types
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09_shakespeare_on_tpu.ipynb"
BUDGET_S, LOSS_BAR, KNOWN_WORDS, MOST_REPEATS = 120, 1.8, 0.6, 2


def cpu_parameters(notebook: Path = NOTEBOOK) -> dict[str, object]:
    """The names notebook 09's parameters cell defines, evaluated as on a CPU runtime."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    [cell] = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    source = "".join(cell["source"])
    ast.parse(source)  # a syntax error names the cell, not this script
    names: dict[str, object] = {"tl": types.SimpleNamespace(accelerator_kind=lambda: "cpu")}
    exec(compile(source, f"{notebook.name}: parameters cell", "exec"), names)
    return {k: v for k, v in names.items() if k.isupper()}


def run_once(p: dict[str, object]) -> dict[str, float]:
    """Train as the notebook does; return the seconds, characters/s, held-out loss and the sample's figures."""
    import tpu_lecture as tl
    from tpu_lecture import data
    from tpu_lecture.models import sample_quality

    corpus = data.load_shakespeare()
    train_text, held_text = data.split_text(corpus.text, p["HELD_OUT"])
    batch, steps, epochs, seq_len = p["BATCH"], p["STEPS_PER_EPOCH"], p["EPOCHS"], p["SEQ_LEN"]
    x, y = data.char_windows(train_text, seq_len, epochs * steps * batch, seed=p["SEED"])
    x_held, y_held = data.char_arrays(held_text, seq_len, batch_size=batch)
    model = tl.char_model(embedding_dim=p["EMBEDDING"], rnn_units=p["UNITS"], rnn_layers=p["RNN_LAYERS"],
                          cell=p["CELL"], seq_len=seq_len, optimizer=p["OPTIMIZER"], learning_rate=p["LEARNING_RATE"],
                          decay_steps=epochs * steps if p["DECAY"] else None, clipnorm=p["CLIPNORM"],
                          embedding_stddev=p["EMBEDDING_STDDEV"], seed=p["SEED"])
    start = time.perf_counter()
    report = tl.train(model, x, y, epochs=epochs, batch_size=batch, steps_per_epoch=steps,
                      validation_data=(x_held[:2 * batch], y_held[:2 * batch]), items_per_sample=seq_len,
                      unit="characters")
    wall = time.perf_counter() - start
    loss = model.evaluate(x_held, y_held, batch_size=batch, verbose=0, return_dict=True)["loss"]
    sample = tl.generate_text(model, p["SEED_TEXT"], p["GENERATE"], temperature=p["CHECK_TEMPERATURE"], seed=p["SEED"])
    quality = sample_quality(sample, train_text)
    return {"training_s": sum(report.epoch_seconds), "fit_wall_s": wall, "chars_per_s": report.items_per_second,
            "held_out_loss": loss, "known_words": quality.known_share, "longest_repeat": quality.longest_repeat,
            "fallback_text": corpus.fallback, "val_loss": report.history["val_loss"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default=os.environ.get("KERAS_BACKEND"))
    parser.add_argument("--repeat", type=int, default=1, help="training runs (each takes about 90 s)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    p = cpu_parameters()
    print(f"notebook 09's CPU run: {p['CELL']} {p['RNN_LAYERS']} x {p['UNITS']}, {p['EPOCHS']} x "
          f"{p['STEPS_PER_EPOCH']} steps of {p['BATCH']} x {p['SEQ_LEN']}, {p['OPTIMIZER']} {p['LEARNING_RATE']}; "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}")
    met = True
    for i in range(args.repeat):
        r = run_once(p)
        goals = {"time": r["training_s"] <= BUDGET_S, "loss": r["held_out_loss"] <= LOSS_BAR,
                 "words": r["known_words"] >= KNOWN_WORDS, "repeats": r["longest_repeat"] <= MOST_REPEATS}
        met = met and all(goals.values())
        print(f"run {i + 1}: {r['training_s']:.1f} s of training ({r['fit_wall_s']:.1f} s with validation), "
              f"{r['chars_per_s']:,.0f} characters/s; held-out loss {r['held_out_loss']:.3f} (per epoch "
              f"{' '.join(f'{v:.2f}' for v in r['val_loss'])}); {r['known_words']:.0%} known words, longest repeat "
              f"{r['longest_repeat']}{'; FALLBACK TEXT' if r['fallback_text'] else ''}; load {os.getloadavg()[0]:.2f}")
        print("  goals: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in goals.items()))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
