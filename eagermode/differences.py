"""The autodiff differences, observed the TF2 way: GradientTape, eagerly.

Every case creates its Variables first and then hands the taped part to `run`; eager style calls
it at once, tf.function style (bridge.function.differences) traces it first. So both styles run
the very same tape code, and a Variable is never created inside a tf.function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfmigration.catalog.differences import (
    LOSS_SCALING_EVEN,
    LOSS_SCALING_UNEVEN,
    Observations,
    error_text,
    get_difference,
    show,
)

Run = Callable[[Callable[[], Any]], Any]


def eagerly(body: Callable[[], Any]) -> Any:
    return body()


def _outcome(run: Run, body: Callable[[], Any]) -> str:
    try:
        return show(run(body))
    except Exception as error:  # the point of the case: show TensorFlow's own error
        return error_text(error)


def _one_shot_tape(run: Run) -> Observations:
    x = tf.Variable(3.0)

    def gradients(count: int, *, persistent: bool) -> Callable[[], Any]:
        def body() -> Any:
            with tf.GradientTape(persistent=persistent) as tape:
                y = tf.square(x)
            return [tape.gradient(y, x) for _ in range(count)][-1]

        return body

    return {
        "first gradient": _outcome(run, gradients(1, persistent=False)),
        "second gradient": _outcome(run, gradients(2, persistent=False)),
        "second gradient, persistent=True": _outcome(run, gradients(2, persistent=True)),
    }


def _watched(run: Run) -> Observations:
    def gradient(
        x: tf.Variable | tf.Tensor, *, watch: bool = False, accessed: bool = True
    ) -> Callable[[], Any]:
        def body() -> Any:
            with tf.GradientTape(watch_accessed_variables=accessed) as tape:
                if watch:
                    tape.watch(x)
                y = tf.square(x)
            return tape.gradient(y, x)

        return body

    def frozen() -> tf.Variable:
        return tf.Variable(3.0, trainable=False)

    return {
        "x = Variable(3.0)": _outcome(run, gradient(tf.Variable(3.0))),
        "x = Variable(3.0, trainable=False)": _outcome(run, gradient(frozen())),
        "x = Variable(3.0, trainable=False), tape.watch(x)": _outcome(
            run, gradient(frozen(), watch=True)
        ),
        "x = Variable(3.0), watch_accessed_variables=False": _outcome(
            run, gradient(tf.Variable(3.0), accessed=False)
        ),
        "x = Variable(3.0), watch_accessed_variables=False, tape.watch(x)": _outcome(
            run, gradient(tf.Variable(3.0), watch=True, accessed=False)
        ),
        "x = constant(3.0)": _outcome(run, gradient(tf.constant(3.0))),
        "x = constant(3.0), tape.watch(x)": _outcome(run, gradient(tf.constant(3.0), watch=True)),
    }


def _unconnected(run: Run) -> Observations:
    a = tf.Variable(3.0)
    b = tf.Variable(4.0)

    def gradient(source: tf.Variable, unconnected: tf.UnconnectedGradients) -> Callable[[], Any]:
        def body() -> Any:
            with tf.GradientTape() as tape:
                y = tf.square(a)
            return tape.gradient(y, source, unconnected_gradients=unconnected)

        return body

    none, zero = tf.UnconnectedGradients.NONE, tf.UnconnectedGradients.ZERO
    return {
        "dy/da": _outcome(run, gradient(a, none)),
        "dy/db": _outcome(run, gradient(b, none)),
        "dy/db, unconnected_gradients=ZERO": _outcome(run, gradient(b, zero)),
    }


def _stop_gradient(run: Run) -> Observations:
    x = tf.Variable(3.0)

    def value_and_gradient(function: Callable[[tf.Variable], tf.Tensor]) -> Callable[[], Any]:
        def body() -> Any:
            with tf.GradientTape() as tape:
                y = function(x)
            return [y, tape.gradient(y, x)]

        return body

    return {
        "y = x * x: y, dy/dx": _outcome(run, value_and_gradient(lambda x: x * x)),
        "y = x * stop_gradient(x): y, dy/dx": _outcome(
            run, value_and_gradient(lambda x: x * tf.stop_gradient(x))
        ),
        "y = stop_gradient(x * x): y, dy/dx": _outcome(
            run, value_and_gradient(lambda x: tf.stop_gradient(x * x))
        ),
    }


def _jacobian(run: Run) -> Observations:
    x = tf.constant([1.0, 2.0])

    def taped(jacobian: bool) -> Callable[[], Any]:
        def body() -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.stack([x[0] * x[1], x[0] + x[1]])
            return tape.jacobian(y, x) if jacobian else tape.gradient(y, x)

        return body

    return {
        "gradient of y": _outcome(run, taped(jacobian=False)),
        "Jacobian dy/dx": _outcome(run, taped(jacobian=True)),
    }


def _variables(run: Run) -> Observations:
    # Created outside `run`, as TF2 code creates Variables outside its tf.functions: so the
    # dtype and trainable rows are the same in eager and tf.function style, by construction.
    observations = {
        "Variable(1).dtype": tf.Variable(1).dtype.name,
        "Variable(1.0).dtype": tf.Variable(1.0).dtype.name,
        "Variable(np.array([1.0])).dtype": tf.Variable(np.array([1.0])).dtype.name,
        "Variable(1.0).trainable": show(tf.Variable(1.0).trainable),
        "Variable(1.0, trainable=False).trainable": show(
            tf.Variable(1.0, trainable=False).trainable
        ),
    }
    for call, update in (
        ("assign(5.0)", lambda x: x.assign(5.0)),
        ("assign_add(1.0)", lambda x: x.assign_add(1.0)),
        ("assign_sub(1.0)", lambda x: x.assign_sub(1.0)),
    ):
        x = tf.Variable(3.0)

        def body(x: tf.Variable = x, update: Callable[[tf.Variable], Any] = update) -> Any:
            update(x)
            return x.read_value()

        observations[f"x = Variable(3.0); x.{call}"] = f"{_outcome(run, body)} at once"

    x = tf.Variable(3.0)

    def types() -> Any:
        # Python strings: under tf.function they become string tensors, decoded by show().
        return [
            type(x).__name__,
            type(x * 1.0).__name__,
            str(isinstance(x, tf.Variable)),
            str(isinstance(x, tf.Tensor)),
            str(tf.is_tensor(x)),
        ]

    names = ("type(x)", "type(x * 1.0)")
    names += ("isinstance(x, tf.Variable)", "isinstance(x, tf.Tensor)", "tf.is_tensor(x)")
    observations.update(zip(names, (show(value) for value in run(types)), strict=True))
    return observations


def _ref_read_order(run: Run) -> Observations:
    v = tf.Variable(1.9)

    def body() -> Any:
        with tf.GradientTape() as tape:
            loss = v * v
        v.assign(v - 0.1 * tape.gradient(loss, v))
        return loss

    return {"tf.Variable: loss, then update": _outcome(run, body)}


def _loss_scaling(run: Run) -> Observations:
    # Real replicas: a MirroredStrategy over two logical CPUs, each fed its own shard.
    from eagermode.distributed import mirrored_strategy

    strategy = mirrored_strategy(2)
    sum_ = tf.distribute.ReduceOp.SUM

    def replicated(shards: tuple[tuple[float, ...], ...], loss: Callable[[tf.Tensor], Any]) -> Any:
        def body() -> Any:
            values = strategy.experimental_distribute_values_from_function(
                lambda context: tf.constant(shards[context.replica_id_in_sync_group])
            )
            return strategy.reduce(sum_, strategy.run(loss, args=(values,)), axis=None)

        return body

    def keras_mean(losses: tf.Tensor) -> tf.Tensor:
        # Per-example |y - 0| = the loss itself; Keras's Loss.__call__ takes the mean and, under
        # a strategy, multiplies by 1/replicas (keras/src/losses/loss.py).
        targets = tf.reshape(losses, (-1, 1))
        return keras.losses.MeanAbsoluteError()(targets, tf.zeros_like(targets))

    whole = tuple(value for shard in LOSS_SCALING_UNEVEN for value in shard)
    rows = len(whole)
    return {
        "one device: mean of the whole batch": _outcome(
            run, lambda: tf.reduce_mean(tf.constant(whole))
        ),
        "compute_average_loss, global_batch_size=3 (the batch's rows)": _outcome(
            run,
            replicated(
                LOSS_SCALING_UNEVEN, lambda x: tf.nn.compute_average_loss(x, global_batch_size=rows)
            ),
        ),
        "compute_average_loss, default global batch (shard rows x replicas)": _outcome(
            run, replicated(LOSS_SCALING_UNEVEN, tf.nn.compute_average_loss)
        ),
        "Keras 3 loss: per-replica mean x 1/replicas": _outcome(
            run, replicated(LOSS_SCALING_UNEVEN, keras_mean)
        ),
        "per-replica mean, unscaled (scaling forgotten)": _outcome(
            run, replicated(LOSS_SCALING_UNEVEN, tf.reduce_mean)
        ),
        "even batch: compute_average_loss, default global batch": _outcome(
            run, replicated(LOSS_SCALING_EVEN, tf.nn.compute_average_loss)
        ),
        "even batch: per-replica mean, unscaled (loss x replicas)": _outcome(
            run, replicated(LOSS_SCALING_EVEN, tf.reduce_mean)
        ),
    }


OBSERVERS: dict[str, Callable[[Run], Observations]] = {
    "one-shot-tape": _one_shot_tape,
    "watched": _watched,
    "unconnected": _unconnected,
    "stop-gradient": _stop_gradient,
    "jacobian": _jacobian,
    "variables": _variables,
    "ref-read-order": _ref_read_order,
    "loss-scaling": _loss_scaling,
}


def observe(name: str, *, run: Run = eagerly) -> Observations:
    """What each case of difference `name` does in eager style, one line per case."""
    get_difference(name)
    return OBSERVERS[name](run)
