"""Migration reference: a `tf.compat.v1.layers` regression network and its Keras 3 port.

Check it with:

    tfbridge check examples/layers_mlp.py --strict

`tf.compat.v1.layers.dense` is the TF1 layer API (before Keras became TensorFlow's). In TF 2.16+
it lives in the separate `tf_keras` package and needs `TF_USE_LEGACY_KERAS=1` before the first
use of `tf.compat.v1.layers`; `tfbridge check` sets that itself, so this file does not (setting
it here would change what `tf.keras` means for everything else in the process).

Both halves are plain: two tanh layers, mean squared error, plain gradient descent. With
Grappler off this is a port that can agree to the bit: the same MatMul, BiasAdd and Tanh ops
forward, gradients with no multi-way sums to reorder, and Keras's SGD applying
`var -= lr * grad` as TF1's GradientDescentOptimizer does.

Data: 512 rows of two smooth functions of 8 inputs plus a little noise, from a fixed seed.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 64
STEPS = 30

INPUTS = 8
HIDDEN_WIDTHS = (32, 16)
# Two outputs, not one, and that matters for bit-equality: Keras 3 adds a bias with
# tf.nn.bias_add only when it has more than one unit (keras/src/backend/tensorflow/numpy.py
# `add`); a 1-unit Dense adds its bias with a plain broadcasting add, whose bias gradient is a
# reduce_sum where TF1's BiasAddGrad sums in another order. One output differs by a few ULPs
# in output/bias from the first step on (measured: 41 ULPs, 5e-7 relative, after 30 steps).
OUTPUTS = 2
LEARNING_RATE = 0.05
DATA_SEED = 20240611  # fixed, so every run of the check sees the same data set
ROWS = 512


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (512, 8) in [-1, 1]; two targets per row, float32 (512, 2)."""
    rng = np.random.default_rng(DATA_SEED)
    features = rng.uniform(-1.0, 1.0, size=(ROWS, INPUTS))
    directions = rng.normal(size=(INPUTS, OUTPUTS))
    targets = np.sin(features @ directions) + 0.3 * features[:, :OUTPUTS] ** 2
    targets += rng.normal(scale=0.05, size=targets.shape)
    return features.astype(np.float32), targets.astype(np.float32)


# --------------------------------------------------------------------------------------------
# TF1: tf.compat.v1.layers in a graph.
# --------------------------------------------------------------------------------------------


def tf1_train(features: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    """Two tanh layers and a linear output; GradientDescentOptimizer on the mean squared error."""
    hidden = features
    for index, width in enumerate(HIDDEN_WIDTHS, start=1):
        # Each call makes `hidden{index}/kernel` and `hidden{index}/bias`, named after `name`
        # (the TF1 layers API is variable_scope + get_variable underneath).
        hidden = tf.compat.v1.layers.dense(
            hidden, width, activation=tf.nn.tanh, name=f"hidden{index}"
        )
    predictions = tf.compat.v1.layers.dense(hidden, OUTPUTS, name="output")
    # tf.compat.v1.losses reduce with SUM_BY_NONZERO_WEIGHTS by default: the sum of the
    # weighted losses over the number of non-zero weights. With the default weights=1.0 that
    # is the mean over all of the batch's elements (see tf2_train_step for the port's form).
    loss = tf.compat.v1.losses.mean_squared_error(labels, predictions)
    train_op = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    return loss, train_op


# --------------------------------------------------------------------------------------------
# TF2: the Keras 3 port.
# --------------------------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    """The same layers by the same names; initialisers don't matter, the checker copies TF1's."""
    # TF1 layers default to glorot_uniform kernels and zero biases, as Keras's Dense does; but
    # the same seed draws different numbers in the two libraries, which is why the checker
    # copies the values instead of re-seeding.
    model = keras.Sequential(
        [keras.Input(shape=(INPUTS,))]
        + [
            keras.layers.Dense(width, activation="tanh", name=f"hidden{index}")
            for index, width in enumerate(HIDDEN_WIDTHS, start=1)
        ]
        + [keras.layers.Dense(OUTPUTS, name="output")],
        name="regressor",
    )
    # keras.optimizers.SGD without momentum is exactly GradientDescentOptimizer.
    return model, keras.optimizers.SGD(learning_rate=LEARNING_RATE)


def tf2_train_step(
    state: tuple[keras.Model, keras.optimizers.Optimizer], features: tf.Tensor, labels: tf.Tensor
) -> tf.Tensor:
    """One gradient-descent step; returns the loss before the update."""
    model, optimizer = state
    with tf.GradientTape() as tape:
        predictions = model(features, training=True)
        # One mean over every element, as TF1's SUM_BY_NONZERO_WEIGHTS is with unit weights.
        # keras.losses.MeanSquaredError() would average each row's outputs first and then the
        # rows: the same gradients here, but a loss 1 ULP off on some batches (measured).
        loss = tf.reduce_mean(tf.math.squared_difference(predictions, labels))
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss
