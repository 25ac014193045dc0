"""Tests of tpu_lecture.macs, roofline and sim.machines: closed forms, Keras model counts, and TensorFlow's profiler."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from tpu_lecture import macs as c
from tpu_lecture import roofline
from tpu_lecture.sim import machines

# ------------------------------------------------------------------------------ single operations


def test_matmul_dense_and_flops():
    assert c.matmul_macs(3, 4, 5) == 60
    assert c.macs_to_flops(c.matmul_macs(3, 4, 5)) == 120
    assert c.dense_macs(3072, 2048) == 3072 * 2048
    assert c.macs_to_flops(0) == 0


def test_conv2d_macs_counts_every_output_dot_product():
    # 8x8 output, 3x3 kernel over 16 channels, 32 filters
    assert c.conv2d_macs(8, 8, 3, 3, 16, 32) == 8 * 8 * 32 * (3 * 3 * 16)
    # depthwise-like grouping: each filter sees c_in / groups channels
    assert c.conv2d_macs(8, 8, 3, 3, 16, 32, groups=4) == 8 * 8 * 32 * (3 * 3 * 4)


def test_recurrent_and_embedding_macs():
    # LSTM: 4 gates, each an input product and a recurrent product
    assert c.lstm_macs(256, 512) == 4 * (256 * 512 + 512 * 512)
    assert c.lstm_macs(256, 512, steps=100) == 100 * c.lstm_macs(256, 512)
    assert c.gru_macs(8, 5, steps=3) == 3 * 3 * (8 * 5 + 5 * 5)
    assert c.embedding_macs(256, 512, steps=100) == 0


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: c.matmul_macs(0, 4, 5), ValueError, "m must be at least 1, got 0"),
        (lambda: c.matmul_macs(3, -1, 5), ValueError, "k must be at least 1, got -1"),
        (lambda: c.dense_macs(2.5, 4), TypeError, "inputs must be a whole number"),
        (lambda: c.dense_macs(True, 4), TypeError, "bool"),
        (lambda: c.conv2d_macs(8, 8, 3, 3, 6, 32, groups=4), ValueError, "divisible by groups=4"),
        (lambda: c.lstm_macs(8, 4, steps=0), ValueError, "steps must be at least 1"),
        (lambda: c.embedding_macs(0, 4), ValueError, "vocabulary"),
        (lambda: c.macs_to_flops(-3), ValueError, "macs must be at least 0"),
    ],
)
def test_bad_sizes_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ------------------------------------------------------------------------------ the lecture's MLP


def test_mlp_analytic_counts():
    sizes = [3072, 2048, 1024, 512, 256, 128, 64, 32, 16, 10]
    expected = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    assert c.mlp_macs_per_sample() == expected == 9_087_648
    assert c.mlp_params() == 9_108_058  # Keras's count_params() of the lecture's model
    assert c.mlp_macs_per_sample(4, (3,), 2) == 4 * 3 + 3 * 2


# ------------------------------------------------------------------------------ cycle models


@pytest.mark.parametrize(("m", "k", "n", "rows", "cols"), [(4, 4, 4, 4, 4), (5, 300, 130, 128, 128), (1, 1, 1, 8, 2)])
def test_matrix_cycles_closed_form(m, k, n, rows, cols):
    run = machines.matrix_cycles(m, k, n, rows, cols, load="serial")
    folds = math.ceil(k / rows) * math.ceil(n / cols)
    used_cols = [min(cols, n - start) for start in range(0, n, cols)]  # the last fold may be narrower
    assert run.folds == folds
    assert run.compute_cycles == math.ceil(k / rows) * sum(m + rows + c_used - 2 for c_used in used_cols)
    assert run.load_cycles >= folds * rows  # serial: every tile's load stalls the array
    assert run.cycles == run.compute_cycles + run.load_cycles
    assert run.macs == m * k * n
    assert run.utilization == pytest.approx(m * k * n / (rows * cols * run.cycles))
    assert run.compute_utilization == pytest.approx(m * k * n / (rows * cols * run.compute_cycles))
    assert run.macs_per_cycle == pytest.approx(run.utilization * rows * cols)
    assert 0 < run.utilization <= 1
    double = machines.matrix_cycles(m, k, n, rows, cols)
    assert double.loading == "double" and double.cycles <= run.cycles


def test_matrix_cycles_agrees_with_the_simulator():
    from tpu_lecture.sim.array import SystolicArray, expected_cycles

    assert machines.matrix_cycles(300, 200, 100, 128, 128).cycles == expected_cycles(300, 200, 100, 128, 128)
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    a, w = rng.integers(-3, 4, (5, 6)), rng.integers(-3, 4, (6, 7))
    run = SystolicArray(4, 4).matmul(a, w)
    assert machines.matrix_cycles(5, 6, 7, 4, 4).cycles == run.cycles


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_matrix_cycles_of_every_dataflow_come_from_the_simulators_schedule(dataflow):
    from tpu_lecture.sim.array import SystolicArray, schedule

    np = pytest.importorskip("numpy")
    a, w = np.ones((9, 10), int), np.ones((10, 7), int)
    run = SystolicArray(4, 3, dataflow).matmul(a, w, keep_frames=False)
    model = machines.matrix_cycles(9, 10, 7, 4, 3, dataflow=dataflow)
    plan = schedule(9, 10, 7, 4, 3, dataflow)
    assert (model.compute_cycles, model.folds, model.load_cycles) == (run.compute_cycles, run.folds, run.load_cycles)
    assert (model.compute_cycles, model.folds, model.load_cycles) == (plan.compute_cycles, plan.folds, plan.load_cycles)
    assert model.dataflow == run.dataflow and model.utilization == pytest.approx(run.utilization)
    assert run.dataflow.replace("_", "-") in repr(model)


def test_square_product_on_matching_array_takes_3n_minus_2():
    for n in (1, 2, 3, 8, 128):
        assert machines.matrix_cycles(n, n, n, n, n).compute_cycles == 3 * n - 2
        assert machines.matrix_cycles(n, n, n, n, n).cycles == 4 * n - 2  # n more to load the weights


def test_scalar_and_vector_cycles():
    assert machines.scalar_cycles(3, 4, 5) == 60
    assert machines.vector_cycles(3, 4, 128, lanes=128) == 3 * 4
    assert machines.vector_cycles(3, 4, 129, lanes=128) == 3 * 4 * 2  # a second, mostly empty vector per row
    with pytest.raises(ValueError, match="lanes must be at least 1"):
        machines.vector_cycles(3, 4, 5, lanes=0)
    with pytest.raises(ValueError, match="cols must be at least 1"):
        machines.matrix_cycles(3, 4, 5, 4, 0)
    with pytest.raises(ValueError, match="m must be at least 1, got 0"):
        machines.matrix_cycles(0, 4, 5, 4, 4)
    with pytest.raises(ValueError, match="unknown dataflow 'diagonal'"):
        machines.matrix_cycles(3, 4, 5, 4, 4, dataflow="diagonal")


def test_compare_machines_rows():
    rows = machines.compare_machines(256, 256, 256, lanes=128, rows=128, cols=128)
    scalar, vector, matrix = rows
    assert [r["machine"].split(",")[0].split(" ")[0] for r in rows] == ["scalar", "vector", "matrix"]
    assert scalar["cycles"] == 256**3 and scalar["macs_per_cycle"] == 1
    assert vector["cycles"] == 256 * 256 * 2 and vector["utilization"] == 1
    # a fold every 2R + C − 1 cycles, of which the last 2R + C − 1 − M the next fold waits for its tile: a stall
    assert matrix["compute_cycles"] == 3 * 256 + 256 + 128 + 128 - 2 and matrix["stall_cycles"] == 3 * (383 - 256)
    assert matrix["weight_load_cycles"] == 128
    assert matrix["cycles"] == matrix["compute_cycles"] + 128 + matrix["stall_cycles"] == 3 * 383 + 128 + 510
    serial = machines.compare_machines(256, 256, 256, lanes=128, rows=128, cols=128, load="serial")[2]
    assert serial["cycles"] == 4 * (128 + 256 + 128 + 128 - 2) and serial["weight_load_cycles"] == 4 * 128
    assert matrix["peak_macs_per_cycle"] == 128 * 128
    assert scalar["cycles"] > vector["cycles"] > matrix["cycles"]
    for r in rows:
        assert r["macs_per_cycle"] == pytest.approx(256**3 / r["cycles"])
        assert r["utilization"] == pytest.approx(r["macs_per_cycle"] / r["peak_macs_per_cycle"])


# ------------------------------------------------------------------------------ roofline


def test_roofline_arithmetic():
    # TPU v5e: 197 TFLOP/s bf16, 819 GB/s HBM (Cloud TPU docs, "TPU v5e") -> about 240 FLOPs/byte
    ridge = roofline.ridge_point(197e12, 819e9)
    assert ridge == pytest.approx(240.5, abs=0.1)
    assert roofline.attainable_flops(ridge / 2, 197e12, 819e9) == pytest.approx(197e12 / 2)
    assert roofline.attainable_flops(10 * ridge, 197e12, 819e9) == 197e12
    assert roofline.attainable_flops(0, 197e12, 819e9) == 0
    assert roofline.arithmetic_intensity(100, 8) == 12.5


def test_matmul_and_add_intensity():
    n = 1024
    assert roofline.matmul_intensity(n, n, n, 4) == pytest.approx(2 * n**3 / (3 * n * n * 4))
    assert roofline.matmul_intensity(2, 3, 4, 2) == pytest.approx(2 * 24 / ((6 + 12 + 8) * 2))
    assert roofline.elementwise_add_intensity(10**6, 4) == pytest.approx(1 / 12)
    # big products are compute-bound on v5e, adds never are
    assert roofline.matmul_intensity(8192, 8192, 8192, 2) > roofline.ridge_point(197e12, 819e9)
    assert roofline.elementwise_add_intensity(10**9, 2) < roofline.ridge_point(197e12, 819e9)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: roofline.arithmetic_intensity(10, 0), ValueError, "bytes_moved must be positive, got 0"),
        (lambda: roofline.arithmetic_intensity(-1, 10), ValueError, "flops must be non-negative, got -1"),
        (lambda: roofline.ridge_point(-5, 10), ValueError, "peak_flops must be positive, got -5"),
        (lambda: roofline.ridge_point(5, float("nan")), ValueError, "bandwidth must be a finite number"),
        (lambda: roofline.attainable_flops(-1, 5, 5), ValueError, "intensity must be non-negative"),
        (lambda: roofline.attainable_flops("3", 5, 5), TypeError, "intensity must be a number"),
        (lambda: roofline.matmul_intensity(0, 3, 3, 4), ValueError, "m must be at least 1, got 0"),
        (lambda: roofline.matmul_intensity(3, 3, 3, 0), ValueError, "bytes_per_element must be positive"),
        (lambda: roofline.elementwise_add_intensity(-2, 4), ValueError, "n_elements must be at least 1, got -2"),
    ],
)
def test_roofline_rejects_bad_values(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ------------------------------------------------------------------------------ Keras models


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


def lecture_mlp(keras):
    """The lecture's MLP (its benchmark #2), built here so that this test does not depend on models.py."""
    layers = keras.layers
    model = keras.Sequential([keras.Input((3072,))], name="lecture_mlp")
    for width in (2048, 1024, 512, 256, 128, 64, 32, 16):
        model.add(layers.Dense(width))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
        model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def test_lecture_mlp_count(keras):
    model = lecture_mlp(keras)
    count = c.count_model(model)
    assert model.count_params() == count.total_params == 9_108_058
    assert sum(row.macs for row in count.rows) == count.total_macs == c.mlp_macs_per_sample()
    assert count.total_flops == 2 * c.mlp_macs_per_sample()
    assert count.training_flops_3x_estimate == 3 * count.total_flops
    # exact: no gradient for the pixels, so the first layer's dL/dX product is not counted
    assert count.input_gradient_macs_skipped == 3072 * 2048
    assert count.training_flops_per_sample == 2 * (3 * count.total_macs - 3072 * 2048) == 41_942_976
    assert c.mlp_training_flops_per_sample() == count.training_flops_per_sample
    assert round(count.training_flops_per_sample / count.total_flops, 2) == 2.31
    dense = [row for row in count.rows if row.kind == "Dense"]
    assert [row.output_shape for row in dense][:2] == ["(None, 2048)", "(None, 1024)"]
    assert all(row.macs == 0 for row in count.rows if row.kind != "Dense")
    assert count.total_bias_adds == sum((2048, 1024, 512, 256, 128, 64, 32, 16, 10))
    assert count.uncounted == []


