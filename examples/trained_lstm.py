"""A trained TF1 BasicLSTMCell model brought to Keras 3: the migration file, and the TF1 author's
own training.

As a migration file (docs/trained-models.md):

    python examples/trained_lstm.py WORK          # TF1 trains, saves WORK/tf1/model.ckpt-5
                                                  # with a Saver and freezes WORK/frozen.pb
    tfbridge convert-checkpoint --migration examples/trained_lstm.py WORK/tf1 WORK/lstm.weights.h5
    tfbridge check examples/trained_lstm.py --inference WORK/tf1 --strict --tolerance-ulps 4096
    tfbridge check examples/trained_lstm.py --inference WORK/frozen.pb --tolerance-ulps 4096

(Keras's LSTM sums x @ W + h @ U where TF1's cell takes one matmul over concat([x, h]): the
logits differ by rounding; docs/trained-models.md gives the measurements.)

TF1: a `BasicLSTMCell` (8 units, forget_bias 1.0) run by `dynamic_rnn` over sequences of 6
steps of 4 inputs, and a dense layer on the last output, as TF1 code was written; Adam. The
port: a Keras 3 Sequential with `keras.layers.LSTM(unit_forget_bias=True)` in Keras's own weight
layout (a kernel and a recurrent kernel, gates i, f, c, o) and a Dense. TF1's one fused kernel
[4 + 8, 32] (gates i, j, f, o) and its bias, to which the forget bias is added at run time,
reach Keras's three variables through the weight layout of tfmigration/migration/layouts.py;
the Dense pairs by name (`fc/kernel` ~ `lstm_model/fc/kernel`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 64
STEPS = 10
TIMESTEPS, INPUTS, UNITS, CLASSES = 6, 4, 8, 3
LEARNING_RATE = 0.01
ROWS = 192
TF1_OUTPUT = "logits:0"


def data() -> tuple[np.ndarray, np.ndarray]:
    """192 sequences of 6 steps of 4 noisy inputs; the class is the input channel (of the first
    three) that rises over the sequence."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, CLASSES, ROWS)
    sequences = rng.normal(scale=0.3, size=(ROWS, TIMESTEPS, INPUTS))
    ramp = np.linspace(0.0, 1.0, TIMESTEPS)
    sequences[np.arange(ROWS), :, labels] += ramp
    return sequences.astype(np.float32), labels.astype(np.int32)


# ---- TF1 ------------------------------------------------------------------------------------


def tf1_logits(features: tf.Tensor) -> tf.Tensor:
    cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(UNITS)  # forget_bias=1.0, TF1's default
    outputs, _ = tf.compat.v1.nn.dynamic_rnn(cell, features, dtype=tf.float32, scope="lstm")
    last = outputs[:, -1, :]
    with tf.compat.v1.variable_scope("fc"):
        weights = tf.compat.v1.get_variable("kernel", [UNITS, CLASSES])
        biases = tf.compat.v1.get_variable(
            "bias", [CLASSES], initializer=tf.compat.v1.zeros_initializer()
        )
        logits = tf.nn.bias_add(tf.matmul(last, weights), biases)
    # Outside the variables' scope, so the output's op name is plain `logits`.
    return tf.identity(logits, name="logits")


def tf1_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


def tf1_train(features: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    loss = tf1_loss(tf1_logits(features), labels)
    train_op = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE).minimize(loss)
    return loss, train_op


# ---- TF2: the Keras 3 port ------------------------------------------------------------------


def build_model() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((TIMESTEPS, INPUTS)),
            # BasicLSTMCell's activations are Keras's defaults (tanh, sigmoid gates); its
            # forget_bias 1.0 is what unit_forget_bias=True starts Keras's bias at.
            keras.layers.LSTM(UNITS, unit_forget_bias=True, name="lstm"),
            keras.layers.Dense(CLASSES, name="fc"),
        ],
        name="lstm_model",
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


@contextlib.contextmanager
def tf1_cells() -> Iterator[None]:
    """`tf.compat.v1.nn.rnn_cell` as TF1 had it: with Keras 3 installed, TensorFlow serves the
    cells from tf_keras only while TF_USE_LEGACY_KERAS is set when they are first touched
    (tensorflow/python/util/lazy_loader.py `KerasLazyLoader._initialize`); `import keras` stays
    Keras 3. `tfbridge` does the same around its own TF1 build."""
    before = os.environ.get("TF_USE_LEGACY_KERAS")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        with warnings.catch_warnings():
            # tf_keras warns that BasicLSTMCell is deprecated: it is the TF1 code being migrated.
            warnings.filterwarnings(
                "ignore", message=r".*is deprecated and will be removed", category=UserWarning
            )
            yield
    finally:
        if before is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = before


def train_and_save(work: Path, steps: int = 5) -> tuple[str, Path]:
    """Train the TF1 model `steps` full-batch steps in a Session; save it with a Saver into
    WORK/tf1 and freeze it (graph_util.convert_variables_to_constants) into WORK/frozen.pb."""
    features, labels = data()
    graph = tf.Graph()
    with graph.as_default(), tf1_cells():
        tf.compat.v1.set_random_seed(3)
        x = tf.compat.v1.placeholder(tf.float32, (None, TIMESTEPS, INPUTS), name="features")
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
        sys.exit("usage: python examples/trained_lstm.py WORK_DIRECTORY")
    saved, frozen_file = train_and_save(Path(sys.argv[1]))
    print(f"TF1 Saver checkpoint: {saved}\nfrozen graph: {frozen_file}")
