"""A faithful migration, as a user would submit it: a TF1 get_variable MLP trained with Adam,
and its TF2 port written as a tf.Module holding plain tf.Variables (no Keras layers).

Acceptance: `tfbridge check tests/migrations/faithful.py` must find no mistake in the port.
Naming exercised: TF1 `classifier/fc1/weights` against the Module's `fc1.w` (weights ~ w,
biases ~ b, the scope tail `fc1` shared).
"""

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 25

N_FEATURES = 4
N_HIDDEN = 16
N_CLASSES = 3
LR = 0.01


def data():
    # Three Gaussian blobs in 4-D, 300 points, fixed seed.
    rng = np.random.RandomState(7)
    centres = rng.normal(scale=2.0, size=(N_CLASSES, N_FEATURES))
    y = np.repeat(np.arange(N_CLASSES), 100)
    x = centres[y] + rng.normal(size=(300, N_FEATURES))
    return x.astype(np.float32), y.astype(np.int32)


# ---- TF1 ------------------------------------------------------------------------------------


def tf1_train(features, labels):
    with tf.compat.v1.variable_scope("classifier"):
        with tf.compat.v1.variable_scope("fc1"):
            w1 = tf.compat.v1.get_variable("weights", [N_FEATURES, N_HIDDEN])
            b1 = tf.compat.v1.get_variable(
                "biases", [N_HIDDEN], initializer=tf.compat.v1.zeros_initializer()
            )
            h = tf.nn.relu(tf.compat.v1.nn.xw_plus_b(features, w1, b1))
        with tf.compat.v1.variable_scope("fc2"):
            w2 = tf.compat.v1.get_variable("weights", [N_HIDDEN, N_CLASSES])
            b2 = tf.compat.v1.get_variable(
                "biases", [N_CLASSES], initializer=tf.compat.v1.zeros_initializer()
            )
            logits = tf.compat.v1.nn.xw_plus_b(h, w2, b2)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    train_op = tf.compat.v1.train.AdamOptimizer(LR).minimize(loss)
    return loss, train_op


# ---- TF2 ------------------------------------------------------------------------------------


class Linear(tf.Module):
    def __init__(self, n_in, n_out, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([n_in, n_out], stddev=0.1), name="w")
        self.b = tf.Variable(tf.zeros([n_out]), name="b")

    def __call__(self, x):
        return tf.nn.bias_add(tf.matmul(x, self.w), self.b)


class Classifier(tf.Module):
    def __init__(self):
        super().__init__(name="classifier")
        self.fc1 = Linear(N_FEATURES, N_HIDDEN, name="fc1")
        self.fc2 = Linear(N_HIDDEN, N_CLASSES, name="fc2")

    def __call__(self, x):
        return self.fc2(tf.nn.relu(self.fc1(x)))


def tf2_setup():
    # TF1's AdamOptimizer defaults: beta1 0.9, beta2 0.999, epsilon 1e-8 (Keras's is 1e-7).
    return Classifier(), keras.optimizers.Adam(learning_rate=LR, epsilon=1e-8)


def tf2_train_step(state, features, labels):
    model, opt = state
    with tf.GradientTape() as tape:
        logits = model(features)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    params = model.trainable_variables
    opt.apply_gradients(zip(tape.gradient(loss, params), params, strict=True))
    return loss