def test_model_count_displays(keras):
    count = c.count_model(lecture_mlp(keras))
    assert "9,108,058 params" in repr(count) and "9,087,648 MACs" in repr(count)
    text = count.to_text()
    assert len(text.splitlines()) == len(count.rows) + 4  # header, two rules, total
    assert "batch_normalization" in text and "9,087,648" in text
    html = count._repr_html_()
    assert html.count("<tr>") == len(count.rows) + 2 and "9,108,058" in html


def _kernel_sizes(layer) -> int:
    """Weights that multiply (kernels), read off the layer's own variables: an independent reference."""
    return sum(math.prod(w.shape) for w in layer.weights if "kernel" in w.path.rsplit("/", 1)[-1])


def test_conv_and_recurrent_layers_against_their_weights(keras):
    layers = keras.layers
    image = keras.Sequential(
        [keras.Input((10, 12, 3)), layers.Conv2D(8, (3, 5), padding="valid"), layers.Flatten(), layers.Dense(4)]
    )
    count = c.count_model(image)
    conv = count.rows[0]
    assert conv.output_shape == "(None, 8, 8, 8)"
    assert conv.macs == 8 * 8 * _kernel_sizes(image.layers[0]) == c.conv2d_macs(8, 8, 3, 5, 3, 8)
    assert conv.bias_adds == 8 * 8 * 8

    text = keras.Sequential(
        [keras.Input((20,)), layers.Embedding(50, 6), layers.LSTM(7, return_sequences=True), layers.GRU(5)]
    )
    count = c.count_model(text)
    embedding, lstm, gru = count.rows
    assert embedding.macs == 0 and embedding.params == 50 * 6 and "lookup" in embedding.note
    assert lstm.macs == 20 * _kernel_sizes(text.layers[1]) == c.lstm_macs(6, 7, steps=20)
    assert gru.macs == 20 * _kernel_sizes(text.layers[2]) == c.gru_macs(7, 5, steps=20)
    assert count.total_params == text.count_params()
    # the embedding is trained, so the LSTM's dL/dX is needed: nothing skipped, exactly 3 x forward
    assert count.input_gradient_macs_skipped == 0
    assert count.training_flops_per_sample == count.training_flops_3x_estimate == 3 * count.total_flops


