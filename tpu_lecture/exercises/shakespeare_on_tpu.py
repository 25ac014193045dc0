"""Checked exercises of notebook 09 · Shakespeare on a TPU. Every answer is computed here from the package: the MAC
counters, the size of tiny Shakespeare the loader checks against, the hardware table, the cycle model and the H200
reference run shipped with it; none depends on which text or machine the notebook ran on."""

from __future__ import annotations

import numpy as np

from tpu_lecture import data, hardware, macs
from tpu_lecture.bench import training
from tpu_lecture.bench.store import reference_results
from tpu_lecture.exercises.checker import Exercise, Mistake
from tpu_lecture.models import CHAR_VOCAB
from tpu_lecture.sim.machines import matrix_cycles

EMBEDDING, UNITS, LAYERS, SEQ_LEN = 512, 512, 2, 100  # the lecture's model (the Colab's)
WIDE = 1024  # exercise 1: one LSTM layer of 1024 units instead of two of 512
LECTURE_CHARS = 10 * 100 * 1024 * 100  # 10 epochs × 100 steps × 1024 windows × 100 characters
LOGITS, TEMPERATURE = (2.0, 1.0), 0.5  # exercise 4: two next characters' scores, and the temperature


def lstm_params(embedding: int = EMBEDDING, units: int = UNITS, layers: int = LAYERS, vocab: int = CHAR_VOCAB) -> int:
    """Parameters of the character model: the embedding table, per LSTM layer four gates of input weights,
    recurrent weights and a bias, and the Dense head with its bias."""
    inputs = [embedding] + [units] * (layers - 1)
    gates = sum(4 * (i * units + units * units + units) for i in inputs)
    return vocab * embedding + gates + units * vocab + vocab


def lstm_macs_per_char(embedding: int = EMBEDDING, units: int = UNITS, layers: int = LAYERS,
                       vocab: int = CHAR_VOCAB) -> int:
    """Forward MACs per character: the LSTM layers and the Dense head (the embedding is a lookup)."""
    inputs = [embedding] + [units] * (layers - 1)
    return sum(macs.lstm_macs(i, units) for i in inputs) + macs.dense_macs(units, vocab)


def _reads_per_char() -> float:
    return LECTURE_CHARS / data.SHAKESPEARE_BYTES


def _h200_share_percent() -> float:
    """The H200 reference run's training FLOP/s over the peak of the format its float32 products ran in."""
    run = next(r for r in reference_results() if r.workload == "shakespeare_lstm")
    _, peak = training.peak_for(hardware.get("H200"), "float32")
    return 100 * run.items_per_s * 3 * macs.macs_to_flops(lstm_macs_per_char()) / peak


def _probabilities(temperature: float) -> np.ndarray:
    """The softmax of the scores divided by the temperature, as ``tl.generate_text`` samples from."""
    z = np.asarray(LOGITS) / temperature
    e = np.exp(z - z.max())
    return e / e.sum()


def _writing_busy_percent(with_load: bool = False) -> float:
    """Writing is batch 1: one row through a 128×128 array holding its weights, by the cycle model (MACs over PEs ×
    compute cycles; ``with_load`` counts the cycles of shifting the weights in too)."""
    run = matrix_cycles(1, 128, 128, 128, 128)
    return 100 * run.macs / (128 * 128 * (run.cycles if with_load else run.compute_cycles))


def _worked_params() -> str:
    return (f"Embedding {CHAR_VOCAB} · {EMBEDDING} + one LSTM 4 ({EMBEDDING} · {WIDE} + {WIDE} · {WIDE} + {WIDE}) + "
            f"Dense {WIDE} · {CHAR_VOCAB} + {CHAR_VOCAB} = {lstm_params(units=WIDE, layers=1):,} parameters, against "
            f"the lecture's {lstm_params():,}. Its MACs per character, 4 ({EMBEDDING} · {WIDE} + {WIDE}²) + "
            f"{WIDE} · {CHAR_VOCAB} = {lstm_macs_per_char(units=WIDE, layers=1):,}, against "
            f"{lstm_macs_per_char():,}: more of both, because the recurrent weights grow with the square of the "
            "units.")


def _worked_reads() -> str:
    return (f"The lecture's run reads 10 × 100 × 1024 windows of 100 characters = {LECTURE_CHARS:,} characters; "
            f"tiny Shakespeare has {data.SHAKESPEARE_BYTES:,} (`data.SHAKESPEARE_BYTES`, the size the loader checks): "
            f"{LECTURE_CHARS:,} / {data.SHAKESPEARE_BYTES:,} = {_reads_per_char():.1f} reads of every character. "
            "The Colab read Project Gutenberg's complete works, about five times larger, so it saw each character "
            "far fewer times.")


