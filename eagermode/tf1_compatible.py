"""Keras optimizers for the eager and tf.function styles, made to compute TF1's update.

`keras_optimizer(spec)` builds the Keras optimizer an `OptimizerSpec` calls for. Only
`SGD` computes TF1's update bit for bit as it stands; for the others no Keras setting does, so
a small, clearly named subclass here does, each quoting the TF1 kernel it follows
(tensorflow/core/kernels/training_ops.cc) and the Keras source it departs from
(keras/src/optimizers/*.py, Keras 3, as installed):

- `TF1Momentum`: TF1 accumulates raw gradients and scales by the current lr at each step; Keras's
  SGD(momentum) accumulates lr-scaled gradients, which equals TF1 only while lr is constant, and
  then only to a few ULPs (each operation rounds differently).
- `TF1Adam`: same formula, but TF1 keeps beta^t in float32 variables multiplied every step, where
  Keras computes the power afresh.
- `TF1RMSprop`: TF1 starts the mean square at ones and updates it as ms += (g^2 - ms)(1 - rho);
  Keras starts it at zeros, has no momentum slot when momentum is 0, and writes
  v = rho*v + (1 - rho)*g^2.
- `TF1Adagrad`: TF1's kernel has no epsilon and multiplies by rsqrt(accum); Keras adds
  epsilon inside the root and divides.

Under --defaults each the stock classes run instead, with Keras's defaults: what a user gets by
renaming the TF1 class.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

from eagermode import keras_internals as internals
from tfmigration.catalog.optimizers import SLOTS, OptimizerSpec


class TF1RMSprop(keras.optimizers.RMSprop):
    """RMSprop computing `tf.compat.v1.train.RMSPropOptimizer`'s update, slot starting at ones.

    TF1, tensorflow/python/training/rmsprop.py `_create_slots`:
        init_rms = init_ops.ones_initializer(dtype=v.dtype.base_dtype)
        ...; self._zeros_slot(v, "momentum", self._name)
    TF1 kernel, training_ops.cc `ApplyRMSProp`:
        ms.device(d) += (grad.square() - ms) * (static_cast<T>(1) - rho());
        mom.device(d) = mom * momentum() + (grad * lr()) / ((ms + epsilon()).sqrt());
        var.device(d) -= mom;
    """

    def build(self, var_list: list[tf.Variable]) -> None:
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, var_list)
        mean_squares = internals.add_slots(self, var_list, "velocity", initializer="ones")
        internals.set_slot_list(self, "rmsprop", "ms", mean_squares)
        momentums = internals.add_slots(self, var_list, "momentum")
        internals.set_slot_list(self, "rmsprop", "momentum", momentums)
        internals.set_slot_list(self, "rmsprop", "centered", [])

    def update_step(
        self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor
    ) -> None:
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        gradient = tf.cast(gradient, dtype)
        ms = internals.slot_for(self, "rmsprop", "ms", variable)
        mom = internals.slot_for(self, "rmsprop", "momentum", variable)
        # 1 - rho in the variable's dtype, as the kernel computes it from a float32 rho.
        rho, one = tf.constant(self.rho, dtype), tf.constant(1, dtype)
        self.assign_add(ms, (tf.square(gradient) - ms) * (one - rho))
        self.assign(
            mom,
            mom * tf.constant(self.momentum, dtype)
            + (gradient * lr) / tf.sqrt(ms + tf.constant(self.epsilon, dtype)),
        )
        self.assign_sub(variable, mom)


class TF1Adagrad(keras.optimizers.Adagrad):
    """Adagrad computing `tf.compat.v1.train.AdagradOptimizer`'s update: no epsilon.

    TF1 kernel, training_ops.cc `ApplyAdagrad` (update_slots true):
        accum.device(d) += grad.square();
        var.device(d) -= grad * lr() * accum.rsqrt();
    Keras, keras/src/optimizers/adagrad.py `update_step`:
        variable -= (lr * gradient) / sqrt(accumulator + epsilon)
    """

    def __init__(self, learning_rate: object, initial_accumulator_value: float) -> None:
        super().__init__(
            learning_rate=learning_rate,
            initial_accumulator_value=initial_accumulator_value,
            epsilon=0.0,
        )

    def build(self, var_list: list[tf.Variable]) -> None:
        if self.built:
            return
        super().build(var_list)
        # Keras's Constant initializer goes through float32 (a float64 model's slot starts at
        # float64(float32(0.1))); TF1's constant_initializer(value, dtype=dtype) does not.
        for accum in internals.slot_list(self, "adagrad", "accumulator"):
            accum.assign(
                tf.fill(accum.shape, tf.constant(self.initial_accumulator_value, accum.dtype))
            )

    def update_step(
        self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor
    ) -> None:
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        gradient = tf.cast(gradient, dtype)
        accum = internals.slot_for(self, "adagrad", "accumulator", variable)
        self.assign_add(accum, tf.square(gradient))
        self.assign_sub(variable, gradient * lr * tf.math.rsqrt(accum))


class TF1Adam(internals.AfterEveryUpdate, keras.optimizers.Adam):
    """Adam computing `tf.compat.v1.train.AdamOptimizer`'s update, bit for bit.

    The formula is Keras's too; what differs is β^t. TF1 keeps it in non-slot variables that
    start at β and are multiplied by β after every step (tensorflow/python/training/adam.py
    `_create_slots` and `_finish`: `beta1_power.assign(beta1_power * self._beta1_t)`), whereas
    Keras computes `ops.power(beta_1, iterations + 1)` afresh (keras/src/optimizers/adam.py):
    a few ULPs apart in float32. TF1 kernel, training_ops.cc `ApplyAdamNonCuda`:
        const T alpha = lr() * Eigen::numext::sqrt(T(1) - beta2_power()) / (T(1) - beta1_power());
        m += (g - m) * (T(1) - beta1());
        v += (g.square() - v) * (T(1) - beta2());
        var -= (m * alpha) / (v.sqrt() + epsilon());
    """

    def build(self, var_list: list[tf.Variable]) -> None:
        if self.built:
            return
        super().build(var_list)
        # float32 whatever the model's dtype: TF1 creates them from the Python floats
        # (adam.py `_create_non_slot_variable(initial_value=self._beta1, ...)`) and casts them
        # to the variable's dtype only when applying.
        self._beta1_power = self.add_variable((), initializer="ones", dtype="float32", name="b1p")
        self._beta2_power = self.add_variable((), initializer="ones", dtype="float32", name="b2p")
        self._beta1_power.assign(self.beta_1)
        self._beta2_power.assign(self.beta_2)

    @property
    def beta_power_variables(self) -> tuple[tf.Variable, tf.Variable]:
        """TF1's `beta1_power` and `beta2_power`: what a checkpoint must keep of this optimizer
        beyond its slots and `iterations`."""
        return self._beta1_power, self._beta2_power

    def load_beta_powers(self, beta1_power: float, beta2_power: float) -> None:
        """Set beta^t as TF1's `beta1_power` and `beta2_power` variables hold it."""
        self._beta1_power.assign(beta1_power)
        self._beta2_power.assign(beta2_power)

    def update_step(
        self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor
    ) -> None:
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        gradient = tf.cast(gradient, dtype)
        one = tf.constant(1, dtype)
        beta1, beta2 = tf.constant(self.beta_1, dtype), tf.constant(self.beta_2, dtype)
        m = internals.slot_for(self, "adam", "m", variable)
        v = internals.slot_for(self, "adam", "v", variable)
        beta1_power = tf.cast(self._beta1_power, dtype)
        beta2_power = tf.cast(self._beta2_power, dtype)
        alpha = lr * tf.sqrt(one - beta2_power) / (one - beta1_power)
        self.assign_add(m, (gradient - m) * (one - beta1))
        self.assign_add(v, (tf.square(gradient) - v) * (one - beta2))
        self.assign_sub(variable, (m * alpha) / (tf.sqrt(v) + tf.constant(self.epsilon, dtype)))

    def after_update(self) -> None:
        # After every variable's update, in float32, as TF1's `_finish` does.
        self._beta1_power.assign(self._beta1_power * tf.constant(self.beta_1, tf.float32))
        self._beta2_power.assign(self._beta2_power * tf.constant(self.beta_2, tf.float32))