def test_functional_model_with_shared_and_nested_layers(keras):
    layers = keras.layers
    inner = keras.Sequential([keras.Input((6,)), layers.Dense(6, use_bias=False)], name="inner")
    shared = layers.Dense(6, name="shared")
    x = keras.Input((6,))
    y = layers.Dense(3)(inner(shared(shared(x))))
    count = c.count_model(keras.Model(x, y))
    names = [row.name for row in count.rows]
    assert names[0].startswith("input_layer") and "inner/" + inner.layers[0].name in names
    by_name = {row.name: row for row in count.rows}
    assert by_name["shared"].macs == 2 * 36 and "shared: 2 calls" in by_name["shared"].note
    assert count.total_macs == 2 * 36 + 36 + 18
    assert count.total_bias_adds == 2 * 6 + 3


def test_unknown_layers_are_flagged_not_hidden(keras):
    model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.DepthwiseConv2D(3), keras.layers.Flatten()])
    count = c.count_model(model)
    assert count.uncounted == [model.layers[0].name]
    assert "NOT counted" in repr(count)


def test_count_model_without_a_readable_graph(keras, monkeypatch):
    """If Keras stops exposing its graph, each layer's first call is counted instead."""
    monkeypatch.setattr(c, "_graph_calls", lambda model: None)
    count = c.count_model(lecture_mlp(keras))
    assert count.total_macs == c.mlp_macs_per_sample() and count.total_params == 9_108_058


