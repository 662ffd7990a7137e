"""Zoo, naive port: a raw two-hidden-layer perceptron trained with TF1's Adam, against a Keras 3
port that renames the optimizer and keeps Keras's default epsilon (1e-7; TF1's is 1e-8).

Source: aymericdamien/TensorFlow-Examples, examples/3_NeuralNetworks/multilayer_perceptron.py
(`weights`/`biases` dicts of `tf.Variable(tf.random_normal(...))`, two ReLU layers written as
`tf.add(tf.matmul(...), b)`, the mean of `softmax_cross_entropy_with_logits`,
`AdamOptimizer(learning_rate=0.001)` with TF1's defaults).

Changes made for the migration-file contract:
- module-level graph code moved into `tf1_train`; the Session loop is the checker's;
- widths reduced 256 -> 32 (both hidden layers) and 784 inputs -> 64, to keep the test fast;
- MNIST replaced by generated data: 256 rows of 64 values in [0, 1], one-hot float32 labels
  from a random teacher network (fixed seed);
- 15 epochs of batches of 100 become STEPS = 15 batches of BATCH_SIZE = 64.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 64
STEPS = 15

N_INPUT = 64
N_HIDDEN_1 = 32
N_HIDDEN_2 = 32
N_CLASSES = 10
LEARNING_RATE = 0.001
ROWS = 256
DATA_SEED = 2

# The tutorial's tf.Variables are unnamed (`Variable` ... `Variable_5`, weights first, then
# biases, in dict order); the checker's pairing error proposed each line.
VARIABLE_MAP = {
    "Variable": "sequential/h1/kernel",
    "Variable_1": "sequential/h2/kernel",
    "Variable_2": "sequential/out/kernel",
    "Variable_3": "sequential/h1/bias",
    "Variable_4": "sequential/h2/bias",
    "Variable_5": "sequential/out/bias",
}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Features float32 (256, 64) in [0, 1]; one-hot float32 labels (256, 10)."""
    rng = np.random.default_rng(DATA_SEED)
    features = rng.uniform(0.0, 1.0, size=(ROWS, N_INPUT))
    hidden = np.tanh(features @ rng.normal(size=(N_INPUT, 16)))
    classes = np.argmax(hidden @ rng.normal(size=(16, N_CLASSES)), axis=1)
    return features.astype(np.float32), np.eye(N_CLASSES, dtype=np.float32)[classes]


# ---- TF1 --------------------------------------------------------------------------------------


def multilayer_perceptron(x, weights, biases):
    layer_1 = tf.nn.relu(tf.add(tf.matmul(x, weights["h1"]), biases["b1"]))
    layer_2 = tf.nn.relu(tf.add(tf.matmul(layer_1, weights["h2"]), biases["b2"]))
    return tf.matmul(layer_2, weights["out"]) + biases["out"]


def tf1_train(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    weights = {
        "h1": tf.Variable(tf.compat.v1.random_normal([N_INPUT, N_HIDDEN_1])),
        "h2": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1, N_HIDDEN_2])),
        "out": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_2, N_CLASSES])),
    }
    biases = {
        "b1": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1])),
        "b2": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_2])),
        "out": tf.Variable(tf.compat.v1.random_normal([N_CLASSES])),
    }
    logits = multilayer_perceptron(x, weights, biases)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))
    optimizer = tf.compat.v1.train.AdamOptimizer(learning_rate=LEARNING_RATE).minimize(cost)
    return cost, optimizer


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(N_INPUT,)),
            keras.layers.Dense(N_HIDDEN_1, activation="relu", name="h1"),
            keras.layers.Dense(N_HIDDEN_2, activation="relu", name="h2"),
            keras.layers.Dense(N_CLASSES, name="out"),
        ]
    )
    # The mistake: Keras's Adam defaults to epsilon=1e-7, TF1's AdamOptimizer to 1e-8.
    return model, keras.optimizers.Adam(learning_rate=LEARNING_RATE)


CROSS_ENTROPY = keras.losses.CategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