class TF1Momentum(keras.optimizers.SGD):
    """SGD with momentum computing `tf.compat.v1.train.MomentumOptimizer`'s update.

    TF1 kernel, training_ops.cc `ApplyMomentum`:
        accum.device(d) = accum * momentum() + grad;
        if (use_nesterov) var.device(d) -= grad * lr() + accum * momentum() * lr();
        else var.device(d) -= accum * lr();
    Keras, keras/src/optimizers/sgd.py: m = m * momentum - gradient * lr; variable += m.
    The slot holds raw gradients, so a changing lr scales the whole history, as in TF1.
    """

    raw_gradient_slot = True  # its slot is already in TF1's convention

    def update_step(
        self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor
    ) -> None:
        dtype = variable.dtype
        lr = tf.cast(learning_rate, dtype)
        gradient = tf.cast(gradient, dtype)
        momentum = tf.cast(self.momentum, dtype)
        accum = internals.slot_for(self, "momentum", "momentum", variable)
        self.assign(accum, accum * momentum + gradient)
        if self.nesterov:
            self.assign_sub(variable, gradient * lr + accum * momentum * lr)
        else:
            self.assign_sub(variable, accum * lr)


def _learning_rate(spec: OptimizerSpec) -> object:
    if spec.decay is not None:
        # From a Python float both compute in float32: ExponentialDecay in its initial rate's
        # dtype, TF1's exponential_decay in convert_to_tensor's; the optimizers cast the result.
        return keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=spec.learning_rate,
            decay_steps=spec.decay.steps,
            decay_rate=spec.decay.rate,
            staircase=spec.decay.staircase,
        )
    # A float lr stays a float: Keras keeps it in a floatx (float32) variable and casts it to
    # the variable's dtype, and so does TF1 (optimizer.py `_prepare` converts it to a float32
    # tensor, `_apply_dense` casts it), so a float64 model gets float64(float32(lr)) in both.
    return spec.learning_rate


