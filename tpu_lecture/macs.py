"""Counting the work: MACs and FLOPs of single operations, of the lecture's MLP, and of whole Keras models.

Conventions used everywhere in this module:

- 1 MAC (multiply-accumulate, ``acc += a * w``) = 2 FLOPs; every name says which one it returns.
- MACs count the multiply-accumulates of the matrix products only: the work an MXU does.
  Bias adds, activations, normalization and gate products are element-wise work on the vector
  unit; they are not MACs. Bias adds are counted separately (``bias_adds``) because TensorFlow's
  profiler counts them (``BiasAdd``: one FLOP per output element) and the two must reconcile.
- Counts are per sample (one example of the batch) unless a name says otherwise.

TensorFlow is reached only by ``tf_profiler_flops``, through ``runtime.tensorflow``; ``count_model`` reads a Keras
model's layers and shapes without calling any framework, so it works on every Keras 3 backend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise
from typing import Any

from tpu_lecture.checks import whole_number
from tpu_lecture.models import MLP_CLASSES, MLP_INPUTS, MLP_WIDTHS

# ---------------------------------------------------------------------------------------------
# MACs and FLOPs of single operations
# ---------------------------------------------------------------------------------------------


def macs_to_flops(macs: int) -> int:
    """FLOPs of ``macs`` multiply-accumulates: each is one multiply and one add."""
    return 2 * whole_number("macs", macs, minimum=0)


def matmul_macs(m: int, k: int, n: int) -> int:
    """MACs of an (m×k) @ (k×n) product: each of the m·n outputs is a sum of k products."""
    return whole_number("m", m) * whole_number("k", k) * whole_number("n", n)


def dense_macs(inputs: int, units: int) -> int:
    """MACs of a Dense layer for one sample: a (1×inputs) @ (inputs×units) product (bias not included)."""
    return whole_number("inputs", inputs) * whole_number("units", units)


def conv2d_macs(h_out: int, w_out: int, kh: int, kw: int, c_in: int, c_out: int, groups: int = 1) -> int:
    """MACs of a 2-D convolution for one sample: each output pixel and filter is a kh·kw·c_in dot product.

    With ``groups`` > 1 each filter sees only c_in / groups input channels.
    """
    c_in, c_out, groups = whole_number("c_in", c_in), whole_number("c_out", c_out), whole_number("groups", groups)
    if c_in % groups or c_out % groups:
        raise ValueError(f"c_in={c_in} and c_out={c_out} must both be divisible by groups={groups}")
    pixels = whole_number("h_out", h_out) * whole_number("w_out", w_out)
    return pixels * whole_number("kh", kh) * whole_number("kw", kw) * (c_in // groups) * c_out


def lstm_macs(input_dim: int, units: int, steps: int = 1) -> int:
    """MACs of an LSTM over ``steps`` time steps for one sample.

    Each step multiplies the input by a (input_dim × 4·units) kernel and the previous output by a
    (units × 4·units) recurrent kernel: four gates (input, forget, cell, output). The gates'
    element-wise products (3·units per step) and the bias adds are not matrix MACs.
    """
    return whole_number("steps", steps) * 4 * _recurrent_step_macs(input_dim, units)


def gru_macs(input_dim: int, units: int, steps: int = 1) -> int:
    """MACs of a GRU over ``steps`` time steps for one sample: like the LSTM but three gates
    (update, reset, candidate)."""
    return whole_number("steps", steps) * 3 * _recurrent_step_macs(input_dim, units)


def _recurrent_step_macs(input_dim: int, units: int) -> int:
    input_dim, units = whole_number("input_dim", input_dim), whole_number("units", units)
    return input_dim * units + units * units


def embedding_macs(vocabulary: int, dim: int, steps: int = 1) -> int:
    """MACs of an Embedding: 0. It is a table lookup (a row copy), not arithmetic.

    (Written as a one-hot vector times the table it would be steps·vocabulary·dim MACs, which is
    why no accelerator computes it that way.) The arguments are checked so that a call with bad
    sizes still fails.
    """
    whole_number("vocabulary", vocabulary), whole_number("dim", dim), whole_number("steps", steps)
    return 0


# ---------------------------------------------------------------------------------------------
# The lecture's MLP, analytically (no Keras needed)
# ---------------------------------------------------------------------------------------------

def mlp_macs_per_sample(
    input_dim: int = MLP_INPUTS, widths: Sequence[int] = MLP_WIDTHS, classes: int = MLP_CLASSES
) -> int:
    """MACs of one forward pass of the lecture's MLP for one sample: the sum of its Dense layers'
    products (BatchNorm, ReLU and Dropout do no MACs)."""
    sizes = [input_dim, *widths, classes]
    return sum(dense_macs(a, b) for a, b in pairwise(sizes))


def mlp_training_flops_per_sample(
    input_dim: int = MLP_INPUTS, widths: Sequence[int] = MLP_WIDTHS, classes: int = MLP_CLASSES
) -> int:
    """Exact matrix-product FLOPs of one training step of the lecture's MLP per sample: forward, and backward
    dL/dW for every Dense and dL/dX for all but the first (no gradient for the pixels); ``ModelCount`` counts
    the same from a Keras model."""
    macs = mlp_macs_per_sample(input_dim, widths, classes)
    return macs_to_flops(3 * macs - dense_macs(input_dim, whole_number("width", widths[0])))


def mlp_params(
    input_dim: int = MLP_INPUTS, widths: Sequence[int] = MLP_WIDTHS, classes: int = MLP_CLASSES
) -> int:
    """Parameters of the lecture's MLP: each Dense has inputs·units weights and units biases; each
    BatchNormalization has 4 per unit (scale, shift, and the moving mean and variance)."""
    sizes = [input_dim, *widths, classes]
    dense = sum(a * b + b for a, b in pairwise(sizes))
    return dense + 4 * sum(whole_number("width", w) for w in widths)


# ---------------------------------------------------------------------------------------------
# Whole Keras models
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCount:
    """One row of a model count: MACs and bias adds are per sample."""

    name: str
    kind: str
    output_shape: str
    params: int
    macs: int
    bias_adds: int = 0
    note: str = ""

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass
class ModelCount:
    """MACs, FLOPs and parameters of a Keras model, layer by layer (per sample).

    Training counts the backward pass exactly: a matrix product Y = X·W needs two products of the same size
    backward, dL/dX = dL/dY·Wᵀ and dL/dW = Xᵀ·dL/dY, except that no layer needs dL/dX for the model's own input
    (the pixels): the first layer with MACs, where nothing before it has parameters, skips that product.
    ``training_flops_3x_estimate`` is the rule of thumb, 3 × forward, named as the estimate it is.
    """

    name: str
    rows: list[LayerCount] = field(default_factory=list)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def total_flops(self) -> int:
        return macs_to_flops(self.total_macs)

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_bias_adds(self) -> int:
        return sum(row.bias_adds for row in self.rows)

    @property
    def flops_with_bias(self) -> int:
        """Forward FLOPs per sample counted the way TensorFlow's profiler does: 2·MACs + bias adds."""
        return self.total_flops + self.total_bias_adds

    @property
    def input_gradient_macs_skipped(self) -> int:
        """MACs per sample of the product backward that autodiff skips: dL/dX of the first layer with MACs, where
        its input is the model's input (no layer with parameters before it)."""
        for row in self.rows:
            if row.macs:
                return row.macs
            if row.params:
                return 0
        return 0

    @property
    def training_flops_per_sample(self) -> int:
        """The exact count of a training step's matrix-product FLOPs per sample: forward, dL/dW of every layer,
        dL/dX of every layer but one that reads the model's input."""
        return macs_to_flops(3 * self.total_macs - self.input_gradient_macs_skipped)

    @property
    def training_flops_3x_estimate(self) -> int:
        """The rule of thumb, training ≈ 3 × forward FLOPs: an estimate (above the exact count where the first
        layer reads the input)."""
        return 3 * self.total_flops

    @property
    def uncounted(self) -> list[str]:
        """Layers with parameters whose type this counter does not know (their MACs are shown as 0)."""
        return [row.name for row in self.rows if row.note.startswith("not counted")]

    def __repr__(self) -> str:
        text = (
            f"ModelCount({self.name!r}: {len(self.rows)} layers, {self.total_params:,} params, "
            f"{self.total_macs:,} MACs = {self.total_flops:,} FLOPs per sample forward)"
        )
        return text if not self.uncounted else text[:-1] + f"; NOT counted: {', '.join(self.uncounted)})"

    def _table(self) -> tuple[list[str], list[list[str]], list[str]]:
        header = ["layer", "type", "output shape", "params", "MACs/sample", "note"]
        body = [
            [r.name, r.kind, r.output_shape, f"{r.params:,}", f"{r.macs:,}", r.note] for r in self.rows
        ]
        total = ["total", "", "", f"{self.total_params:,}", f"{self.total_macs:,}",
                 f"{self.total_flops:,} FLOPs forward, {self.training_flops_per_sample:,} training"]
        return header, body, total

    def to_text(self) -> str:
        """The per-layer table as plain text (for a notebook's printed output or a terminal)."""
        header, body, total = self._table()
        lines = [header, *body, total]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        right = {3, 4}

        def fmt(line: list[str]) -> str:
            cells = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(header))
        return "\n".join([fmt(header), rule, *map(fmt, body), rule, fmt(total)])

    def _repr_html_(self) -> str:
        header, body, total = self._table()

        def row(cells: list[str], tag: str = "td") -> str:
            return "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"

        parts = [row(header, "th"), *(row(r) for r in body), row(total)]
        return f"<table><caption>{escape(self.name)}</caption>{''.join(parts)}</table>"