def test_count_model_errors(keras):
    with pytest.raises(TypeError, match="needs a Keras model"):
        c.count_model(object())
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="build the model first"):
        c.count_model(unbuilt)
    variable = keras.Sequential([keras.Input((None,)), keras.layers.Embedding(10, 4), keras.layers.LSTM(3)])
    with pytest.raises(ValueError, match="sequence_length"):
        c.count_model(variable)
    assert c.count_model(variable, sequence_length=9).total_macs == c.lstm_macs(4, 3, steps=9)


# ------------------------------------------------------------------------------ TensorFlow's profiler


def test_count_model_matches_tensorflows_profiler(keras):
    """Cross-check with TensorFlow's own FLOP counter (tf.compat.v1.profiler on a traced graph).

    Reconciliation: the profiler counts MatMul and Conv2D as 2 FLOPs per MAC and also counts each
    BiasAdd as 1 FLOP per output element; our MACs exclude bias adds and report them separately.
    So profiler total = batch · (2 · MACs + bias adds). ReLU and Flatten count 0 in both.
    """
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow's profiler needs the TensorFlow backend")
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((9, 9, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(5),
        ]
    )
    batch = 3
    profiled = c.tf_profiler_flops(model, batch_size=batch)
    count = c.count_model(model)
    assert profiled["Conv2D"] + profiled["MatMul"] == batch * count.total_flops
    assert profiled["BiasAdd"] == batch * count.total_bias_adds
    assert sum(profiled.values()) == batch * count.flops_with_bias


