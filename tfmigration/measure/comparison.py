"""How far one style's run lands from the reference style's and from the oracle's.

Graph style is the reference (it is the code being migrated); eager and tf.function are measured
against it in ULPs, step by step, and every style against the NumPy float64 oracle. Style-free:
this module runs nothing, it only measures trajectories it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfmigration.measure.ulp import max_ulp_distance, relative_error
from tfmigration.training.driver import Trajectory

REFERENCE_STYLE = "graph"
DEFAULT_TOLERANCE_ULPS = 64
"""A few ULPs come from Grappler's arithmetic rewrites and XLA's reduction order; over thousands
of steps they can compound into tens. 64 ULPs of float32 is a relative difference near 4e-6."""


@dataclass(frozen=True)
class StyleResult:
    """One style's run, measured against the graph style and against the oracle."""

    trajectory: Trajectory
    max_loss_ulps: int
    max_param_ulps: int
    max_slot_ulps: int
    first_divergent_step: int | None
    oracle_relative_error: float
    # Replicated runs only: the largest ULPs from one device trained on the whole batch.
    one_device_loss_ulps: int | None = None
    one_device_param_ulps: int | None = None

    @property
    def mode(self) -> str:
        return self.trajectory.mode


@dataclass(frozen=True)
class Comparison:
    model: str
    strict: bool
    tolerance_ulps: int
    results: tuple[StyleResult, ...]
    oracle: Trajectory
    optimizer: str = "gd"
    defaults: str = "translated"
    steps_per_call: int = 1
    jit_compile: bool = False
    # Data-parallel replicas; above 1 the reference style is the split-batch reference.
    replicas: int = 1

    @property
    def verdict(self) -> str:
        """`identical` (0 ULPs everywhere), `equivalent` (within tolerance) or `different`."""
        worst = max(max(r.max_loss_ulps, r.max_param_ulps, r.max_slot_ulps) for r in self.results)
        return verdict_for(worst, self.tolerance_ulps)


def verdict_for(worst_ulps: int, tolerance_ulps: int) -> str:
    """`identical` (0 ULPs everywhere), `equivalent` (within tolerance) or `different`."""
    if worst_ulps == 0:
        return "identical"
    if worst_ulps <= tolerance_ulps:
        return "equivalent"
    return "different"


def _loss_curve(trajectory: Trajectory) -> np.ndarray:
    """Every step's loss followed by the final loss: the whole loss record of a run."""
    return np.append(trajectory.losses, trajectory.final_loss).astype(trajectory.losses.dtype)


def measure(trajectory: Trajectory, reference: Trajectory, oracle: Trajectory) -> StyleResult:
    """How far `trajectory` lies from `reference` (ULPs) and from `oracle` (relative error)."""
    curve, reference_curve = _loss_curve(trajectory), _loss_curve(reference)
    differing = np.flatnonzero(curve != reference_curve)
    param_ulps = [
        max_ulp_distance(trajectory.final_params[name], reference.final_params[name])
        for name in reference.final_params
    ]
    # Slots both sides keep (Keras's RMSprop has no momentum slot when momentum is 0).
    slot_ulps = [
        max_ulp_distance(trajectory.final_slots[key], reference.final_slots[key])
        for key in reference.final_slots.keys() & trajectory.final_slots.keys()
    ]
    errors = [relative_error(curve, _loss_curve(oracle))] + [
        relative_error(trajectory.final_params[name], oracle.final_params[name])
        for name in oracle.final_params
    ]
    first = int(differing[0]) if differing.size else None
    if first is None and any(param_ulps + slot_ulps):
        first = len(curve) - 1
    return StyleResult(
        trajectory=trajectory,
        max_loss_ulps=max_ulp_distance(curve, reference_curve),
        max_param_ulps=max(param_ulps, default=0),
        max_slot_ulps=max(slot_ulps, default=0),
        first_divergent_step=first,
        oracle_relative_error=max(errors),
    )
