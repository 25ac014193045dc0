"""The lecture's two training workloads as Keras 3 models, and a timed ``fit`` that reports their speed.

``mlp_model`` is benchmark #2 (the 9-layer MLP on CIFAR-10), ``char_model`` is demo #3 (the byte-level
Shakespeare LSTM). Both use only Keras layers and ``keras.ops``, so the same code runs on the TensorFlow
backend (CPU, GPU, Cloud TPU VMs) and on the JAX backend (Colab TPUs). Keras is imported inside the
functions, so importing this module stays cheap.
"""

from __future__ import annotations

import codecs
import collections
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tpu_lecture.checks import number, one_of, positive, whole_number

# The lecture's MLP (benchmark #2 of the original lecture): a 32×32×3 CIFAR-10 image flattened to 3072
# inputs, eight Dense→BatchNorm→ReLU→Dropout(0.5) blocks, Dense(10, softmax); Adam 1e-3; 9,108,058 parameters.
MLP_INPUTS = 32 * 32 * 3
MLP_WIDTHS = (2048, 1024, 512, 256, 128, 64, 32, 16)
MLP_CLASSES = 10
# The Shakespeare model of TensorFlow's "shakespeare_with_tpu_and_keras" Colab (its model cell): bytes in
# and out (256 values), Embedding 512, two LSTM(512) layers, RMSprop with learning rate 0.01.
CHAR_VOCAB = 256
OPTIMIZERS = ("rmsprop", "adam")
CELLS = ("lstm", "gru")

Model = Any  # a keras.Model; Keras is not imported at module level


def _keras() -> Any:
    import keras

    return keras


def _check_compile_options(steps_per_execution: Any, jit_compile: Any, learning_rate: Any) -> None:
    """The options ``model.compile`` gets from both models."""
    whole_number("steps_per_execution", steps_per_execution)
    one_of("jit_compile", jit_compile, (True, False, "auto"))
    positive("learning_rate", learning_rate)


def mlp_model(
    *,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    compile: bool = True,
    seed: int | None = None,
) -> Model:
    """The lecture's MLP: 3072 inputs, eight Dense→BatchNorm→ReLU→Dropout blocks (2048 … 16), 10 classes.

    Compiled with Adam, sparse categorical cross-entropy and accuracy. ``steps_per_execution`` runs that
    many training steps per call into the device (fewer host round trips, which matters on a TPU);
    ``seed`` seeds Python, NumPy and the backend so the initial weights repeat.
    """
    _check_compile_options(steps_per_execution, jit_compile, learning_rate)
    number("dropout", dropout, low=0, high=1, high_open=True)  # the fraction of activations dropped
    keras = _keras()
    layers = keras.layers
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(MLP_INPUTS,), name="pixels")
    x = inputs
    for i, width in enumerate(MLP_WIDTHS, start=1):
        x = layers.Dense(width, name=f"dense_{i}")(x)
        x = layers.BatchNormalization(name=f"batchnorm_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = layers.Dense(MLP_CLASSES, activation="softmax", name="classes")(x)
    model = keras.Model(inputs, outputs, name="lecture_mlp")
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
    return model


def char_model(
    vocab_size: int = CHAR_VOCAB,
    embedding_dim: int = 512,
    rnn_units: int = 512,
    rnn_layers: int = 2,
    *,
    cell: str = "lstm",
    seq_len: int | None = None,
    optimizer: str = "rmsprop",
    learning_rate: float = 0.01,
    decay_steps: int | None = None,
    clipnorm: float | None = None,
    embedding_stddev: float | None = None,
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    compile: bool = True,
    seed: int | None = None,
) -> Model:
    """The Shakespeare model: byte → Embedding → ``rnn_layers`` recurrent layers (sequences) → Dense logits.

    It predicts the next byte at every position. The defaults are the lecture's: LSTM layers, RMSprop with
    learning rate 0.01. A CPU run passes smaller sizes, ``cell="gru"`` (three gates instead of four: less work
    per character) and ``optimizer="adam"``, which learn faster at small batches; ``decay_steps`` lowers the
    learning rate along a cosine to a tenth over that many steps, ``clipnorm`` caps each gradient's norm, and
    ``embedding_stddev`` draws the byte vectors from a normal distribution of that spread instead of Keras's
    ±0.05 (Adam moves a weight by about its learning rate per step, so tiny vectors take many steps to grow).
    Outputs are logits (the loss applies the softmax). ``seq_len=None`` accepts any length; a fixed one gives
    the static shapes a TPU wants.
    """
    _check_compile_options(steps_per_execution, jit_compile, learning_rate)
    one_of("optimizer", optimizer, OPTIMIZERS)
    one_of("cell", cell, CELLS)
    vocab_size, embedding_dim = whole_number("vocab_size", vocab_size), whole_number("embedding_dim", embedding_dim)
    rnn_units, rnn_layers = whole_number("rnn_units", rnn_units), whole_number("rnn_layers", rnn_layers)
    if seq_len is not None:
        seq_len = whole_number("seq_len", seq_len)
    decay_steps, clipnorm, embedding_stddev = _optional(decay_steps=decay_steps, clipnorm=clipnorm,
                                                        embedding_stddev=embedding_stddev)
    keras = _keras()
    layers = keras.layers
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(seq_len,), dtype="int32", name="bytes")
    start = "uniform" if embedding_stddev is None else keras.initializers.RandomNormal(stddev=embedding_stddev)
    x = layers.Embedding(vocab_size, embedding_dim, embeddings_initializer=start,
                         embeddings_regularizer=_dense_gradient, name="embedding")(inputs)
    recurrent = layers.LSTM if cell == "lstm" else layers.GRU
    for i in range(1, rnn_layers + 1):
        x = recurrent(rnn_units, return_sequences=True, name=f"{cell}_{i}")(x)
    logits = layers.Dense(vocab_size, name="next_byte_logits")(x)
    model = keras.Model(inputs, logits, name=f"shakespeare_{cell}")
    if compile:
        model.compile(
            optimizer=_optimizer(keras, optimizer, learning_rate, decay_steps, clipnorm),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["sparse_categorical_accuracy"],
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )
    return model


