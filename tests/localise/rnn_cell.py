"""Faithful twin of rnn_cell_activation.py: the same TF1 program, the port's LSTMCell given
TF1's relu."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 6

NUM_INPUT = 8
TIMESTEPS = 8
NUM_HIDDEN = 12
NUM_CLASSES = 10
LEARNING_RATE = 0.01
ROWS = 128
DATA_SEED = 8

# The output layer's unnamed tf.Variables; the cell pairs through its Keras layout.
VARIABLE_MAP = {"Variable": "sequential/out/kernel", "Variable_1": "sequential/out/bias"}
ACTIVATION = "relu"  # BasicLSTMCell(activation=tf.nn.relu)


def data() -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (128, 8, 8) in [0, 1]; one-hot float32 labels (128, 10)."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(0.0, 1.0, size=(ROWS, TIMESTEPS, NUM_INPUT))
    flat = images.reshape(ROWS, -1)
    classes = np.argmax(flat @ rng.normal(size=(flat.shape[1], NUM_CLASSES)), axis=1)
    return images.astype(np.float32), np.eye(NUM_CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def RNN(x, weights, biases):
    cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(NUM_HIDDEN, activation=tf.nn.relu)
    _, state = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    return tf.matmul(state.h, weights["out"]) + biases["out"]


def tf1_train(X: tf.Tensor, Y: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    weights = {"out": tf.Variable(tf.compat.v1.random_normal([NUM_HIDDEN, NUM_CLASSES]))}
    biases = {"out": tf.Variable(tf.compat.v1.random_normal([NUM_CLASSES]))}
    logits = RNN(X, weights, biases)
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(learning_rate=LEARNING_RATE)
    return loss_op, optimizer.minimize(loss_op)


# ---- TF2: Keras 3, an RNN of an LSTMCell ------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(TIMESTEPS, NUM_INPUT)),
            keras.layers.RNN(keras.layers.LSTMCell(NUM_HIDDEN, activation=ACTIVATION), name="rnn"),
            keras.layers.Dense(NUM_CLASSES, name="out"),
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
