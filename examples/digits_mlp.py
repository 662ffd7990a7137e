"""Migration reference: a TF1 digits classifier (batch norm, L2, dropout) and its Keras 3 port.

Check it with:

    tfbridge check examples/digits_mlp.py --strict

The TF1 half is written the way TF1 users wrote it: `variable_scope`/`get_variable`, batch
normalisation by hand from `tf.nn.moments` with moving averages whose update ops go into the
`UPDATE_OPS` collection, L2 through the `REGULARIZATION_LOSSES` collection, dropout with
`keep_prob`, and `tf.compat.v1.train.AdamOptimizer`. The TF2 half is the faithful Keras 3 port;
every place where a TF1 convention has to be translated (not just renamed) says so.
examples/digits_mlp_naive_port.py is the same TF1 code against the port people write first.

Data: the 1797 8x8 digits bundled in `tfmigration.datasets` (pixels / 16, labels 0..9).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfmigration.datasets import load_digits

# The migration file's own defaults for `tfbridge check` (--batch-size, --steps).
BATCH_SIZE = 64
STEPS = 30

HIDDEN_WIDTHS = (64, 32)
CLASSES = 10

# Adam: TF1's AdamOptimizer defaults, written out because Keras's defaults differ (epsilon 1e-7).
LEARNING_RATE = 1e-3
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-8

# Batch norm. TF1 calls the moving-average factor `decay`; Keras calls the same number
# `momentum` (moving = moving * momentum + batch * (1 - momentum)). Keras's default is 0.99,
# slim's batch_norm default was 0.999: neither is this model's 0.9, so the port must pass it.
BN_DECAY = 0.9
BN_EPSILON = 1e-3

# L2: TF1 `WEIGHT_DECAY * tf.nn.l2_loss(w)` is WEIGHT_DECAY * sum(w**2) / 2 (l2_loss halves);
# keras.regularizers.L2(l2) is l2 * sum(w**2) without the half. So the port uses WEIGHT_DECAY / 2.
WEIGHT_DECAY = 1e-4

# TF1 dropout takes the probability to KEEP; Keras `Dropout(rate)` the probability to DROP.
KEEP_PROB = 0.9


def data() -> tuple[np.ndarray, np.ndarray]:
    """The whole data set: float32 features (1797, 64) in [0, 1], int32 labels (1797,)."""
    return load_digits()


# --------------------------------------------------------------------------------------------
# TF1: graph code, as it was written for a tf.compat.v1.Session.
# --------------------------------------------------------------------------------------------


def _tf1_l2_regularizer(weights: tf.Tensor) -> tf.Tensor:
    # What tf.contrib.layers.l2_regularizer(WEIGHT_DECAY) computed; get_variable puts the result
    # in the REGULARIZATION_LOSSES collection.
    return WEIGHT_DECAY * tf.nn.l2_loss(weights)


def _tf1_batch_norm(inputs: tf.Tensor) -> tf.Tensor:
    """Training-mode batch norm with moving averages, the TF1 way: by hand, updates in UPDATE_OPS.

    Written with the same ops Keras 3's BatchNormalization uses under TensorFlow
    (keras/src/layers/normalization/batch_normalization.py: `tf.nn.moments` over the batch,
    `moving * momentum + batch * (1 - momentum)`, then `tf.nn.batch_normalization` with
    `variance_epsilon=epsilon`), so that the port can match it to the bit, not only roughly.
    """
    width = inputs.shape[-1]
    gamma = tf.compat.v1.get_variable("gamma", [width], initializer=tf.compat.v1.ones_initializer())
    beta = tf.compat.v1.get_variable("beta", [width], initializer=tf.compat.v1.zeros_initializer())
    # Not trainable: the optimizer must not touch them; only the update ops below move them.
    moving_mean = tf.compat.v1.get_variable(
        "moving_mean", [width], initializer=tf.compat.v1.zeros_initializer(), trainable=False
    )
    moving_variance = tf.compat.v1.get_variable(
        "moving_variance", [width], initializer=tf.compat.v1.ones_initializer(), trainable=False
    )
    mean, variance = tf.nn.moments(inputs, axes=[0])
    update_mean = tf.compat.v1.assign(moving_mean, moving_mean * BN_DECAY + mean * (1 - BN_DECAY))
    update_variance = tf.compat.v1.assign(
        moving_variance, moving_variance * BN_DECAY + variance * (1 - BN_DECAY)
    )
    # Nothing in the loss depends on these assigns: in TF1 they run only because train_op waits
    # for the UPDATE_OPS collection (below). Forgetting that left the moving statistics at their
    # initial values, a classic TF1 bug Keras makes impossible.
    tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update_mean)
    tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update_variance)
    return tf.nn.batch_normalization(
        inputs, mean, variance, offset=beta, scale=gamma, variance_epsilon=BN_EPSILON
    )


def tf1_train(features: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    """The TF1 training graph: returns the loss and the op that takes one Adam step."""
    hidden = features
    for index, width in enumerate(HIDDEN_WIDTHS, start=1):
        with tf.compat.v1.variable_scope(f"hidden{index}"):
            weights = tf.compat.v1.get_variable(
                "weights",
                [hidden.shape[-1], width],
                initializer=tf.compat.v1.glorot_uniform_initializer(),
                regularizer=_tf1_l2_regularizer,
            )
            # No bias: batch norm's beta is the shift (a bias here would be cancelled by it).
            hidden = tf.matmul(hidden, weights)
            with tf.compat.v1.variable_scope("batch_norm"):
                hidden = _tf1_batch_norm(hidden)
            hidden = tf.nn.relu(hidden)
            hidden = tf.compat.v1.nn.dropout(hidden, keep_prob=KEEP_PROB)
    with tf.compat.v1.variable_scope("logits"):
        weights = tf.compat.v1.get_variable(
            "weights",
            [hidden.shape[-1], CLASSES],
            initializer=tf.compat.v1.glorot_uniform_initializer(),
            regularizer=_tf1_l2_regularizer,
        )
        biases = tf.compat.v1.get_variable(
            "biases", [CLASSES], initializer=tf.compat.v1.zeros_initializer()
        )
        # xw_plus_b is matmul then tf.nn.bias_add, which is what Keras 3's Dense runs under
        # TensorFlow (keras/src/backend/tensorflow/numpy.py `add` turns a bias into bias_add).
        # `tf.matmul(hidden, weights) + biases` computes the same logits, but its gradient for
        # the biases is a reduce_sum where BiasAddGrad sums in another order: a few ULPs apart.
        logits = tf.compat.v1.nn.xw_plus_b(hidden, weights, biases)
    cross_entropy = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    # The regularisation terms are not part of any tensor above: TF1 collects them on the side
    # and the loss must add them explicitly (an add_n over REGULARIZATION_LOSSES).
    loss = cross_entropy + tf.compat.v1.losses.get_regularization_loss()
    optimizer = tf.compat.v1.train.AdamOptimizer(
        LEARNING_RATE, beta1=ADAM_BETA_1, beta2=ADAM_BETA_2, epsilon=ADAM_EPSILON
    )
    with tf.control_dependencies(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
        train_op = optimizer.minimize(loss)
    return loss, train_op


# --------------------------------------------------------------------------------------------
# TF2: the Keras 3 port, run eagerly and under tf.function.
# --------------------------------------------------------------------------------------------


CROSS_ENTROPY = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    """The port's model and optimizer; initialisers don't matter (the checker copies TF1's)."""
    # Keras's L2 has no 1/2: L2(WEIGHT_DECAY / 2) * sum(w**2) == WEIGHT_DECAY * tf.nn.l2_loss(w).
    # (Halving a float32 is exact, so the two agree to the bit, not just to rounding.)
    regularizer = keras.regularizers.L2(WEIGHT_DECAY / 2)
    layers: list[keras.layers.Layer] = [keras.Input(shape=(64,))]
    for index, width in enumerate(HIDDEN_WIDTHS, start=1):
        layers += [
            keras.layers.Dense(
                width, use_bias=False, kernel_regularizer=regularizer, name=f"hidden{index}"
            ),
            # momentum is TF1's decay; epsilon must be passed too (Keras 1e-3 happens to be
            # the value here, but slim/tf.compat.v1.layers used 1e-3 and tf.nn code anything).
            keras.layers.BatchNormalization(
                momentum=BN_DECAY, epsilon=BN_EPSILON, name=f"hidden{index}_batch_norm"
            ),
            keras.layers.ReLU(name=f"hidden{index}_relu"),
            keras.layers.Dropout(rate=1 - KEEP_PROB, name=f"hidden{index}_dropout"),
        ]
    layers.append(keras.layers.Dense(CLASSES, kernel_regularizer=regularizer, name="logits"))
    model = keras.Sequential(layers, name="digits_mlp")
    optimizer = keras.optimizers.Adam(
        learning_rate=LEARNING_RATE, beta_1=ADAM_BETA_1, beta_2=ADAM_BETA_2, epsilon=ADAM_EPSILON
    )
    return model, optimizer


def tf2_train_step(
    state: tuple[keras.Model, keras.optimizers.Optimizer], features: tf.Tensor, labels: tf.Tensor
) -> tf.Tensor:
    """One training step of the port; returns the loss before the update."""
    model, optimizer = state
    with tf.GradientTape() as tape:
        # training=True: batch statistics, dropout on, and BatchNormalization updates its own
        # moving averages inside this call: there is no UPDATE_OPS to remember.
        logits = model(features, training=True)
        # The mean over the batch, as TF1's reduce_mean (Keras's "sum_over_batch_size").
        cross_entropy = CROSS_ENTROPY(labels, logits)
        # model.losses holds the kernel regularisers' terms, computed now from the current
        # weights: the TF2 form of REGULARIZATION_LOSSES. Read it inside the tape. (sum() adds
        # in the same order as TF1's add_n over the collection: creation order.)
        loss = cross_entropy + sum(model.losses)
    variables = model.trainable_variables
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return loss