def _optional(**values: Any) -> tuple[Any, ...]:
    """The optional training settings, each None or checked: a whole number of steps, positive numbers else."""
    checks = {"decay_steps": whole_number, "clipnorm": positive, "embedding_stddev": positive}
    return tuple(None if v is None else checks[name](name, v) for name, v in values.items())


def _dense_gradient(table: Any) -> Any:
    """A zero loss term on the embedding table, so that its gradient is dense on every backend.

    On TensorFlow a lookup's gradient is sparse (``tf.IndexedSlices``, one row per byte read, repeats and
    all), and Keras 3's Adam and RMSprop fold such rows into their moments one by one instead of summing them
    first: the table then moves many times the optimizer's step, and the same model trains differently on
    TensorFlow and on JAX. A dense term in the gradient makes TensorFlow sum the rows, as JAX does.
    """
    return 0.0 * _keras().ops.sum(table)


def _optimizer(keras: Any, name: str, learning_rate: float, decay_steps: int | None, clipnorm: float | None) -> Any:
    """RMSprop or Adam, at a fixed learning rate or one that follows a cosine down to a tenth of it."""
    rate: Any = learning_rate
    if decay_steps is not None:
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.1)
    chosen = keras.optimizers.RMSprop if name == "rmsprop" else keras.optimizers.Adam
    return chosen(rate, clipnorm=clipnorm)


# --------------------------------------------------------------------------------------- generation


def _rnn_stack(model: Model) -> tuple[Any, list[Any], Any] | None:
    """(embedding, recurrent layers, output Dense) when the model is such a plain stack, else None."""
    keras = _keras()
    body = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if len(body) < 3:
        return None
    embedding, *rnns, head = body
    if (
        isinstance(embedding, keras.layers.Embedding)
        and isinstance(head, keras.layers.Dense)
        and all(isinstance(r, keras.layers.RNN) and r.return_sequences and not r.go_backwards for r in rnns)
    ):
        return embedding, rnns, head
    return None


