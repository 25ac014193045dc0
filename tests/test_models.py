"""The lecture's models: parameter counts against closed forms, a training step, generation, the
distribution path; on the TensorFlow backend here and on JAX in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from tpu_lecture import models, runtime  # noqa: E402
from tpu_lecture.models import TrainingReport, char_model, generate_text, mlp_model, train  # noqa: E402
from tpu_lecture.runtime import tensorflow as tf_adapter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def dense_params(inputs: int, units: int) -> int:
    return inputs * units + units


def lstm_params(inputs: int, units: int) -> int:
    """Four gates, each with input weights, recurrent weights and a bias."""
    return 4 * (units * (inputs + units) + units)


def mlp_closed_form() -> int:
    widths = [3072, 2048, 1024, 512, 256, 128, 64, 32, 16]
    blocks = sum(dense_params(a, b) + 4 * b for a, b in zip(widths, widths[1:]))  # BatchNorm: γ, β, mean, var
    return blocks + dense_params(16, 10)


def gru_params(inputs: int, units: int) -> int:
    """Three gates, each with input weights, recurrent weights and (Keras's reset_after) two biases."""
    return 3 * (units * (inputs + units) + 2 * units)


def char_closed_form(vocab: int, embedding: int, units: int, layers: int, cell: str = "lstm") -> int:
    params = lstm_params if cell == "lstm" else gru_params
    rnn = params(embedding, units) + (layers - 1) * params(units, units)
    return vocab * embedding + rnn + dense_params(units, vocab)


@pytest.fixture(scope="module")
def tiny_char():
    return char_model(embedding_dim=8, rnn_units=16, seed=0)


def test_the_lectures_mlp_has_its_parameter_count():
    model = mlp_model()
    assert model.count_params() == mlp_closed_form() == 9_108_058  # the lecture's benchmark #2
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["Dense", "BatchNormalization", "ReLU", "Dropout"] * 8 + ["Dense"]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [
        2048, 1024, 512, 256, 128, 64, 32, 16, 10,
    ]
    assert all(layer.rate == 0.5 for layer in model.layers if isinstance(layer, keras.layers.Dropout))
    assert model.input_shape == (None, 3072) and model.output_shape == (None, 10)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_compile_options_reach_keras():
    model = mlp_model(steps_per_execution=4, jit_compile=False, learning_rate=0.01)
    assert model.steps_per_execution == 4 and model.jit_compile is False
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert not mlp_model(compile=False).compiled


@pytest.mark.parametrize(
    "sizes", [dict(), dict(vocab_size=128, embedding_dim=8, rnn_units=16, rnn_layers=3)], ids=["lecture", "small"]
)
def test_char_model_parameter_count_matches_the_closed_form(sizes):
    model = char_model(**sizes, compile=False)
    full = dict(vocab_size=256, embedding_dim=512, rnn_units=512, rnn_layers=2) | sizes
    assert model.count_params() == char_closed_form(
        full["vocab_size"], full["embedding_dim"], full["rnn_units"], full["rnn_layers"]
    )
    if not sizes:
        assert model.count_params() == 4_460_800
    assert sum(isinstance(layer, keras.layers.LSTM) for layer in model.layers) == full["rnn_layers"]


def test_the_cpu_sized_char_model_is_a_gru_with_adam_and_a_falling_rate():
    model = char_model(embedding_dim=8, rnn_units=16, rnn_layers=1, cell="gru", optimizer="adam",
                       learning_rate=0.01, decay_steps=100, clipnorm=1.0, seed=0)
    assert model.count_params() == char_closed_form(256, 8, 16, 1, "gru")
    assert [type(layer).__name__ for layer in model.layers[1:]] == ["Embedding", "GRU", "Dense"]
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam) and optimizer.clipnorm == 1.0
    schedule = keras.optimizers.schedules.deserialize(optimizer.get_config()["learning_rate"])
    assert float(schedule(0)) == pytest.approx(0.01) and float(schedule(100)) == pytest.approx(0.001)
    assert model.name == "shakespeare_gru"
    default = char_model(embedding_dim=64, rnn_units=4, compile=False, seed=0).get_layer("embedding").get_weights()[0]
    spread = char_model(embedding_dim=64, rnn_units=4, embedding_stddev=1.0, compile=False, seed=0)
    assert np.abs(default).max() <= 0.05  # Keras's uniform ±0.05
    assert np.std(spread.get_layer("embedding").get_weights()[0]) == pytest.approx(1.0, rel=0.05)