_ZERO_MAC_LAYERS = {
    "InputLayer": "",
    "Dropout": "identity at inference",
    "SpatialDropout2D": "identity at inference",
    "GaussianNoise": "identity at inference",
    "ReLU": "element-wise",
    "LeakyReLU": "element-wise",
    "ELU": "element-wise",
    "Softmax": "element-wise",
    "Activation": "element-wise",
    "Flatten": "data movement",
    "Reshape": "data movement",
    "Permute": "data movement",
    "RepeatVector": "data movement",
    "MaxPooling2D": "comparisons, not MACs",
    "GlobalMaxPooling2D": "comparisons, not MACs",
    "AveragePooling2D": "adds, not MACs",
    "GlobalAveragePooling2D": "adds, not MACs",
    "GlobalAveragePooling1D": "adds, not MACs",
    "Add": "element-wise",
    "Concatenate": "data movement",
}


def count_model(keras_model: Any, sequence_length: int | None = None) -> ModelCount:
    """Count the MACs (per sample) and parameters of a built Keras 3 model, layer by layer.

    Works on Sequential and functional models on any backend: it reads layer configurations and
    symbolic shapes only. Nested models are expanded into their layers; a layer called several
    times (shared) is counted once per call. BatchNormalization counts 0 MACs: at inference it is
    an element-wise scale and shift (one multiply-add per element on the vector unit, not the MXU).
    ``sequence_length`` fills in a variable time dimension (``keras.Input((None,))``).
    """
    if not hasattr(keras_model, "layers"):
        raise TypeError(f"count_model needs a Keras model, got {type(keras_model).__name__}")
    if sequence_length is not None:
        sequence_length = whole_number("sequence_length", sequence_length)
    count = ModelCount(getattr(keras_model, "name", type(keras_model).__name__))
    _count_layers(keras_model, count.rows, prefix="", sequence_length=sequence_length)
    return count


