"""The eager step wrapped in tf.function: the TF2 way to get a graph back.

Per step, the eager `train_step` runs under tf.function, traced once per run. Fused, K of those
steps run inside one tf.function call, each taking its batch from the precomputed schedule held
inside TensorFlow, so no data crosses from Python between steps. `jit_compile` hands either to XLA.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eagermode.engine import EagerEngine
from tfmigration.catalog.problem import Problem
from tfmigration.training.in_graph_batches import InGraphBatches


class FunctionEngine(EagerEngine):
    mode = "function"

    def __init__(
        self, problem: Problem, *, steps_per_call: int = 1, jit_compile: bool = False
    ) -> None:
        super().__init__(problem)
        # No call runs more steps than the run has; the loop's TensorArray is K entries long.
        steps_per_call = self.steps_per_call = min(steps_per_call, problem.steps)
        self.compiled_step = self.run_step = tf.function(self.train_step, jit_compile=jit_compile)
        self.compiled_loss = self.run_loss = tf.function(self.forward_loss, jit_compile=jit_compile)
        self.compiled_steps = tf.function(self._train_steps, jit_compile=jit_compile)
        if steps_per_call > 1:
            self._batches = InGraphBatches(problem, tf.constant)

    @property
    def tracing_count(self) -> int:
        """How many times the training step (or the fused loop) was traced."""
        return (
            self.compiled_step.experimental_get_tracing_count()
            + self.compiled_steps.experimental_get_tracing_count()
        )

    def _train_steps(self, start: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
        # A TensorArray of the fixed size K keeps shapes static for XLA; a last, shorter call
        # writes only its first `count` entries.
        losses = tf.TensorArray(self.dtype, size=self.steps_per_call, element_shape=())
        for offset in tf.range(count):
            features, targets = self._batches.batch(start + offset)
            losses = losses.write(offset, self.train_step(features, targets))
        return losses.stack()

    def steps(self, start: int, count: int) -> np.ndarray:
        losses = self.compiled_steps(tf.constant(start, tf.int32), tf.constant(count, tf.int32))
        return losses.numpy()[:count]
