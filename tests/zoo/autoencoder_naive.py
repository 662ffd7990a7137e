"""Zoo, naive port: a raw sigmoid autoencoder trained with TF1's RMSProp, against a Keras 3 port
that renames the optimizer: `keras.optimizers.RMSprop(0.01)`. Two differences: Keras's epsilon
is 1e-7 (TF1's 1e-10), and Keras's mean square starts at zeros where TF1's starts at ones, so
the first updates are about 3x larger (g / sqrt(0.1 g^2) against g / sqrt(0.9 + 0.1 g^2) for
small g). autoencoder_naive_epsilon.py fixes the epsilon only.

Source: aymericdamien/TensorFlow-Examples, examples/3_NeuralNetworks/autoencoder.py (`weights`
and `biases` dicts of `tf.Variable(tf.random_normal(...))`, a two-layer sigmoid encoder and
decoder, the mean of `tf.pow(y_true - y_pred, 2)`, `RMSPropOptimizer(learning_rate=0.01)` with
TF1's defaults: decay 0.9, momentum 0, epsilon 1e-10).

Changes made for the migration-file contract:
- module-level graph code moved into `tf1_train`; the Session loop and plots are dropped;
- MNIST replaced by generated data: 128 rows of 64 "pixels" in [0, 1] from a random
  low-rank model (fixed seed); the contract needs labels, so data() returns the images twice
  and `tf1_train` ignores its labels, as the original reconstructs `X` itself;
- widths reduced 784 -> 64 inputs, 256 -> 32, 128 -> 16, to keep the test fast;
- 20 epochs of batches of 256 become STEPS = 15 batches of BATCH_SIZE = 64.

The faithful port needs more than renaming: Keras's RMSprop starts its mean square at zeros
where TF1's starts at ones, so no setting of `keras.optimizers.RMSprop` trains like TF1 in the
first steps. `eagermode.tf1_compatible.TF1RMSprop` is a Keras optimizer computing TF1's update.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 64
STEPS = 15

N_INPUT = 64
N_HIDDEN_1 = 32
N_HIDDEN_2 = 16
LEARNING_RATE = 0.01
ROWS = 128
DATA_SEED = 4

# The tutorial's unnamed tf.Variables: the four weights (`Variable` ... `Variable_3`), then the
# four biases, in dict order; the checker's pairing error proposed each line.
VARIABLE_MAP = {
    "Variable": "sequential/encoder_h1/kernel",
    "Variable_1": "sequential/encoder_h2/kernel",
    "Variable_2": "sequential/decoder_h1/kernel",
    "Variable_3": "sequential/decoder_h2/kernel",
    "Variable_4": "sequential/encoder_h1/bias",
    "Variable_5": "sequential/encoder_h2/bias",
    "Variable_6": "sequential/decoder_h1/bias",
    "Variable_7": "sequential/decoder_h2/bias",
}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (128, 64) in [0, 1], and the same images again as the targets."""
    rng = np.random.default_rng(DATA_SEED)
    codes = rng.normal(size=(ROWS, 6))
    images = 1.0 / (1.0 + np.exp(-codes @ rng.normal(size=(6, N_INPUT))))
    images = images.astype(np.float32)
    return images, images.copy()


# ---- TF1 --------------------------------------------------------------------------------------


def tf1_train(X: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    del labels  # an autoencoder's targets are its inputs
    weights = {
        "encoder_h1": tf.Variable(tf.compat.v1.random_normal([N_INPUT, N_HIDDEN_1])),
        "encoder_h2": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1, N_HIDDEN_2])),
        "decoder_h1": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_2, N_HIDDEN_1])),
        "decoder_h2": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1, N_INPUT])),
    }
    biases = {
        "encoder_b1": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1])),
        "encoder_b2": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_2])),
        "decoder_b1": tf.Variable(tf.compat.v1.random_normal([N_HIDDEN_1])),
        "decoder_b2": tf.Variable(tf.compat.v1.random_normal([N_INPUT])),
    }

    def encoder(x):
        layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights["encoder_h1"]), biases["encoder_b1"]))
        return tf.nn.sigmoid(
            tf.add(tf.matmul(layer_1, weights["encoder_h2"]), biases["encoder_b2"])
        )

    def decoder(x):
        layer_1 = tf.nn.sigmoid(tf.add(tf.matmul(x, weights["decoder_h1"]), biases["decoder_b1"]))
        return tf.nn.sigmoid(
            tf.add(tf.matmul(layer_1, weights["decoder_h2"]), biases["decoder_b2"])
        )

    y_pred = decoder(encoder(X))
    y_true = X
    cost = tf.reduce_mean(tf.pow(y_true - y_pred, 2))
    optimizer = tf.compat.v1.train.RMSPropOptimizer(LEARNING_RATE).minimize(cost)
    return cost, optimizer


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [keras.Input(shape=(N_INPUT,))]
        + [
            keras.layers.Dense(width, activation="sigmoid", name=name)
            for name, width in (
                ("encoder_h1", N_HIDDEN_1),
                ("encoder_h2", N_HIDDEN_2),
                ("decoder_h1", N_HIDDEN_1),
                ("decoder_h2", N_INPUT),
            )
        ]
    )
    # The mistake: the stock Keras class, whose mean square starts at zeros.
    optimizer = keras.optimizers.RMSprop(LEARNING_RATE)
    return model, optimizer


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        reconstruction = model(features, training=True)
        loss = tf.reduce_mean(tf.pow(features - reconstruction, 2))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