def _count_layers(
    model: Any, rows: list[LayerCount], prefix: str, sequence_length: int | None, repeat: int = 1
) -> None:
    graph = _graph_calls(model)
    for layer in model.layers:
        calls = graph.get(id(layer)) if graph is not None else None
        if "Model" in _class_names(layer):
            times = repeat * max(1, len(calls or ()))
            _count_layers(layer, rows, f"{prefix}{layer.name}/", sequence_length, times)
        else:
            rows.append(_count_layer(layer, calls or _layer_calls(layer), prefix, sequence_length, repeat))


def _class_names(layer: Any) -> list[str]:
    return [cls.__name__ for cls in type(layer).__mro__]


def _graph_calls(model: Any) -> dict[int, list[tuple[tuple, tuple]]] | None:
    """Every call of every layer in the model's own graph, as (input shape, output shape) by layer id.

    Keras keeps the graph in ``_nodes_by_depth`` (a Sequential keeps it in its ``_functional``); a
    layer's own ``_inbound_nodes`` are no help, since they also hold calls from graphs that
    ``Sequential.add`` threw away. None if this Keras has no such graph.
    """
    graph = getattr(getattr(model, "_functional", None) or model, "_nodes_by_depth", None)
    if not isinstance(graph, dict):
        return None
    calls: dict[int, list[tuple[tuple, tuple]]] = {}
    for depth in sorted(graph, reverse=True):
        for node in graph[depth]:
            outputs = list(node.output_tensors)
            inputs = list(node.input_tensors) or outputs
            calls.setdefault(id(node.operation), []).append((tuple(inputs[0].shape), tuple(outputs[0].shape)))
    return calls