def _worked_share() -> str:
    run = next(r for r in reference_results() if r.workload == "shakespeare_lstm")
    fmt, peak = training.peak_for(hardware.get("H200"), "float32")
    flops = 3 * macs.macs_to_flops(lstm_macs_per_char())
    return (f"The reference trained {run.items_per_s / 1e6:.2f} M characters/s. Each costs 3 × 2 × "
            f"{lstm_macs_per_char():,} = {flops / 1e6:.1f} MFLOP to train (forward and two backward products), so "
            f"{run.items_per_s * flops / 1e12:.0f} TFLOP/s, over the H200's {peak / 1e12:g} TFLOP/s {fmt} peak (the "
            f"format JAX multiplies float32 in there): {_h200_share_percent():.0f}%. Of the bfloat16 peak it would be "
            f"half that; the MLP of notebook 08 reached under 3%.")


def _worked_temperature() -> str:
    rows = "; ".join(f"T = {t}: {_probabilities(t)[0]:.3f} and {_probabilities(t)[1]:.3f}" for t in (1.0, 0.5, 0.2))
    return (f"p_i = e^(z_i / T) / Σ e^(z_j / T). With scores {LOGITS[0]:g} and {LOGITS[1]:g}, the likelier "
            f"character's probability is 1 / (1 + e^(−1/T)): {rows}. Halving T doubles the gap between the scores, "
            "so the likelier character takes more of the probability: a low temperature writes safe, repetitive "
            "text.")


def _worked_busy() -> str:
    run = matrix_cycles(1, 128, 128, 128, 128)
    return (f"One row of activations through a 128 × 128 array: the fold is in flight M + R + C − 2 = 1 + 128 + 128 − 2"
            f" = {run.compute_cycles} cycles for {run.macs:,} MACs, on 16,384 PEs: {run.macs:,} / (16,384 · "
            f"{run.compute_cycles}) = {_writing_busy_percent():.2f}% (`tl.matrix_cycles(1, 128, 128, 128, 128)`), "
            f"with the weights already in place; counting the {run.load_cycles} cycles of shifting them in, "
            f"{_writing_busy_percent(with_load=True):.2f}%. Writing feeds one character at a time, each waiting for "
            "the one before: latency-bound on any chip.")


EXERCISES = (
    Exercise(1, "parameters of one LSTM layer of 1024 units", answer=lambda: lstm_params(units=WIDE, layers=1),
             unit="parameters",
             hint="embedding 256 × 512, then one LSTM with 4 gates × (512 · 1024 input weights + 1024 · 1024 "
                  "recurrent + 1024 biases), then Dense 1024 → 256 with biases",
             mistakes=(Mistake(lstm_params, "that is the lecture's model with two layers of 512"),
                       Mistake(lambda: lstm_params(units=WIDE, layers=1) - 4 * WIDE - CHAR_VOCAB,
                               "the biases count too: one per unit and gate, and one per output")),
             worked=_worked_params),
    Exercise(2, "how often the lecture's run reads each character", answer=_reads_per_char, unit="times",
             rel_tol=0.01,
             hint="the run's characters (10 epochs × 100 steps × 1024 windows × 100) over tiny Shakespeare's "
                  "1,115,394",
             mistakes=(Mistake(lambda: _reads_per_char() / 10, "that is one epoch; the run has 10"),),
             worked=_worked_reads),
    Exercise(3, "the H200 reference's share of its TF32 peak", answer=_h200_share_percent, unit="%", rel_tol=0.03,
             hint="characters per second × training FLOPs per character (3 × 2 × MACs), over the peak of the "
                  "format float32 products run in on an H200 (TF32)",
             mistakes=(Mistake(lambda: _h200_share_percent() / 2, "that is the share of the bfloat16 peak; Keras's "
                                                                  "default policy is float32, multiplied in TF32"),
                       Mistake(lambda: _h200_share_percent() / 3, "training costs 3 forward passes: count them all")),
             worked=_worked_share),
    Exercise(4, "the likelier character at T = 0.5", answer=lambda: float(_probabilities(TEMPERATURE)[0]),
             rel_tol=0.005,
             hint="divide both scores by T, then take the softmax: e^(z/T) over the sum of both",
             mistakes=(Mistake(lambda: float(_probabilities(1.0)[0]), "that is T = 1: divide the scores by 0.5 "
                                                                      "first"),
                       Mistake(lambda: LOGITS[0] / sum(LOGITS), "the softmax exponentiates the scores; it does not "
                                                                "share them out as they are")),
             worked=_worked_temperature),
    Exercise(5, "MXU busy while writing, predicted then modelled", answer=_writing_busy_percent, unit="%",
             rel_tol=0.01,
             hint="one row streams through the 128 × 128 array in M + R + C − 2 cycles; busy = MACs / (PEs × "
                  "compute cycles)",
             mistakes=(Mistake(lambda: 100 / 128, "1 row of 128 leaves out the cycles of filling and draining the "
                                                  "array: the fold is in flight M + R + C − 2 cycles"),
                       Mistake(lambda: _writing_busy_percent(with_load=True),
                               "that counts the cycles of loading the weights too; they stay in place while the "
                               "model writes: count the compute cycles")),
             confirm=lambda: f"`tl.matrix_cycles(1, 128, 128, 128, 128)`: {_writing_busy_percent():.2f}% busy while "
                             "it computes.",
             worked=_worked_busy),
)
