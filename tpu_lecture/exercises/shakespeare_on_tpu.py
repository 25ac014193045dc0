"""Checked exercises of notebook 09 · Shakespeare on a TPU. Every answer is computed here from the package: the MAC
counters, the size of tiny Shakespeare the loader checks against, the hardware table, the cycle model, the H200
reference run shipped with it and the Colab's logged epoch time; none depends on which text or machine the notebook
ran on."""

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
V2_BOARD_CHIPS = 4  # the Colab's TPU v2-8: 4 chips of 2 TensorCores
V2_EPOCH_S = 17  # the original Colab's stored training log: about 17 s per epoch after the first, on its TPU v2-8
V6E_MXU = 256  # exercise 5: a TPU v6e's MXU is 256 × 256 (hardware table)


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


def _v2_share_percent(chips: int = V2_BOARD_CHIPS) -> float:
    """The Colab's logged TPU v2-8 run: training FLOP/s after the first epoch over the board's bfloat16 peak."""
    rate = LECTURE_CHARS / 10 / V2_EPOCH_S
    return 100 * rate * 3 * macs.macs_to_flops(lstm_macs_per_char()) / (chips * hardware.get("TPU v2").peak_flops)


def _h200_share_percent() -> float:
    """The H200 reference run's training FLOP/s over the peak of the format its float32 products ran in (TF32)."""
    run = next(r for r in reference_results() if r.workload == "shakespeare_lstm")
    _, peak = training.peak_for(hardware.get("H200"), "float32")
    return 100 * run.items_per_s * 3 * macs.macs_to_flops(lstm_macs_per_char()) / peak


def _probabilities(temperature: float) -> np.ndarray:
    """The softmax of the scores divided by the temperature, as ``tl.generate_text`` samples from."""
    z = np.asarray(LOGITS) / temperature
    e = np.exp(z - z.max())
    return e / e.sum()


def _writing_busy_percent(size: int | None = None, with_load: bool = False) -> float:
    """Writing is batch 1: one row through a square array holding its weights (a v6e's 256 × 256 MXU unless told),
    by the cycle model: MACs over PEs × compute cycles (``with_load`` counts shifting the weights in too)."""
    size = size or hardware.get("TPU v6e").mxu[0]
    run = matrix_cycles(1, size, size, size, size)
    return 100 * run.macs / (size * size * (run.cycles if with_load else run.compute_cycles))


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
    v2 = hardware.get("TPU v2")
    rate = LECTURE_CHARS / 10 / V2_EPOCH_S
    flops = 3 * macs.macs_to_flops(lstm_macs_per_char())
    peak = V2_BOARD_CHIPS * v2.peak_flops
    return (f"The Colab's log: {LECTURE_CHARS / 10:,.0f} characters per epoch in about {V2_EPOCH_S} s after the "
            f"first, {rate / 1e6:.2f} M characters/s. Each costs 3 × 2 × {lstm_macs_per_char():,} = "
            f"{flops / 1e6:.1f} MFLOP to train, so {rate * flops / 1e12:.1f} TFLOP/s, over the board's "
            f"{V2_BOARD_CHIPS} chips × {v2.peak_flops / 1e12:.0f} TFLOP/s = {peak / 1e12:.0f} TFLOP/s (the lecture "
            f"era's figure, `tl.hardware.get(\"TPU v2\")`): {_v2_share_percent():.1f}%. The H200 reference reached "
            f"{_h200_share_percent():.0f}% of its far larger TF32 peak (section 5).")


def _worked_temperature() -> str:
    rows = "; ".join(f"T = {t}: {_probabilities(t)[0]:.3f} and {_probabilities(t)[1]:.3f}" for t in (1.0, 0.5, 0.2))
    return (f"p_i = e^(z_i / T) / Σ e^(z_j / T). With scores {LOGITS[0]:g} and {LOGITS[1]:g}, the likelier "
            f"character's probability is 1 / (1 + e^(−1/T)): {rows}. Halving T doubles the gap between the scores, "
            "so the likelier character takes more of the probability: a low temperature writes safe, repetitive "
            "text.")


def _worked_busy() -> str:
    size = hardware.get("TPU v6e").mxu[0]
    run = matrix_cycles(1, size, size, size, size)
    return (f"One row of activations through a {size} × {size} array: the fold is in flight M + R + C − 2 = 1 + "
            f"{size} + {size} − 2 = {run.compute_cycles} cycles for {run.macs:,} MACs, on {size * size:,} PEs: "
            f"{run.macs:,} / ({size * size:,} · {run.compute_cycles}) = {_writing_busy_percent():.3f}% "
            f"(`tl.matrix_cycles(1, {size}, {size}, {size}, {size})`), with the weights already in place; half a "
            f"128 × 128 MXU's {_writing_busy_percent(128):.2f}%, because a bigger array takes longer to fill and "
            "drain for one row. Writing feeds one character at a time, each waiting for the one before: "
            "latency-bound on any chip, and the more so the bigger its matrix units.")


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
    Exercise(3, "the Colab's share of its TPU v2-8's peak", answer=_v2_share_percent, unit="%", rel_tol=0.05,
             hint="characters per second after the first epoch (102,400,000 / 10 per epoch, about 17 s each) × "
                  "training FLOPs per character (3 × 2 × MACs), over 4 chips × the v2's peak",
             mistakes=(Mistake(lambda: _v2_share_percent(chips=1), "a v2-8 board has 4 chips: its peak is 4 × 45 "
                                                                   "TFLOP/s"),
                       Mistake(lambda: _v2_share_percent() / 3, "training costs 3 forward passes: count them all")),
             worked=_worked_share),
    Exercise(4, "the likelier character at T = 0.5", answer=lambda: float(_probabilities(TEMPERATURE)[0]),
             rel_tol=0.005,
             hint="divide both scores by T, then take the softmax: e^(z/T) over the sum of both",
             mistakes=(Mistake(lambda: float(_probabilities(1.0)[0]), "that is T = 1: divide the scores by 0.5 "
                                                                      "first"),
                       Mistake(lambda: LOGITS[0] / sum(LOGITS), "the softmax exponentiates the scores; it does not "
                                                                "share them out as they are")),
             worked=_worked_temperature),
    Exercise(5, "a v6e's MXU busy while writing, predicted then modelled", answer=_writing_busy_percent,
             unit="%", rel_tol=0.01, digits=1,  # 0.2% is the answer to one figure
             hint="one row streams through the 256 × 256 array in M + R + C − 2 cycles; busy = MACs / (PEs × "
                  "compute cycles)",
             mistakes=(Mistake(lambda: _writing_busy_percent(128), "that is a 128 × 128 MXU's, or 1 row of 256 "
                                                                   "without the cycles of filling and draining the "
                                                                   "array: a v6e's fold is in flight 1 + 256 + 256 − "
                                                                   "2 cycles"),
                       Mistake(lambda: _writing_busy_percent(with_load=True),
                               "that counts the cycles of loading the weights too; they stay in place while the "
                               "model writes: count the compute cycles")),
             confirm=lambda: f"`tl.matrix_cycles(1, 256, 256, 256, 256)`: {_writing_busy_percent():.3f}% busy while "
                             "it computes.",
             worked=_worked_busy),
)
