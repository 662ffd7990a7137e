"""Zoo: the BasicLSTMCell + static_rnn image-row classifier and its natural Keras 3 port, LSTM.

Source: aymericdamien/TensorFlow-Examples, examples/3_NeuralNetworks/recurrent_network.py (each
image row a time step: `tf.unstack` over time, `rnn.BasicLSTMCell(num_hidden,
forget_bias=1.0)`, `rnn.static_rnn`, a linear layer on the last output from `weights`/`biases`
dicts of `tf.Variable(tf.random_normal(...))`, the mean of `softmax_cross_entropy_with_logits`,
`GradientDescentOptimizer(learning_rate=0.001)`).

Changes made for the migration-file contract:
- module-level graph code moved into `tf1_train`; the Session loop and SavedModel export are
  dropped;
- `tensorflow.contrib.rnn` (gone in TF 2) becomes `tf.compat.v1.nn.rnn_cell.BasicLSTMCell` and
  `tf.compat.v1.nn.static_rnn` (which need tf_keras; the checker routes the TF1 build to it);
- MNIST's 28 rows of 28 pixels replaced by generated 8x8 "images" (8 time steps of 8 inputs,
  one-hot float32 labels from a random teacher, fixed seed);
- widths reduced to keep the test fast: num_hidden 128 -> 16; 10000 steps of batches of 128
  become STEPS = 10 batches of BATCH_SIZE = 32.

TF1's cell keeps one kernel [inputs + units, 4 * units] with its
gates in the order i, j, f, o and adds `forget_bias` to f at run time; Keras's LSTM keeps a
kernel [inputs, 4 * units] and a recurrent_kernel [units, 4 * units], gates in the order
i, f, c, o, and no forget bias beyond its initial value. The check pairs them through a weight
layout (tfmigration/migration/layouts.py): the Keras cell shown in TF1's layout, the forget bias
folded into the bias.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 10

NUM_INPUT = 8
TIMESTEPS = 8
NUM_HIDDEN = 16
NUM_CLASSES = 10
LEARNING_RATE = 0.001
ROWS = 128
DATA_SEED = 6

# The output layer's unnamed tf.Variables; the cell's own variables have no one-to-one
# counterpart (see above), so no line here can pair them.
VARIABLE_MAP = {"Variable": "sequential/out/kernel", "Variable_1": "sequential/out/bias"}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (128, 8, 8) in [0, 1]; one-hot float32 labels (128, 10)."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(0.0, 1.0, size=(ROWS, TIMESTEPS, NUM_INPUT))
    flat = images.reshape(ROWS, -1)
    classes = np.argmax(flat @ rng.normal(size=(flat.shape[1], NUM_CLASSES)), axis=1)
    return images.astype(np.float32), np.eye(NUM_CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def RNN(x, weights, biases):
    x = tf.unstack(x, TIMESTEPS, 1)
    lstm_cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(NUM_HIDDEN, forget_bias=1.0)
    outputs, _states = tf.compat.v1.nn.static_rnn(lstm_cell, x, dtype=tf.float32)
    return tf.matmul(outputs[-1], weights["out"]) + biases["out"]


def tf1_train(X: tf.Tensor, Y: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    weights = {"out": tf.Variable(tf.compat.v1.random_normal([NUM_HIDDEN, NUM_CLASSES]))}
    biases = {"out": tf.Variable(tf.compat.v1.random_normal([NUM_CLASSES]))}
    logits = RNN(X, weights, biases)
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(learning_rate=LEARNING_RATE)
    return loss_op, optimizer.minimize(loss_op)


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(TIMESTEPS, NUM_INPUT)),
            # BasicLSTMCell's activations are Keras's defaults: tanh, sigmoid gates.
            keras.layers.LSTM(NUM_HIDDEN, name="lstm"),
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
