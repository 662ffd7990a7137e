"""A tf.compat.v1.layers model and its Keras 3 port, as a user would submit it.

TF1: `tf.compat.v1.layers.dense` with the layers' automatic names (`dense`, `dense_1`,
`dense_2`), the cross-entropy from `tf.compat.v1.losses` and plain gradient descent, on the
digits bundled with tfmigration. TF2: a subclassed keras.Model whose layers sit in attributes
(`self.body`, `self.classifier`) and are named after what they do, not after TF1's scopes.

tf.compat.v1.layers needs the tf_keras package and TF_USE_LEGACY_KERAS=1 before its first use;
the checker sets that, so this file does not.

Acceptance: `tfbridge check tests/migrations/layers_model.py --strict` must find the two
identical step by step (same ops forward, gradients with no reordered sums, SGD == TF1's
gradient descent).
"""

import keras
import tensorflow as tf

from tfmigration.datasets import load_digits

BATCH_SIZE = 128
STEPS = 15


def data():
    return load_digits()


def tf1_train(features, labels):
    net = tf.compat.v1.layers.dense(features, 48, activation=tf.nn.relu)
    net = tf.compat.v1.layers.dense(net, 24, activation=tf.nn.relu)
    logits = tf.compat.v1.layers.dense(net, 10)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
        loss, global_step=tf.compat.v1.train.get_or_create_global_step()
    )
    return loss, train_op


class DigitNet(keras.Model):
    def __init__(self):
        super().__init__(name="digit_net")
        self.body = [
            keras.layers.Dense(48, activation="relu", name="features_a"),
            keras.layers.Dense(24, activation="relu", name="features_b"),
        ]
        self.classifier = keras.layers.Dense(10, name="scores")

    def call(self, x, training=False):
        for layer in self.body:
            x = layer(x)
        return self.classifier(x)


def tf2_setup():
    model = DigitNet()
    # Create the weights now. (model.build((None, 64)) would not: for a subclassed Keras 3
    # model it only marks the model built, and the variables appear at the first call.)
    model(tf.zeros((1, 64)))
    return model, keras.optimizers.SGD(0.1)


xent = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, sgd = state
    with tf.GradientTape() as tape:
        loss = xent(labels, model(features, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    sgd.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return loss
