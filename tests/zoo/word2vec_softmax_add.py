"""Zoo: word2vec's skip-gram model with a full softmax in place of NCE, its output layer written
`tf.matmul(embed, w) + b` as TF1 tutorials write their layers, and its Keras 3 port. Keras's
Dense adds its bias with `tf.nn.bias_add`, whose gradient sums in another order than `+`'s: a
faithful port a few ULPs from TF1, not bit-identical (word2vec_softmax.py uses bias_add and is).

Source: tensorflow/tensorflow, tensorflow/examples/tutorials/word2vec/word2vec_basic.py (step 4:
`embeddings` uniform in [-1, 1] looked up with `tf.nn.embedding_lookup`, an output layer over
the vocabulary, `GradientDescentOptimizer(1.0)`).

Changes made for the migration-file contract:
- the graph built in `word2vec_basic` moved into `tf1_train`; the Session loop, summaries,
  similarity evaluation, Saver and t-SNE plot are dropped;
- `tf.nn.nce_loss` (whose candidate sampler is a random op the checker cannot align: see
  word2vec.py) replaced by the full softmax it approximates, `sparse_softmax_cross_entropy`
  over `tf.matmul(embed, softmax_weights) + softmax_biases`, the output weights laid out
  [embedding, vocabulary] as a Dense kernel is; no random op is left, and the embedding's
  gradient is still sparse (IndexedSlices) on both sides;
- text8 replaced by generated skip-gram pairs: 256 (centre word, context word) pairs over a
  40-word vocabulary, neighbours of a random walk (fixed seed); labels keep the shape [batch, 1];
- sizes reduced to keep the test fast: vocabulary 50000 -> 40, embedding 128 -> 8, batch
  128 -> BATCH_SIZE = 64; 100001 steps -> STEPS = 10;
- the `tf.device('/cpu:0')` pin is dropped (this runs on CPU anyway).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 64
STEPS = 10

VOCABULARY_SIZE = 40
EMBEDDING_SIZE = 8
LEARNING_RATE = 1.0
PAIRS = 256
DATA_SEED = 5

# TF1's tf.Variables are unnamed inside their name_scopes.
VARIABLE_MAP = {
    "embeddings/Variable": "sequential/embeddings/embeddings",
    "weights/Variable": "sequential/softmax/kernel",
    "biases/Variable": "sequential/softmax/bias",
}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Centre words int32 (256,); context words int32 (256, 1), ids in [0, 40)."""
    rng = np.random.default_rng(DATA_SEED)
    walk = np.cumsum(rng.integers(-2, 3, size=PAIRS + 1)) % VOCABULARY_SIZE
    return walk[:-1].astype(np.int32), walk[1:].reshape(-1, 1).astype(np.int32)


# ---- TF1 --------------------------------------------------------------------------------------


def tf1_train(train_inputs: tf.Tensor, train_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    with tf.name_scope("embeddings"):
        embeddings = tf.Variable(tf.random.uniform([VOCABULARY_SIZE, EMBEDDING_SIZE], -1.0, 1.0))
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    with tf.name_scope("weights"):
        softmax_weights = tf.Variable(
            tf.random.truncated_normal(
                [EMBEDDING_SIZE, VOCABULARY_SIZE], stddev=1.0 / math.sqrt(EMBEDDING_SIZE)
            )
        )
    with tf.name_scope("biases"):
        softmax_biases = tf.Variable(tf.zeros([VOCABULARY_SIZE]))
    with tf.name_scope("loss"):
        logits = tf.matmul(embed, softmax_weights) + softmax_biases
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.squeeze(train_labels, axis=1), logits=logits
            )
        )
    with tf.name_scope("optimizer"):
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    return loss, optimizer


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    model = keras.Sequential(
        [
            keras.Input(shape=(), dtype="int32"),
            keras.layers.Embedding(VOCABULARY_SIZE, EMBEDDING_SIZE, name="embeddings"),
            keras.layers.Dense(VOCABULARY_SIZE, name="softmax"),
        ]
    )
    return model, keras.optimizers.SGD(learning_rate=LEARNING_RATE)


CROSS_ENTROPY = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = CROSS_ENTROPY(labels, model(features, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
