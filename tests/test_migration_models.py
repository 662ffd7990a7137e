"""Model code, TF1 -> TF2: each row of docs/migration-models.md, proved with real TensorFlow.

TF1 code runs in a `tf.Graph` with a `tf.compat.v1.Session` (Grappler off, as `--strict`); the
TF2 side runs eagerly with `tf.GradientTape`. Where the two are claimed to agree, they are
compared bit for bit; where they are claimed to differ, the test pins how.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import keras
import numpy as np
import pytest
import tensorflow as tf


def session_config() -> tf.compat.v1.ConfigProto:
    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def run_graph(build: Callable[[], Sequence[tf.Tensor]], feeds: dict | None = None) -> list:
    """Build TF1 code in a fresh graph, initialise its variables, run what `build` returns."""
    graph = tf.Graph()
    with graph.as_default():
        fetches = build()
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph, config=session_config()) as session:
        session.run(init)
        return session.run(list(fetches), feeds or {})


def bits(value: np.ndarray | tf.Tensor) -> np.ndarray:
    return np.asarray(value, dtype=np.float32).view(np.int32)


def rng_array(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


# ---- variables and layers -------------------------------------------------------------------


def test_get_variable_dense_equals_keras_dense_to_the_bit() -> None:
    """variable_scope + get_variable + xw_plus_b + relu is keras Dense(relu): outputs and
    gradients (tf.gradients against GradientTape) equal bit for bit, and the names line up as
    scope/leaf against model/layer/leaf."""
    x_value = rng_array(0, 16, 5)
    w_value, b_value = rng_array(1, 5, 4), rng_array(2, 4, scale=0.1)

    def tf1() -> list[tf.Tensor]:
        with tf.compat.v1.variable_scope("hidden"):
            w = tf.compat.v1.get_variable("weights", initializer=w_value)
            b = tf.compat.v1.get_variable("biases", initializer=b_value)
        y = tf.nn.relu(tf.compat.v1.nn.xw_plus_b(tf.constant(x_value), w, b))
        loss = tf.reduce_sum(y * y)
        assert [w.name, b.name] == ["hidden/weights:0", "hidden/biases:0"]
        return [y, *tf.compat.v1.gradients(loss, [w, b])]

    y1, gw1, gb1 = run_graph(tf1)
    dense = keras.layers.Dense(4, activation="relu", name="hidden")
    model = keras.Sequential([keras.Input((5,)), dense], name="net")
    dense.kernel.assign(w_value)
    dense.bias.assign(b_value)
    assert [v.path for v in model.weights] == ["net/hidden/kernel", "net/hidden/bias"]
    with tf.GradientTape() as tape:
        y2 = model(x_value)
        loss = tf.reduce_sum(y2 * y2)
    gw2, gb2 = tape.gradient(loss, [dense.kernel, dense.bias])
    for tf1_value, tf2_value in [(y1, y2), (gw1, gw2), (gb1, gb2)]:
        np.testing.assert_array_equal(bits(tf1_value), bits(tf2_value))


def test_get_variable_weights_equal_a_tf_module_with_variables() -> None:
    """A tf.Module holding tf.Variables is the other TF2 home for get_variable weights: the
    same ops give the same bits, and its variables are listed sorted by attribute name."""
    x_value, w_value = rng_array(3, 8, 3), rng_array(4, 3, 2)

    def tf1() -> list[tf.Tensor]:
        w = tf.compat.v1.get_variable("w", initializer=w_value)
        return [tf.nn.tanh(tf.matmul(tf.constant(x_value), w))]

    class Layer(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="layer")
            self.w = tf.Variable(w_value, name="w")
            self.b = tf.Variable(tf.zeros([2]), name="b")

    layer = Layer()
    (tf1_value,) = run_graph(tf1)
    np.testing.assert_array_equal(bits(tf1_value), bits(tf.nn.tanh(tf.matmul(x_value, layer.w))))
    assert [v.name for v in layer.trainable_variables] == ["b:0", "w:0"]


def test_tf_compat_v1_layers_dense_equals_keras_dense() -> None:
    """tf.compat.v1.layers.dense is keras Dense: names under the layer's scope, outputs and
    gradients equal bit for bit. With TF_USE_LEGACY_KERAS=1 set before its first use,
    `tf.compat.v1.layers.dense` *is* tf_keras's legacy `dense` called here (checked with `is`
    by hand); importing it directly keeps this process's `tf.compat.v1.layers` untouched."""
    from tf_keras.src.legacy_tf_layers import core as tf1_layers

    x_value = rng_array(7, 16, 5)
    graph = tf.Graph()
    with graph.as_default():
        with pytest.warns(UserWarning, match="tf.layers.dense` is deprecated"):
            y = tf1_layers.dense(tf.constant(x_value), 3, activation=tf.nn.tanh, name="fc")
        kernel, bias = tf.compat.v1.trainable_variables()
        gradients = tf.compat.v1.gradients(tf.reduce_sum(y * y), [kernel, bias])
        init = tf.compat.v1.global_variables_initializer()
        nonzero_bias = bias.assign([0.1, -0.2, 0.3])  # zeros would hide a bias mix-up
    assert [kernel.name, bias.name] == ["fc/kernel:0", "fc/bias:0"]
    session = tf.compat.v1.Session(graph=graph, config=session_config())
    session.run(init)
    session.run(nonzero_bias)
    kernel_value, bias_value, y1, gk1, gb1 = session.run([kernel, bias, y, *gradients])
    session.close()
    dense = keras.layers.Dense(3, activation="tanh", name="fc")
    dense.build((None, 5))
    dense.kernel.assign(kernel_value)
    dense.bias.assign(bias_value)
    with tf.GradientTape() as tape:
        y2 = dense(x_value)
        loss = tf.reduce_sum(y2 * y2)
    gk2, gb2 = tape.gradient(loss, [dense.kernel, dense.bias])
    for tf1_value, tf2_value in [(y1, y2), (gk1, gk2), (gb1, gb2)]:
        np.testing.assert_array_equal(bits(tf1_value), bits(tf2_value))


