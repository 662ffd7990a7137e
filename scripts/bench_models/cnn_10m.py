"""Benchmark migration: a 10M-parameter CNN with Adam, in TF1 and its Keras 3 port.

28x28x1 -> conv 3x3 32 SAME + ReLU -> max pool 2 -> conv 3x3 64 SAME + ReLU -> flatten
(14 * 14 * 64 = 12544) -> Dense 800 + ReLU -> Dense 10: 10,062,154 parameters, nearly all in
the one 12544x800 kernel, the shape of a model whose classifier head outweighs its convolutions.
Adam keeps two slots of each parameter: 30M numbers, 120 MB, per style. Synthetic data.

    tfbridge check scripts/bench_models/cnn_10m.py --strict --steps 100
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 100

SIDE = 28
CONV_MAPS = (32, 64)
DENSE_UNITS = 800
CLASSES = 10
ROWS = 1024
DATA_SEED = 11

LEARNING_RATE = 1e-4
ADAM_EPSILON = 1e-8  # TF1's AdamOptimizer default; Keras's is 1e-7


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (1024, 28, 28, 1) in [0, 1]; int32 labels 0..9 from a random teacher."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(0.0, 1.0, size=(ROWS, SIDE, SIDE, 1)).astype(np.float32)
    teacher = rng.normal(size=(SIDE * SIDE, CLASSES))
    labels = np.argmax(images.reshape(ROWS, -1) @ teacher, axis=1).astype(np.int32)
    return images, labels


# ---- TF1 --------------------------------------------------------------------------------------


def tf1_train(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    layers = tf.compat.v1.layers
    hidden = layers.conv2d(
        images, CONV_MAPS[0], 3, padding="same", activation=tf.nn.relu, name="conv1"
    )
    hidden = layers.max_pooling2d(hidden, 2, 2, name="pool1")
    hidden = layers.conv2d(
        hidden, CONV_MAPS[1], 3, padding="same", activation=tf.nn.relu, name="conv2"
    )
    hidden = layers.flatten(hidden)
    hidden = layers.dense(hidden, DENSE_UNITS, activation=tf.nn.relu, name="dense")
    logits = layers.dense(hidden, CLASSES, name="logits")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE, epsilon=ADAM_EPSILON)
    return loss, optimizer.minimize(loss)


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


CROSS_ENTROPY = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(SIDE, SIDE, 1)),
            keras.layers.Conv2D(CONV_MAPS[0], 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(CONV_MAPS[1], 3, padding="same", activation="relu", name="conv2"),
            keras.layers.Flatten(),
            keras.layers.Dense(DENSE_UNITS, activation="relu", name="dense"),
            keras.layers.Dense(CLASSES, name="logits"),
        ],
        name="cnn",
    )
    return model, keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=ADAM_EPSILON)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