def _next_byte_logits(model: Model, compiled: bool = True) -> Callable[[int], np.ndarray]:
    """A function byte → logits of the next byte that carries the recurrent state from call to call.

    For an Embedding→RNN…→Dense stack it steps the layers' cells one byte at a time (O(1) per byte), as one
    compiled batch-1 step (``runtime.compiled``: jax.jit or tf.function with XLA) unless ``compiled=False``,
    which calls the layers eagerly, one framework op at a time; any other model is run on a window of the last
    100 bytes.
    """
    keras = _keras()
    ops = keras.ops
    stack = _rnn_stack(model)
    if stack is None:
        history: list[int] = []

        def window(byte: int) -> np.ndarray:
            history.append(byte)
            x = ops.convert_to_tensor(np.array([history[-100:]], dtype=np.int32))
            return _as_logits(ops.convert_to_numpy(model(x, training=False))[0, -1], model.layers[-1])

        return window
    embedding, rnns, head = stack
    states = [_state_list(rnn.cell.get_initial_state(batch_size=1)) for rnn in rnns]
    advance, weights = _compiled_step(model, stack) if compiled else (_step_function(stack), lambda: [])

    def step(byte: int) -> np.ndarray:
        byte_array = np.array([byte], dtype=np.int32)
        logits, states[:] = advance(byte_array if compiled else ops.convert_to_tensor(byte_array), list(states),
                                    weights())
        return _as_logits(ops.convert_to_numpy(logits)[0], head)

    return step


def _step_function(stack: tuple[Any, list[Any], Any],
                   variables: Sequence[Any] = ()) -> Callable[..., tuple[Any, list[list[Any]]]]:
    """One byte through the stack: (byte, states, weight values) → (logits, states), written with Keras layers and
    ops only. Where ``variables`` are given, their values come in as the third argument (a stateless call: a
    compiled JAX step reads the weights as inputs, so it never keeps stale ones after more training)."""
    keras = _keras()
    embedding, rnns, head = stack

    def advance(byte: Any, carried: list[list[Any]], values: list[Any]) -> tuple[Any, list[list[Any]]]:
        scope = keras.StatelessScope(state_mapping=list(zip(variables, values))) if variables else _no_scope()
        with scope:
            x = embedding(byte)
            after = []
            for rnn, state in zip(rnns, carried):
                x, state = rnn.cell(x, state, training=False)
                after.append(_state_list(state))
            return head(x), after

    return advance


class _no_scope:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


_COMPILED: Any = None  # (model, what) -> (compiled function, weight reader), kept as long as the model lives
CHUNK = 64  # bytes written per call of the compiled writing loop


def _writing_loop(stack: tuple[Any, list[Any], Any], variables: Sequence[Any]) -> Callable[..., Any]:
    """``CHUNK`` bytes in one call: (byte, states, noise, 1/T, weights) → (bytes, states). Each turn runs the batch-1
    step and picks the next byte as argmax(logits / T + Gumbel noise), which samples softmax(logits / T) exactly;
    the noise comes from the host's seeded generator, so a seed repeats the text."""
    ops = _keras().ops
    advance = _step_function(stack, variables)

    def write(byte: Any, carried: list[list[Any]], noise: Any, inverse_t: Any, values: list[Any]) -> Any:
        def turn(i: Any, loop: tuple[Any, list[list[Any]], Any]) -> tuple[Any, list[list[Any]], Any]:
            current, state, written = loop
            logits, state = advance(current, state, values)
            scores = ops.cast(logits[0], "float32") * inverse_t + noise[i]
            chosen = ops.cast(ops.argmax(scores), "int32")
            return ops.reshape(chosen, (1,)), state, ops.slice_update(written, (i,), ops.reshape(chosen, (1,)))

        written = ops.zeros((CHUNK,), dtype="int32")
        _, carried, written = ops.fori_loop(0, CHUNK, turn, (byte, carried, written))
        return written, carried

    return write


def _compiled_step(model: Model, stack: tuple[Any, list[Any], Any],
                   loop: bool = False) -> tuple[Callable[..., Any], Callable[[], list]]:
    """The stack's step (or, with ``loop``, its writing loop) compiled once per model (``runtime.compiled``)
    and the function that reads the weight values it takes: on JAX the current values (a jitted function would
    otherwise bake in the weights it first saw), on TensorFlow none (tf.function reads its variables itself)."""
    import weakref

    from tpu_lecture.runtime import compiled

    global _COMPILED
    if _COMPILED is None:
        _COMPILED = weakref.WeakKeyDictionary()
    found = _COMPILED.setdefault(model, {})
    if loop not in found:
        embedding, rnns, head = stack
        variables = ([v for layer in (embedding, *rnns, head) for v in layer.variables]
                     if compiled.weights_as_inputs() else [])
        made = (_writing_loop if loop else _step_function)(stack, variables)
        found[loop] = (compiled.compile_step(made), lambda: [v.value for v in variables])
    return found[loop]