def keras_optimizer(spec: OptimizerSpec) -> keras.optimizers.Optimizer | None:
    """The Keras optimizer `spec` calls for; None for gd (the hand-written assign update).

    `spec.formulation == "tf1"` (translated): one that computes TF1's update;
    `"keras"` (--defaults each): the stock class a user gets by renaming the TF1 one.
    """
    lr = _learning_rate(spec)
    translated = spec.formulation == "tf1"
    if translated:
        # TF1 turns every Python-float hyperparameter into a float32 tensor and casts it to the
        # variable's dtype (e.g. adam.py `_prepare`: ops.convert_to_tensor(beta1); then
        # math_ops.cast(self._beta1_t, var.dtype.base_dtype)); Keras casts the Python float
        # directly. Carrying float32-rounded values over makes float64 models see TF1's values.
        # Not Adagrad's initial accumulator: TF1 builds that slot with
        # constant_initializer(value, dtype=dtype), in the variable's own dtype.
        spec = replace(
            spec,
            **{
                key: float(np.float32(getattr(spec, key)))
                for key in ("momentum", "beta1", "beta2", "epsilon", "rho")
            },
        )
    if spec.name == "gd":
        return None
    if spec.name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr)
    if spec.name == "momentum":
        if translated:
            return TF1Momentum(learning_rate=lr, momentum=spec.momentum, nesterov=spec.nesterov)
        return keras.optimizers.SGD(
            learning_rate=lr, momentum=spec.momentum, nesterov=spec.nesterov
        )
    if spec.name == "adam":
        cls = TF1Adam if translated else keras.optimizers.Adam
        return cls(learning_rate=lr, beta_1=spec.beta1, beta_2=spec.beta2, epsilon=spec.epsilon)
    if spec.name == "rmsprop":
        cls = TF1RMSprop if translated else keras.optimizers.RMSprop
        return cls(learning_rate=lr, rho=spec.rho, momentum=spec.momentum, epsilon=spec.epsilon)
    if spec.name == "adagrad":
        if translated:
            return TF1Adagrad(lr, spec.initial_accumulator)
        return keras.optimizers.Adagrad(
            learning_rate=lr,
            initial_accumulator_value=spec.initial_accumulator,
            epsilon=spec.epsilon,
        )
    raise ValueError(f"unknown optimizer {spec.name!r}")


def keras_slots(
    optimizer: keras.optimizers.Optimizer | None,
    spec: OptimizerSpec,
    variables: dict[str, tf.Variable],
) -> dict[str, np.ndarray]:
    """The optimizer's slots keyed "param/slot", momentum slots in TF1's convention."""
    if optimizer is None:
        return {}
    slots = {}
    last_lr = spec.learning_rate_at(max(int(optimizer.iterations.numpy()) - 1, 0))
    for slot in SLOTS[spec.name]:
        for name, variable in variables.items():
            slot_variable = internals.slot_for(optimizer, spec.name, slot, variable)
            if slot_variable is None:
                break  # Keras's RMSprop keeps no momentum slot when momentum is 0
            value = slot_variable.numpy()
            if spec.name == "momentum" and not getattr(optimizer, "raw_gradient_slot", False):
                # Keras's slot is -lr times TF1's (constant lr): report it in TF1's convention.
                value = (-value.astype(np.float64) / last_lr).astype(value.dtype)
            slots[f"{name}/{slot}"] = value
    return slots
