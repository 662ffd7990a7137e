"""Localise case, several inputs: two named inputs (a dict) concatenated into an MLP, as in
tests/test_check_inputs.py, the port's hidden Dense without TF1's tanh. The localisation reads
TF1's concat as the hidden layer's input (its MatMul's data input)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

STEPS = 4
BATCH_SIZE = 16


def data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 3)).astype(np.float32)
    z = rng.normal(size=(48, 2)).astype(np.float32)
    y = np.concatenate([x[:, :1] - 2.0 * z[:, 1:], z[:, :1]], axis=1).astype(np.float32)
    return {"x": x, "z": z}, y


def tf1_train(features, labels):
    joined = tf.concat([features["x"], features["z"]], axis=1)
    hidden = tf.compat.v1.layers.dense(joined, 4, activation=tf.nn.tanh, name="hidden")
    out = tf.compat.v1.layers.dense(hidden, 2, name="out")
    loss = tf.reduce_mean(tf.square(out - labels))
    return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            # The mistake: TF1's hidden layer applies tanh.
            keras.layers.Dense(4, name="hidden"),
            keras.layers.Dense(2, name="out"),
        ]
    )
    model.build((None, 5))
    return model, keras.optimizers.SGD(0.1)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        out = model(tf.concat([features["x"], features["z"]], axis=1))
        loss = tf.reduce_mean(tf.square(out - labels))
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss
