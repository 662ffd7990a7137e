"""Zoo, naive port: the basic word2vec skip-gram model (embedding lookup, NCE loss) against a
Keras 3 port whose `SGD()` keeps Keras's default learning rate, 0.01, where the tutorial's
`GradientDescentOptimizer` was given 1.0.

Source: tensorflow/tensorflow, tensorflow/examples/tutorials/word2vec/word2vec_basic.py (step 4:
`embeddings` uniform in [-1, 1] looked up with `tf.nn.embedding_lookup`, `nce_weights` truncated
normal with stddev 1/sqrt(embedding_size), `nce_biases` zeros, the mean of `tf.nn.nce_loss`
with `num_sampled` negative classes, `GradientDescentOptimizer(1.0)`).

Changes made for the migration-file contract:
- the graph built in `word2vec_basic` moved into `tf1_train`; the Session loop, summaries,
  similarity evaluation, Saver and t-SNE plot are dropped;
- text8 (and `build_dataset`/`generate_batch`) replaced by generated skip-gram pairs: 256
  (centre word, context word) pairs over a 40-word vocabulary, neighbours of a random walk
  (fixed seed); labels keep the tutorial's shape [batch, 1];
- sizes reduced to keep the test fast: vocabulary 50000 -> 40, embedding 128 -> 8, num_sampled
  64 -> 8, batch 128 -> BATCH_SIZE = 64; 100001 steps -> STEPS = 10;
- the `tf.device('/cpu:0')` pin is dropped (this runs on CPU anyway).

`nce_loss` draws its negative classes with `log_uniform_candidate_sampler`, which the checker
aligns: both sides sample the same negatives, and the learning rate alone parts them.
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
NUM_SAMPLED = 8
LEARNING_RATE = 1.0
PAIRS = 256
DATA_SEED = 5

# TF1's tf.Variables are unnamed inside their name_scopes.
VARIABLE_MAP = {
    "embeddings/Variable": "embeddings/embeddings",
    "weights/Variable": "skip_gram/nce_weights",
    "biases/Variable": "skip_gram/nce_biases",
}


def data() -> tuple[np.ndarray, np.ndarray]:
    """Centre words int32 (256,); context words int32 (256, 1), ids in [0, 40)."""
    rng = np.random.default_rng(DATA_SEED)
    walk = np.cumsum(rng.integers(-2, 3, size=PAIRS + 1)) % VOCABULARY_SIZE
    centres = walk[:-1]
    contexts = walk[1:]
    return centres.astype(np.int32), contexts.reshape(-1, 1).astype(np.int32)


# ---- TF1 --------------------------------------------------------------------------------------


def tf1_train(train_inputs: tf.Tensor, train_labels: tf.Tensor) -> tuple[tf.Tensor, tf.Operation]:
    with tf.name_scope("embeddings"):
        embeddings = tf.Variable(tf.random.uniform([VOCABULARY_SIZE, EMBEDDING_SIZE], -1.0, 1.0))
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    with tf.name_scope("weights"):
        nce_weights = tf.Variable(
            tf.random.truncated_normal(
                [VOCABULARY_SIZE, EMBEDDING_SIZE], stddev=1.0 / math.sqrt(EMBEDDING_SIZE)
            )
        )
    with tf.name_scope("biases"):
        nce_biases = tf.Variable(tf.zeros([VOCABULARY_SIZE]))
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(
            tf.nn.nce_loss(
                weights=nce_weights,
                biases=nce_biases,
                labels=train_labels,
                inputs=embed,
                num_sampled=NUM_SAMPLED,
                num_classes=VOCABULARY_SIZE,
            )
        )
    with tf.name_scope("optimizer"):
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    return loss, optimizer


# ---- TF2: Keras 3 -----------------------------------------------------------------------------


class SkipGram(keras.Model):
    def __init__(self):
        super().__init__(name="skip_gram")
        self.embeddings = keras.layers.Embedding(VOCABULARY_SIZE, EMBEDDING_SIZE, name="embeddings")
        self.embeddings.build((None,))
        self.nce_weights = self.add_weight(
            shape=(VOCABULARY_SIZE, EMBEDDING_SIZE), name="nce_weights"
        )
        self.nce_biases = self.add_weight(
            shape=(VOCABULARY_SIZE,), initializer="zeros", name="nce_biases"
        )

    def loss_on(self, centres, contexts):
        return tf.reduce_mean(
            tf.nn.nce_loss(
                weights=self.nce_weights,
                biases=self.nce_biases,
                labels=contexts,
                inputs=self.embeddings(centres),
                num_sampled=NUM_SAMPLED,
                num_classes=VOCABULARY_SIZE,
            )
        )


def tf2_setup() -> tuple[keras.Model, keras.optimizers.Optimizer]:
    # The mistake: Keras's SGD defaults to learning_rate=0.01; TF1's was 1.0.
    return SkipGram(), keras.optimizers.SGD()


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = model.loss_on(features, labels)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss
