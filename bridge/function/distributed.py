"""MirroredStrategy's custom loop under tf.function: the replicated eager step, traced once."""

from __future__ import annotations

import tensorflow as tf

from eagermode.distributed import MirroredEngine
from tfmigration.catalog.problem import Problem


class MirroredFunctionEngine(MirroredEngine):
    mode = "function"

    def __init__(
        self,
        problem: Problem,
        replicas: int,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        super().__init__(problem, replicas, strategy)
        self.steps_per_call = 1
        self.compiled_step = self.run_step = tf.function(self.train_step)
        self.compiled_loss = self.run_loss = tf.function(self.forward_loss)

    @property
    def tracing_count(self) -> int:
        """How many times the replicated training step was traced."""
        return self.compiled_step.experimental_get_tracing_count()
