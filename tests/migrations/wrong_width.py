"""A migration whose port has the wrong hidden width, as a user would submit it: TF1's hidden
layer has 32 units, the Keras 3 port's 30 (a typo). TF1's initial values cannot be copied into
the port: the checker must refuse with the shape mismatch, naming both variables and shapes.

Naming exercised: TF1 `mlp/hidden/kernel` and `mlp/out/kernel` (get_variable with Keras-style
leaf names) against a Sequential whose layers are named like the TF1 scopes.
"""

import keras
import numpy as np
import tensorflow as tf

STEPS = 10


def data():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    # A linear target with noise: regression, labels shaped (rows, 1).
    y = x @ rng.normal(size=(6, 1)) + 0.1 * rng.normal(size=(256, 1))
    return x, y.astype(np.float32)


def tf1_train(features, labels):
    with tf.compat.v1.variable_scope("mlp"):
        with tf.compat.v1.variable_scope("hidden"):
            k1 = tf.compat.v1.get_variable("kernel", [6, 32])
            b1 = tf.compat.v1.get_variable("bias", [32], initializer=tf.zeros_initializer())
        with tf.compat.v1.variable_scope("out"):
            k2 = tf.compat.v1.get_variable("kernel", [32, 1])
            b2 = tf.compat.v1.get_variable("bias", [1], initializer=tf.zeros_initializer())
    h = tf.nn.relu(tf.matmul(features, k1) + b1)
    pred = tf.matmul(h, k2) + b2
    loss = tf.reduce_mean(tf.square(pred - labels))
    return loss, tf.compat.v1.train.GradientDescentOptimizer(0.01).minimize(loss)


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(30, activation="relu", name="hidden"),  # TF1: 32
            keras.layers.Dense(1, name="out"),
        ],
        name="mlp",
    )
    return model, keras.optimizers.SGD(learning_rate=0.01)


def tf2_train_step(state, features, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(features, training=True) - labels))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return loss
