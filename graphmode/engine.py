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

from graphmode import step as tf1_step
from tfmigration.catalog.losses import squared_error
from tfmigration.catalog.problem import Problem
from tfmigration.execution import VARIABLE_KINDS
from tfmigration.training.in_graph_batches import InGraphBatches


def session_config(*, strict: bool) -> tf.compat.v1.ConfigProto:
    """A Session config; `strict` turns Grappler's meta-optimizer (all rewrites) off."""
    config = tf.compat.v1.ConfigProto()
    if strict:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


@contextlib.contextmanager
def _tf1_control_flow(enabled: bool) -> Iterator[None]:
    """TF1's while_loop (control flow v1) while building, when RefVariables are used.

    TF2's while_v2 builds a function whose inputs cannot be reference-typed ("input types
    (float32, float32) are not compatible with expected types (float32_ref, float32)"); TF1
    built its loops with v1 frames, which can. The switch is process-wide but read only while a
    loop is built, so it is turned back on before any other style builds one.
    """
    if not enabled or not tf.compat.v1.control_flow_v2_enabled():
        yield
        return
    tf.compat.v1.disable_control_flow_v2()
    try:
        yield
    finally:
        tf.compat.v1.enable_control_flow_v2()


class GraphEngine:
    mode = "graph"

    def __init__(
        self,
        problem: Problem,
        *,
        strict: bool = False,
        steps_per_call: int = 1,
        counts_steps: bool = False,
        variables: str = "ref",
    ) -> None:
        if variables not in VARIABLE_KINDS:
            raise ValueError(f"variables {variables!r} is not one of {VARIABLE_KINDS}")
        self.dtype = problem.dtype
        self._problem = problem
        self._ref_variables = variables == "ref"
        # No call runs more steps than the run has; the loop's TensorArray is K entries long.
        steps_per_call = self.steps_per_call = min(steps_per_call, problem.steps)
        model = problem.model
        spec = problem.optimizer_spec
        self._slot_tensors: dict[str, tf.Variable] = {}
        self._feeds: dict[tf.Tensor, np.ndarray] = {}
        self.graph = tf.Graph()
        with self.graph.as_default():
            self._x = tf.compat.v1.placeholder(
                model.dtype, shape=(None, *problem.features.shape[1:]), name="x"
            )
            self._y = tf.compat.v1.placeholder(
                model.dtype, shape=(None, *problem.targets.shape[1:]), name="y"
            )
            # tf.Variable in a TF2 process makes resource variables even inside a tf.Graph;
            # TF1 code got RefVariables unless it asked otherwise.
            self._variables = {
                name: tf.compat.v1.Variable(value, name=name, use_resource=variables == "resource")
                for name, value in problem.initial_params.items()
            }
            self._global_step = None
            # A checkpointing run counts its steps in TF1's `global_step`, as TF1 scripts do:
            # the checkpoint's step is the position in the batch schedule.
            if counts_steps or spec.decay is not None:
                self._global_step = tf.compat.v1.train.get_or_create_global_step()
            self._optimizer = tf1_step.build_optimizer(
                spec, problem.learning_rate, self._global_step
            )
            self._loss, self._train = self._build_step(self._x, self._y)
            self._slot_tensors = tf1_step.slot_variables(
                self._optimizer, spec.name, self._variables
            )
            if steps_per_call > 1:
                self._build_fused_loop(steps_per_call)
            initializer = tf.compat.v1.global_variables_initializer()
        self.session = tf.compat.v1.Session(graph=self.graph, config=session_config(strict=strict))
        self.session.run(initializer, feed_dict=self._feeds)
        self._feeds.clear()

    def _build_step(
        self, features: tf.Tensor, targets: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Operation]:
        """The loss on (features, targets) and the update op that runs after it."""
        predictions = self._problem.model.predict(self._variables, features)
        loss = squared_error(self._problem.loss, targets, predictions)
        # The loss fetched with the update must be the loss *before* it: order the writes
        # after the loss explicitly rather than rely on data dependencies.
        with tf.control_dependencies([loss]):
            train = tf1_step.minimize(
                self._optimizer,
                loss,
                list(self._variables.values()),
                self._problem.learning_rate,
                self._global_step,
            )
        return loss, train

    def _hold(self, array: np.ndarray) -> tf.Tensor:
        """Keep `array` in a Variable loaded once at initialisation (not a GraphDef constant)."""
        placeholder = tf.compat.v1.placeholder(array.dtype, array.shape)
        self._feeds[placeholder] = array
        return tf.Variable(placeholder, trainable=False).read_value()

    def _build_fused_loop(self, steps_per_call: int) -> None:
        """K steps in one Session.run: a tf.while_loop whose body is the very step above."""
        batches = InGraphBatches(self._problem, self._hold)
        self._start = tf.compat.v1.placeholder(tf.int32, (), name="start")
        self._count = tf.compat.v1.placeholder(tf.int32, (), name="count")

        def body(offset: tf.Tensor, losses: tf.TensorArray) -> tuple:
            features, targets = batches.batch(self._start + offset)
            loss, train = self._build_step(features, targets)
            with tf.control_dependencies([train]):
                return offset + 1, losses.write(offset, loss)

        losses = tf.TensorArray(self._problem.model.dtype, size=steps_per_call, element_shape=())
        with _tf1_control_flow(self._ref_variables):
            # One iteration at a time: each step reads the parameters the previous one wrote.
            _, losses = tf.while_loop(
                lambda offset, _: offset < self._count,
                body,
                (tf.constant(0), losses),
                parallel_iterations=1,
            )
            self._fused_losses = losses.stack()

    def steps(self, start: int, count: int) -> np.ndarray:
        losses = self.session.run(self._fused_losses, {self._start: start, self._count: count})
        return losses[:count]

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

    @property
    def problem(self) -> Problem:
        return self._problem

    def state_variables(self) -> dict[str, tf.Variable]:
        """Every variable a checkpoint must hold, by the name TF1's Saver keys it under:
        parameters, slots (`w/Adam`, ...), Adam's `beta1_power`/`beta2_power`, `global_step`.
        Not the variables holding the batch schedule of fused loops: they are data."""
        variables: list[tf.Variable] = [*self._variables.values(), *self._slot_tensors.values()]
        if isinstance(self._optimizer, tf.compat.v1.train.AdamOptimizer):
            # TF1's own accessor for Adam's non-slot variables (adam.py).
            with self.graph.as_default():
                variables.extend(self._optimizer._get_beta_accumulators())
        if self._global_step is not None:
            variables.append(self._global_step)
        return {variable.op.name: variable for variable in variables}

    def close(self) -> None:
        self.session.close()
