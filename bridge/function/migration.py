"""A user's TF2 port with its train step under tf.function, traced once for the whole run."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from eagermode.migration import TF2Port
from eagermode.replicated_migration import ReplicatedPort
from tfmigration.migration.contract import ContractError, MigrationFile
from tfmigration.migration.layouts import CellInfo


def refuse_eager_functions(migration: MigrationFile) -> None:
    """Refuse a file that set `tf.config.run_functions_eagerly(True)` (at import or in
    tf2_setup): every tf.function would then run as plain Python, and the tf.function row
    would silently repeat the eager one, passing a port whose traced step was never run."""
    if tf.config.functions_run_eagerly():
        raise ContractError(
            f"{migration.path}: tf.config.run_functions_eagerly(True) is on, so the tf.function "
            "style would run eagerly and prove nothing; delete the call (the checker runs the "
            "port eagerly itself, as the eager style)"
        )


class FunctionPort(TF2Port):
    mode = "function"
    gradients_readable = False

    def __init__(self, migration: MigrationFile, cells: Sequence[CellInfo] = ()) -> None:
        super().__init__(migration, cells)
        refuse_eager_functions(migration)
        self.compiled_step = self.run_step = tf.function(self.call_step)

    @property
    def tracing_count(self) -> int:
        return self.compiled_step.experimental_get_tracing_count()


class ReplicatedFunctionPort(ReplicatedPort):
    """The replicated port with `strategy.run` and the sum of the replicas' losses traced once."""

    mode = "function"
    gradients_readable = False

    def __init__(
        self, migration: MigrationFile, replicas: int, cells: Sequence[CellInfo] = ()
    ) -> None:
        super().__init__(migration, replicas, cells)
        refuse_eager_functions(migration)
        self.compiled_step = self.run_step = tf.function(self.call_step)

    tracing_count = FunctionPort.tracing_count
