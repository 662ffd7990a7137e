"""Localise case: tests/zoo/mnist_deep_cnn.py with one wrong layer, fc1 without its ReLU
(TF1: `tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)`). No TF1_INTERMEDIATES."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 10

SIDE = 14
CLASSES = 10
CONV1_MAPS = 8
CONV2_MAPS = 16
FC1_UNITS = 32
KEEP_PROB = 0.75
LEARNING_RATE = 1e-4
ROWS = 128
DATA_SEED = 3

# `weight_variable`/`bias_variable` make unnamed tf.Variables inside each name_scope
# (`conv1/Variable`, `conv1/Variable_1`, ...); the checker's pairing error proposed each line.
VARIABLE_MAP = {
    f"{layer}/{tf1_name}": f"sequential/{layer}/{keras_name}"
    for layer in ("conv1", "conv2", "fc1", "fc2")
    for tf1_name, keras_name in (("Variable", "kernel"), ("Variable_1", "bias"))
}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (128, 196) in [0, 1]; one-hot float32 labels (128, 10)."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(0.0, 1.0, size=(ROWS, SIDE * SIDE))
    classes = np.argmax(images @ rng.normal(size=(SIDE * SIDE, CLASSES)), axis=1)
    return images.astype(np.float32), np.eye(CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def conv2d(x, W):
    return tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")


def max_pool_2x2(x):
    return tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def weight_variable(shape):
    return tf.Variable(tf.random.truncated_normal(shape, stddev=0.1))


def bias_variable(shape):
    return tf.Variable(tf.constant(0.1, shape=shape))


def deepnn(x):
    with tf.name_scope("reshape"):
        x_image = tf.reshape(x, [-1, SIDE, SIDE, 1])
    with tf.name_scope("conv1"):
        W_conv1 = weight_variable([5, 5, 1, CONV1_MAPS])
        b_conv1 = bias_variable([CONV1_MAPS])
        h_conv1 = tf.nn.relu(conv2d(x_image, W_conv1) + b_conv1)
    with tf.name_scope("pool1"):
        h_pool1 = max_pool_2x2(h_conv1)
    with tf.name_scope("conv2"):
        W_conv2 = weight_variable([5, 5, CONV1_MAPS, CONV2_MAPS])
        b_conv2 = bias_variable([CONV2_MAPS])
        h_conv2 = tf.nn.relu(conv2d(h_pool1, W_conv2) + b_conv2)
    with tf.name_scope("pool2"):
        h_pool2 = max_pool_2x2(h_conv2)
    with tf.name_scope("fc1"):
        W_fc1 = weight_variable([4 * 4 * CONV2_MAPS, FC1_UNITS])
        b_fc1 = bias_variable([FC1_UNITS])
        h_pool2_flat = tf.reshape(h_pool2, [-1, 4 * 4 * CONV2_MAPS])
        h_fc1 = tf.nn.relu(tf.matmul(h_pool2_flat, W_fc1) + b_fc1)
    with tf.name_scope("dropout"):
        keep_prob = tf.compat.v1.placeholder_with_default(KEEP_PROB, ())
        h_fc1_drop = tf.compat.v1.nn.dropout(h_fc1, keep_prob)
    with tf.name_scope("fc2"):
        W_fc2 = weight_variable([FC1_UNITS, CLASSES])
        b_fc2 = bias_variable([CLASSES])
        y_conv = tf.matmul(h_fc1_drop, W_fc2) + b_fc2
    return y_conv, keep_prob


def tf1_train(x: tf.Tensor, y_: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    y_conv, _ = deepnn(x)
    with tf.name_scope("loss"):
        cross_entropy = tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=y_conv)
    cross_entropy = tf.reduce_mean(cross_entropy)
    with tf.name_scope("adam_optimizer"):
        train_step = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE).minimize(cross_entropy)
    return cross_entropy, train_step


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(SIDE * SIDE,)),
            keras.layers.Reshape((SIDE, SIDE, 1)),
            keras.layers.Conv2D(CONV1_MAPS, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, padding="same", name="pool1"),
            keras.layers.Conv2D(CONV2_MAPS, 5, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, padding="same", name="pool2"),
            keras.layers.Flatten(),
            # The mistake: the ReLU after fc1 left out.
            keras.layers.Dense(FC1_UNITS, name="fc1"),
            # TF1 passes the probability to keep; Keras's Dropout the probability to drop.
            keras.layers.Dropout(rate=1 - KEEP_PROB, name="dropout"),
            keras.layers.Dense(CLASSES, name="fc2"),
        ]
    )
    # TF1's AdamOptimizer defaults to epsilon 1e-8; Keras's Adam to 1e-7.
    return model, keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=1e-8)


CROSS_ENTROPY = keras.losses.CategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
