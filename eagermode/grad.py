"""The autodiff demos the TF2 way: tf.GradientTape, eagerly.

Each demo is a pair: `inputs()` creates its Variables and constants, `compute(**inputs)` runs the
tapes. The split lets tf.function style (bridge.function.grad) wrap the very same `compute`:
Variables must be created outside a tf.function, so they are made once, here, and passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from tfmigration.catalog.demos import get_demo

Quantities = dict[str, tf.Tensor]


def _square_inputs() -> dict[str, Any]:
    return {"x": tf.Variable(3.0)}


def _square(x: tf.Variable) -> Quantities:
    with tf.GradientTape() as tape:
        y = tf.square(x)
    return {"y": y, "dy/dx": tape.gradient(y, x)}


def _chain_inputs() -> dict[str, Any]:
    return {"x": tf.constant(5.0)}


def _chain(x: tf.Tensor) -> Quantities:
    # Two gradients from one recording: without persistent=True the second call raises.
    with tf.GradientTape(persistent=True) as tape:
        # A constant is not a trainable Variable: the tape ignores it unless told to watch it.
        tape.watch(x)
        y = x * x
        z = y * y
    dz_dx = tape.gradient(z, x)
    dy_dx = tape.gradient(y, x)
    del tape  # a persistent tape holds its recording until it is released
    return {"dz/dx": dz_dx, "dy/dx": dy_dx}


def _partials_inputs() -> dict[str, Any]:
    return {"x": tf.Variable(3.0), "y": tf.Variable(4.0)}


def _partials(x: tf.Variable, y: tf.Variable) -> Quantities:
    # Second order by nesting: the outer tape records the inner tape's gradient computation.
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            f = tf.square(x) + 2.0 * tf.square(y) + 1.0
        df_dx, df_dy = inner.gradient(f, [x, y])
        gradient = tf.stack([df_dx, df_dy])
    d2f_dx2 = outer.gradient(df_dx, x)
    d2f_dy2 = outer.gradient(df_dy, y)
    # The Hessian is the Jacobian of the gradient. df/dx does not depend on y at all, so its
    # mixed derivative is "unconnected" and would be None without the request for zeros.
    columns = outer.jacobian(gradient, [x, y], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    del outer
    return {
        "f": f,
        "df/dx": df_dx,
        "df/dy": df_dy,
        "d2f/dx2": d2f_dx2,
        "d2f/dy2": d2f_dy2,
        "hessian": tf.stack(columns, axis=1),
    }


def _matrix_inputs() -> dict[str, Any]:
    return {"x": tf.ones((5, 5))}


def _matrix(x: tf.Tensor) -> Quantities:
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x)
        y = tf.reduce_sum(y + x)
        z = y * y
    return {"z": z, "dz/dx": tape.gradient(z, x)}


@dataclass(frozen=True)
class DemoProgram:
    inputs: Callable[[], dict[str, Any]]
    compute: Callable[..., Quantities]


PROGRAMS: dict[str, DemoProgram] = {
    "square": DemoProgram(_square_inputs, _square),
    "chain": DemoProgram(_chain_inputs, _chain),
    "partials": DemoProgram(_partials_inputs, _partials),
    "matrix": DemoProgram(_matrix_inputs, _matrix),
}


def to_numpy(quantities: Quantities) -> dict[str, np.ndarray]:
    return {name: np.asarray(value) for name, value in quantities.items()}


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    """Every quantity of demo `name`, computed eagerly. `strict` changes nothing in eager."""
    get_demo(name)
    program = PROGRAMS[name]
    return to_numpy(program.compute(**program.inputs()))
