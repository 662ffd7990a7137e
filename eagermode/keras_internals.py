"""Every use of Keras's private optimizer internals, in one place, behind a version check.

The TF1-compatible optimizers (`eagermode.tf1_compatible`) and the slot read-out need what Keras 3
does not publish: where an optimizer keeps each variable's slots (`_momentums`, `_velocities`,
`_accumulators`, and SGD's `momentums`), the index it files a variable under
(`_get_variable_index`), how a slot list is created (`add_optimizer_variables`) and the hook that
runs once per `apply_gradients` after every variable's update (`_backend_update_step`). These are
read from keras/src/optimizers/{base_optimizer,sgd,adam,rmsprop,adagrad}.py of the supported
releases. A Keras outside `SUPPORTED_KERAS` may have moved any of them and would fail silently or
compute something else, so importing this module with one is refused in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import tensorflow as tf

from tfmigration.catalog.errors import UserError

# The releases the test suite has passed on; pyproject.toml declares the same range.
SUPPORTED_KERAS = ((3, 15), (3, 16))  # at least 3.15, below 3.16
SUPPORTED_RANGE = ">=3.15,<3.16"


class UnsupportedKeras(UserError, ImportError):
    """The installed Keras is outside the range whose internals this package was checked on."""


def _release(version: str) -> tuple[int, int]:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


def check_supported(version: str) -> None:
    """Refuse a Keras release outside `SUPPORTED_KERAS`, naming the range and the fix."""
    low, high = SUPPORTED_KERAS
    if not low <= _release(version) < high:
        raise UnsupportedKeras(
            f"Keras {version} is installed; tf-migration-bridge's eager optimizers support "
            f"Keras {SUPPORTED_RANGE}: pip install 'keras{SUPPORTED_RANGE}'"
        )


check_supported(keras.version())


def variable_index(optimizer: keras.optimizers.Optimizer, variable: tf.Variable) -> int:
    """Where `optimizer` files `variable` in its per-variable slot lists."""
    return optimizer._get_variable_index(variable)


def add_slots(
    optimizer: keras.optimizers.Optimizer,
    variables: Sequence[tf.Variable],
    name: str,
    initializer: str = "zeros",
) -> list[tf.Variable]:
    """One slot variable per model variable, as Keras's own optimizers create theirs."""
    return optimizer.add_optimizer_variables(variables, name, initializer=initializer)


# Where each Keras optimizer keeps a slot, by our slot names (`tfmigration.catalog.optimizers`
# SLOT_NAMES). Keras 3's own attribute names (keras/src/optimizers/{sgd,adam,rmsprop,adagrad}.py).
SLOT_ATTRIBUTES = {
    ("momentum", "momentum"): "momentums",
    ("adam", "m"): "_momentums",
    ("adam", "v"): "_velocities",
    ("rmsprop", "ms"): "_velocities",
    ("rmsprop", "momentum"): "_momentums",
    ("adagrad", "accumulator"): "_accumulators",
    ("rmsprop", "centered"): "_average_gradients",  # centered RMSprop only; TF1 mode keeps none
}


def slot_list(
    optimizer: keras.optimizers.Optimizer, optimizer_name: str, slot: str
) -> list[tf.Variable]:
    """Every variable's slot `slot`, in Keras's variable order (empty where Keras keeps none)."""
    return getattr(optimizer, SLOT_ATTRIBUTES[(optimizer_name, slot)], None) or []


def set_slot_list(
    optimizer: keras.optimizers.Optimizer,
    optimizer_name: str,
    slot: str,
    slots: list[tf.Variable],
) -> None:
    """Install `slots` where Keras's own `update_step` of that optimizer looks for them."""
    setattr(optimizer, SLOT_ATTRIBUTES[(optimizer_name, slot)], slots)


def slot_for(
    optimizer: keras.optimizers.Optimizer, optimizer_name: str, slot: str, variable: tf.Variable
) -> tf.Variable | None:
    """The slot variable `slot` of `variable`, or None where Keras keeps no such slot."""
    slots = slot_list(optimizer, optimizer_name, slot)
    return slots[variable_index(optimizer, variable)] if slots else None


def built_variables(optimizer: keras.optimizers.Optimizer) -> list[tf.Variable]:
    """The model variables `optimizer` was built for (what `apply` updates when not told)."""
    return list(optimizer._trainable_variables)


def has_schedule(optimizer: keras.optimizers.Optimizer) -> bool:
    """Whether the learning rate is a schedule (then `learning_rate` reads its current value)."""
    return isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)


class AfterEveryUpdate:
    """Mix into a Keras optimizer to run `after_update()` once per `apply_gradients`, after every
    variable's update (where TF1's optimizers run `_finish`)."""

    after_update: Callable[[], None]

    def _backend_update_step(
        self, grads: Any, trainable_variables: Any, learning_rate: Any
    ) -> None:
        super()._backend_update_step(grads, trainable_variables, learning_rate)  # type: ignore[misc]
        self.after_update()
