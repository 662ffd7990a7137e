"""The NumPy float64 oracle as an engine the shared training loop can drive."""

from __future__ import annotations

import numpy as np

from tfmigration.catalog.optimizers import OptimizerSpec
from tfmigration.catalog.problem import Problem
from tfmigration.oracle.models import ORACLE_MODELS, squared_error, squared_error_gradient
from tfmigration.oracle.optimizers import make as make_optimizer
from tfmigration.training.driver import Observer, Trajectory, run


class OracleEngine:
    mode = "oracle"
    dtype = np.dtype(np.float64)

    def __init__(self, problem: Problem, spec: OptimizerSpec | None = None) -> None:
        self._problem = problem
        self._model = ORACLE_MODELS[problem.model.name]
        self._params = {
            name: value.astype(np.float64) for name, value in problem.initial_params.items()
        }
        self._optimizer = make_optimizer(spec or problem.optimizer_spec)
        self._state = self._optimizer.init(self._params)
        self._steps = 0

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        x = features.astype(np.float64)
        y = targets.astype(np.float64)
        predictions = self._model.forward(self._params, x)
        loss = squared_error(self._problem.loss, y, predictions)
        upstream = squared_error_gradient(self._problem.loss, y, predictions)
        gradients = self._model.backward(self._params, x, upstream)
        self._params, self._state = self._optimizer.update(
            gradients, self._state, self._params, self._steps
        )
        self._steps += 1
        return np.float64(loss)

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        predictions = self._model.forward(self._params, features.astype(np.float64))
        return np.float64(
            squared_error(self._problem.loss, targets.astype(np.float64), predictions)
        )

    def params(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self._params.items()}

    def slots(self) -> dict[str, np.ndarray]:
        return self._optimizer.slots(self._state, self._steps)


def train(
    problem: Problem, *, observer: Observer | None = None, spec: OptimizerSpec | None = None
) -> Trajectory:
    """Train `problem` in NumPy float64, with the TF1 equations of its optimizer unless `spec`
    names another (e.g. the Keras side's under --defaults each)."""
    return run(problem, OracleEngine(problem, spec), observer)
