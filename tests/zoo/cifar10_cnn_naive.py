"""Zoo, naive port: the CIFAR-10 tutorial network against a Keras 3 port that keeps the initial
learning rate and drops the `exponential_decay` schedule: after DECAY_STEPS steps TF1's rate
falls to a tenth, the port's does not.

Source: tensorflow/models, tutorials/image/cifar10/cifar10.py (`inference`: conv1/conv2 5x5
SAME with `tf.nn.bias_add`, 3x3 stride-2 SAME max pools, `tf.nn.lrn` after each, local3 and
local4 ReLU layers and a linear `softmax_linear`, all `tf.get_variable` with truncated-normal
kernels; `_variable_with_weight_decay` adding `wd * tf.nn.l2_loss(var)` to the 'losses'
collection; `loss`: the mean sparse cross entropy added to the same collection, the total an
`add_n` over it; `train`: `GradientDescentOptimizer(tf.train.exponential_decay(0.1,
global_step, decay_steps, 0.1, staircase=True))` applied with `global_step`).

Changes made for the migration-file contract:
- `inference`, `loss` and `train` moved into `tf1_train`; the input pipeline, summaries and
  FLAGS are dropped (`tf.reshape(pool2, [FLAGS.batch_size, -1])` becomes `[-1, dim]`, since the
  checker's placeholders have a `None` batch dimension);
- the two ExponentialMovingAverages are dropped: the one over the losses fed only summaries, and
  the one over the trainable variables keeps shadow copies used at evaluation time, which a
  port keeps apart from training;
- CIFAR-10's 24x24x3 crops replaced by generated 8x8x3 images (int32 labels 0..9 from a random
  teacher, fixed seed); `tf.device('/cpu:0')` and `use_fp16` dropped;
- widths reduced to keep the test fast: conv1/conv2 64 -> 8 maps, local3 384 -> 24, local4
  192 -> 12; weight decay scaled up 0.004 -> 0.04 so that it shows in 15 steps;
- decay_steps (350 epochs of batches) becomes DECAY_STEPS = 5, so the staircase steps within
  STEPS = 15 batches of BATCH_SIZE = 32.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 32
STEPS = 15

SIDE = 8
CHANNELS = 3
NUM_CLASSES = 10
CONV_MAPS = 8
LOCAL3 = 24
LOCAL4 = 12
WEIGHT_DECAY = 0.04
INITIAL_LEARNING_RATE = 0.1
LEARNING_RATE_DECAY_FACTOR = 0.1
DECAY_STEPS = 5
ROWS = 128
DATA_SEED = 7


def data() -> tuple[np.ndarray, np.ndarray]:
    """Images float32 (128, 8, 8, 3) in [-1, 1]; int32 labels (128,) in 0..9."""
    rng = np.random.default_rng(DATA_SEED)
    images = rng.uniform(-1.0, 1.0, size=(ROWS, SIDE, SIDE, CHANNELS))
    teacher = rng.normal(size=(SIDE * SIDE * CHANNELS, NUM_CLASSES))
    labels = np.argmax(images.reshape(ROWS, -1) @ teacher, axis=1)
    return images.astype(np.float32), labels.astype(np.int32)


# ---- TF1 --------------------------------------------------------------------------------------


def _variable_with_weight_decay(name, shape, stddev, wd):
    var = tf.compat.v1.get_variable(
        name, shape, initializer=tf.compat.v1.truncated_normal_initializer(stddev=stddev)
    )
    if wd is not None:
        weight_decay = tf.multiply(tf.nn.l2_loss(var), wd, name="weight_loss")
        tf.compat.v1.add_to_collection("losses", weight_decay)
    return var


def _biases(value, size):
    return tf.compat.v1.get_variable(
        "biases", [size], initializer=tf.compat.v1.constant_initializer(value)
    )


def _lrn(x, name):
    return tf.nn.lrn(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name=name)


def inference(images):
    with tf.compat.v1.variable_scope("conv1") as scope:
        kernel = _variable_with_weight_decay("weights", [5, 5, CHANNELS, CONV_MAPS], 5e-2, 0.0)
        conv = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], padding="SAME")
        conv1 = tf.nn.relu(tf.nn.bias_add(conv, _biases(0.0, CONV_MAPS)), name=scope.name)
    pool1 = tf.nn.max_pool(conv1, [1, 3, 3, 1], [1, 2, 2, 1], padding="SAME", name="pool1")
    norm1 = _lrn(pool1, "norm1")
    with tf.compat.v1.variable_scope("conv2") as scope:
        kernel = _variable_with_weight_decay("weights", [5, 5, CONV_MAPS, CONV_MAPS], 5e-2, 0.0)
        conv = tf.nn.conv2d(norm1, kernel, [1, 1, 1, 1], padding="SAME")
        conv2 = tf.nn.relu(tf.nn.bias_add(conv, _biases(0.1, CONV_MAPS)), name=scope.name)
    norm2 = _lrn(conv2, "norm2")
    pool2 = tf.nn.max_pool(norm2, [1, 3, 3, 1], [1, 2, 2, 1], padding="SAME", name="pool2")
    with tf.compat.v1.variable_scope("local3") as scope:
        dim = pool2.shape[1] * pool2.shape[2] * pool2.shape[3]
        reshape = tf.reshape(pool2, [-1, dim])
        weights = _variable_with_weight_decay("weights", [dim, LOCAL3], 0.04, WEIGHT_DECAY)
        local3 = tf.nn.relu(tf.matmul(reshape, weights) + _biases(0.1, LOCAL3), name=scope.name)
    with tf.compat.v1.variable_scope("local4") as scope:
        weights = _variable_with_weight_decay("weights", [LOCAL3, LOCAL4], 0.04, WEIGHT_DECAY)
        local4 = tf.nn.relu(tf.matmul(local3, weights) + _biases(0.1, LOCAL4), name=scope.name)
    with tf.compat.v1.variable_scope("softmax_linear") as scope:
        weights = _variable_with_weight_decay("weights", [LOCAL4, NUM_CLASSES], 1 / 192.0, 0.0)
        softmax_linear = tf.add(
            tf.matmul(local4, weights), _biases(0.0, NUM_CLASSES), name=scope.name
        )
    return softmax_linear


def loss(logits, labels):
    labels = tf.cast(labels, tf.int64)
    cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits, name="cross_entropy_per_example"
    )
    cross_entropy_mean = tf.reduce_mean(cross_entropy, name="cross_entropy")
    tf.compat.v1.add_to_collection("losses", cross_entropy_mean)
    return tf.add_n(tf.compat.v1.get_collection("losses"), name="total_loss")


def train(total_loss, global_step):
    lr = tf.compat.v1.train.exponential_decay(
        INITIAL_LEARNING_RATE,
        global_step,
        DECAY_STEPS,
        LEARNING_RATE_DECAY_FACTOR,
        staircase=True,
    )
    opt = tf.compat.v1.train.GradientDescentOptimizer(lr)
    grads = opt.compute_gradients(total_loss)
    return opt.apply_gradients(grads, global_step=global_step)


def tf1_train(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    global_step = tf.compat.v1.train.get_or_create_global_step()
    total_loss = loss(inference(images), labels)
    return total_loss, train(total_loss, global_step)


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def _keras_lrn(name):
    # Keras has no local response normalisation layer; the TF op in a Lambda is the same op.
    return keras.layers.Lambda(
        lambda x: tf.nn.lrn(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75), name=name
    )


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    # TF1's wd * tf.nn.l2_loss(w) is wd * sum(w**2) / 2; Keras's L2(l2) is l2 * sum(w**2).
    decay = keras.regularizers.L2(WEIGHT_DECAY / 2)
    model = keras.Sequential(
        [
            keras.Input(shape=(SIDE, SIDE, CHANNELS)),
            keras.layers.Conv2D(CONV_MAPS, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1"),
            _keras_lrn("norm1"),
            keras.layers.Conv2D(CONV_MAPS, 5, padding="same", activation="relu", name="conv2"),
            _keras_lrn("norm2"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2"),
            keras.layers.Flatten(),
            keras.layers.Dense(LOCAL3, activation="relu", kernel_regularizer=decay, name="local3"),
            keras.layers.Dense(LOCAL4, activation="relu", kernel_regularizer=decay, name="local4"),
            keras.layers.Dense(NUM_CLASSES, name="softmax_linear"),
        ]
    )
    # The mistake: TF1's learning rate was exponential_decay(0.1, global_step, ...), a tensor
    # recomputed every step; the port takes its initial value and keeps it.
    return model, keras.optimizers.SGD(learning_rate=INITIAL_LEARNING_RATE)


CROSS_ENTROPY = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        logits = model(features, training=True)
        # The 'losses' collection's add_n: the weight decay terms and the cross entropy.
        loss = CROSS_ENTROPY(labels, logits) + sum(model.losses)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