@pytest.mark.parametrize(("units", "bias_add"), [(1, False), (2, True)])
def test_keras_dense_uses_bias_add_only_beyond_one_unit(units: int, bias_add: bool) -> None:
    """Keras 3 on TensorFlow adds Dense's bias with BiasAdd (as TF1's layers and xw_plus_b do)
    only when it has more than one unit; a 1-unit Dense uses a broadcasting AddV2, whose
    bias gradient is summed by another kernel than BiasAddGrad."""
    dense = keras.layers.Dense(units)
    dense.build((None, 3))
    graph = tf.function(dense).get_concrete_function(tf.TensorSpec((None, 3))).graph
    types = {op.type for op in graph.get_operations()}
    assert ("BiasAdd" in types) is bias_add
    assert ("AddV2" in types) is not bias_add


# ---- collections ----------------------------------------------------------------------------


def test_trainable_variables_collection_is_keras_trainable_variables() -> None:
    """get_variable(trainable=False) stays out of TRAINABLE_VARIABLES; Keras keeps the same
    split in trainable_variables / non_trainable_variables (BN's moving statistics)."""

    def tf1() -> list[tf.Tensor]:
        tf.compat.v1.get_variable("gamma", [4])
        tf.compat.v1.get_variable("moving_mean", [4], trainable=False)
        names = [v.name for v in tf.compat.v1.trainable_variables()]
        everything = [v.name for v in tf.compat.v1.global_variables()]
        assert names == ["gamma:0"] and everything == ["gamma:0", "moving_mean:0"]
        return []

    run_graph(tf1)
    layer = keras.layers.BatchNormalization()
    layer.build((None, 4))
    assert [v.name for v in layer.trainable_variables] == ["gamma", "beta"]
    assert [v.name for v in layer.non_trainable_variables] == ["moving_mean", "moving_variance"]


