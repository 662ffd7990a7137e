"""The NumPy oracle's optimizers, one step by hand: the equations the styles are held to."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfmigration.catalog.optimizers import LearningRateDecay, OptimizerSpec
from tfmigration.oracle.optimizers import make

LR = 0.01
GRAD = 2.0
START = 1.0


def _one_step(spec: OptimizerSpec, steps: int = 1) -> tuple[float, dict[str, np.ndarray]]:
    optimizer = make(spec)
    params = {"w": np.array(START)}
    state = optimizer.init(params)
    for step in range(steps):
        params, state = optimizer.update({"w": np.array(GRAD)}, state, params, step)
    return float(params["w"]), optimizer.slots(state, steps)


def test_sgd_step() -> None:
    w, slots = _one_step(OptimizerSpec("sgd", LR))
    assert w == pytest.approx(START - LR * GRAD, rel=1e-15)
    assert slots == {}


def test_momentum_two_steps_tf1_and_keras_agree_while_lr_is_constant() -> None:
    tf1, tf1_slots = _one_step(OptimizerSpec("momentum", LR, momentum=0.9), steps=2)
    # accum: 2, then 0.9*2 + 2 = 3.8; w = 1 - 0.01*2 - 0.01*3.8
    assert tf1 == pytest.approx(START - LR * 2.0 - LR * 3.8, rel=1e-15)
    assert float(tf1_slots["w/momentum"]) == pytest.approx(3.8, rel=1e-15)
    keras, keras_slots = _one_step(
        OptimizerSpec("momentum", LR, momentum=0.9, formulation="keras"), steps=2
    )
    assert keras == pytest.approx(tf1, rel=1e-15)
    assert float(keras_slots["w/momentum"]) == pytest.approx(3.8, rel=1e-14)


def test_momentum_formulations_differ_once_lr_decays() -> None:
    decay = LearningRateDecay(rate=0.5, steps=1, staircase=True)
    tf1, _ = _one_step(OptimizerSpec("momentum", LR, momentum=0.9, decay=decay), steps=2)
    keras, _ = _one_step(
        OptimizerSpec("momentum", LR, momentum=0.9, decay=decay, formulation="keras"), steps=2
    )
    # TF1: second step -lr/2 * (0.9*2 + 2); Keras: -(0.9 * lr*2 + lr/2 * 2)
    assert tf1 == pytest.approx(START - LR * 2 - LR / 2 * 3.8, rel=1e-15)
    assert keras == pytest.approx(START - LR * 2 - (0.9 * LR * 2 + LR / 2 * 2), rel=1e-15)
    assert abs(tf1 - keras) > 1e-3


def test_adam_first_step_moves_by_about_lr() -> None:
    w, slots = _one_step(OptimizerSpec("adam", LR, beta1=0.9, beta2=0.999, epsilon=1e-8))
    m, v = 0.1 * GRAD, 0.001 * GRAD**2
    alpha = LR * math.sqrt(1 - 0.999) / (1 - 0.9)
    assert w == pytest.approx(START - alpha * m / (math.sqrt(v) + 1e-8), rel=1e-14)
    assert w == pytest.approx(START - LR, rel=1e-6)
    assert float(slots["w/m"]) == pytest.approx(m, rel=1e-15)
    assert float(slots["w/v"]) == pytest.approx(v, rel=1e-14)


def test_rmsprop_first_step_tf1_slot_at_ones_against_keras_at_zeros() -> None:
    """MIGRATION_FACTS: early steps differ greatly. TF1's ms = 1 + (g^2 - 1)(1 - rho);
    Keras's ms = (1 - rho) g^2, so Keras's first step is lr/sqrt(0.1), about 3.2 lr."""
    tf1, tf1_slots = _one_step(OptimizerSpec("rmsprop", LR, rho=0.9, epsilon=1e-10))
    ms = 1 + (GRAD**2 - 1) * 0.1
    assert tf1 == pytest.approx(START - LR * GRAD / math.sqrt(ms + 1e-10), rel=1e-15)
    assert float(tf1_slots["w/ms"]) == pytest.approx(1.3, rel=1e-15)
    keras, keras_slots = _one_step(
        OptimizerSpec("rmsprop", LR, rho=0.9, epsilon=1e-7, formulation="keras")
    )
    assert keras == pytest.approx(START - LR / math.sqrt(0.1), rel=1e-6)
    assert "w/momentum" not in keras_slots  # Keras keeps none when momentum is 0


def test_adagrad_first_step_tf1_has_no_epsilon() -> None:
    w, slots = _one_step(OptimizerSpec("adagrad", LR, initial_accumulator=0.1))
    assert w == pytest.approx(START - LR * GRAD / math.sqrt(0.1 + GRAD**2), rel=1e-15)
    assert float(slots["w/accumulator"]) == pytest.approx(4.1, rel=1e-15)
    keras, _ = _one_step(
        OptimizerSpec("adagrad", LR, initial_accumulator=0.1, epsilon=1.0, formulation="keras")
    )
    assert keras == pytest.approx(START - LR * GRAD / math.sqrt(4.1 + 1.0), rel=1e-15)
