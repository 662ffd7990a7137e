"""The TF1 idiom: placeholders, Variables, tf.gradients, assign ops, Session.run(feed_dict=...).

Written as a TF1 user would recognise it, but in a graph of its own: never
`disable_eager_execution()`, which is process-wide and would break the eager and tf.function
styles running in the same process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import tensorflow as tf

from catalog.losses import squared_error
from catalog.optimizers import SLOTS, OptimizerSpec
from catalog.problem import Problem
from training.driver import Observer, Trajectory, run

# Our slot names -> the names TF1's optimizers give them (`optimizer.get_slot(var, name)`).
_TF1_SLOT_NAMES = {"ms": "rms"}


def tf1_optimizer(spec: OptimizerSpec, learning_rate: object) -> tf.compat.v1.train.Optimizer:
    """The `tf.compat.v1.train` optimizer `spec` names, with TF1's own argument names."""
    if spec.name == "sgd":
        return tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
    if spec.name == "momentum":
        return tf.compat.v1.train.MomentumOptimizer(
            learning_rate, momentum=spec.momentum, use_nesterov=spec.nesterov
        )
    if spec.name == "adam":
        return tf.compat.v1.train.AdamOptimizer(
            learning_rate, beta1=spec.beta1, beta2=spec.beta2, epsilon=spec.epsilon
        )
    if spec.name == "rmsprop":
        return tf.compat.v1.train.RMSPropOptimizer(
            learning_rate, decay=spec.rho, momentum=spec.momentum, epsilon=spec.epsilon
        )
    if spec.name == "adagrad":
        return tf.compat.v1.train.AdagradOptimizer(
            learning_rate, initial_accumulator_value=spec.initial_accumulator
        )
    raise ValueError(f"no TF1 library optimizer for {spec.name!r}")


@contextlib.contextmanager
def _tf_warnings_silenced() -> Iterator[None]:
    """TF1's AdagradOptimizer builds its slot with a deprecated initializer signature
    (tensorflow/python/training/adagrad.py:138) and TF logs a warning about its own code on the
    user's terminal; keep TF's logger at ERROR while the optimizer builds its slots."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def session_config(*, strict: bool) -> tf.compat.v1.ConfigProto:
    """A Session config; `strict` turns Grappler's meta-optimizer (all rewrites) off."""
    config = tf.compat.v1.ConfigProto()
    if strict:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


class GraphEngine:
    mode = "graph"

    def __init__(self, problem: Problem, *, strict: bool = False) -> None:
        self.dtype = problem.dtype
        model = problem.model
        lr = problem.learning_rate
        spec = problem.optimizer_spec
        self._slot_tensors: dict[str, tf.Variable] = {}
        self.graph = tf.Graph()
        with self.graph.as_default():
            self._x = tf.compat.v1.placeholder(
                model.dtype, shape=(None, *problem.features.shape[1:]), name="x"
            )
            self._y = tf.compat.v1.placeholder(
                model.dtype, shape=(None, *problem.targets.shape[1:]), name="y"
            )
            self._variables = {
                name: tf.Variable(value, name=name)
                for name, value in problem.initial_params.items()
            }
            predictions = model.predict(self._variables, self._x)
            self._loss = squared_error(problem.loss, self._y, predictions)
            variables = list(self._variables.values())
            # The loss fetched with the update must be the loss *before* it: order the
            # writes after the loss explicitly rather than rely on data dependencies.
            with tf.control_dependencies([self._loss]):
                if problem.optimizer == "gd":
                    gradients = tf.gradients(self._loss, variables)
                    updates = [
                        var.assign(var - lr * grad)
                        for var, grad in zip(variables, gradients, strict=True)
                    ]
                    self._train = tf.group(*updates)
                else:  # a TF1 library optimizer
                    global_step = None
                    learning_rate: object = lr
                    if spec.decay is not None:
                        global_step = tf.compat.v1.train.get_or_create_global_step()
                        learning_rate = tf.compat.v1.train.exponential_decay(
                            lr,
                            global_step,
                            spec.decay.steps,
                            spec.decay.rate,
                            staircase=spec.decay.staircase,
                        )
                    optimizer = tf1_optimizer(spec, learning_rate)
                    with _tf_warnings_silenced():
                        self._train = optimizer.minimize(
                            self._loss, var_list=variables, global_step=global_step
                        )
                    self._slot_tensors = {
                        f"{name}/{slot}": optimizer.get_slot(
                            variable, _TF1_SLOT_NAMES.get(slot, slot)
                        )
                        for slot in SLOTS[spec.name]
                        for name, variable in self._variables.items()
                    }
            initializer = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph, config=session_config(strict=strict))
        self.session.run(initializer)

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        loss, _ = self.session.run(
            [self._loss, self._train], feed_dict={self._x: features, self._y: targets}
        )
        return loss

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        return self.session.run(self._loss, feed_dict={self._x: features, self._y: targets})

    def params(self) -> dict[str, np.ndarray]:
        return self.session.run(self._variables)

    def slots(self) -> dict[str, np.ndarray]:
        return self.session.run(self._slot_tensors) if self._slot_tensors else {}

    def close(self) -> None:
        self.session.close()


def train(
    problem: Problem, *, strict: bool = False, observer: Observer | None = None
) -> Trajectory:
    """Train `problem` the TF1 way, one `Session.run` per step."""
    engine = GraphEngine(problem, strict=strict)
    try:
        return run(problem, engine, observer)
    finally:
        engine.close()
