"""The autodiff differences, observed the TF1 way: tf.gradients in a graph, run in a Session.

Each case builds a graph of its own and runs it in a Session. Cases about tapes do not exist
here and are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from graphmode.engine import session_config
from graphmode.grad import evaluate
from tfmigration.catalog.differences import (
    LOSS_SCALING_EVEN,
    LOSS_SCALING_UNEVEN,
    Observations,
    get_difference,
    show,
)


def _one_shot_tape() -> Observations:
    def gradients(count: int) -> Callable[[], Any]:
        def build() -> Any:
            x = tf.Variable(3.0)
            y = tf.square(x)
            return [tf.gradients(y, x)[0] for _ in range(count)][-1]

        return build

    return {
        "first gradient": show(evaluate(gradients(1))),
        "second gradient": show(evaluate(gradients(2))),
    }


def _watched() -> Observations:
    def gradient(make_x: Callable[[], Any]) -> str:
        def build() -> Any:
            x = make_x()
            return tf.gradients(tf.square(x), x)[0]

        return show(evaluate(build))

    return {
        "x = Variable(3.0)": gradient(lambda: tf.Variable(3.0)),
        "x = Variable(3.0, trainable=False)": gradient(lambda: tf.Variable(3.0, trainable=False)),
        "x = constant(3.0)": gradient(lambda: tf.constant(3.0)),
    }


def _unconnected() -> Observations:
    def gradient(source: str, unconnected: str) -> str:
        def build() -> Any:
            sources = {"a": tf.Variable(3.0), "b": tf.Variable(4.0)}
            y = tf.square(sources["a"])
            return tf.gradients(y, sources[source], unconnected_gradients=unconnected)[0]

        return show(evaluate(build))

    return {
        "dy/da": gradient("a", "none"),
        "dy/db": gradient("b", "none"),
        "dy/db, unconnected_gradients=ZERO": gradient("b", "zero"),
    }


def _stop_gradient() -> Observations:
    def value_and_gradient(function: Callable[[tf.Variable], tf.Tensor]) -> str:
        def build() -> Any:
            x = tf.Variable(3.0)
            y = function(x)
            return [y, tf.gradients(y, x)[0]]

        return show(evaluate(build))

    return {
        "y = x * x: y, dy/dx": value_and_gradient(lambda x: x * x),
        "y = x * stop_gradient(x): y, dy/dx": value_and_gradient(lambda x: x * tf.stop_gradient(x)),
        "y = stop_gradient(x * x): y, dy/dx": value_and_gradient(lambda x: tf.stop_gradient(x * x)),
    }


def _jacobian() -> Observations:
    def vector() -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.constant([1.0, 2.0])
        return x, tf.stack([x[0] * x[1], x[0] + x[1]])

    def gradient() -> Any:
        x, y = vector()
        return tf.gradients(y, x)[0]

    def jacobian() -> Any:
        # No tf.jacobian in TF1: one tf.gradients per element of y, one row each.
        x, y = vector()
        return tf.stack([tf.gradients(y[row], x)[0] for row in range(2)])

    return {
        "gradient of y": show(evaluate(gradient)),
        "Jacobian dy/dx": show(evaluate(jacobian)),
    }


def _variables() -> Observations:
    graph = tf.Graph()
    with graph.as_default():
        observations = {
            "Variable(1).dtype": tf.Variable(1).dtype.name,
            "Variable(1.0).dtype": tf.Variable(1.0).dtype.name,
            "Variable(np.array([1.0])).dtype": tf.Variable(np.array([1.0])).dtype.name,
            "Variable(1.0).trainable": show(tf.Variable(1.0).trainable),
            "Variable(1.0, trainable=False).trainable": show(
                tf.Variable(1.0, trainable=False).trainable
            ),
        }
        updates = {}
        for call, update in (
            ("assign(5.0)", lambda x: x.assign(5.0)),
            ("assign_add(1.0)", lambda x: x.assign_add(1.0)),
            ("assign_sub(1.0)", lambda x: x.assign_sub(1.0)),
        ):
            x = tf.Variable(3.0)
            updates[call] = (x, update(x))
        x = tf.Variable(3.0)
        observations.update(
            {
                "type(x)": type(x).__name__,
                "type(x * 1.0)": type(x * 1.0).__name__,
                "isinstance(x, tf.Variable)": show(isinstance(x, tf.Variable)),
                "isinstance(x, tf.Tensor)": show(isinstance(x, tf.Tensor)),
                "tf.is_tensor(x)": show(tf.is_tensor(x)),
            }
        )
        initializer = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph, config=session_config(strict=False)) as session:
        session.run(initializer)
        for call, (x, update) in updates.items():
            # Building x.assign(...) changed nothing; the op acts only when a run fetches it.
            before = show(session.run(x))
            session.run(update)
            after = show(session.run(x))
            key = f"x = Variable(3.0); x.{call}"
            observations[key] = f"{before} until Session.run(op), then {after}"
    cases = get_difference("variables").cases
    return {case: observations[case] for case in cases}


def _ref_read_order() -> Observations:
    def fetched_loss(*, resource: bool, ordered: bool) -> float:
        graph = tf.Graph()
        with graph.as_default():
            v = tf.compat.v1.Variable(1.9, use_resource=resource)
            loss = v * v
            gradient = tf.gradients(loss, v)[0]
            with tf.control_dependencies([loss] if ordered else []):
                update = v.assign(v - 0.1 * gradient)
            initializer = tf.compat.v1.global_variables_initializer()
        # Grappler off: with it on, the same RefVariable graph reads before the update in most
        # runs but not all (measured: 18 of 20), a race too erratic to show reliably.
        with tf.compat.v1.Session(graph=graph, config=session_config(strict=True)) as session:
            session.run(initializer)
            return session.run([loss, update])[0]

    def seen(**kind: bool) -> str:
        # Several runs, because a race may not show every time; each distinct value is listed.
        values = sorted({show(fetched_loss(**kind)) for _ in range(_RACE_RUNS)})
        return " or ".join(values) + (" (varies run to run)" if len(values) > 1 else "")

    return {
        "RefVariable (use_resource=False, TF1's default)": seen(resource=False, ordered=False),
        "RefVariable, update under control_dependencies([loss])": seen(
            resource=False, ordered=True
        ),
        "ResourceVariable (use_resource=True, TF2's)": seen(resource=True, ordered=False),
    }


_RACE_RUNS = 5


def _loss_scaling() -> Observations:
    # TF1 between-graph replication: each worker's loss is the mean of its own batch, and
    # SyncReplicasOptimizer's accumulators average the workers' gradients. Shown here as that
    # arithmetic on explicit shards in one graph; no servers are needed to see the number.
    def each_mean(shards: tuple[tuple[float, ...], ...]) -> list[tf.Tensor]:
        return [tf.reduce_mean(tf.constant(shard)) for shard in shards]

    graph = tf.Graph()
    with graph.as_default():
        whole = tuple(value for shard in LOSS_SCALING_UNEVEN for value in shard)
        means = each_mean(LOSS_SCALING_UNEVEN)
        fetches = {
            "one device: mean of the whole batch": tf.reduce_mean(tf.constant(whole)),
            "TF1 workers: each its own mean, averaged (SyncReplicasOptimizer)": (
                tf.add_n(means) / len(means)
            ),
            "per-replica mean, unscaled (scaling forgotten)": tf.add_n(means),
            "even batch: per-replica mean, unscaled (loss x replicas)": tf.add_n(
                each_mean(LOSS_SCALING_EVEN)
            ),
        }
    with tf.compat.v1.Session(graph=graph, config=session_config(strict=False)) as session:
        values = session.run(fetches)
    return {
        case: show(values[case]) for case in get_difference("loss-scaling").cases if case in values
    }


OBSERVERS: dict[str, Callable[[], Observations]] = {
    "one-shot-tape": _one_shot_tape,
    "watched": _watched,
    "unconnected": _unconnected,
    "stop-gradient": _stop_gradient,
    "jacobian": _jacobian,
    "variables": _variables,
    "ref-read-order": _ref_read_order,
    "loss-scaling": _loss_scaling,
}


def observe(name: str) -> Observations:
    """What each case of difference `name` does in graph style, one line per case."""
    get_difference(name)
    return OBSERVERS[name]()
