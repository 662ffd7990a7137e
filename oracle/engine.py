"""The NumPy float64 oracle as an engine the shared training loop can drive."""

from __future__ import annotations

import numpy as np

from catalog.problem import Problem
from oracle.models import ORACLE_MODELS, squared_error, squared_error_gradient
from training.driver import Observer, Trajectory, run


class OracleEngine:
    mode = "oracle"
    dtype = np.dtype(np.float64)

    def __init__(self, problem: Problem) -> None:
        self._problem = problem
        self._model = ORACLE_MODELS[problem.model.name]
        self._params = {
            name: value.astype(np.float64) for name, value in problem.initial_params.items()
        }

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        x = features.astype(np.float64)
        y = targets.astype(np.float64)
        predictions = self._model.forward(self._params, x)
        loss = squared_error(self._problem.loss, y, predictions)
        upstream = squared_error_gradient(self._problem.loss, y, predictions)
        gradients = self._model.backward(self._params, x, upstream)
        # gd and sgd are the same update: var <- var - lr * grad
        for name, gradient in gradients.items():
            self._params[name] = self._params[name] - self._problem.learning_rate * gradient
        return np.float64(loss)

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        predictions = self._model.forward(self._params, features.astype(np.float64))
        return np.float64(
            squared_error(self._problem.loss, targets.astype(np.float64), predictions)
        )

    def params(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self._params.items()}


def train(problem: Problem, *, observer: Observer | None = None) -> Trajectory:
    """Train `problem` in NumPy float64."""
    return run(problem, OracleEngine(problem), observer)
