"""TF1 recurrent cells against Keras 3 recurrent layers: one weight-layout mechanism.

TF1's BasicLSTMCell, LSTMCell, GRUCell and BasicRNNCell keep one kernel applied to
concat([x, h]); Keras's LSTM, GRU and SimpleRNN keep kernel and recurrent_kernel, their gates in
another order, the LSTM's forget bias inside the bias. The check shows a Keras layer to the
pairing in TF1's layout (`tfmigration.migration.layouts`, `eagermode.rnn_layouts`); these tests
hold the layouts against the cells' own equations and check real programs of each kind.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from bridge.testing import check_migration
from tfmigration.migration.contract import ContractError
from tfmigration.migration.layouts import keras_layouts, read, write


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_a_layout_writes_and_reads_back_every_keras_element_once(kind: str) -> None:
    inputs, units = 3, 5
    blocks = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    size = (inputs + units) * blocks * units + blocks * units
    used = np.concatenate([layout.index.reshape(-1) for layout in keras_layouts(kind, 3, 5)])
    assert sorted(used.tolist()) == list(range(size))  # a bijection: every element once
    flat = np.random.default_rng(0).normal(size=size)
    for forget, exact in ((0.0, True), (1.0, False)):
        again = np.zeros(size)
        for layout in keras_layouts(kind, inputs, units, forget_bias=forget):
            write(layout, again, read(layout, flat))
        if exact or kind != "lstm":
            np.testing.assert_array_equal(again, flat)
        else:
            # Keras stores b + forget_bias: subtracting and adding it again rounds.
            np.testing.assert_allclose(again, flat, rtol=0, atol=4e-16)


def test_the_lstm_layout_computes_tf1s_basic_lstm_cell_from_a_keras_cell() -> None:
    # TF1 (legacy_cells.py BasicLSTMCell.call): i, j, f, o = split(concat([x, h]) @ W + b);
    # c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j); h' = tanh(c') * sigmoid(o).
    inputs, units, forget = 3, 4, 1.0
    cell = keras.layers.LSTMCell(units)
    cell.build((None, inputs))
    rng = np.random.default_rng(1)
    for variable in cell.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    x = rng.normal(size=(2, inputs)).astype("float32")
    h = rng.normal(size=(2, units)).astype("float32")
    c = rng.normal(size=(2, units)).astype("float32")
    keras_h, (_, keras_c) = cell(x, [h, c])
    flat = np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in cell.weights])
    kernel, bias = (read(layout, flat) for layout in keras_layouts("lstm", inputs, units, forget))
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    tf1_c = c * sigmoid(f + forget) + sigmoid(i) * np.tanh(j)
    tf1_h = np.tanh(tf1_c) * sigmoid(o)
    np.testing.assert_allclose(np.asarray(keras_c), tf1_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(keras_h), tf1_h, rtol=1e-5, atol=1e-6)


def test_the_gru_layout_computes_tf1s_gru_cell_from_a_keras_cell() -> None:
    # TF1 (legacy_cells.py GRUCell.call): r, u = split(sigmoid(concat([x, h]) @ Wg + bg));
    # c = tanh(concat([x, r * h]) @ Wc + bc); h' = u * h + (1 - u) * c.
    inputs, units = 3, 4
    cell = keras.layers.GRUCell(units, reset_after=False)
    cell.build((None, inputs))
    rng = np.random.default_rng(2)
    for variable in cell.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    x = rng.normal(size=(2, inputs)).astype("float32")
    h = rng.normal(size=(2, units)).astype("float32")
    keras_h, _ = cell(x, h)
    flat = np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in cell.weights])
    gates, gate_bias, candidate, candidate_bias = (
        read(layout, flat) for layout in keras_layouts("gru", inputs, units)
    )
    r, u = np.split(sigmoid(np.concatenate([x, h], 1) @ gates + gate_bias), 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ candidate + candidate_bias)
    np.testing.assert_allclose(np.asarray(keras_h), u * h + (1 - u) * c, rtol=1e-5, atol=1e-6)


# --- real programs ------------------------------------------------------------------------------

PROGRAM = """
import keras
import numpy as np
import tensorflow as tf

STEPS = 6
BATCH_SIZE = 16


def data():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 5, 3)).astype(np.float32)
    return x, (x[:, :, 0].sum(axis=1) > 0).astype(np.int32)


def tf1_train(x, labels):
    cells = tf.compat.v1.nn.rnn_cell
    {tf1}
    with tf.compat.v1.variable_scope("out"):
        w = tf.compat.v1.get_variable("kernel", [h.shape[-1], 2])
        b = tf.compat.v1.get_variable("bias", [2], initializer=tf.zeros_initializer())
    logits = tf.matmul(h, w) + b
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    return loss, tf.compat.v1.train.AdamOptimizer(0.01, epsilon=1e-7).minimize(loss)


def tf2_setup():
    model = keras.Sequential([keras.Input((5, 3)), {keras}, keras.layers.Dense(2, name="out")])
    return model, keras.optimizers.Adam(0.01)


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, x, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""

