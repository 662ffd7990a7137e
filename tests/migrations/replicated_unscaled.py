"""The same port with the per-replica scaling forgotten: each replica returns the mean of its
own shard, so under --replicas N the summed loss and every gradient are N times TF1's.

Acceptance: `tfbridge check tests/migrations/replicated_unscaled.py --replicas 2` is different, and
the report names the factor of 2 and the fix.
"""

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 15
REPLICAS = True  # declared, but the step below forgets the scaling

N_FEATURES = 5
N_HIDDEN = 8
LR = 0.05


def data():
    rng = np.random.RandomState(3)
    x = rng.normal(size=(200, N_FEATURES)).astype(np.float32)
    y = (np.tanh(x @ rng.normal(size=(N_FEATURES, 1))) + 0.1 * rng.normal(size=(200, 1))).astype(
        np.float32
    )
    return x, y


def tf1_train(features, labels):
    hidden = tf.compat.v1.layers.dense(features, N_HIDDEN, activation=tf.nn.tanh, name="hidden")
    output = tf.compat.v1.layers.dense(hidden, 1, name="output")
    loss = tf.reduce_mean(tf.square(output - labels))
    return loss, tf.compat.v1.train.GradientDescentOptimizer(LR).minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((N_FEATURES,)),
            keras.layers.Dense(N_HIDDEN, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="output"),
        ]
    )
    return model, keras.optimizers.SGD(LR)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        # The mistake: each replica's own mean, not its share of the global one.
        loss = tf.reduce_mean(tf.square(model(features) - labels))
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return loss
