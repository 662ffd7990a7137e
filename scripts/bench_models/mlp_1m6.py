"""Benchmark migration: a 1.6M-parameter MLP with Adam, in TF1 and its Keras 3 port.

784 -> 1024 -> 768 -> 10 with ReLU (1,598,730 parameters; Adam keeps two slots of each, so
4.8M numbers per style), on synthetic data: the size issue 18 measured `tfbridge check` at.

    tfbridge check scripts/bench_models/mlp_1m6.py --strict --steps 200
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 25

INPUTS = 784
HIDDEN_WIDTHS = (1024, 768)
CLASSES = 10
ROWS = 2048
DATA_SEED = 7

# TF1's AdamOptimizer defaults, written out because Keras's epsilon differs (1e-7).
LEARNING_RATE = 1e-3
ADAM_EPSILON = 1e-8


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (2048, 784) in [0, 1]; int32 labels 0..9 from a random linear teacher."""
    rng = np.random.default_rng(DATA_SEED)
    features = rng.uniform(0.0, 1.0, size=(ROWS, INPUTS)).astype(np.float32)
    labels = np.argmax(features @ rng.normal(size=(INPUTS, CLASSES)), axis=1).astype(np.int32)
    return features, labels


# ---- TF1 --------------------------------------------------------------------------------------


def tf1_train(features: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    hidden = features
    for index, width in enumerate(HIDDEN_WIDTHS, start=1):
        hidden = tf.compat.v1.layers.dense(
            hidden, width, activation=tf.nn.relu, name=f"hidden{index}"
        )
    logits = tf.compat.v1.layers.dense(hidden, CLASSES, name="logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE, epsilon=ADAM_EPSILON)
    return loss, optimizer.minimize(loss)


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


CROSS_ENTROPY = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    layers: list[keras.layers.Layer] = [keras.Input(shape=(INPUTS,))]
    for index, width in enumerate(HIDDEN_WIDTHS, start=1):
        layers.append(keras.layers.Dense(width, activation="relu", name=f"hidden{index}"))
    layers.append(keras.layers.Dense(CLASSES, name="logits"))
    model = keras.Sequential(layers, name="mlp")
    return model, keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=ADAM_EPSILON)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