def tf1_moving_mean_after_a_step(with_update_ops: bool, decay: float, x_value: np.ndarray) -> list:
    """One Adam step of a hand-written TF1 batch norm; returns [moving_mean, batch mean]."""

    def build() -> list[tf.Tensor]:
        x = tf.constant(x_value)
        gamma = tf.compat.v1.get_variable("gamma", initializer=tf.ones([x_value.shape[1]]))
        moving_mean = tf.compat.v1.get_variable(
            "moving_mean", initializer=tf.zeros([x_value.shape[1]]), trainable=False
        )
        mean, variance = tf.nn.moments(x, axes=[0])
        update = tf.compat.v1.assign(moving_mean, moving_mean * decay + mean * (1 - decay))
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update)
        y = tf.nn.batch_normalization(x, mean, variance, None, gamma, 1e-3)
        loss = tf.reduce_sum(y * y)
        dependencies = (
            tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
            if with_update_ops
            else []
        )
        with tf.control_dependencies(dependencies):
            train_op = tf.compat.v1.train.AdamOptimizer(0.1).minimize(loss)
        with tf.control_dependencies([train_op]):
            after = tf.identity(moving_mean.read_value())
        return [after, mean]

    return run_graph(build)


def test_update_ops_must_be_wired_in_tf1_and_keras_updates_itself() -> None:
    """In TF1 nothing runs the moving-average assigns unless train_op waits for UPDATE_OPS;
    Keras's BatchNormalization updates them inside call(training=True), never at inference."""
    x_value = rng_array(5, 32, 4) + 3.0
    forgotten, _ = tf1_moving_mean_after_a_step(False, 0.9, x_value)
    wired, mean = tf1_moving_mean_after_a_step(True, 0.9, x_value)
    np.testing.assert_array_equal(forgotten, np.zeros(4, np.float32))
    np.testing.assert_array_equal(bits(wired), bits(np.float32(0.1) * mean))
    layer = keras.layers.BatchNormalization(momentum=0.9)
    layer(x_value, training=False)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(4, np.float32))
    layer(x_value, training=True)
    np.testing.assert_array_equal(bits(layer.moving_mean), bits(wired))


def test_batch_norm_decay_is_keras_momentum_bit_for_bit() -> None:
    """`moving * decay + batch * (1 - decay)` (TF1, by hand with tf.nn.moments) is Keras's
    BatchNormalization(momentum=decay) update and output, bit for bit, over several steps;
    Keras's defaults are momentum 0.99 and epsilon 1e-3."""
    defaults = keras.layers.BatchNormalization()
    assert (defaults.momentum, defaults.epsilon) == (0.99, 1e-3)
    decay, epsilon = 0.9, 1e-3
    batches = [rng_array(10 + i, 32, 6) * (i + 1) + i for i in range(3)]

    def tf1() -> list[tf.Tensor]:
        x = tf.compat.v1.placeholder(tf.float32, (None, 6))
        moving_mean = tf.compat.v1.get_variable("mm", initializer=tf.zeros([6]))
        moving_var = tf.compat.v1.get_variable("mv", initializer=tf.ones([6]))
        mean, variance = tf.nn.moments(x, axes=[0])
        updates = [
            tf.compat.v1.assign(moving_mean, moving_mean * decay + mean * (1 - decay)),
            tf.compat.v1.assign(moving_var, moving_var * decay + variance * (1 - decay)),
        ]
        y = tf.nn.batch_normalization(x, mean, variance, None, None, epsilon)
        return x, y, updates

    graph = tf.Graph()
    with graph.as_default():
        x, y, updates = tf1()
        init = tf.compat.v1.global_variables_initializer()
    layer = keras.layers.BatchNormalization(
        momentum=decay, epsilon=epsilon, center=False, scale=False
    )
    session = tf.compat.v1.Session(graph=graph, config=session_config())
    session.run(init)
    for batch in batches:
        y1, (mean1, var1) = session.run([y, updates], {x: batch})
        y2 = layer(batch, training=True)
        np.testing.assert_array_equal(bits(y1), bits(y2))
        np.testing.assert_array_equal(bits(mean1), bits(layer.moving_mean))
        np.testing.assert_array_equal(bits(var1), bits(layer.moving_variance))
    session.close()


