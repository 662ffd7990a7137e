"""The split-batch reference in TF1 style: one Session, the batch split into replica shards.

Each replica's loss share (tf.nn.compute_average_loss over the global batch, as the replicated
styles compute it) and its `tf.gradients` are built on its own shard; losses and gradients are
summed with one add_n in replica order — the order ReductionToOneDevice sums in — and the
summed gradients go to the TF1 update. This is not between-graph replication (that is
graphmode.between_graph): it is the reference every replicated run must reproduce bit for bit.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from graphmode import step as tf1_step
from graphmode.engine import GraphEngine
from tfmigration.catalog.losses import replica_squared_error, squared_error
from tfmigration.catalog.problem import Problem
from tfmigration.distributed import check_replicas, shard_bounds
from tfmigration.training.driver import Observer, Trajectory, run


class SplitBatchGraphEngine(GraphEngine):
    def __init__(self, problem: Problem, replicas: int, *, strict: bool = False) -> None:
        self.replicas = replicas
        rows = problem.batch_rows
        self._bounds = shard_bounds(rows, replicas)
        self._global_count = rows * int(np.prod(problem.targets.shape[1:], dtype=np.int64))
        super().__init__(problem, strict=strict)

    def _build_step(
        self, features: tf.Tensor, targets: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Operation]:
        problem = self._problem
        variables = list(self._variables.values())
        # The whole-data loss (the final loss) is one device's, as in every other run.
        self._whole_loss = squared_error(
            problem.loss, targets, problem.model.predict(self._variables, features)
        )
        shares, gradients = [], []
        for start, stop in self._bounds:
            predictions = problem.model.predict(self._variables, features[start:stop])
            share = replica_squared_error(
                problem.loss, targets[start:stop], predictions, self._global_count
            )
            shares.append(share)
            gradients.append(tf.gradients(share, variables))
        loss = tf.add_n(shares)
        summed = [tf.add_n(list(each)) for each in zip(*gradients, strict=True)]
        with tf.control_dependencies([loss]):
            train = tf1_step.apply_gradients(
                self._optimizer,
                zip(summed, variables, strict=True),
                problem.learning_rate,
                self._global_step,
            )
        return loss, train

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.session.run(self._whole_loss, feed_dict={self._x: features, self._y: targets})


def train(
    problem: Problem, replicas: int, *, strict: bool = False, observer: Observer | None = None
) -> Trajectory:
    """The split-batch reference: `problem` trained in one Session, each batch split into
    `replicas` shards whose gradients are summed in replica order."""
    check_replicas(replicas, problem.batch_rows)
    engine = SplitBatchGraphEngine(problem, replicas, strict=strict)
    try:
        return run(problem, engine, observer)
    finally:
        engine.close()