LSTM_DYNAMIC = """
_, state = tf.compat.v1.nn.dynamic_rnn(
    cells.BasicLSTMCell(6, forget_bias={forget}), x, dtype=tf.float32)
h = state.h
"""
GRU_DYNAMIC = """
_, h = tf.compat.v1.nn.dynamic_rnn(cells.GRUCell(6), x, dtype=tf.float32)
"""
STACKED = """
stack = cells.MultiRNNCell([cells.BasicLSTMCell(6), cells.BasicLSTMCell(4)])
_, states = tf.compat.v1.nn.dynamic_rnn(stack, x, dtype=tf.float32)
h = states[-1].h
"""
BIDIRECTIONAL = """
_, (forward, backward) = tf.compat.v1.nn.bidirectional_dynamic_rnn(
    cells.BasicLSTMCell(6), cells.BasicLSTMCell(6), x, dtype=tf.float32)
h = tf.concat([forward.h, backward.h], axis=1)
"""
SIMPLE = """
_, h = tf.compat.v1.nn.dynamic_rnn(cells.BasicRNNCell(6), x, dtype=tf.float32)
"""
PEEPHOLES = """
_, state = tf.compat.v1.nn.dynamic_rnn(
    cells.LSTMCell(6, use_peepholes=True), x, dtype=tf.float32)
h = state.h
"""


def program(tmp_path: Path, name: str, tf1: str, port: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(PROGRAM.format(tf1=textwrap.indent(tf1.strip(), "    ").strip(), keras=port))
    return path


FAITHFUL = [
    pytest.param(LSTM_DYNAMIC.format(forget=1.0), "keras.layers.LSTM(6)", id="lstm"),
    pytest.param(LSTM_DYNAMIC.format(forget=0.5), "keras.layers.LSTM(6)", id="lstm-forget-0.5"),
    pytest.param(GRU_DYNAMIC, "keras.layers.GRU(6, reset_after=False)", id="gru"),
    pytest.param(
        STACKED,
        "keras.layers.LSTM(6, return_sequences=True), keras.layers.LSTM(4)",
        id="multi-rnn-cell",
    ),
    pytest.param(BIDIRECTIONAL, "keras.layers.Bidirectional(keras.layers.LSTM(6))", id="bidi"),
    pytest.param(SIMPLE, "keras.layers.SimpleRNN(6)", id="simple-rnn"),
]


@pytest.mark.parametrize(("tf1", "port"), FAITHFUL)
def test_a_tf1_cell_and_its_natural_keras_layer_pass_without_a_map(
    tmp_path: Path, tf1: str, port: str
) -> None:
    keras.backend.clear_session()
    report = check_migration(program(tmp_path, "rnn", tf1, port), strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()
    shown = [how for _, _, how in report.variable_map if "recurrent_kernel" in how]
    assert shown, report.mapping_text()


def test_an_lstm_with_another_activation_is_different_at_the_forward_pass(
    tmp_path: Path,
) -> None:
    path = program(
        tmp_path, "relu", LSTM_DYNAMIC.format(forget=1.0), "keras.layers.LSTM(6, activation='relu')"
    )
    report = check_migration(path, strict=True)
    assert report.verdict == "different", report.explain()
    assert any(f.rung == "forward pass" for f in report.findings)


def test_a_gru_with_reset_after_is_refused_naming_it(tmp_path: Path) -> None:
    path = program(tmp_path, "gru_after", GRU_DYNAMIC, "keras.layers.GRU(6)")
    with pytest.raises(ContractError) as raised:
        check_migration(path, strict=True)
    message = str(raised.value)
    assert "reset_after=True (Keras's default)" in message
    assert "reset_after=False" in message


def test_a_peephole_lstm_cell_has_no_keras_twin_and_says_so(tmp_path: Path) -> None:
    path = program(tmp_path, "peepholes", PEEPHOLES, "keras.layers.LSTM(6)")
    with pytest.raises(ContractError) as raised:
        check_migration(path, strict=True)
    assert "TF1's LSTMCell uses use_peepholes, which no Keras 3 layer computes" in str(raised.value)


def test_an_lstm_port_checks_against_a_recording_as_it_checks_live(tmp_path: Path) -> None:
    from bridge.record import record_migration
    from tests.test_golden import without_tf1

    keras.backend.clear_session()
    path = program(tmp_path, "recorded", LSTM_DYNAMIC.format(forget=1.0), "keras.layers.LSTM(6)")
    record_migration(path, tmp_path / "recording", strict=True)
    live = check_migration(path, strict=True)
    (tmp_path / "port").mkdir()
    keras.backend.clear_session()
    port_only = without_tf1(path, tmp_path / "port")
    against = check_migration(port_only, against=tmp_path / "recording", strict=True)
    assert against.verdict == live.verdict, against.explain()
    assert [r.max_loss_ulps for r in against.results] == [r.max_loss_ulps for r in live.results]
    assert against.variable_map == live.variable_map
