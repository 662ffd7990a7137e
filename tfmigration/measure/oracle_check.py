"""Whether a run agrees with the float64 oracle, element by element, within a stated bound.

Three styles can agree bit for bit and all be wrong (a bug they share); only the oracle, which
shares no arithmetic with them, can tell. So each style's every loss and every final parameter
element is held against the oracle's by its own relative error (not normwise: a loss curve
falling from 10 to 0.004 would shrink an error at the end 2700-fold) and compared with a bound:

- the base bound, `budget_eps` times the working precision's epsilon, stated per model (the loss
  near convergence is a difference of nearly equal numbers, so its relative error is the
  precision times how much the residual cancels);
- where the trajectory is sensitive, the noise floor scaled up: the floor is the reference's
  answer to *one* rounding-sized nudge, a float run rounds at every step, and independent
  rounding errors add like a random walk, so over n steps sqrt(n) times the floor's relative
  distance (its running maximum: sensitivity once acquired stays) is what rounding alone can do.

Style-free; `check` can call `check_against_oracle` on any pair of trajectories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tfmigration.catalog.problem import Problem
from tfmigration.catalog.spec import DEFAULT_ORACLE_BUDGET_EPS
from tfmigration.measure.noise_floor import StartNudgedFloor, elementwise_relative_error, loss_curve
from tfmigration.training.driver import Trajectory

DEFAULT_BUDGET_EPS = DEFAULT_ORACLE_BUDGET_EPS


def base_bound(budget_eps: float, dtype: np.dtype | str, *, float32_hyperparameters: bool) -> float:
    """`budget_eps` epsilons of the precision the run's numbers pass through.

    That is the model's dtype, except that a library optimizer on a float64 model computes with
    hyperparameters rounded to float32 (TF1's optimizers and Keras 3 alike convert Python floats
    to float32 tensors first; docs/migration-optimizers.md), so float32's epsilon applies.
    """
    eps = float(np.finfo(np.dtype(dtype)).eps)
    if float32_hyperparameters:
        eps = max(eps, float(np.finfo(np.float32).eps))
    return budget_eps * eps


def problem_bound(problem: Problem) -> float:
    """The base bound of a catalog problem: its model's budget, in its working precision."""
    return base_bound(
        problem.model.oracle_budget_eps,
        problem.dtype,
        float32_hyperparameters=problem.optimizer != "gd",
    )


def sensitivity_bounds(bound: float, floor_relative: np.ndarray, steps: int) -> np.ndarray:
    """Per-element bounds: `bound`, or sqrt(steps) times the floor's running maximum if larger."""
    floor_relative = np.asarray(floor_relative, dtype=np.float64)
    if floor_relative.size == 0:
        return np.full(floor_relative.shape, bound)
    envelope = np.maximum.accumulate(floor_relative.ravel()).reshape(floor_relative.shape)
    return np.maximum(bound, math.sqrt(max(steps, 1)) * envelope)


@dataclass(frozen=True)
class OracleCheck:
    """The element whose relative error comes nearest its bound (or goes furthest beyond it)."""

    relative_error: float
    bound: float
    where: str

    @property
    def within(self) -> bool:
        return self.relative_error <= self.bound


def _element_name(name: str, shape: tuple[int, ...], flat_index: int) -> str:
    if not shape:
        return name
    index = np.unravel_index(flat_index, shape)
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def check_against_oracle(
    trajectory: Trajectory,
    oracle: Trajectory,
    *,
    bound: float,
    noise_floor: StartNudgedFloor | None = None,
) -> OracleCheck:
    """Every loss (each step's and the final one) and every final parameter element against the
    oracle's, each within `bound` or, where `noise_floor` shows sensitivity, its scaled bound."""
    steps = trajectory.steps
    curve = loss_curve(trajectory)
    oracle_curve = loss_curve(oracle)
    errors = elementwise_relative_error(curve, oracle_curve)
    floor = np.zeros(errors.shape) if noise_floor is None else noise_floor.loss_relative
    bounds = sensitivity_bounds(bound, floor, steps)
    candidates = [
        (
            errors,
            bounds,
            lambda i: "final loss" if i == steps else f"loss at step {i}",
        )
    ]
    for name, expected in oracle.final_params.items():
        actual = trajectory.final_params[name]
        shape = np.shape(expected)
        param_errors = elementwise_relative_error(actual, expected).ravel()
        param_floor = np.zeros(param_errors.shape)
        if noise_floor is not None:
            # The final parameters sit on the same trajectory as the losses: where the losses
            # have shown sensitivity, the parameters' end point is no better determined, even
            # when the nudged run happens to land back near the reference's (an oscillation
            # that falls back into phase).
            param_floor = np.maximum(
                param_floor,
                float(np.max(noise_floor.loss_relative, initial=0.0)),
            )
            if name in noise_floor.param_relative:
                param_floor = np.maximum(
                    param_floor, np.asarray(noise_floor.param_relative[name]).ravel()
                )
        param_bounds = np.maximum(bound, math.sqrt(max(steps, 1)) * param_floor)
        candidates.append(
            (
                param_errors,
                param_bounds,
                lambda i, name=name, shape=shape: _element_name(name, shape, i),
            )
        )
    worst: OracleCheck | None = None
    worst_ratio = -1.0
    for element_errors, element_bounds, describe in candidates:
        if element_errors.size == 0:
            continue
        ratios = element_errors / element_bounds
        index = int(np.argmax(ratios))
        if ratios[index] > worst_ratio:
            worst_ratio = float(ratios[index])
            worst = OracleCheck(
                relative_error=float(element_errors[index]),
                bound=float(element_bounds[index]),
                where=describe(index),
            )
    return worst or OracleCheck(relative_error=0.0, bound=bound, where="nothing to compare")
