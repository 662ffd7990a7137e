"""Localise case, backward: an MLP whose hidden layer is quantised with the straight-through
estimator (`h + tf.stop_gradient(q - h)`, as in VQ-VAE and quantisation-aware training code),
ported to a Keras layer that returns the rounded value itself. The forward pass agrees bit for
bit (for h >= 0, q - h and h + (q - h) are exact); tf.round has no gradient, so the port passes
none to fc1. The checker must name the quantising layer walking back from the loss, without
TF1_INTERMEDIATES. The faithful twin is mlp_straight_through_faithful.py.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 6

INPUTS = 20
HIDDEN = 16
CLASSES = 5
LEVELS = 4.0
LEARNING_RATE = 0.05
ROWS = 128
DATA_SEED = 9


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (128, 20); one-hot float32 labels (128, 5) from a random teacher."""
    rng = np.random.default_rng(DATA_SEED)
    features = rng.normal(size=(ROWS, INPUTS))
    classes = np.argmax(features @ rng.normal(size=(INPUTS, CLASSES)), axis=1)
    return features.astype(np.float32), np.eye(CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def dense(x, units, scope):
    with tf.compat.v1.variable_scope(scope):
        w = tf.compat.v1.get_variable("kernel", [x.shape[-1], units])
        b = tf.compat.v1.get_variable("bias", [units], initializer=tf.zeros_initializer())
    return tf.matmul(x, w) + b


def quantise(h):
    # Rounded forward, identity backward: the straight-through estimator.
    q = tf.round(h * LEVELS) / LEVELS
    return h + tf.stop_gradient(q - h)


def tf1_train(x: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    hidden = quantise(tf.nn.relu(dense(x, HIDDEN, "fc1")))
    logits = dense(hidden, CLASSES, "fc2")
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    return loss, tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


class Quantise(keras.layers.Layer):
    def call(self, h):
        # The mistake: the rounded value itself, which passes no gradient back.
        return tf.round(h * LEVELS) / LEVELS


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(INPUTS,)),
            keras.layers.Dense(HIDDEN, activation="relu", name="fc1"),
            Quantise(name="quantise"),
            keras.layers.Dense(CLASSES, name="fc2"),
        ]
    )
    return model, keras.optimizers.SGD(learning_rate=LEARNING_RATE)


CROSS_ENTROPY = keras.losses.CategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