def test_the_embedding_moves_by_adams_step_not_by_the_rows_read():
    """Adam moves every weight by at most about its learning rate per step; a sparse gradient whose repeated rows
    were folded in one by one moved the embedding table many times that on TensorFlow (not on JAX)."""
    model = char_model(embedding_dim=8, rnn_units=8, rnn_layers=1, cell="gru", optimizer="adam", learning_rate=0.01,
                       seed=0)
    x = np.random.default_rng(0).integers(65, 70, (32, 20)).astype(np.int32)  # 5 bytes, each read ~128 times
    before = model.get_layer("embedding").get_weights()[0].copy()
    model.train_on_batch(x, x)
    step = np.abs(model.get_layer("embedding").get_weights()[0] - before)
    assert step.max() <= 0.0101 and step[65:70].min() > 0.005


def test_a_gru_model_writes_with_its_own_predictions():
    model = char_model(embedding_dim=8, rnn_units=16, rnn_layers=2, cell="gru", seed=0)
    sequence = np.frombuffer(b"To be, or not", dtype=np.uint8).astype(np.int32)
    expected = keras.ops.convert_to_numpy(model(sequence[None]))[0]
    step = models._next_byte_logits(model)
    np.testing.assert_allclose(np.stack([step(int(b)) for b in sequence]), expected, rtol=1e-5, atol=1e-5)
    assert len(generate_text(model, "ROMEO:", 9, seed=0)) == 9


def test_char_model_compiles_as_the_colab_did(tiny_char):
    assert isinstance(tiny_char.optimizer, keras.optimizers.RMSprop)
    assert float(tiny_char.optimizer.learning_rate) == pytest.approx(0.01)
    fixed = char_model(embedding_dim=4, rnn_units=4, seq_len=100, compile=False)
    assert fixed.input_shape == (None, 100) and fixed.output_shape == (None, 100, 256)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: mlp_model(steps_per_execution=0), ValueError, "steps_per_execution must be at least 1, got 0"),
        (lambda: mlp_model(jit_compile="yes"), ValueError, "unknown jit_compile 'yes': use one of True, False, 'auto'"),
        (lambda: mlp_model(dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
        (lambda: mlp_model(dropout="half"), TypeError, "dropout must be a number, got 'half'"),
        (lambda: mlp_model(learning_rate=-1), ValueError, "learning_rate must be positive, got -1"),
        (lambda: char_model(rnn_units=0), ValueError, "rnn_units must be at least 1, got 0"),
        (lambda: char_model(rnn_layers=1.5), TypeError, "rnn_layers must be a whole number, got 1.5"),
        (lambda: char_model(seq_len=0), ValueError, "seq_len must be at least 1, got 0"),
        (lambda: char_model(cell="rnn"), ValueError, "unknown cell 'rnn': use one of 'lstm', 'gru'"),
        (lambda: char_model(optimizer="sgd"), ValueError, "unknown optimizer 'sgd': use one of 'rmsprop', 'adam'"),
        (lambda: char_model(decay_steps=0), ValueError, "decay_steps must be at least 1, got 0"),
        (lambda: char_model(clipnorm=-1), ValueError, "clipnorm must be positive, got -1"),
        (lambda: char_model(embedding_stddev=0), ValueError, "embedding_stddev must be positive, got 0"),
        (lambda: train(None, [[1]], epochs=0), ValueError, "epochs must be at least 1, got 0"),
    ],
)
def test_bad_sizes_say_what_is_wrong(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_one_training_step_of_the_mlp():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 3072), dtype=np.float32), rng.integers(0, 10, 32)
    report = train(mlp_model(seed=0), x, y, epochs=2, batch_size=16, synthetic=True)
    assert report.epochs == 2 and report.samples_per_epoch == 32
    assert all(np.isfinite(report.losses)) and report.samples_per_second > 0
    assert "SYNTHETIC" in repr(report)


def test_the_char_model_learns_a_repeating_text():
    from tpu_lecture.data import char_arrays

    x, y = char_arrays("abcd" * 300, seq_len=12, batch_size=32)
    model = char_model(embedding_dim=8, rnn_units=16, seed=0, learning_rate=0.02)
    report = train(model, x, y, epochs=4, batch_size=32, items_per_sample=12, unit="characters")
    assert report.losses[-1] < 0.5 * report.losses[0]
    assert report.items_per_second == pytest.approx(12 * report.samples_per_second)
    assert "characters/s" in repr(report)


def test_train_reads_the_batch_size_of_a_static_tf_dataset(tiny_char):
    from tpu_lecture.data import char_dataset

    dataset = char_dataset("to be or not to be " * 40, seq_len=10, batch_size=8, repeat=True)
    report = train(tiny_char, dataset, epochs=2, steps_per_epoch=3)
    assert report.samples_per_epoch == 24 and len(report.epoch_seconds) == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        train(tiny_char, dataset, epochs=2)


