"""A user's TF2 port with its train step under tf.function, traced once for the whole run."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eagermode.migration import TF2Port
from tfmigration.migration.contract import MigrationFile, call_user


class FunctionPort(TF2Port):
    mode = "function"

    def __init__(self, migration: MigrationFile) -> None:
        super().__init__(migration)
        self.compiled_step = tf.function(self.call_step)

    @property
    def tracing_count(self) -> int:
        return self.compiled_step.experimental_get_tracing_count()

    def step(self, features: np.ndarray, labels: np.ndarray, step: int) -> np.floating:
        self.step_variable.assign(step)
        # Matters for the one trace: the k-th dropout built is the k-th of the step.
        self.dropout.reset()
        with self.dropout.active():
            loss = call_user(self.migration.path, self._run, self.compiled_step, features, labels)
        return self._scalar(loss)
