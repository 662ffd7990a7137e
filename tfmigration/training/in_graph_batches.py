"""A run's batches held inside TensorFlow, so fused steps take them without Python.

Both fused styles use this: the graph style with the arrays loaded into Variables once, the
tf.function style with them captured as tensors. Measured on noisy-line (batches of 1000 from a
million rows, 2000 fused tf.function steps): slicing batches gathered once up front costs 14 us a
step (2.9 with XLA), a tf.gather per step 99 (22 with XLA). So the whole schedule is gathered up
front while it fits the budget, and gathered per step beyond it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfmigration.catalog.problem import Problem

PREGATHER_BUDGET_BYTES = 256 * 2**20


class InGraphBatches:
    """`batch(step)` in TF ops: the same features and targets `Problem.batch(step)` gives."""

    def __init__(self, problem: Problem, hold: Callable[[np.ndarray], tf.Tensor]) -> None:
        """`hold` turns an array into the tensor the style keeps it in (constant, Variable)."""
        indices = problem.batch_indices
        self.full_batch = indices is None
        row_bytes = problem.features[:1].nbytes + problem.targets[:1].nbytes
        self.pregathered = not self.full_batch and indices.size * row_bytes <= (
            PREGATHER_BUDGET_BYTES
        )
        if self.pregathered:
            self._features = hold(problem.features[indices])
            self._targets = hold(problem.targets[indices])
        else:
            self._features = hold(problem.features)
            self._targets = hold(problem.targets)
        if not self.full_batch and not self.pregathered:
            self._schedule = hold(indices.astype(np.int32))

    def batch(self, step: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if self.full_batch:
            return self._features, self._targets
        if self.pregathered:
            return self._features[step], self._targets[step]
        rows = self._schedule[step]
        return tf.gather(self._features, rows), tf.gather(self._targets, rows)
