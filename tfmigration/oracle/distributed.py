"""The split-batch reference in NumPy float64: the replicas' shards, gradients summed in order."""

from __future__ import annotations

import numpy as np

from tfmigration.catalog.optimizers import OptimizerSpec
from tfmigration.catalog.problem import Problem
from tfmigration.distributed import shard_bounds
from tfmigration.oracle.engine import OracleEngine
from tfmigration.training.driver import Observer, Trajectory, run


class SplitBatchOracleEngine(OracleEngine):
    mode = "oracle"

    def __init__(self, problem: Problem, replicas: int, spec: OptimizerSpec | None = None) -> None:
        super().__init__(problem, spec)
        self._replicas = replicas

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        x = features.astype(np.float64)
        y = targets.astype(np.float64)
        reduction = self._problem.loss
        scale = 0.5 if reduction.startswith("half-") else 1.0
        # A replica's share of a mean divides by the whole batch's element count, not its own.
        count = y.size if reduction.endswith("mean") else 1
        loss = 0.0
        gradients: dict[str, np.ndarray] = {}
        for start, stop in shard_bounds(len(x), self._replicas):
            predictions = self._model.forward(self._params, x[start:stop])
            residual = y[start:stop] - predictions
            loss += scale * np.sum(residual**2) / count
            upstream = -2.0 * scale * residual / count
            shard = self._model.backward(self._params, x[start:stop], upstream)
            gradients = {
                name: gradients[name] + value if name in gradients else value
                for name, value in shard.items()
            }
        self._params, self._state = self._optimizer.update(
            gradients, self._state, self._params, self._steps
        )
        self._steps += 1
        return np.float64(loss)


def train(
    problem: Problem,
    replicas: int,
    *,
    observer: Observer | None = None,
    spec: OptimizerSpec | None = None,
) -> Trajectory:
    """Train `problem` in float64 with each batch split into `replicas` shards."""
    return run(problem, SplitBatchOracleEngine(problem, replicas, spec), observer)
