"""A user's TF2 port with its train step under tf.function, traced once for the whole run."""

from __future__ import annotations

import tensorflow as tf

from eagermode.migration import TF2Port
from eagermode.replicated_migration import ReplicatedPort
from tfmigration.migration.contract import MigrationFile


class FunctionPort(TF2Port):
    mode = "function"

    def __init__(self, migration: MigrationFile) -> None:
        super().__init__(migration)
        self.compiled_step = self.run_step = tf.function(self.call_step)

    @property
    def tracing_count(self) -> int:
        return self.compiled_step.experimental_get_tracing_count()


class ReplicatedFunctionPort(ReplicatedPort):
    """The replicated port with `strategy.run` and the sum of the replicas' losses traced once."""

    mode = "function"

    def __init__(self, migration: MigrationFile, replicas: int) -> None:
        super().__init__(migration, replicas)
        self.compiled_step = self.run_step = tf.function(self.call_step)

    tracing_count = FunctionPort.tracing_count
