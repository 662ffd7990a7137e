"""A trained TF1 CNN brought to Keras 3: the migration file, and the TF1 author's own training.

As a migration file (docs/trained-models.md):

    python examples/trained_cnn.py WORK          # TF1 trains, saves WORK/tf1/model.ckpt-5 with
                                                 # a Saver and freezes WORK/frozen.pb
    tfbridge convert-checkpoint --migration examples/trained_cnn.py WORK/tf1 WORK/cnn.weights.h5
    tfbridge check examples/trained_cnn.py --inference WORK/tf1 --strict
    tfbridge check examples/trained_cnn.py --inference WORK/frozen.pb --strict

TF1: a 3x3 convolution (4 filters, ReLU) and a dense layer over 8x8 one-channel images, written
with `get_variable` and `tf.nn` ops as TF1 code was; Adam. The port: a Keras 3 Sequential with
the same layers by the same names, so check's pairing finds `conv1/kernel` ~ `cnn/conv1/kernel`.
`TF1_OUTPUT` and `tf2_predict` name what `--inference` compares: the logits.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 60
STEPS = 10
SIDE, CHANNELS, FILTERS, CLASSES = 8, 1, 4, 3
LEARNING_RATE = 0.01
ROWS = 240
TF1_OUTPUT = "logits:0"


def data() -> tuple[np.ndarray, np.ndarray]:
    """240 8x8 images: a bright bar, horizontal, vertical or diagonal (the class), plus noise."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, CLASSES, ROWS)
    images = rng.normal(scale=0.3, size=(ROWS, SIDE, SIDE, CHANNELS))
    where = rng.integers(1, SIDE - 1, ROWS)
    for row, (label, at) in enumerate(zip(labels, where, strict=True)):
        if label == 0:
            images[row, at, :, 0] += 1.0
        elif label == 1:
            images[row, :, at, 0] += 1.0
        else:
            images[row, np.arange(SIDE), np.arange(SIDE), 0] += 1.0
    return images.astype(np.float32), labels.astype(np.int32)


# ---- TF1 ------------------------------------------------------------------------------------


def tf1_logits(features: tf.Tensor) -> tf.Tensor:
    with tf.compat.v1.variable_scope("conv1"):
        kernel = tf.compat.v1.get_variable("kernel", [3, 3, CHANNELS, FILTERS])
        bias = tf.compat.v1.get_variable(
            "bias", [FILTERS], initializer=tf.compat.v1.zeros_initializer()
        )
        hidden = tf.nn.relu(
            tf.nn.bias_add(tf.nn.conv2d(features, kernel, strides=1, padding="VALID"), bias)
        )
    flat = tf.reshape(hidden, [-1, (SIDE - 2) * (SIDE - 2) * FILTERS])
    with tf.compat.v1.variable_scope("fc"):
        weights = tf.compat.v1.get_variable("kernel", [(SIDE - 2) * (SIDE - 2) * FILTERS, CLASSES])
        biases = tf.compat.v1.get_variable(
            "bias", [CLASSES], initializer=tf.compat.v1.zeros_initializer()
        )
        # A scope of its own for the variables, so the output's op name is plain `logits`.
        logits = tf.nn.bias_add(tf.matmul(flat, weights), biases)
    return tf.identity(logits, name="logits")


def tf1_train(features: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    logits = tf1_logits(features)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    train_op = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
    return loss, train_op


# ---- TF2: the Keras 3 port ------------------------------------------------------------------


def build_model() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((SIDE, SIDE, CHANNELS)),
            keras.layers.Conv2D(FILTERS, 3, activation="relu", name="conv1"),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES, name="fc"),
        ],
        name="cnn",
    )


def tf2_setup() -> tuple[keras.Sequential, keras.optimizers.Optimizer]:
    # TF1's AdamOptimizer defaults to epsilon 1e-8; Keras's to 1e-7.
    return build_model(), keras.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=1e-8)


def tf2_predict(state: tuple[keras.Sequential, keras.optimizers.Optimizer], features: tf.Tensor):
    model, _ = state
    return model(features, training=False)


def tf2_train_step(state, features: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    model, optimizer = state
    with tf.GradientTape() as tape:
        logits = model(features, training=True)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss


# ---- The TF1 author's training, as it was run before the migration --------------------------


def train_and_save(work: Path, steps: int = 5) -> tuple[str, Path]:
    """Train the TF1 model `steps` full-batch steps in a Session; save it with a Saver into
    WORK/tf1 and freeze it (graph_util.convert_variables_to_constants) into WORK/frozen.pb."""
    features, labels = data()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(3)
        x = tf.compat.v1.placeholder(tf.float32, (None, SIDE, SIDE, CHANNELS), name="features")
        y = tf.compat.v1.placeholder(tf.int32, (None,), name="labels")
        _, train_op = tf1_train(x, y)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for _ in range(steps):
                session.run(train_op, {x: features, y: labels})
            (work / "tf1").mkdir(parents=True, exist_ok=True)
            prefix = saver.save(session, str(work / "tf1" / "model.ckpt"), global_step=steps)
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), ["logits"]
            )
    frozen_path = work / "frozen.pb"
    frozen_path.write_bytes(frozen.SerializeToString())
    return prefix, frozen_path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python examples/trained_cnn.py WORK_DIRECTORY")
    saved, frozen_file = train_and_save(Path(sys.argv[1]))
    print(f"TF1 Saver checkpoint: {saved}\nfrozen graph: {frozen_file}")
