"""How far one style's run lands from the reference style's and from the oracle's.

Graph style is the reference (it is the code being migrated); eager and tf.function are measured
against it in ULPs, step by step, and every style against the NumPy float64 oracle, element by
element. The reference's own noise floor (`noise_floor.py`) says how far rounding alone can carry
it. Style-free: this module runs nothing, it only measures trajectories it is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tfmigration.measure.noise_floor import StartNudgedFloor, loss_curve
from tfmigration.measure.oracle_check import (
    DEFAULT_BUDGET_EPS,
    OracleCheck,
    base_bound,
    check_against_oracle,
)
from tfmigration.measure.ulp import max_ulp_distance
from tfmigration.measure.verdict import WITHIN_NOISE_FLOOR, Verdict, combine, style_verdict
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
    oracle: OracleCheck
    # Replicated runs only: the largest ULPs from one device trained on the whole batch.
    one_device_loss_ulps: int | None = None
    one_device_param_ulps: int | None = None

    @property
    def mode(self) -> str:
        return self.trajectory.mode

    @property
    def oracle_relative_error(self) -> float:
        """The relative error of the element nearest (or furthest beyond) its oracle bound."""
        return self.oracle.relative_error


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
    # None: no floor was measured, and nothing is excused by one.
    noise_floor: StartNudgedFloor | None = None
    variables: str = "ref"
    # Data-parallel replicas; above 1 the reference is the split-batch reference.
    replicas: int = 1
    # Replicated runs: how each style replicated and scaled its loss, by mode.
    replication: dict[str, str] = field(default_factory=dict)
    # Replicated runs: one device's own noise floor, which judges each style's distance to it.
    one_device_floor: StartNudgedFloor | None = None

    def one_device_verdict(self, result: StyleResult) -> Verdict:
        """A replicated style against one device on the whole batch, judged as styles are:
        within --tolerance-ulps, or within one device's own noise floor (a 1-ULP nudge)."""
        return style_verdict(
            loss_ulps=result.one_device_loss_ulps or 0,
            param_ulps=result.one_device_param_ulps or 0,
            slot_ulps=0,
            tolerance_ulps=self.tolerance_ulps,
            noise_floor=self.one_device_floor,
        )

    def within_one_device_floor(self, result: StyleResult) -> bool | None:
        """Whether the distance to one device is no more than rounding alone puts between two
        one-device runs; None when no floor was measured."""
        floor = self.one_device_floor
        if floor is None:
            return None
        return (result.one_device_loss_ulps or 0) <= floor.max_loss_ulps and (
            result.one_device_param_ulps or 0
        ) <= floor.param_ulps

    def one_device_judgement(self, result: StyleResult) -> str:
        """One line: the verdict against one device, and where it stands to the noise floor."""
        verdict = self.one_device_verdict(result)
        if verdict.verdict == "identical":
            return "identical to one device"
        within = self.within_one_device_floor(result)
        floor = (
            ""
            if within is None
            else "within its noise floor"
            if within
            else "beyond its noise floor"
        )
        basis = verdict.basis if verdict.basis != WITHIN_NOISE_FLOOR else ""
        reasons = ", ".join(part for part in (basis, floor) if part)
        relation = "from" if verdict.verdict == "different" else "to"
        return f"{verdict.verdict} {relation} one device ({reasons})"

    def style_verdict(self, result: StyleResult) -> Verdict:
        return style_verdict(
            loss_ulps=result.max_loss_ulps,
            param_ulps=result.max_param_ulps,
            slot_ulps=result.max_slot_ulps,
            tolerance_ulps=self.tolerance_ulps,
            noise_floor=self.noise_floor,
            oracle=result.oracle,
        )

    @property
    def full_verdict(self) -> Verdict:
        """The verdict with its basis (within tolerance, within noise floor, beyond ...)."""
        return combine(self.style_verdict(result) for result in self.results)

    @property
    def verdict(self) -> str:
        """`identical`, `equivalent` or `different`: see tfmigration/measure/verdict.py."""
        return self.full_verdict.verdict


def measure(
    trajectory: Trajectory,
    reference: Trajectory,
    oracle: Trajectory,
    *,
    noise_floor: StartNudgedFloor | None = None,
    oracle_bound: float | None = None,
) -> StyleResult:
    """How far `trajectory` lies from `reference` (ULPs) and from `oracle` (relative error,
    element by element, against `oracle_bound`: by default 1024 epsilons of its dtype)."""
    curve, reference_curve = loss_curve(trajectory), loss_curve(reference)
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
    if oracle_bound is None:
        oracle_bound = base_bound(
            DEFAULT_BUDGET_EPS, trajectory.losses.dtype, float32_hyperparameters=False
        )
    first = int(differing[0]) if differing.size else None
    if first is None and any(param_ulps + slot_ulps):
        first = len(curve) - 1
    return StyleResult(
        trajectory=trajectory,
        max_loss_ulps=max_ulp_distance(curve, reference_curve),
        max_param_ulps=max(param_ulps, default=0),
        max_slot_ulps=max(slot_ulps, default=0),
        first_divergent_step=first,
        oracle=check_against_oracle(
            trajectory, oracle, bound=oracle_bound, noise_floor=noise_floor
        ),
    )
