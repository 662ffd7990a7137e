"""Sparse (embedding) updates: TF1's `_apply_sparse` against Keras 3 on an IndexedSlices gradient.

The model is one embedding table and a squared error on the looked-up rows. TF1 runs it in a
`tf.Graph` and a `tf.compat.v1.Session` (Grappler off) with `tf.nn.embedding_lookup` on a
`get_variable` table, so `tf.compat.v1.train.*Optimizer.apply_gradients` takes the sparse path
(tensorflow/python/training/optimizer.py:134, `_RefVariableProcessor.update_op` ->
`_apply_sparse_duplicate_indices`). The port runs eagerly: a `keras.layers.Embedding` holding
the same initial values, `tf.GradientTape`, and `keras.optimizers.*.apply`. Both gradients are
`tf.IndexedSlices` with one row per looked-up id, repeats included.

The batches repeat ids within a batch (row 2 at step 0, row 3 three times at step 1), leave some
rows out of a step after using them (rows 1, 5 at step 1, row 3 at step 2) and never look up
rows 0, 4 and 7. Hyperparameters are equal where both have them; Keras's epsilon is set to
TF1's (Adam 1e-8, RMSprop 1e-10, Adagrad none: 0), and Keras RMSprop's mean square starts at
ones as TF1's does, so what remains is how each applies a sparse gradient.

Two effects part them (sources as installed, TF 2.21 / Keras 3.15):

- Repeated ids. TF1 sums them first: `Optimizer._apply_sparse_duplicate_indices`
  (training/optimizer.py:1159-1193, `_deduplicate_indexed_slices` = `unique` +
  `unsorted_segment_sum`) before every `_apply_sparse`; only `GradientDescentOptimizer`
  overrides it (training/gradient_descent.py:72-77) and scatter-subtracts each repeat. Keras
  keeps the repeats: `ops.square` on IndexedSlices squares each slice
  (keras/src/backend/tensorflow/sparse.py:348 `elementwise_unary`), and adding that to a dense
  slot densifies (sparse.py:488, `tf.convert_to_tensor` sums the repeats), so a repeated row's
  second moment gets sum(g_i^2) where TF1's gets (sum g_i)^2.
- Rows left out of a step. TF1's sparse kernels touch only the rows in the gradient
  (gen_training_ops.py `sparse_apply_momentum`, `sparse_apply_rms_prop`: "ms and mom will not
  update in iterations during which the grad is zero"), except Adam, which decays `m` and `v`
  of every row and updates every row (training/adam.py:262-273, `m * beta1_t` then
  `scatter_add`; `assign_sub(var, lr * m_t / (sqrt(v_t) + eps))`). Keras's slot updates mix the
  IndexedSlices with a dense slot, which densifies, so every slot decays every step
  (keras/src/optimizers/adam.py:119-135, sgd.py:105-121, rmsprop.py:126-154); only updates of
  the form `assign_add/assign_sub(variable, slices)` stay sparse, as `scatter_add/scatter_sub`
  (keras/src/backend/tensorflow/optimizer.py:56-70): SGD, Adagrad, RMSprop without momentum.

Each side is also checked against a float64 NumPy model of its own semantics, so a difference
is shown to come from the effect named, not from rounding.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pytest
import tensorflow as tf

from eagermode import keras_internals as internals
from tfmigration.measure.ulp import ulp_distance

VOCABULARY, WIDTH = 8, 3
BATCHES = (np.array([1, 2, 2, 5]), np.array([2, 3, 3, 3]), np.array([1, 5, 6, 2]))
NEVER_LOOKED_UP = (0, 4, 7)
INITIAL = np.random.default_rng(0).normal(size=(VOCABULARY, WIDTH)).astype(np.float32)
TARGETS = tuple(
    np.random.default_rng(step + 1).normal(size=(len(ids), WIDTH)).astype(np.float32)
    for step, ids in enumerate(BATCHES)
)


def looked_up(steps: range) -> set[int]:
    return {int(row) for step in steps for row in BATCHES[step]}


# Which rows a step may change: only those in its gradient, or every row looked up so far (a
# dense update, whose slots still hold earlier gradients).
IN_THE_GRADIENT = tuple(looked_up(range(step, step + 1)) for step in range(len(BATCHES)))
LOOKED_UP_SO_FAR = tuple(looked_up(range(step + 1)) for step in range(len(BATCHES)))


@dataclass(frozen=True)
class Semantics:
    """How a side applies an IndexedSlices gradient, in the terms of the NumPy model."""

    squares_repeats_apart: bool  # a repeated row's g^2 is sum(g_i^2), not (sum g_i)^2
    slots_decay_every_row: bool  # the slots of rows left out of a step still decay


TF1_SPARSE = Semantics(squares_repeats_apart=False, slots_decay_every_row=False)
TF1_ADAM = Semantics(squares_repeats_apart=False, slots_decay_every_row=True)
KERAS = Semantics(squares_repeats_apart=True, slots_decay_every_row=True)


@dataclass(frozen=True)
class Case:
    tf1_optimizer: Callable[[], tf.compat.v1.train.Optimizer]
    keras_optimizer: Callable[[], keras.optimizers.Optimizer]
    tf1_semantics: Semantics
    tf1_moves: tuple[set[int], ...]  # rows each step changes in TF1
    keras_moves: tuple[set[int], ...]
    parting_rows: frozenset[int]  # rows the two sides' semantics put apart
    rounding_ulps: int  # the largest ULP distance of the final params on the other rows


CASES = {
    "sgd": Case(
        lambda: tf.compat.v1.train.GradientDescentOptimizer(0.1),
        lambda: keras.optimizers.SGD(0.1),
        TF1_SPARSE,
        IN_THE_GRADIENT,
        IN_THE_GRADIENT,
        parting_rows=frozenset(),
        rounding_ulps=0,
    ),
    "momentum": Case(
        lambda: tf.compat.v1.train.MomentumOptimizer(0.1, momentum=0.9),
        lambda: keras.optimizers.SGD(0.1, momentum=0.9),
        TF1_SPARSE,
        IN_THE_GRADIENT,
        LOOKED_UP_SO_FAR,
        parting_rows=frozenset({1, 3, 5}),  # left out of a step after being looked up
        rounding_ulps=2,
    ),
    "adam": Case(
        lambda: tf.compat.v1.train.AdamOptimizer(0.01),
        lambda: keras.optimizers.Adam(0.01, epsilon=1e-8),
        TF1_ADAM,
        LOOKED_UP_SO_FAR,
        LOOKED_UP_SO_FAR,
        parting_rows=frozenset({2, 3}),  # repeated within a batch
        rounding_ulps=5,
    ),
    "adagrad": Case(
        lambda: tf.compat.v1.train.AdagradOptimizer(0.1, initial_accumulator_value=0.1),
        lambda: keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=0.0),
        TF1_SPARSE,
        IN_THE_GRADIENT,
        IN_THE_GRADIENT,
        parting_rows=frozenset({2, 3}),
        rounding_ulps=1,
    ),
    "rmsprop": Case(
        lambda: tf.compat.v1.train.RMSPropOptimizer(0.01, decay=0.9, epsilon=1e-10),
        lambda: keras.optimizers.RMSprop(0.01, rho=0.9, epsilon=1e-10),
        TF1_SPARSE,
        IN_THE_GRADIENT,
        IN_THE_GRADIENT,
        # Repeated (2, 3), or whose mean square Keras decayed while TF1 did not (all of them).
        parting_rows=frozenset({1, 2, 3, 5, 6}),
        rounding_ulps=0,
    ),
}
IDS = list(CASES)


def session_config() -> tf.compat.v1.ConfigProto:
    config = tf.compat.v1.ConfigProto()
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def squared_error(rows: tf.Tensor, targets: np.ndarray) -> tf.Tensor:
    return 0.5 * tf.reduce_sum(tf.square(rows - targets))


def assert_sparse_with_repeats(gradient: object, indices: np.ndarray, ids: np.ndarray) -> None:
    """The gradient must be IndexedSlices with one slice per id, repeats kept: else this file
    would compare dense updates."""
    assert isinstance(gradient, tf.IndexedSlices), type(gradient)
    np.testing.assert_array_equal(indices, ids)


def tf1_trajectory(name: str, *, use_resource: bool = False) -> list[np.ndarray]:
    """The table before and after each TF1 step (RefVariable by default, as TF1 made them)."""
    graph = tf.Graph()
    with graph.as_default():
        table = tf.compat.v1.get_variable(
            "embedding", initializer=INITIAL, use_resource=use_resource
        )
        ids = tf.compat.v1.placeholder(tf.int32, [None])
        targets = tf.compat.v1.placeholder(tf.float32, [None, WIDTH])
        loss = squared_error(tf.nn.embedding_lookup(table, ids), targets)
        optimizer = CASES[name].tf1_optimizer()
        ((gradient, _),) = optimizer.compute_gradients(loss, [table])
        train = optimizer.apply_gradients([(gradient, table)])
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph, config=session_config()) as session:
        session.run(init)
        trajectory = [session.run(table)]
        for step_ids, step_targets in zip(BATCHES, TARGETS, strict=True):
            feeds = {ids: step_ids, targets: step_targets}
            assert_sparse_with_repeats(gradient, session.run(gradient.indices, feeds), step_ids)
            session.run(train, feeds)
            trajectory.append(session.run(table))
    return trajectory


def keras_trajectory(name: str) -> list[np.ndarray]:
    """The table before and after each Keras 3 step, eagerly, from TF1's initial values."""
    embedding = keras.layers.Embedding(VOCABULARY, WIDTH)
    embedding.build((None,))
    embedding.embeddings.assign(INITIAL)
    optimizer = CASES[name].keras_optimizer()
    optimizer.build(embedding.trainable_variables)
    if name == "rmsprop":
        # TF1's mean square starts at ones (training/rmsprop.py:188), Keras's at zeros.
        for mean_square in internals.slot_list(optimizer, "rmsprop", "ms"):
            mean_square.assign(tf.ones_like(mean_square))
    trajectory = [embedding.embeddings.numpy()]
    for step_ids, step_targets in zip(BATCHES, TARGETS, strict=True):
        with tf.GradientTape() as tape:
            loss = squared_error(embedding(step_ids), step_targets)
        (gradient,) = tape.gradient(loss, embedding.trainable_variables)
        assert_sparse_with_repeats(gradient, gradient.indices.numpy(), step_ids)
        optimizer.apply([gradient], embedding.trainable_variables)
        trajectory.append(embedding.embeddings.numpy())
    return trajectory


