"""The port of examples/layers_mlp.py after the migration: its TF1 half is deleted.

The TF1 run was recorded once, while the TF1 code still ran:

    tfbridge record examples/layers_mlp.py --output examples/golden/layers_mlp --strict

and from then on the port alone is checked against that recording, in CI, after refactors,
Keras upgrades and TensorFlow upgrades:

    tfbridge check examples/layers_mlp_port.py --against examples/golden/layers_mlp --strict

Everything below is examples/layers_mlp.py but `tf1_train`.
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