def test_training_report_arithmetic():
    report = TrainingReport(
        epoch_seconds=(5.0, 2.0, 1.0, 3.0), samples_per_epoch=1000, items_per_sample=100, unit="characters",
        history={"loss": [2.0, 1.5, 1.2, 1.1]},
    )
    assert report.steady_epoch_seconds == 2.0 and report.compile_seconds == 3.0
    assert report.samples_per_second == 500.0 and report.items_per_second == 50_000.0
    assert repr(report) == (
        "TrainingReport(4 epochs × 1,000 samples; first 5.00 s (compilation ≈ 3.00 s), then 2.00 s/epoch = "
        "50,000 characters/s; loss 2.000 → 1.100)"
    )
    single = TrainingReport(epoch_seconds=(4.0,), samples_per_epoch=10)
    assert single.samples_per_second is None and "≥ 2 epochs" in repr(single)


def test_generate_text_returns_exactly_the_requested_length(tiny_char):
    for length in (0, 1, 37):
        assert len(generate_text(tiny_char, "ROMEO:", length, seed=1)) == length
    a = generate_text(tiny_char, "ROMEO:", 40, temperature=0.8, seed=7)
    assert a == generate_text(tiny_char, "ROMEO:", 40, temperature=0.8, seed=7)
    assert a != generate_text(tiny_char, "ROMEO:", 40, temperature=0.8, seed=8)


def test_stepping_the_cells_gives_the_models_own_predictions(tiny_char):
    sequence = np.frombuffer(b"Wherefore art thou", dtype=np.uint8).astype(np.int32)
    expected = keras.ops.convert_to_numpy(tiny_char(sequence[None]))[0]
    step = models._next_byte_logits(tiny_char)
    stepped = np.stack([step(int(b)) for b in sequence])
    np.testing.assert_allclose(stepped, expected, rtol=1e-5, atol=1e-5)


def forcing(byte: int):
    """A model that always predicts ``byte``: zero weights into the head, a large bias on that byte."""
    model = char_model(embedding_dim=4, rnn_units=4, compile=False)
    head = model.get_layer("next_byte_logits")
    bias = np.zeros(256, np.float32)
    bias[byte] = 50.0
    head.set_weights([np.zeros_like(head.get_weights()[0]), bias])
    return model


def test_invalid_utf8_becomes_replacement_characters_not_a_crash():
    assert generate_text(forcing(0xFF), "A", 5, seed=0) == "\ufffd" * 5
    assert generate_text(forcing(ord("z")), "A", 3, temperature=0.1, seed=0) == "zzz"


def test_generate_text_works_for_models_that_are_not_a_plain_stack():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(256, 4)(inputs)
    x = keras.layers.LSTM(4, return_sequences=True)(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(256, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    assert models._rnn_stack(model) is None
    assert len(generate_text(model, "To", 6, seed=0)) == 6


def test_sample_quality_counts_known_words_and_repeats():
    corpus = "First Citizen:\nBefore we proceed any further, hear me speak.\n"
    quality = models.sample_quality("Before we speak the the the farther proceed, hea", corpus)
    assert (quality.words, quality.known, quality.longest_repeat, quality.repeated_word) == (8, 4, 3, "the")
    assert quality.known_share == 0.5 and "4/8 words" in repr(quality) and "'the' 3x in a row" in repr(quality)
    clean = models.sample_quality("Hear me, speak; proceed.", corpus)
    assert clean.known_share == 1.0 and clean.longest_repeat == 1 and "no word twice" in repr(clean)
    assert models.sample_quality("", corpus).known_share == 0.0
    empty = models.sample_quality("", corpus)
    assert empty.empty and "EMPTY" in empty.line()
    looping = models.sample_quality("the counter to the content of the counter and the counter of the sun. ", corpus)
    assert (looping.top_pair, looping.top_pair_count, looping.longest_repeat) == ("the counter", 3, 1)
    assert looping.loop_share == pytest.approx(6 / 14) and "'the counter' 3x" in looping.line()
    assert clean.loop_share == 0 and "no word pair twice" in clean.line()
    assert models.sample_quality("O'er you're.", "o'er you're").known == 2  # apostrophes stay inside words
    with pytest.raises(TypeError, match="sample and corpus must both be str"):
        models.sample_quality(b"bytes", corpus)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(seed_text="", length=3), ValueError, "seed_text"),
        (dict(seed_text="A", length=-1), ValueError, "length must be at least 0, got -1"),
        (dict(seed_text="A", length=3, temperature=0), ValueError, "temperature must be positive, got 0"),
        (dict(seed_text="A", length=3, temperature="hot"), TypeError, "temperature must be a number, got 'hot'"),
    ],
)
def test_generate_text_rejects_bad_arguments(tiny_char, kwargs, error, message):
    with pytest.raises(error, match=message):
        generate_text(tiny_char, **kwargs)


def test_seed_bytes_beyond_the_vocabulary_are_refused():
    ascii_model = char_model(vocab_size=128, embedding_dim=4, rnn_units=4, compile=False)
    with pytest.raises(ValueError, match="byte value 195 but the model knows only 128"):
        generate_text(ascii_model, "é", 3)


class FakeStrategy:
    """Stands in for a TPUStrategy: counts how often its scope is entered."""

    def __init__(self):
        self.entered = 0

    @contextlib.contextmanager
    def scope(self):
        self.entered += 1
        yield


def test_models_are_built_inside_the_strategy_scope():
    fake = FakeStrategy()
    model = runtime.build_in_distribution(char_model, embedding_dim=4, rnn_units=4, distribution=fake, compile=False)
    assert fake.entered == 1 and model.count_params() == char_closed_form(256, 4, 4, 2)
    with pytest.raises(TypeError, match="has no scope"):
        runtime.build_in_distribution(mlp_model, distribution=object())


def test_the_default_distribution_is_the_runtimes_strategy(monkeypatch):
    fake = FakeStrategy()
    monkeypatch.setattr(tf_adapter, "strategy", lambda view, tf=None: fake)
    runtime.build_in_distribution(mlp_model, compile=False)
    assert fake.entered == 1
    monkeypatch.undo()
    model = runtime.build_in_distribution(char_model, embedding_dim=4, rnn_units=4, compile=False)
    assert model.count_params() == char_closed_form(256, 4, 4, 2)  # one CPU: the default strategy


def test_a_real_tf_strategy_mirrors_the_variables():
    tf = pytest.importorskip("tensorflow")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model = runtime.build_in_distribution(char_model, embedding_dim=4, rnn_units=4, distribution=strategy)
    assert all(strategy.extended.variable_created_in_scope(w.value) for w in model.weights)
    x = np.random.default_rng(0).integers(0, 256, (8, 6)).astype(np.int32)
    report = train(model, x, x, epochs=1, batch_size=8)
    assert np.isfinite(report.losses[0])


JAX_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np, keras, jax
    from tpu_lecture import models, runtime
    assert keras.backend.backend() == "jax"
    mlp = models.mlp_model(seed=0)
    rng = np.random.default_rng(0)
    mlp_report = models.train(mlp, rng.random((16, 3072), dtype=np.float32), rng.integers(0, 10, 16),
                              epochs=1, batch_size=8)
    parallel = keras.distribution.DataParallel(devices=jax.devices())
    lstm = runtime.build_in_distribution(models.char_model, embedding_dim=8, rnn_units=8, distribution=parallel)
    x = rng.integers(0, 256, (16, 10)).astype("int32")
    char_report = models.train(lstm, x, x, epochs=1, batch_size=8)
    text = models.generate_text(lstm, "ROMEO:", 12, seed=0)
    print(json.dumps({"mlp": mlp.count_params(), "lstm": lstm.count_params(), "text": text,
                      "replicas": runtime.replicas(parallel),
                      "losses": [mlp_report.losses[0], char_report.losses[0]]}))
    """
)


def test_both_models_build_and_train_on_the_jax_backend():
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["mlp"] == 9_108_058 and result["lstm"] == char_closed_form(256, 8, 8, 2)
    assert len(result["text"]) == 12 and all(np.isfinite(result["losses"]))
    assert result["replicas"] == 1  # DataParallel over the one CPU device


def test_compiled_writing_samples_what_the_eager_step_predicts():
    """At a temperature near 0 both ways pick the likeliest byte: the compiled loop (Gumbel-max on device) and the
    eager step (softmax on the host) must then write the same text, and after new weights, still agree."""
    model = char_model(embedding_dim=8, rnn_units=16, rnn_layers=2, cell="lstm", seed=3)
    head = model.get_layer("next_byte_logits")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 1000, bias])  # logits far apart: no near-tie for rounding to flip
    cold = 1e-3
    compiled = generate_text(model, "ROMEO:", 150, temperature=cold, seed=0)
    assert len(compiled) == 150 > models.CHUNK  # more than one call of the writing loop
    assert compiled == generate_text(model, "ROMEO:", 150, temperature=cold, seed=0, compiled=False)
    kernel, bias = head.get_weights()
    bias[ord("z")] = 1e5
    head.set_weights([kernel, bias])  # a compiled step that kept the old weights would not write z's
    assert generate_text(model, "ROMEO:", 70, temperature=cold, seed=0) == "z" * 70


def test_compiled_writing_is_seeded_and_warm_temperatures_vary():
    model = char_model(embedding_dim=8, rnn_units=16, rnn_layers=1, cell="gru", seed=0)
    a = generate_text(model, "ROMEO:", 90, temperature=1.0, seed=7)
    assert a == generate_text(model, "ROMEO:", 90, temperature=1.0, seed=7)
    assert a != generate_text(model, "ROMEO:", 90, temperature=1.0, seed=8)