def test_batch_norm_input_gradient_sums_three_terms_in_another_order() -> None:
    """The same BN ops, differentiated by tf.gradients and by GradientTape, give gradients for
    BN's input that differ by rounding: x feeds three differentiable paths (x * inv, the mean,
    the variance) and the two sum them with add_n in different orders. Re-adding TF1's three
    terms in the tape's order reproduces the tape's result exactly."""
    x_value, c_value = rng_array(1, 64, 32), rng_array(2, 64, 32)

    def bn_loss(x: tf.Tensor) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[0])
        y = tf.nn.batch_normalization(x, mean, variance, None, None, 1e-3)
        return tf.reduce_sum(y * c_value)

    def tf1() -> list[tf.Tensor]:
        x = tf.constant(x_value)
        (gradient,) = tf.compat.v1.gradients(bn_loss(x), [x])
        assert gradient.op.type == "AddN" and len(gradient.op.inputs) == 3
        return [gradient, *gradient.op.inputs]

    graph_gradient, *terms = run_graph(tf1)
    x = tf.constant(x_value)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = bn_loss(x)
    tape_gradient = tape.gradient(loss, x).numpy()
    assert not np.array_equal(bits(graph_gradient), bits(tape_gradient))
    np.testing.assert_allclose(graph_gradient, tape_gradient, rtol=1e-5, atol=1e-6)
    sums = {
        order: tf.add_n([terms[i] for i in order]).numpy()
        for order in itertools.permutations(range(3))
    }
    np.testing.assert_array_equal(bits(sums[(0, 1, 2)]), bits(graph_gradient))
    assert any(np.array_equal(bits(total), bits(tape_gradient)) for total in sums.values())


def test_regularization_losses_are_model_losses_with_half_the_factor() -> None:
    """`get_variable(regularizer=lambda w: wd * tf.nn.l2_loss(w))` (l2_loss = sum(w**2) / 2)
    is Keras's `L2(wd / 2)` (l2 * sum(w**2)), to the bit, loss and gradient; `L2(wd)` is
    exactly twice TF1's term."""
    wd = 1e-4
    w_value = rng_array(6, 20, 7)

    def tf1() -> list[tf.Tensor]:
        w = tf.compat.v1.get_variable(
            "weights", initializer=w_value, regularizer=lambda t: wd * tf.nn.l2_loss(t)
        )
        (term,) = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        total = tf.compat.v1.losses.get_regularization_loss()
        return [term, total, *tf.compat.v1.gradients(total, [w])]

    term, total, gradient = run_graph(tf1)

    def keras_side(factor: float) -> tuple[np.ndarray, np.ndarray]:
        dense = keras.layers.Dense(7, kernel_regularizer=keras.regularizers.L2(factor))
        dense.build((None, 20))
        dense.kernel.assign(w_value)
        with tf.GradientTape() as tape:
            value = sum(dense.losses)
        return value.numpy(), tape.gradient(value, dense.kernel).numpy()

    half, half_gradient = keras_side(wd / 2)
    full, _ = keras_side(wd)
    np.testing.assert_array_equal(bits(term), bits(total))
    np.testing.assert_array_equal(bits(half), bits(total))
    np.testing.assert_array_equal(bits(half_gradient), bits(gradient))
    assert full == 2 * total


# ---- losses ---------------------------------------------------------------------------------


def test_sum_by_nonzero_weights_divides_by_the_nonzero_weights() -> None:
    """tf.compat.v1.losses default to SUM_BY_NONZERO_WEIGHTS: sum(weights * losses) divided by
    the number of nonzero weights. Keras's default, sum_over_batch_size, divides by the batch
    size: equal with unit weights, not when some weights are zero."""
    assert (
        tf.compat.v1.losses.Reduction.SUM_BY_NONZERO_WEIGHTS
        == tf.compat.v1.losses.Reduction.SUM_BY_NONZERO_WEIGHTS
    )
    labels = np.array([[1.0], [2.0], [3.0], [4.0]], np.float32)
    predictions = np.array([[1.5], [2.0], [2.0], [6.0]], np.float32)  # squared errors .25 0 1 4
    weights = np.array([[1.0], [1.0], [0.0], [0.0]], np.float32)

    def tf1() -> list[tf.Tensor]:
        return [
            tf.compat.v1.losses.mean_squared_error(labels, predictions),
            tf.compat.v1.losses.mean_squared_error(labels, predictions, weights=weights),
        ]

    unit, weighted = run_graph(tf1)
    mse = keras.losses.MeanSquaredError()
    assert unit == mse(labels, predictions).numpy() == np.float32(5.25 / 4)
    assert weighted == np.float32(0.25 / 2)  # two nonzero weights
    assert mse(labels, predictions, sample_weight=weights.ravel()).numpy() == np.float32(0.25 / 4)


