"""Zoo, naive port: the BasicLSTMCell + static_rnn image-row classifier against a tf.Module port
written from the textbook LSTM equations, which have no forget bias: BasicLSTMCell adds
`forget_bias=1.0` to the forget gate at every step (its bias variable starts at zeros).

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

The port keeps TF1's layout, so it pairs today (the natural Keras port, lstm_classifier.py,
does not); lstm_classifier_module.py is the same port with the forget bias.
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

# The output layer's tf.Variables are unnamed, and the cell's scope (`rnn/basic_lstm_cell`) is
# not the port's attribute path; the checker's pairing error proposed each line.
VARIABLE_MAP = {
    "Variable": "classifier/w",
    "Variable_1": "classifier/b",
    "rnn/basic_lstm_cell/kernel": "classifier/cell/kernel",
    "rnn/basic_lstm_cell/bias": "classifier/cell/bias",
}


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


# ---- TF2: a tf.Module written from the cell's equations ------------------------------------


class BasicLSTM(tf.Module):
    """BasicLSTMCell's layout kept: one kernel [inputs + units, 4 * units], gates i, j, f, o."""

    def __init__(self, inputs, units, forget_bias, name=None):
        super().__init__(name=name)
        self.units = units
        self.forget_bias = forget_bias
        self.kernel = tf.Variable(tf.zeros([inputs + units, 4 * units]), name="kernel")
        self.bias = tf.Variable(tf.zeros([4 * units]), name="bias")

    def __call__(self, sequence):
        batch = tf.shape(sequence)[0]
        c = h = tf.zeros([batch, self.units])
        for x in tf.unstack(sequence, axis=1):
            gates = tf.nn.bias_add(tf.matmul(tf.concat([x, h], 1), self.kernel), self.bias)
            i, j, f, o = tf.split(gates, 4, axis=1)
            # The mistake: BasicLSTMCell's forget_bias (added to f at every step) left out, as
            # in the textbook LSTM equations.
            c = c * tf.sigmoid(f) + tf.sigmoid(i) * tf.tanh(j)
            h = tf.tanh(c) * tf.sigmoid(o)
        return h


class Classifier(tf.Module):
    def __init__(self):
        super().__init__(name="classifier")
        self.cell = BasicLSTM(NUM_INPUT, NUM_HIDDEN, forget_bias=1.0, name="basic_lstm_cell")
        self.w = tf.Variable(tf.zeros([NUM_HIDDEN, NUM_CLASSES]), name="w")
        self.b = tf.Variable(tf.zeros([NUM_CLASSES]), name="b")

    def __call__(self, images):
        return tf.matmul(self.cell(images), self.w) + self.b


def tf2_setup() -> tuple[tf.Module, keras.optimizers.Optimizer]:
    return Classifier(), keras.optimizers.SGD(learning_rate=LEARNING_RATE)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        logits = model(features)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=labels))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
