"""Run one problem in every execution style and measure how far each lands from the TF1 original.

Graph style is the reference (it is the code being migrated); eager and tf.function are measured
against it in ULPs, step by step, and every style against the NumPy float64 oracle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bridge.ulp import max_ulp_distance, relative_error
from catalog.problem import Problem
from training.driver import Trajectory
from training.styles import STYLES, runner

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


def compare_problem(
    problem: Problem,
    *,
    strict: bool = False,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
    on_style: Callable[[str], None] | None = None,
    steps_per_call: int = 1,
    jit_compile: bool = False,
) -> Comparison:
    """Train `problem` in every style (graph first) and in the oracle, and measure each.

    `steps_per_call` fuses the graph and tf.function loops (eager always runs step by step);
    `jit_compile` applies to tf.function style alone.

    The oracle follows TF1's equations (the code being migrated), so under --defaults each the
    Keras styles' oracle error is how far renaming the class lands from the TF1 result.
    """
    from oracle.engine import train as train_oracle

    trajectories = {}
    for style in (REFERENCE_STYLE, *(s for s in styles if s != REFERENCE_STYLE)):
        if on_style is not None:
            on_style(style)
        execution = {
            "graph": {"steps_per_call": steps_per_call},
            "eager": {},
            "function": {"steps_per_call": steps_per_call, "jit_compile": jit_compile},
        }[style]
        trajectories[style] = runner(style)(problem, strict=strict, **execution)
    oracle = train_oracle(problem)
    reference = trajectories[REFERENCE_STYLE]
    return Comparison(
        model=problem.model.name,
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(measure(t, reference, oracle) for t in trajectories.values()),
        oracle=oracle,
        optimizer=problem.optimizer,
        defaults=problem.defaults,
        steps_per_call=steps_per_call,
        jit_compile=jit_compile,
    )
