"""The reference's own sensitivity to rounding: how far TF1 lands from itself when nudged.

A run that amplifies rounding cannot be held to a few ULPs: if nudging the reference by one ULP
moves its losses by 10^5 ULPs, another style's rounding (Grappler's rewrites, XLA's reduction
order) may do the same without any semantic difference. Two floors, one per kind of evidence,
each named for what it nudges:

- `StartNudgedFloor` (`tfbridge compare`): the reference style rerun once from its initial
  values nudged by one ULP (`nudge_one_ulp`), measured by `measure_noise_floor`. Every loss of
  the curve is kept, so the oracle's bound can be scaled step by step.
- `EveryStepNudgedFloor` (`tfbridge check`): the user's TF1 program rerun with every model
  variable nudged by one ULP at the start and after every update, as a faithful port's rounding
  differs at every step rather than once (measured by bridge/checking/reference.py
  `noise_floor`). One number per quantity.

Nothing here runs anything: it takes trajectories and parameter dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tfmigration.measure.ulp import max_ulp_distance, ulp_distance
from tfmigration.training.driver import Trajectory


def nudge_one_ulp(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every element of every parameter moved one ULP up (towards +inf), dtype kept.

    A zero element moves by one ULP of 1.0 instead: one ULP of zero is a subnormal, which
    TensorFlow's CPU kernels flush to zero (and the smallest normal vanishes in the first
    update), so a zero-initialised model would otherwise be measured as insensitive without being
    perturbed at all. 1.0 is the scale of the unit the features and targets are given in.
    """
    nudged = {}
    for name, value in params.items():
        value = np.asarray(value)
        eps = np.finfo(value.dtype).eps
        up = np.nextafter(value, np.asarray(np.inf, dtype=value.dtype))
        nudged[name] = np.where(value == 0, eps, up).astype(value.dtype)
    return nudged


def loss_curve(trajectory: Trajectory) -> np.ndarray:
    """Every step's loss followed by the final loss: the whole loss record of a run."""
    return np.append(trajectory.losses, trajectory.final_loss).astype(trajectory.losses.dtype)


def elementwise_relative_error(actual: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|actual - reference| / |reference| element by element, in float64.

    Where the reference element is exactly zero the distance is taken relative to the largest
    |reference| of the array instead (and is the absolute distance when all of it is zero), so
    a parameter that ends at 0.0 does not make every nonzero answer infinitely wrong.
    """
    actual = np.asarray(actual, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    distance = np.abs(actual - reference)
    if reference.size == 0:
        return distance
    scale = np.abs(reference)
    fallback = np.max(scale) or 1.0
    return distance / np.where(scale == 0, fallback, scale)


@dataclass(frozen=True)
class StartNudgedFloor:
    """How far the reference style lands from itself when rerun from its initial values nudged
    one ULP (`nudge_one_ulp`), nothing nudged after; `tfbridge compare`'s floor.

    `loss_ulps[i]` and `loss_relative[i]` are per entry of the loss curve (every step, then the
    final loss); `param_relative` per parameter element. The maxima are what a style's distance
    from the reference is held against; the per-step series are drawn in the plot and scale the
    oracle's bound step by step.
    """

    loss_ulps: np.ndarray
    loss_relative: np.ndarray
    param_ulps: int
    slot_ulps: int
    param_relative: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def max_loss_ulps(self) -> int:
        return int(self.loss_ulps.max()) if self.loss_ulps.size else 0

    @property
    def ulps(self) -> tuple[int, int, int]:
        """The floor a verdict holds (loss, variable, slot) distances against."""
        return self.max_loss_ulps, self.param_ulps, self.slot_ulps


def zero_noise_floor(reference: Trajectory) -> StartNudgedFloor:
    """The floor of a comparison that did not measure one: nothing is excused."""
    curve = loss_curve(reference)
    return StartNudgedFloor(
        loss_ulps=np.zeros(curve.shape, dtype=np.uint64),
        loss_relative=np.zeros(curve.shape),
        param_ulps=0,
        slot_ulps=0,
        param_relative={name: np.zeros(np.shape(v)) for name, v in reference.final_params.items()},
    )


def measure_noise_floor(reference: Trajectory, nudged: Trajectory) -> StartNudgedFloor:
    """How far `nudged` (the reference rerun from `nudge_one_ulp` of its start) lands from it."""
    curve, nudged_curve = loss_curve(reference), loss_curve(nudged)
    shared_slots = reference.final_slots.keys() & nudged.final_slots.keys()
    return StartNudgedFloor(
        loss_ulps=ulp_distance(nudged_curve, curve),
        loss_relative=elementwise_relative_error(nudged_curve, curve),
        param_ulps=max(
            (
                max_ulp_distance(nudged.final_params[name], value)
                for name, value in reference.final_params.items()
            ),
            default=0,
        ),
        slot_ulps=max(
            (
                max_ulp_distance(nudged.final_slots[key], reference.final_slots[key])
                for key in shared_slots
            ),
            default=0,
        ),
        param_relative={
            name: elementwise_relative_error(nudged.final_params[name], value)
            for name, value in reference.final_params.items()
        },
    )


@dataclass(frozen=True)
class EveryStepNudgedFloor:
    """How far TF1 moves from itself when every model variable is nudged one ULP at the start
    and again after every update; `tfbridge check`'s floor. The losses are compared at every
    step (their largest distance kept), the variables and slots at the end."""

    loss_ulps: int
    param_ulps: int
    slot_ulps: int
    loss_relative: float = 0.0
    param_relative: float = 0.0

    @property
    def ulps(self) -> tuple[int, int, int]:
        """The floor a verdict holds (loss, variable, slot) distances against."""
        return self.loss_ulps, self.param_ulps, self.slot_ulps
