"""A migration whose port is written for MirroredStrategy: each replica returns its share of the
global mean (`tf.nn.compute_average_loss` over the global batch), and Keras's optimizer sums the
replicas' gradients. TF1 ran on one device on the whole batch.

Acceptance: `tfbridge check tests/migrations/replicated_mlp.py --replicas 2` is equivalent
(within the noise floor: summing shard gradients rounds differently from one device).
"""

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 15
REPLICAS = True  # tf2_train_step returns each replica's share of the loss

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
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context else 1
    with tf.GradientTape() as tape:
        per_example = tf.reduce_mean(tf.square(model(features) - labels), axis=1)
        # The global batch: this replica's rows times the replicas (the shards are equal here).
        loss = tf.nn.compute_average_loss(
            per_example, global_batch_size=tf.shape(features)[0] * replicas
        )
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return loss