def _layer_calls(layer: Any) -> list[tuple[tuple, tuple]]:
    """(input shape, output shape) of the layer's first call: for models without a graph to read."""
    try:
        inputs, outputs = layer.input, layer.output
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"layer {layer.name!r} has no known shapes ({error}); build the model first, e.g. start a "
            "Sequential with keras.Input(shape) or call model.build((None, ...))"
        ) from None
    return [(tuple(_first(inputs).shape), tuple(_first(outputs).shape))]


def _first(tensors: Any) -> Any:
    return tensors[0] if isinstance(tensors, (list, tuple)) else tensors


def _known(shape: tuple, layer: Any, sequence_length: int | None) -> tuple[int, ...]:
    """The shape without its batch axis, with a variable time axis filled in."""
    dims = []
    for dim in shape[1:]:
        if dim is None:
            if sequence_length is None:
                raise ValueError(
                    f"layer {layer.name!r} has a variable dimension in shape {shape}: pass "
                    "count_model(model, sequence_length=...) or build the model with a fixed length"
                )
            dim = sequence_length
        dims.append(int(dim))
    return tuple(dims)


def _count_layer(
    layer: Any, calls: list[tuple[tuple, tuple]], prefix: str, sequence_length: int | None, repeat: int
) -> LayerCount:
    names = _class_names(layer)
    params = int(layer.count_params()) if getattr(layer, "built", True) else 0
    macs = bias_adds = 0
    note = ""
    for in_shape, out_shape in calls:
        x, y = _known(in_shape, layer, sequence_length), _known(out_shape, layer, sequence_length)
        m, b, note = _layer_work(layer, names, x, y)
        macs, bias_adds = macs + repeat * m, bias_adds + repeat * b
    if len(calls) * repeat > 1:
        note = f"shared: {len(calls) * repeat} calls" + (f"; {note}" if note else "")
    if note == "" and params and not macs and not _known_kind(names):
        note = "not counted: unknown layer type"
    shape = str(calls[-1][1]).replace(",)", ")")
    return LayerCount(prefix + layer.name, names[0], shape, params, macs, bias_adds, note)


def _known_kind(names: list[str]) -> bool:
    return any(n in _ZERO_MAC_LAYERS or n in _COUNTED for n in names)


_COUNTED = {"Dense", "Conv2D", "LSTM", "GRU", "Embedding", "BatchNormalization"}


def _layer_work(layer: Any, names: list[str], x: tuple, y: tuple) -> tuple[int, int, str]:
    """(MACs, bias adds, note) of one call of a layer on one sample; x and y are shapes without batch."""
    config = layer.get_config()
    bias = bool(config.get("use_bias", False))
    if "Dense" in names:
        positions = math.prod(y[:-1])
        return positions * dense_macs(x[-1], y[-1]), positions * y[-1] * bias, ""
    if "Conv2D" in names:
        last = config.get("data_format", "channels_last") == "channels_last"
        (h, w, c_out), c_in = (y if last else (y[1], y[2], y[0])), (x[-1] if last else x[0])
        kh, kw = config["kernel_size"]
        macs = conv2d_macs(h, w, kh, kw, c_in, c_out, config.get("groups", 1))
        return macs, h * w * c_out * bias, ""
    if "LSTM" in names or "GRU" in names:
        steps, units = x[0], int(config["units"])
        if "LSTM" in names:
            return lstm_macs(x[-1], units, steps), steps * 4 * units * bias, ""
        biases = 6 if config.get("reset_after", True) else 3
        return gru_macs(x[-1], units, steps), steps * biases * units * bias, ""
    if "Embedding" in names:
        return 0, 0, "a lookup, no MACs"
    if "BatchNormalization" in names:
        return 0, 0, "scale and shift per element (vector unit), not MACs"
    for name in names:
        if name in _ZERO_MAC_LAYERS:
            return 0, 0, _ZERO_MAC_LAYERS[name]
    return 0, 0, ""


def tf_profiler_flops(keras_model: Any, batch_size: int = 1) -> dict[str, int]:
    """FLOPs of one forward pass of a batch, as TensorFlow's own profiler counts them, by op type (a MatMul
    as 2·m·k·n, a Conv2D as 2·MACs, a BiasAdd as one per output element), to check ``count_model`` against.
    Needs the TensorFlow backend of Keras; the profiling is :func:`tpu_lecture.runtime.tensorflow.profiler_flops`.
    """
    from tpu_lecture.runtime import tensorflow

    return tensorflow.profiler_flops(keras_model, batch_size)