def test_lecture_mlp_matmuls_match_tensorflows_profiler(keras):
    """The whole lecture MLP: the profiler's MatMul FLOPs are exactly 2 x our MACs. BatchNorm and
    softmax show up in the profiler as element-wise ops (Mul, AddV2, ...) that we do not count as MACs."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorFlow's profiler needs the TensorFlow backend")
    profiled = c.tf_profiler_flops(lecture_mlp(keras), batch_size=2)
    assert profiled["MatMul"] == 2 * 2 * c.mlp_macs_per_sample()
    assert profiled["BiasAdd"] == 2 * c.count_model(lecture_mlp(keras)).total_bias_adds


def test_profiler_needs_a_built_model(keras):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        c.tf_profiler_flops(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), batch_size=0)


# ------------------------------------------------------------------------------ the JAX backend

_JAX_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["KERAS_BACKEND"] = "jax"
    import keras
    from tpu_lecture.macs import count_model
    layers = keras.layers
    assert keras.backend.backend() == "jax"
    image = keras.Sequential([keras.Input((10, 12, 3)), layers.Conv2D(8, (3, 5)), layers.Flatten(),
                              layers.Dense(4), layers.BatchNormalization()])
    x = keras.Input((20,))
    y = layers.GRU(5)(layers.LSTM(7, return_sequences=True)(layers.Embedding(50, 6)(x)))
    text = keras.Model(x, y)
    print(json.dumps([[count_model(m).total_macs, count_model(m).total_params, m.count_params()]
                      for m in (image, text)]))
    """
)


def test_count_model_on_the_jax_backend():
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", _JAX_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    (image_macs, image_params, image_keras), (text_macs, text_params, text_keras) = json.loads(
        done.stdout.strip().splitlines()[-1]
    )
    assert image_macs == c.conv2d_macs(8, 8, 3, 5, 3, 8) + c.dense_macs(8 * 8 * 8, 4)
    assert text_macs == c.lstm_macs(6, 7, steps=20) + c.gru_macs(7, 5, steps=20)
    assert (image_params, text_params) == (image_keras, text_keras)
