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