def _state_list(state: Any) -> list[Any]:
    """A cell's state as a list (an LSTM's [h, c], a GRU's [h]), so the compiled step sees one structure."""
    return list(state) if isinstance(state, (list, tuple)) else [state]


def _as_logits(output: np.ndarray, head: Any) -> np.ndarray:
    output = output.astype(np.float64)
    activation = getattr(getattr(head, "activation", None), "__name__", "linear")
    return np.log(np.maximum(output, 1e-30)) if activation == "softmax" else output


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """One index drawn from softmax(logits / temperature): low temperatures pick the likeliest byte."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(len(probabilities), p=probabilities))


def generate_text(
    model: Model, seed_text: str, length: int, temperature: float = 1.0, seed: int | None = None,
    compiled: bool = True,
) -> str:
    """``length`` new characters written by a byte-level model after ``seed_text``.

    Text is UTF-8 bytes (tiny Shakespeare is ASCII, so one byte is one character). Sampled bytes are
    decoded as UTF-8 as they come, an invalid sequence becoming U+FFFD, until ``length`` characters are
    out. ``temperature`` scales the logits; ``seed`` makes the sampling repeat (NumPy's generator). Each byte is
    one call of a compiled batch-1 step carrying the recurrent state; ``compiled=False`` runs the layers eagerly
    instead (the slow way, kept to show the difference).
    """
    if not isinstance(seed_text, str) or not seed_text:
        raise ValueError(f"seed_text={seed_text!r} must be a non-empty str to start from, e.g. 'ROMEO:'")
    length = whole_number("length", length, 0)  # characters
    temperature = positive("temperature", temperature)  # e.g. 0.5 (careful) to 1.5 (wild)
    seed_bytes = seed_text.encode("utf-8")
    vocab = model.output_shape[-1]
    if max(seed_bytes) >= vocab:
        raise ValueError(
            f"seed_text holds byte value {max(seed_bytes)} but the model knows only {vocab} byte values: "
            "use ASCII seed text"
        )
    rng = np.random.default_rng(seed)
    stack = _rnn_stack(model) if compiled else None
    if stack is not None and _linear_head(stack[2]):
        return _write_in_chunks(model, stack, seed_bytes, length, temperature, rng)
    next_logits = _next_byte_logits(model, compiled)
    for byte in seed_bytes:
        logits = next_logits(byte)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces: list[str] = []
    produced = 0
    while produced < length:
        byte = sample(logits, temperature, rng)
        piece = decoder.decode(bytes([byte]))
        pieces.append(piece)
        produced += len(piece)
        if produced < length:
            logits = next_logits(byte)
    return "".join(pieces)[:length]


def _linear_head(head: Any) -> bool:
    """Whether the head outputs logits (the writing loop adds Gumbel noise to logits, not to probabilities)."""
    return getattr(getattr(head, "activation", None), "__name__", "linear") == "linear"


def _write_in_chunks(model: Model, stack: tuple[Any, list[Any], Any], seed_bytes: bytes, length: int,
                     temperature: float, rng: np.random.Generator) -> str:
    """``generate_text`` through compiled code: the seed read by the compiled batch-1 step, then ``CHUNK`` bytes
    per call of the compiled writing loop, decoded as UTF-8 until ``length`` characters are out."""
    ops = _keras().ops
    step, weights = _compiled_step(model, stack)
    write, _ = _compiled_step(model, stack, loop=True)
    vocab = model.output_shape[-1]
    states = [_state_list(rnn.cell.get_initial_state(batch_size=1)) for rnn in stack[1]]
    for byte in seed_bytes[:-1]:
        _, states = step(np.array([byte], dtype=np.int32), states, weights())
    current = np.array([seed_bytes[-1]], dtype=np.int32)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces: list[str] = []
    produced = 0
    inverse_t = np.asarray(1 / temperature, dtype=np.float32)  # an array: one trace for every temperature
    while produced < length:
        noise = rng.gumbel(size=(CHUNK, vocab)).astype(np.float32)
        written, states = write(current, states, noise, inverse_t, weights())
        written = ops.convert_to_numpy(written)
        for byte in written.tolist():
            piece = decoder.decode(bytes([byte]))
            pieces.append(piece)
            produced += len(piece)
            if produced >= length:
                break
        current = written[-1:].astype(np.int32)
    return "".join(pieces)[:length]


_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


@dataclass(frozen=True, repr=False)
class SampleQuality:
    """How much a written sample reads like its corpus: how many of its words the corpus uses too, the longest
    run of one word said again and again ("the the the" is a run of 3), and the loops a low temperature falls into
    ("the counter … the counter …"): the most frequent pair of consecutive words and the share of the sample's
    words its occurrences cover."""

    words: int
    known: int
    longest_repeat: int
    repeated_word: str | None = None
    top_pair: str | None = None
    top_pair_count: int = 0

    @property
    def known_share(self) -> float:
        return self.known / self.words if self.words else 0.0

    @property
    def loop_share(self) -> float:
        """Share of the words inside occurrences of the most frequent word pair (0 where no pair comes twice)."""
        return 2 * self.top_pair_count / self.words if self.words and self.top_pair_count > 1 else 0.0

    @property
    def empty(self) -> bool:
        return self.words == 0

    def line(self) -> str:
        """One line for under a sample: known words, the longest run, the loop measure; an empty sample said so."""
        if self.empty:
            return "an EMPTY sample: no whole word written, nothing to judge"
        loop = (f"most frequent word pair {self.top_pair!r} {self.top_pair_count}x, covering {self.loop_share:.0%} "
                "of the words" if self.top_pair_count > 1 else "no word pair twice")
        return (f"{self.known_share:.0%} of its {self.words} words occur in the training text; longest run of one "
                f"word: {self.longest_repeat}; {loop}")

    def __repr__(self) -> str:
        run = (f"{self.repeated_word!r} {self.longest_repeat}x in a row" if self.repeated_word
               else "no word twice in a row")
        return (f"SampleQuality({self.known}/{self.words} words occur in the corpus = {self.known_share:.0%}; {run}; "
                f"loop share {self.loop_share:.0%})")


def sample_quality(sample: str, corpus: str) -> SampleQuality:
    """Words of ``sample`` (letters and apostrophes, compared case-blind) that ``corpus`` also uses, and the
    longest run of one repeated word. A word cut off at the sample's end is not counted."""
    if not isinstance(sample, str) or not isinstance(corpus, str):
        raise TypeError("sample and corpus must both be str (the generated text and the training text)")
    words = [w.lower() for w in _WORD.findall(sample)]
    if words and sample and sample[-1].isalpha():
        words = words[:-1]
    vocabulary = {w.lower() for w in _WORD.findall(corpus)}
    longest, run, repeated = (1 if words else 0), 1, None
    for before, word in zip(words, words[1:]):
        run = run + 1 if word == before else 1
        if run > longest:
            longest, repeated = run, word
    pairs = collections.Counter(f"{a} {b}" for a, b in zip(words, words[1:]))
    top, count = pairs.most_common(1)[0] if pairs else (None, 0)
    return SampleQuality(len(words), sum(w in vocabulary for w in words), longest, repeated, top, count)


# ----------------------------------------------------------------------------------------- training


@dataclass(frozen=True, repr=False)
class TrainingReport:
    """Timings of one ``train`` call: every epoch's training seconds (the first includes compilation)."""

    epoch_seconds: tuple[float, ...]
    samples_per_epoch: int
    history: dict[str, list[float]] = field(default_factory=dict)
    items_per_sample: int = 1
    unit: str = "samples"
    synthetic: bool = False

    @property
    def epochs(self) -> int:
        return len(self.epoch_seconds)

    @property
    def first_epoch_seconds(self) -> float:
        return self.epoch_seconds[0]

    @property
    def steady_epoch_seconds(self) -> float | None:
        """Median seconds of the epochs after the first; None after a single epoch."""
        later = self.epoch_seconds[1:]
        return statistics.median(later) if later else None

    @property
    def compile_seconds(self) -> float | None:
        """First epoch minus a steady one: the time spent tracing and compiling, when the model had not been
        trained before this call (an estimate)."""
        steady = self.steady_epoch_seconds
        return None if steady is None else max(0.0, self.first_epoch_seconds - steady)

    @property
    def samples_per_second(self) -> float | None:
        steady = self.steady_epoch_seconds
        return None if steady is None else self.samples_per_epoch / steady

    @property
    def items_per_second(self) -> float | None:
        """Throughput in ``unit`` per second (characters for the Shakespeare model)."""
        rate = self.samples_per_second
        return None if rate is None else rate * self.items_per_sample

    @property
    def losses(self) -> list[float]:
        return list(self.history.get("loss", []))

    def __repr__(self) -> str:
        epochs = "1 epoch" if self.epochs == 1 else f"{self.epochs} epochs"
        head = f"TrainingReport({epochs} × {self.samples_per_epoch:,} samples"
        if self.epochs == 1:
            speed = f"; one epoch {self.first_epoch_seconds:.2f} s incl. compilation (train ≥ 2 epochs for a speed)"
        else:
            speed = (
                f"; first {self.first_epoch_seconds:.2f} s (compilation ≈ {self.compile_seconds:.2f} s), then "
                f"{self.steady_epoch_seconds:.2f} s/epoch = {self.items_per_second:,.0f} {self.unit}/s"
            )
        losses = self.losses
        loss = f"; loss {losses[0]:.3f} → {losses[-1]:.3f}" if losses else ""
        tag = "; SYNTHETIC data" if self.synthetic else ""
        return f"{head}{speed}{loss}{tag})"


def _epoch_timer(keras: Any) -> Any:
    """A callback that only reads ``perf_counter`` at epoch edges (no batch hooks, so no extra syncs)."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = self._test_start = 0.0
            self._test_seconds = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._test_seconds = 0.0
            self._start = time.perf_counter()

        def on_test_begin(self, logs: dict | None = None) -> None:
            self._test_start = time.perf_counter()

        def on_test_end(self, logs: dict | None = None) -> None:
            self._test_seconds += time.perf_counter() - self._test_start

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._start - self._test_seconds)

    return EpochTimer()


def _samples_per_epoch(x: Any, batch_size: int | None, steps_per_epoch: int | None) -> int:
    if hasattr(x, "element_spec"):  # a tf.data.Dataset
        spec = x.element_spec
        first = spec[0] if isinstance(spec, (tuple, list)) else spec
        batch = first.shape[0]
        steps = steps_per_epoch if steps_per_epoch is not None else int(x.cardinality())
        if batch is None or steps < 0:
            raise ValueError(
                "cannot tell how many samples an epoch of this dataset holds (batch dimension "
                f"{batch}, {steps} steps): batch with drop_remainder=True and pass steps_per_epoch for a "
                "repeated dataset, or pass samples_per_epoch"
            )
        return int(batch) * steps
    first = x[0] if isinstance(x, (tuple, list)) else x
    if not hasattr(first, "__len__"):
        raise ValueError(f"cannot count the samples of a {type(x).__name__}: pass samples_per_epoch")
    n = len(first)
    if steps_per_epoch is None:
        return n
    return min(n, steps_per_epoch * (batch_size or 32))


def train(
    model: Model,
    x: Any,
    y: Any = None,
    *,
    epochs: int = 2,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    validation_data: Any = None,
    samples_per_epoch: int | None = None,
    items_per_sample: int = 1,
    unit: str = "samples",
    synthetic: bool = False,
    shuffle: bool = True,
    callbacks: Sequence[Any] = (),
    verbose: int = 0,
) -> TrainingReport:
    """``model.fit`` with each epoch timed; speed is measured on the epochs after the compiling first.

    ``x, y`` are arrays (give ``batch_size``) or ``x`` is a ``tf.data.Dataset`` of static-shape batches.
    For the Shakespeare model pass ``items_per_sample=seq_len, unit="characters"`` to get characters/s.
    ``synthetic=True`` (e.g. ``data.synthetic``) labels the report. Validation time is not counted.
    """
    epochs = whole_number("epochs", epochs)
    items_per_sample = whole_number("items_per_sample", items_per_sample)
    if samples_per_epoch is None:
        samples_per_epoch = _samples_per_epoch(x, batch_size, steps_per_epoch)
    samples_per_epoch = whole_number("samples_per_epoch", samples_per_epoch)
    keras = _keras()
    timer = _epoch_timer(keras)
    history = model.fit(
        x,
        y,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        shuffle=shuffle and not hasattr(x, "element_spec"),  # a tf.data.Dataset shuffles itself
        callbacks=[*callbacks, timer],
        verbose=verbose,
    )
    return TrainingReport(
        epoch_seconds=tuple(timer.seconds),
        samples_per_epoch=samples_per_epoch,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        items_per_sample=items_per_sample,
        unit=unit,
        synthetic=bool(synthetic),
    )