def test_keras_mean_squared_error_averages_rows_first() -> None:
    """With several outputs per row, keras MeanSquaredError takes each row's mean and then the
    mean over rows; TF1's mean_squared_error (and tf.reduce_mean) one mean over all elements:
    1 ULP apart on some batches; the gradients agree."""
    worst = 0
    for seed in range(20):
        predictions, labels = rng_array(seed, 64, 2), rng_array(100 + seed, 64, 2)

        def tf1(p: np.ndarray = predictions, y: np.ndarray = labels) -> list[tf.Tensor]:
            return [tf.compat.v1.losses.mean_squared_error(y, p)]

        (tf1_value,) = run_graph(tf1)
        keras_value = keras.losses.MeanSquaredError()(labels, predictions).numpy()
        flat_value = tf.reduce_mean(tf.math.squared_difference(predictions, labels)).numpy()
        assert bits(flat_value) == bits(tf1_value)
        worst = max(worst, abs(int(bits(keras_value)) - int(bits(tf1_value))))
    assert worst == 1


# ---- initialisers and randomness -------------------------------------------------------------


def test_glorot_uniform_draws_differ_between_tf1_and_keras_for_the_same_seed() -> None:
    """glorot_uniform_initializer(seed=s) in a TF1 graph and keras GlorotUniform(seed=s) share
    the distribution (bound sqrt(6 / (fan_in + fan_out))), not the numbers: a port seeded alike
    starts elsewhere, so initial values must be copied, not re-seeded."""
    shape = (30, 20)
    bound = np.sqrt(6 / sum(shape))

    def tf1() -> list[tf.Tensor]:
        return [tf.compat.v1.glorot_uniform_initializer(seed=42)(shape)]

    (tf1_value,) = run_graph(tf1)
    (again,) = run_graph(tf1)
    keras_value = keras.initializers.GlorotUniform(seed=42)(shape).numpy()
    np.testing.assert_array_equal(tf1_value, again)  # each library is reproducible
    assert np.abs(tf1_value).max() <= bound and np.abs(keras_value).max() <= bound
    assert not np.any(np.isclose(tf1_value, keras_value))


def test_keep_prob_is_one_minus_rate() -> None:
    """tf.compat.v1.nn.dropout(keep_prob=p) is tf.nn.dropout(rate=1 - p) with the same seeds,
    bit for bit; both and keras Dropout(rate) zero a `rate` share and scale the rest by
    1 / (1 - rate)."""
    x_value = np.ones((200, 50), np.float32)
    keep_prob = 0.8

    def tf1() -> list[tf.Tensor]:
        tf.compat.v1.set_random_seed(1)
        x = tf.constant(x_value)
        return [
            tf.compat.v1.nn.dropout(x, keep_prob=keep_prob, seed=7),
            tf.nn.dropout(x, rate=1 - keep_prob, seed=7),
        ]

    with_keep_prob, with_rate = run_graph(tf1)
    np.testing.assert_array_equal(bits(with_keep_prob), bits(with_rate))
    keras_value = keras.layers.Dropout(rate=1 - keep_prob, seed=7)(x_value, training=True).numpy()
    scale = np.float32(1) / (np.float32(1) - np.float32(1 - keep_prob))
    for value in (with_keep_prob, keras_value):
        assert set(np.unique(value)) == {np.float32(0), scale}
        assert abs((value == 0).mean() - (1 - keep_prob)) < 0.02
