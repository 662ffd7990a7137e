"""Every optimizer's update by its equations, in NumPy float64: the reference for every style.

Written optax-style: per optimizer a pair of pure functions, `init(params) -> state` and
`update(grads, state, params, step) -> (new_params, new_state)`, with the state a NamedTuple you
can read. They follow TF1's kernels (tensorflow/core/kernels/training_ops.cc) by default, and
Keras 3's `update_step`s (keras/src/optimizers/*.py) for `formulation="keras"`; the two differ
only where noted. Slots are reported as {"w/m": ..., ...}, momentum slots in TF1's convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from tfmigration.catalog.optimizers import OptimizerSpec

Params = dict[str, np.ndarray]


class NoState(NamedTuple):
    pass


class MomentumState(NamedTuple):
    momentum: Params


class AdamState(NamedTuple):
    m: Params
    v: Params


class RMSPropState(NamedTuple):
    ms: Params
    momentum: Params


class AdagradState(NamedTuple):
    accumulator: Params


@dataclass(frozen=True)
class Optimizer:
    init: Callable[[Params], Any]
    update: Callable[[Params, Any, Params, int], tuple[Params, Any]]
    # state, step count so far -> {"w/m": ...}: slots named as every style reports them.
    slots: Callable[[Any, int], dict[str, np.ndarray]]


def _zeros(params: Params) -> Params:
    return {name: np.zeros_like(value, dtype=np.float64) for name, value in params.items()}


def _full(params: Params, value: float) -> Params:
    return {name: np.full_like(value_, value, dtype=np.float64) for name, value_ in params.items()}


def _named_slots(state: Any) -> dict[str, np.ndarray]:
    return {
        f"{param}/{slot}": value.copy()
        for slot, per_param in state._asdict().items()
        for param, value in per_param.items()
    }


def gradient_descent(spec: OptimizerSpec) -> Optimizer:
    def update(grads: Params, state: NoState, params: Params, step: int) -> tuple[Params, NoState]:
        lr = spec.learning_rate_at(step)
        return {k: params[k] - lr * grads[k] for k in params}, state

    return Optimizer(lambda params: NoState(), update, lambda state, steps: {})


def momentum(spec: OptimizerSpec) -> Optimizer:
    mu = spec.momentum

    def update_tf1(
        grads: Params, state: MomentumState, params: Params, step: int
    ) -> tuple[Params, MomentumState]:
        # accum = mu*accum + g;  var -= lr*accum   (Nesterov: var -= lr*g + lr*mu*accum)
        lr = spec.learning_rate_at(step)
        accum = {k: mu * state.momentum[k] + grads[k] for k in params}
        if spec.nesterov:
            new = {k: params[k] - (lr * grads[k] + lr * mu * accum[k]) for k in params}
        else:
            new = {k: params[k] - lr * accum[k] for k in params}
        return new, MomentumState(accum)

    def update_keras(
        grads: Params, state: MomentumState, params: Params, step: int
    ) -> tuple[Params, MomentumState]:
        # v = mu*v - lr*g;  var += v   (Nesterov: var += mu*v - lr*g). The slot holds lr-scaled
        # gradients, so this equals TF1's update only while lr stays constant.
        lr = spec.learning_rate_at(step)
        velocity = {k: mu * state.momentum[k] - lr * grads[k] for k in params}
        if spec.nesterov:
            new = {k: params[k] + (mu * velocity[k] - lr * grads[k]) for k in params}
        else:
            new = {k: params[k] + velocity[k] for k in params}
        return new, MomentumState(velocity)

    def slots(state: MomentumState, steps: int) -> dict[str, np.ndarray]:
        if spec.formulation == "tf1":
            return _named_slots(state)
        # Reported in TF1's convention (raw gradients), with the last step's lr.
        lr = spec.learning_rate_at(max(steps - 1, 0))
        return _named_slots(MomentumState({k: -v / lr for k, v in state.momentum.items()}))

    update = update_tf1 if spec.formulation == "tf1" else update_keras
    return Optimizer(lambda params: MomentumState(_zeros(params)), update, slots)


def adam(spec: OptimizerSpec) -> Optimizer:
    beta1, beta2, epsilon = spec.beta1, spec.beta2, spec.epsilon

    def update(
        grads: Params, state: AdamState, params: Params, step: int
    ) -> tuple[Params, AdamState]:
        # Both libraries: alpha = lr*sqrt(1 - beta2^t)/(1 - beta1^t);  m += (g - m)(1 - beta1);
        # v += (g^2 - v)(1 - beta2);  var -= alpha*m/(sqrt(v) + epsilon). Only epsilon's
        # default differs (TF1 1e-8, Keras 1e-7).
        t = step + 1
        alpha = spec.learning_rate_at(step) * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        m = {k: state.m[k] + (grads[k] - state.m[k]) * (1 - beta1) for k in params}
        v = {k: state.v[k] + (grads[k] ** 2 - state.v[k]) * (1 - beta2) for k in params}
        new = {k: params[k] - alpha * m[k] / (np.sqrt(v[k]) + epsilon) for k in params}
        return new, AdamState(m, v)

    return Optimizer(
        lambda params: AdamState(_zeros(params), _zeros(params)),
        update,
        lambda state, steps: _named_slots(state),
    )


def rmsprop(spec: OptimizerSpec) -> Optimizer:
    rho, mu, epsilon = spec.rho, spec.momentum, spec.epsilon
    # TF1 starts the mean square at ones (rmsprop.py: init_ops.ones_initializer); Keras at zeros.
    initial_ms = 1.0 if spec.formulation == "tf1" else 0.0

    def update(
        grads: Params, state: RMSPropState, params: Params, step: int
    ) -> tuple[Params, RMSPropState]:
        # ms += (g^2 - ms)(1 - rho);  mom = mu*mom + lr*g/sqrt(ms + epsilon);  var -= mom
        lr = spec.learning_rate_at(step)
        ms = {k: state.ms[k] + (grads[k] ** 2 - state.ms[k]) * (1 - rho) for k in params}
        mom = {k: mu * state.momentum[k] + lr * grads[k] / np.sqrt(ms[k] + epsilon) for k in params}
        return {k: params[k] - mom[k] for k in params}, RMSPropState(ms, mom)

    def slots(state: RMSPropState, steps: int) -> dict[str, np.ndarray]:
        named = _named_slots(state)
        if spec.formulation == "keras" and mu == 0:
            # Keras keeps no momentum slot when momentum is 0.
            named = {key: value for key, value in named.items() if not key.endswith("/momentum")}
        return named

    return Optimizer(
        lambda params: RMSPropState(_full(params, initial_ms), _zeros(params)), update, slots
    )


def adagrad(spec: OptimizerSpec) -> Optimizer:
    # TF1: var -= lr*g/sqrt(accum) (no epsilon); Keras: var -= lr*g/sqrt(accum + epsilon).
    epsilon = spec.epsilon if spec.formulation == "keras" else 0.0

    def update(
        grads: Params, state: AdagradState, params: Params, step: int
    ) -> tuple[Params, AdagradState]:
        lr = spec.learning_rate_at(step)
        accum = {k: state.accumulator[k] + grads[k] ** 2 for k in params}
        new = {k: params[k] - lr * grads[k] / np.sqrt(accum[k] + epsilon) for k in params}
        return new, AdagradState(accum)

    return Optimizer(
        lambda params: AdagradState(_full(params, spec.initial_accumulator)),
        update,
        lambda state, steps: _named_slots(state),
    )


_BUILDERS: dict[str, Callable[[OptimizerSpec], Optimizer]] = {
    "gd": gradient_descent,
    "sgd": gradient_descent,
    "momentum": momentum,
    "adam": adam,
    "rmsprop": rmsprop,
    "adagrad": adagrad,
}


def make(spec: OptimizerSpec) -> Optimizer:
    """The oracle optimizer for `spec`, in its formulation (TF1's or Keras's)."""
    return _BUILDERS[spec.name](spec)
