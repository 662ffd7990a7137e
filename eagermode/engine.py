"""The TF2 idiom: eager execution, tf.GradientTape, assign_sub, Keras optimizers."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from eagermode.tf1_compatible import keras_optimizer, keras_slots
from tfmigration.catalog.losses import squared_error
from tfmigration.catalog.optimizers import OptimizerSpec
from tfmigration.catalog.problem import Problem


class EagerEngine:
    mode = "eager"

    def __init__(self, problem: Problem) -> None:
        self.dtype = problem.dtype
        self._problem = problem
        self.variables = {
            name: tf.Variable(value, name=name) for name, value in problem.initial_params.items()
        }
        self._variable_list = list(self.variables.values())
        self._spec = problem.keras_optimizer_spec
        self._optimizer = keras_optimizer(self._spec)
        if self._optimizer is not None:
            # Built here, outside any tf.function: its slot and iteration variables must not
            # be created on a traced call.
            self._optimizer.build(self._variable_list)

    def forward_loss(self, features: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        predictions = self._problem.model.predict(self.variables, features)
        return squared_error(self._problem.loss, targets, predictions)

    def train_step(self, features: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """One step in TF ops only, so that tf.function can wrap it unchanged."""
        with tf.GradientTape() as tape:
            loss = self.forward_loss(features, targets)
        gradients = tape.gradient(loss, self._variable_list)
        if self._optimizer is None:
            lr = self._problem.learning_rate
            for variable, gradient in zip(self._variable_list, gradients, strict=True):
                variable.assign_sub(lr * gradient)
        else:
            self._optimizer.apply_gradients(zip(gradients, self._variable_list, strict=True))
        return loss

    # What step() and loss() call: the eager methods here; tf.function style swaps in its own.
    def run_step(self, features: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return self.train_step(features, targets)

    def run_loss(self, features: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        return self.forward_loss(features, targets)

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.run_step(tf.convert_to_tensor(features), tf.convert_to_tensor(targets)).numpy()

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.run_loss(tf.convert_to_tensor(features), tf.convert_to_tensor(targets)).numpy()

    def params(self) -> dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in self.variables.items()}

    def slots(self) -> dict[str, np.ndarray]:
        return keras_slots(self._optimizer, self._spec, self.variables)

    @property
    def optimizer(self) -> keras.optimizers.Optimizer | None:
        """The Keras optimizer this engine steps with; None for gd."""
        return self._optimizer

    @property
    def optimizer_spec(self) -> OptimizerSpec:
        """The spec the Keras optimizer was built from (Keras's side under --defaults each)."""
        return self._spec

    @property
    def problem(self) -> Problem:
        return self._problem