def numpy_final_table(name: str, semantics: Semantics) -> np.ndarray:
    """The table after every step, in float64, following `semantics`.

    sum_g is the repeats summed per row (what every side applies as the gradient itself);
    square is (sum_g)^2, or sum(g_i^2) where repeats are squared apart.
    """
    table = INITIAL.astype(np.float64)
    first = np.zeros_like(table)  # momentum accumulator, Adam's m
    second = np.full_like(table, 1.0 if name == "rmsprop" else 0.0)  # Adam's v, RMSProp's ms
    accumulator = np.full_like(table, 0.1)  # Adagrad
    for step, (ids, targets) in enumerate(zip(BATCHES, TARGETS, strict=True)):
        per_id = table[ids] - targets
        sum_g, sum_squares = np.zeros_like(table), np.zeros_like(table)
        np.add.at(sum_g, ids, per_id)
        np.add.at(sum_squares, ids, per_id**2)
        square = sum_squares if semantics.squares_repeats_apart else sum_g**2
        rows = np.arange(VOCABULARY) if semantics.slots_decay_every_row else np.unique(ids)
        if name == "sgd":
            table -= 0.1 * sum_g
        elif name == "momentum":
            # TF1 accumulates raw gradients, Keras lr-scaled ones: equal at a constant lr.
            first[rows] = 0.9 * first[rows] + sum_g[rows]
            table[rows] -= 0.1 * first[rows]
        elif name == "adam":
            t = step + 1
            alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            first[rows] = 0.9 * first[rows] + 0.1 * sum_g[rows]
            second[rows] = 0.999 * second[rows] + 0.001 * square[rows]
            table[rows] -= alpha * first[rows] / (np.sqrt(second[rows]) + 1e-8)
        elif name == "adagrad":
            # Untouched rows add zero and move by zero: laziness cannot show here.
            accumulator += square
            table -= 0.1 * sum_g / np.sqrt(accumulator)
        elif name == "rmsprop":
            second[rows] = 0.9 * second[rows] + 0.1 * square[rows]
            table -= 0.01 * sum_g / np.sqrt(second + 1e-10)
    return table


