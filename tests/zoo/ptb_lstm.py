"""Zoo: the PTB word-level LSTM language model (small config) and its Keras 3 port.

Source: tensorflow/models, tutorials/rnn/ptb/ptb_word_lm.py (`PTBModel`: an `embedding`
variable looked up by `tf.nn.embedding_lookup`, a `MultiRNNCell` of `BasicLSTMCell(size,
forget_bias=0.0)` layers unrolled over `num_steps`, `softmax_w`/`softmax_b` applied with
`tf.nn.xw_plus_b`, `contrib.seq2seq.sequence_loss` averaged over the batch and summed over time,
`tf.clip_by_global_norm(tf.gradients(cost, tvars), max_grad_norm)` and
`GradientDescentOptimizer(self._lr).apply_gradients(..., global_step=...)`, the learning rate a
non-trainable variable set between epochs by `assign_lr`).

Changes made for the migration-file contract:
- `PTBModel.__init__` moved into `tf1_train`; the reader, the epoch loop, `DropoutWrapper`
  (the small config's keep_prob is 1.0, so the tutorial builds none) and the cuDNN/block
  variants are dropped; `tf.unstack` + `static_rnn` become `dynamic_rnn` (the same cell, the
  same variables);
- `sequence_loss(..., average_across_timesteps=False, average_across_batch=True)` summed over
  time becomes the mean sparse cross entropy times `NUM_STEPS`, which is the same number;
- `assign_lr(session, lr)` before the first epoch becomes the variable's initial value 1.0
  (the learning rate decays only after `max_epoch` epochs, beyond these steps);
- PTB's text replaced by generated token ids (a vocabulary of 30, fixed seed); sizes reduced:
  hidden 200 -> 12, num_steps 20 -> 5, batch 20 -> 8; `max_grad_norm` 5 -> 0.25 so that the
  clipping acts within STEPS = 8 steps on this small model.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 8
STEPS = 8

VOCAB = 30
HIDDEN = 12
NUM_STEPS = 5
LAYERS = 2
MAX_GRAD_NORM = 0.25


def data() -> tuple[np.ndarray, np.ndarray]:
    """Token ids (64, 5) and the next token of each, int32."""
    rng = np.random.default_rng(11)
    text = rng.integers(0, VOCAB, size=64 * NUM_STEPS + 1)
    ids = text[:-1].reshape(64, NUM_STEPS).astype(np.int32)
    return ids, text[1:].reshape(64, NUM_STEPS).astype(np.int32)


def tf1_train(ids, targets):
    cells = tf.compat.v1.nn.rnn_cell
    embedding = tf.compat.v1.get_variable("embedding", [VOCAB, HIDDEN], dtype=tf.float32)
    inputs = tf.nn.embedding_lookup(embedding, ids)
    stack = cells.MultiRNNCell(
        [cells.BasicLSTMCell(HIDDEN, forget_bias=0.0) for _ in range(LAYERS)]
    )
    outputs, _ = tf.compat.v1.nn.dynamic_rnn(stack, inputs, dtype=tf.float32)
    output = tf.reshape(outputs, [-1, HIDDEN])
    softmax_w = tf.compat.v1.get_variable("softmax_w", [HIDDEN, VOCAB], dtype=tf.float32)
    softmax_b = tf.compat.v1.get_variable("softmax_b", [VOCAB], dtype=tf.float32)
    logits = tf.compat.v1.nn.xw_plus_b(output, softmax_w, softmax_b)
    cost = NUM_STEPS * tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(targets, [-1]), logits=logits
        )
    )
    lr = tf.Variable(1.0, trainable=False)
    tvars = tf.compat.v1.trainable_variables()
    grads, _ = tf.clip_by_global_norm(tf.gradients(cost, tvars), MAX_GRAD_NORM)
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(lr)
    train_op = optimizer.apply_gradients(
        zip(grads, tvars, strict=True), global_step=tf.compat.v1.train.get_or_create_global_step()
    )
    return cost, train_op


def tf2_setup():
    model = keras.Sequential(
        [
            keras.Input((NUM_STEPS,), dtype="int32"),
            keras.layers.Embedding(VOCAB, HIDDEN),
            keras.layers.LSTM(HIDDEN, return_sequences=True),
            keras.layers.LSTM(HIDDEN, return_sequences=True),
            keras.layers.Dense(VOCAB),
        ]
    )
    return model, keras.optimizers.SGD(1.0, global_clipnorm=MAX_GRAD_NORM)


loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tf2_train_step(state, ids, targets):
    model, optimizer = state
    with tf.GradientTape() as tape:
        cost = NUM_STEPS * loss_fn(targets, model(ids, training=True))
    grads = tape.gradient(cost, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return cost
