"""Localise case: a bidirectional LSTM classifier whose TF1 program reads the last time step of
`bidirectional_dynamic_rnn`'s outputs, ported to a subclassed Keras model with sublayers whose
Bidirectional returns each direction's final state.

TF1 reverses the backward outputs back into time order, so `outputs[:, -1]` holds the forward
cell's last output but the backward cell's output after one input (the last row alone); Keras's
`Bidirectional(RNN(cell))` without `return_sequences` returns the backward cell's output after
the whole reversed sequence. The forward pass parts inside the Bidirectional layer, fed the
same rows. No TF1_INTERMEDIATES: the checker must find it by itself. The faithful twin is
bidirectional.py.
"""

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
DATA_SEED = 7

# The output layer's unnamed tf.Variables; the cells pair through their Keras layout.
VARIABLE_MAP = {"Variable": "classifier/out/kernel", "Variable_1": "classifier/out/bias"}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (128, 8, 8) in [0, 1]; one-hot float32 labels (128, 10)."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(0.0, 1.0, size=(ROWS, TIMESTEPS, NUM_INPUT))
    flat = images.reshape(ROWS, -1)
    classes = np.argmax(flat @ rng.normal(size=(flat.shape[1], NUM_CLASSES)), axis=1)
    return images.astype(np.float32), np.eye(NUM_CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def BiRNN(x, weights, biases):
    cells = tf.compat.v1.nn.rnn_cell
    outputs, _ = tf.compat.v1.nn.bidirectional_dynamic_rnn(
        cells.BasicLSTMCell(NUM_HIDDEN, forget_bias=1.0),
        cells.BasicLSTMCell(NUM_HIDDEN, forget_bias=1.0),
        x,
        dtype=tf.float32,
    )
    outputs = tf.concat(outputs, 2)
    return tf.matmul(outputs[:, -1], weights["out"]) + biases["out"]


def tf1_train(X: tf.Tensor, Y: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    weights = {"out": tf.Variable(tf.compat.v1.random_normal([2 * NUM_HIDDEN, NUM_CLASSES]))}
    biases = {"out": tf.Variable(tf.compat.v1.random_normal([NUM_CLASSES]))}
    logits = BiRNN(X, weights, biases)
    loss_op = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=Y))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(learning_rate=LEARNING_RATE)
    return loss_op, optimizer.minimize(loss_op)


# ---- TF2: a subclassed Keras model ------------------------------------------------------------


class Classifier(keras.Model):
    def __init__(self):
        super().__init__(name="classifier")
        # The mistake: each direction's final state, where TF1 read the outputs' last step.
        self.encoder = keras.layers.Bidirectional(
            keras.layers.RNN(keras.layers.LSTMCell(NUM_HIDDEN)), name="encoder"
        )
        self.out = keras.layers.Dense(NUM_CLASSES, name="out")

    def call(self, images):
        return self.out(self.encoder(images))


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = Classifier()
    model(np.zeros((1, TIMESTEPS, NUM_INPUT), np.float32))
    return model, keras.optimizers.SGD(learning_rate=LEARNING_RATE)


CROSS_ENTROPY = keras.losses.CategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