def moved_rows(trajectory: list[np.ndarray]) -> tuple[set[int], ...]:
    return tuple(
        {int(row) for row in np.flatnonzero((after != before).any(axis=1))}
        for before, after in itertools.pairwise(trajectory)
    )


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_sparse_update_tf1_against_keras(name: str) -> None:
    """Which rows each step moves on each side, and the ULP distance of the final tables row by
    row: 0 for SGD (both scatter-subtract every repeat, gradient_descent.py:72-77 and Keras
    sgd.py:123 -> optimizer.py:65-70); for the others a few ULPs of rounding on most rows and
    millions on the rows their semantics part (see the module docstring): Momentum the rows
    left out of a step (TF1 lazy, Keras decays the slot of every row and moves it, sgd.py:105-
    121), Adam and Adagrad the repeated rows (sum(g_i^2) against (sum g_i)^2: adam.py:122-126,
    adagrad.py:85), RMSprop both. Rows never looked up stay bit for bit on both sides."""
    case = CASES[name]
    tf1, port = tf1_trajectory(name), keras_trajectory(name)

    assert moved_rows(tf1) == case.tf1_moves
    assert moved_rows(port) == case.keras_moves
    never = list(NEVER_LOOKED_UP)
    for trajectory in (tf1, port):
        np.testing.assert_array_equal(trajectory[-1][never], INITIAL[never])

    ulps_per_row = ulp_distance(tf1[-1], port[-1]).max(axis=1)
    parting = sorted(case.parting_rows)
    agreeing = sorted(set(range(VOCABULARY)) - case.parting_rows)
    assert int(ulps_per_row[agreeing].max()) == case.rounding_ulps, ulps_per_row
    if parting:
        assert ulps_per_row[parting].min() > 1_000, ulps_per_row


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_each_side_follows_its_own_sparse_semantics(name: str) -> None:
    """TF1's final table is the float64 model with repeats summed before squaring and lazy
    slots (Adam: every row's slots decay), Keras's the model with repeats squared apart and
    every slot decaying; each is *not* the other's model where the semantics part."""
    case = CASES[name]
    tf1, port = tf1_trajectory(name)[-1], keras_trajectory(name)[-1]
    tf1_model = numpy_final_table(name, case.tf1_semantics)
    keras_model = numpy_final_table(name, KERAS)
    np.testing.assert_allclose(tf1, tf1_model, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(port, keras_model, rtol=1e-5, atol=1e-6)
    parting = sorted(case.parting_rows)
    if parting:
        assert np.abs(tf1_model[parting] - keras_model[parting]).max(axis=1).min() > 1e-5


@pytest.mark.parametrize("name", IDS, ids=IDS)
def test_tf1_ref_and_resource_variables_update_sparsely_alike(name: str) -> None:
    """`_apply_sparse` (RefVariable) and `_resource_apply_sparse` (resource variable) run the
    same kernels on the same deduplicated slices: bit for bit."""
    ref, resource = tf1_trajectory(name)[-1], tf1_trajectory(name, use_resource=True)[-1]
    np.testing.assert_array_equal(ulp_distance(ref, resource), 0)
