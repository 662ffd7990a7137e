"""What every TF1 training step of ours is built from, written once for every TF1 engine.

The one-Session engine (`graphmode.engine.GraphEngine`), the split-batch reference
(`graphmode.distributed`) and between-graph replication (`graphmode.between_graph`, which wraps the
optimizer in `SyncReplicasOptimizer`) each build their own loss; around it they build the same
things: the `tf.compat.v1.train` optimizer an `OptimizerSpec` names, its learning rate decayed on
`global_step` where the spec asks, the update applied with the global step, and every slot read
by TF1's name from the catalog's one table (`SLOT_NAMES`). A user's program (`graphmode.migration`)
brings its own optimizer, whose slots are named by the same table here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import tensorflow as tf

from tfmigration.catalog.optimizers import SLOT_NAMES, OptimizerSpec


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


def learning_rate(
    spec: OptimizerSpec, rate: float, global_step: tf.Variable | None
) -> float | Callable[[], tf.Tensor]:
    """`rate`, or where `spec` decays it, a callable of TF1's `exponential_decay` on
    `global_step`: TF1 optimizers call it in `_prepare()`, so that every update (each fused
    step included) reads the global step afresh."""
    decay = spec.decay
    if decay is None:
        return rate

    def decayed() -> tf.Tensor:
        return tf.compat.v1.train.exponential_decay(
            rate, global_step, decay.steps, decay.rate, staircase=decay.staircase
        )

    return decayed


def build_optimizer(
    spec: OptimizerSpec,
    rate: float,
    global_step: tf.Variable | None,
    *,
    written_gd: bool = True,
) -> tf.compat.v1.train.Optimizer | None:
    """The TF1 optimizer of `spec` at `rate` (decayed on `global_step` where `spec` asks);
    None for "gd", the update TF1 scripts wrote by hand, unless `written_gd` is False (an
    optimizer wrapper, such as SyncReplicasOptimizer, needs an optimizer to wrap: then TF1's
    GradientDescentOptimizer, the same update)."""
    if spec.name == "gd":
        if written_gd:
            return None
        return tf.compat.v1.train.GradientDescentOptimizer(rate)
    return tf1_optimizer(spec, learning_rate(spec, rate, global_step))


def apply_gradients(
    optimizer: tf.compat.v1.train.Optimizer | None,
    pairs: Iterable[tuple[tf.Tensor, tf.Variable]],
    rate: float,
    global_step: tf.Variable | None,
) -> tf.Operation:
    """The update of each (gradient, variable) pair, counted in `global_step` if there is one:
    the optimizer's, or without one gd's `var - rate * grad` written out as TF1 scripts did."""
    if optimizer is not None:
        return optimizer.apply_gradients(list(pairs), global_step=global_step)
    updates = [variable.assign(variable - rate * gradient) for gradient, variable in pairs]
    if global_step is not None:
        updates.append(global_step.assign_add(1))
    return tf.group(*updates)


def minimize(
    optimizer: tf.compat.v1.train.Optimizer | None,
    loss: tf.Tensor,
    variables: list[tf.Variable],
    rate: float,
    global_step: tf.Variable | None,
) -> tf.Operation:
    """`loss` minimised over `variables` by one update: the optimizer's own `minimize` (its
    gradients, gated as TF1 gates them), or gd's update of `tf.gradients`."""
    if optimizer is not None:
        return optimizer.minimize(loss, var_list=variables, global_step=global_step)
    gradients = tf.gradients(loss, variables)
    return apply_gradients(None, zip(gradients, variables, strict=True), rate, global_step)


def slot_variables(
    optimizer: tf.compat.v1.train.Optimizer | None,
    optimizer_name: str | None,
    variables: Mapping[str, tf.Variable],
) -> dict[str, tf.Variable]:
    """Every slot `optimizer` (of our `optimizer_name`) keeps for `variables`, keyed by
    variable name and our slot name ("w/ms"), read by TF1's name (`SLOT_NAMES`: "rms")."""
    if optimizer is None:
        return {}
    slots = {}
    for slot in SLOT_NAMES:
        if slot.optimizer != optimizer_name:
            continue
        for name, variable in variables.items():
            value = optimizer.get_slot(variable, slot.tf1_name)
            if value is not None:
                slots[f"{name}/{slot.name}"] = value
    return slots
