"""The loss reductions in TensorFlow ops, the same ops in every execution style.

Kept apart from the model table so that listing the catalog never imports TensorFlow.
"""

from __future__ import annotations

import tensorflow as tf


def squared_error(reduction: str, targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
    """mean / half-mean / sum / half-sum of (targets - predictions)**2."""
    squares = tf.square(targets - predictions)
    if reduction == "mean":
        return tf.reduce_mean(squares)
    if reduction == "half-mean":
        return 0.5 * tf.reduce_mean(squares)
    if reduction == "sum":
        return tf.reduce_sum(squares)
    if reduction == "half-sum":
        return 0.5 * tf.reduce_sum(squares)
    raise ValueError(f"unknown loss reduction {reduction!r}")


def replica_squared_error(
    reduction: str, targets: tf.Tensor, predictions: tf.Tensor, global_count: int
) -> tf.Tensor:
    """One replica's share of the global batch's loss: the replicas' shares sum to it.

    Means divide this shard's sum by the whole batch's element count (tf.nn.compute_average_loss
    with global_batch_size), not by the shard's: each replica's gradient is then its share of
    the whole batch's gradient, and the summed gradients are the whole batch's.
    """
    squares = tf.square(targets - predictions)
    if reduction in ("mean", "half-mean"):
        # tf.nn.compute_average_loss's arithmetic (nn_impl_distribute.py: reduce_sum, then
        # div_no_nan by the cast global batch size) without its integer checks, whose Assert ops
        # a TF1 graph never runs and TensorFlow then logs as "never used".
        total = tf.reduce_sum(squares)
        share = tf.math.divide_no_nan(total, tf.cast(global_count, total.dtype))
    elif reduction in ("sum", "half-sum"):
        share = tf.reduce_sum(squares)
    else:
        raise ValueError(f"unknown loss reduction {reduction!r}")
    return 0.5 * share if reduction.startswith("half-") else share
