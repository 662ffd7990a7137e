"""Where a decaying learning rate lives in TF1 and in TF2, and how a TF2 one gets frozen.

In TF1 `tf.compat.v1.train.exponential_decay(lr, global_step, ...)` is a graph node: every
`Session.run` recomputes it from the current `global_step`. In TF2 the same expression evaluated
once is a tensor holding one number; incrementing the step afterwards changes nothing. The TF2
way is a `keras.optimizers.schedules.LearningRateSchedule`, which the optimizer calls with its
own step counter on every update. (`tf.compat.v1.train.exponential_decay` itself, under eager
execution, returns a zero-argument function for exactly this reason; calling it once and keeping
the result freezes the rate.)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf


@dataclass(frozen=True)
class LearningRatesSeen:
    """The learning rate each of `steps` steps used, three ways."""

    graph_global_step: list[float]
    tf2_tensor_computed_once: list[float]
    keras_schedule: list[float]


def learning_rates_seen(
    steps: int, *, initial: float = 0.1, decay_rate: float = 0.5, decay_steps: int = 1
) -> LearningRatesSeen:
    """Run `steps` steps of each formulation and record the learning rate every step used."""
    graph = tf.Graph()
    with graph.as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        learning_rate = tf.compat.v1.train.exponential_decay(
            initial, global_step, decay_steps, decay_rate
        )
        advance = global_step.assign_add(1)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            graph_rates = []
            for _ in range(steps):
                graph_rates.append(float(session.run(learning_rate)))
                session.run(advance)

    # The TF1 line run eagerly gives a function; calling it once is the migration mistake.
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    frozen = tf.compat.v1.train.exponential_decay(initial, step, decay_steps, decay_rate)()
    frozen_rates = []
    for _ in range(steps):
        frozen_rates.append(float(frozen))
        step.assign_add(1)

    schedule = keras.optimizers.schedules.ExponentialDecay(initial, decay_steps, decay_rate)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = tf.Variable(0.0)
    optimizer.build([variable])
    keras_rates = []
    for _ in range(steps):
        keras_rates.append(float(optimizer.learning_rate))
        optimizer.apply_gradients([(tf.zeros_like(variable), variable)])
    return LearningRatesSeen(graph_rates, frozen_rates, keras_rates)
