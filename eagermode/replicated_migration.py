"""A user's TF2 port run data-parallel: `tf2_setup()` inside a MirroredStrategy's scope over N
logical CPUs, `tf2_train_step` once per replica on its shard (`strategy.run`), the replicas'
losses summed (`tfbridge check FILE --replicas N`).

The file says it was written for this (`REPLICAS = True`): each replica must return its share of
the global loss, as `tf.nn.compute_average_loss` gives it, so that the shares sum to the loss
TF1 computed on the whole batch; a Keras optimizer's `apply` in replica context sums the
replicas' gradients before one update. Shards follow `numpy.array_split`'s rule, replica 0 first,
as in the catalog's replicated runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from eagermode.distributed import SUM, distribute_shards, mirrored_strategy
from eagermode.migration import TF2Port
from tfmigration.distributed import shard_bounds
from tfmigration.migration.contract import MigrationFile, input_rows, map_inputs
from tfmigration.migration.layouts import CellInfo


class ReplicatedPort(TF2Port):
    """The port's state mirrored over `replicas` devices, its step run per replica, eagerly."""

    mode = "eager"

    def __init__(
        self, migration: MigrationFile, replicas: int, cells: Sequence[CellInfo] = ()
    ) -> None:
        self.replicas = replicas
        self.strategy = mirrored_strategy(replicas)
        # Variables (the step counter, the model's, the optimizer's slots) made in the scope
        # are MirroredVariables: loading TF1's values assigns every copy.
        with self.strategy.scope():
            super().__init__(migration, cells)

    def call_step(self, features: Any, labels: Any) -> tf.Tensor | None:
        shares = self.strategy.run(
            lambda f, y: self._train_step(self.state, f, y), args=(features, labels)
        )
        if shares is None:
            return None  # the contract check names the missing loss
        return self.strategy.reduce(SUM, shares, axis=None)

    def _run(self, function: Callable[..., Any], features: np.ndarray, labels: np.ndarray) -> Any:
        bounds = shard_bounds(input_rows(features), self.replicas)
        return function(
            map_inputs(lambda array: distribute_shards(self.strategy, array, bounds), features),
            distribute_shards(self.strategy, labels, bounds),
        )
