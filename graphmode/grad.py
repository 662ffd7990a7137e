"""The autodiff demos the TF1 way: tf.gradients and tf.hessians in a graph, run in a Session.

Each demo builds a graph of its own (never `disable_eager_execution()`, which is process-wide).
No tape, no watching: tf.gradients differentiates any tensor with respect to any tensor, and can
be asked again and again, because the graph keeps every op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from graphmode.engine import session_config
from tfmigration.catalog.demos import get_demo

Fetches = dict[str, tf.Tensor]


def _square() -> Fetches:
    x = tf.Variable(3.0, name="x")
    y = tf.square(x)
    (dy_dx,) = tf.gradients(y, [x])
    return {"y": y, "dy/dx": dy_dx}


def _chain() -> Fetches:
    x = tf.constant(5.0, name="x")
    y = x * x
    z = y * y
    return {"dz/dx": tf.gradients(z, x)[0], "dy/dx": tf.gradients(y, x)[0]}


def _partials() -> Fetches:
    x = tf.Variable(3.0, name="x")
    y = tf.Variable(4.0, name="y")
    f = tf.square(x) + 2.0 * tf.square(y) + 1.0
    df_dx, df_dy = tf.gradients(f, [x, y])
    # tf.hessians(f, [x, y]) is gradients of gradients, but per source: it gives the blocks
    # d2f/dx2 and d2f/dy2 only, never the mixed ones.
    d2f_dx2, d2f_dy2 = tf.hessians(f, [x, y])
    # The full matrix: one row of gradients of each gradient. df/dx does not depend on y, so
    # the mixed entries are unconnected: None unless zeros are asked for.
    rows = [
        tf.stack(tf.gradients(gradient, [x, y], unconnected_gradients="zero"))
        for gradient in (df_dx, df_dy)
    ]
    return {
        "f": f,
        "df/dx": df_dx,
        "df/dy": df_dy,
        "d2f/dx2": d2f_dx2,
        "d2f/dy2": d2f_dy2,
        "hessian": tf.stack(rows),
    }


def _matrix() -> Fetches:
    x = tf.ones((5, 5), name="x")
    y = tf.reduce_sum(x)
    y = tf.reduce_sum(y + x)
    z = y * y
    return {"z": z, "dz/dx": tf.gradients(z, x)[0]}


GRAPHS: dict[str, Callable[[], Fetches]] = {
    "square": _square,
    "chain": _chain,
    "partials": _partials,
    "matrix": _matrix,
}


def evaluate(build: Callable[[], Any], *, strict: bool = False) -> Any:
    """Build a graph with `build`, initialise its Variables, fetch what it returned in one run.

    A gradient tf.gradients returned as None (an unconnected source) stays None: a Session
    cannot fetch None, so it is left out of the run and put back.
    """
    graph = tf.Graph()
    with graph.as_default():
        fetches = build()
        initializer = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph, config=session_config(strict=strict)) as session:
        session.run(initializer)
        flat = tf.nest.flatten(fetches)
        values = iter(session.run([item for item in flat if item is not None]))
        fetched = [None if item is None else next(values) for item in flat]
        return tf.nest.pack_sequence_as(fetches, fetched)


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    """Every quantity of demo `name` from one Session.run; `strict` turns Grappler off."""
    get_demo(name)
    return {key: np.asarray(value) for key, value in evaluate(GRAPHS[name], strict=strict).items()}
