"""A GRU sequence classifier with Adam, TF1 and its faithful Keras 3 port.

TF1: `GRUCell` through `dynamic_rnn` over float features, the final state into a dense layer,
softmax cross-entropy, `AdamOptimizer(1e-2)`. The port: `GRU(reset_after=False)` (TF1's
GRUCell's formula), `Adam(1e-2, epsilon=1e-8)` (TF1's epsilon). Traced and run eagerly, Keras's
GRU loop rounds otherwise: the tf.function port's step from TF1's values is 2.2e-4 of its change
from the eager port's, Grappler and oneDNN off, and lands nearer TF1's step than the eager
port's does. Written for the check's own tests, after a probe of TF1-era RNN programs.
"""

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 20
TIME = 7
FEATURES = 5
HIDDEN = 16
CLASSES = 4


def data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(320, TIME, FEATURES)).astype(np.float32)
    score = x.sum(axis=1) @ rng.normal(size=(FEATURES, CLASSES))
    return x, np.argmax(score, axis=1).astype(np.int32)


def tf1_train(x, y):
    cell = tf.compat.v1.nn.rnn_cell.GRUCell(HIDDEN)
    _, state = tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    logits = tf.compat.v1.layers.dense(state, CLASSES, name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return loss, tf.compat.v1.train.AdamOptimizer(1e-2).minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((TIME, FEATURES)),
            keras.layers.GRU(HIDDEN, reset_after=False),
            keras.layers.Dense(CLASSES, name="logits"),
        ]
    )
    return model, keras.optimizers.Adam(1e-2, epsilon=1e-8)


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, x, y):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    scale = 1.0  # the tests write other scales here
    opt.apply_gradients(zip([g * scale for g in grads], model.trainable_variables, strict=True))
    return loss
