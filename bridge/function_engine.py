"""The eager step wrapped in tf.function: the TF2 way to get a graph back."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bridge.grappler import grappler_disabled
from catalog.problem import Problem
from eagermode.engine import EagerEngine
from training.driver import Observer, Trajectory, run


class FunctionEngine(EagerEngine):
    mode = "function"

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.compiled_step = tf.function(self.train_step)
        self.compiled_loss = tf.function(self.forward_loss)

    @property
    def tracing_count(self) -> int:
        """How many times the training step was traced (once per run, for fixed batch shapes)."""
        return self.compiled_step.experimental_get_tracing_count()

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.compiled_step(
            tf.convert_to_tensor(features), tf.convert_to_tensor(targets)
        ).numpy()

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.compiled_loss(
            tf.convert_to_tensor(features), tf.convert_to_tensor(targets)
        ).numpy()


def train(
    problem: Problem,
    *,
    strict: bool = False,
    observer: Observer | None = None,
    engine: FunctionEngine | None = None,
) -> Trajectory:
    """Train `problem` with the eager step under tf.function; `strict` turns Grappler off."""
    engine = engine or FunctionEngine(problem)
    with grappler_disabled(strict):
        return run(problem, engine, observer)
