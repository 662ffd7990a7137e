"""What checking a user's migration found: per-style measures, the ladder's findings, the text.

Style-free: built by `bridge.check` from runs it made; read by the CLI, the Python API and the
pytest plugin. Verdicts follow `compare`'s rule (`verdict_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfmigration.serialize import exact


@dataclass(frozen=True)
class Divergence:
    """The first place a style parts from TF1: which variable, which element, by how much."""

    step: int
    variable: str  # TF1 name
    port_variable: str
    index: tuple[int, ...]
    tf1_value: float
    port_value: float
    ulps: int


@dataclass(frozen=True)
class StyleCheck:
    """One style's run of the migration file, measured against TF1 (graph style)."""

    mode: str
    losses: np.ndarray
    max_loss_ulps: int
    max_param_ulps: int
    max_slot_ulps: int
    first_divergent_step: int | None
    first_divergent_variable: str | None
    divergence: Divergence | None
    seconds: float
    # The first step at which anything differs (a loss, a variable or a slot); the ladder's step.
    first_difference_step: int | None = None
    # Per step: ULPs of the loss, and the largest over the mapped variables after the update.
    loss_ulps: np.ndarray | None = None
    param_ulps: np.ndarray | None = None


@dataclass(frozen=True)
class Finding:
    """One rung of the ladder where the port parts from TF1, at equal parameters and batch."""

    rung: str  # "forward pass", "gradient", "update", "non-trainable update", "slot", ...
    variable: str | None
    message: str
    ulps: int = 0  # how far apart at equal inputs: a few is rounding, many is a real difference
    # "measured": judged by its ULPs against --tolerance-ulps; "setting": a named setting differs
    # (a real difference however small); "arithmetic": same optimizer and settings, the
    # libraries compute it differently (reported, never a reason for `different` on its own).
    basis: str = "measured"
    step: int = 0


@dataclass(frozen=True)
class NoiseFloor:
    loss_ulps: int
    param_ulps: int
    slot_ulps: int


@dataclass(frozen=True)
class CheckReport:
    model: str
    path: str
    strict: bool
    tolerance_ulps: int
    steps: int
    batch_size: int | None
    seed: int
    variable_map: tuple[tuple[str, str, str], ...]  # (TF1 name, port name, how it was paired)
    results: tuple[StyleCheck, ...]  # graph first
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    # TF1 rerun with every variable nudged by one ULP after every update: how far rounding alone
    # moves this trajectory (losses, variables, slots). None when no port differed at all.
    noise_floor: NoiseFloor | None = None
    # The first step at which a port is further from TF1 than the noise floor; the ladder runs
    # there too (None when no port leaves it).
    beyond_floor_step: int | None = None
    # The port's replicas (check --replicas N; TF1 on one device whatever N is).
    replicas: int = 1

    @property
    def worst_ulps(self) -> int:
        return max(max(r.max_loss_ulps, r.max_param_ulps, r.max_slot_ulps) for r in self.results)

    @property
    def verdict(self) -> str:
        """`identical`, `equivalent` (within --tolerance-ulps or the noise floor), `different`.

        Different also when the ladder, at equal parameters and batch, finds a rung further
        apart than --tolerance-ulps: that is no rounding, however chaotic the trajectory."""
        worst = self.worst_ulps
        if worst == 0:
            return "identical"
        if self._real_findings():
            return "different"
        if worst <= self.tolerance_ulps or self._within_noise_floor() or self._explained():
            return "equivalent"
        return "different"

    def _explained(self) -> bool:
        """Beyond the noise floor, yet the ladder ran where the port first left it and found
        every rung equal but for rounding and the libraries' arithmetic."""
        return self.beyond_floor_step is not None

    def _real_findings(self) -> list[Finding]:
        return [
            f
            for f in self.findings
            if f.basis == "setting" or (f.basis == "measured" and f.ulps > self.tolerance_ulps)
        ]

    def _within_noise_floor(self) -> bool:
        floor = self.noise_floor
        if floor is None:
            return False
        return all(
            r.max_loss_ulps <= max(floor.loss_ulps, self.tolerance_ulps)
            and r.max_param_ulps <= max(floor.param_ulps, self.tolerance_ulps)
            and r.max_slot_ulps <= max(floor.slot_ulps, self.tolerance_ulps)
            for r in self.results
        )

    def _earliest(self) -> StyleCheck | None:
        parted = [r for r in self.results[1:] if r.first_divergent_step is not None]
        return min(parted, key=lambda r: r.first_divergent_step) if parted else None

    @property
    def first_divergent_step(self) -> int | None:
        earliest = self._earliest()
        return earliest.first_divergent_step if earliest else None

    @property
    def first_divergent_variable(self) -> str | None:
        earliest = self._earliest()
        return earliest.first_divergent_variable if earliest else None

    def records(self) -> list[dict[str, Any]]:
        """One JSON record per style (graph first)."""
        mapping = {tf1: tf2 for tf1, tf2, _ in self.variable_map}
        return [
            {
                "model": self.model,
                "mode": result.mode,
                "losses": exact(result.losses),
                "max_loss_ulps": result.max_loss_ulps,
                "max_param_ulps": result.max_param_ulps,
                "max_slot_ulps": result.max_slot_ulps,
                "first_divergent_step": result.first_divergent_step,
                "first_divergent_variable": result.first_divergent_variable,
                "variable_map": mapping,
                "noise_floor_ulps": self.noise_floor.loss_ulps if self.noise_floor else None,
                "noise_floor_param_ulps": (
                    self.noise_floor.param_ulps if self.noise_floor else None
                ),
                "findings": [
                    {
                        "rung": f.rung,
                        "step": f.step,
                        "variable": f.variable,
                        "ulps": f.ulps,
                        "basis": f.basis,
                        "message": f.message,
                    }
                    for f in self.findings
                ]
                if result.mode == "graph"
                else [],
                "seconds": result.seconds,
                "steps": self.steps,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "strict": self.strict,
                "tolerance_ulps": self.tolerance_ulps,
                "replicas": 1 if result.mode == "graph" else self.replicas,
                "verdict": self.verdict,
            }
            for result in self.results
        ]

    def explain(self) -> str:
        """The verdict first, then where the port parts from TF1 and why, then the summary."""
        lines = [f"{self.model}: {self.verdict} ({self._verdict_reason()})"]
        earliest = self._earliest()
        if earliest is not None:
            lines.append(
                f"first divergent step: {earliest.first_divergent_step}, the first whose loss "
                f"differs ({earliest.mode} style"
                + (
                    f"; first divergent variable: {earliest.first_divergent_variable}"
                    if earliest.first_divergent_variable
                    else ""
                )
                + ")"
            )
        for result in self.results[1:]:
            if result.divergence is not None:
                lines.append(f"  {result.mode}: {_describe(result.divergence)}")
        for step in dict.fromkeys(f.step for f in self.findings):
            lines.append(f"where they part at step {step}, from TF1's values on the same batch:")
            lines += [f"  - {f.message}" for f in self.findings if f.step == step]
        lines += [f"note: {note}" for note in self.notes]
        lines.append(self.summary())
        return "\n".join(lines)

    def _apart(self) -> str:
        """How far apart, by quantity: losses, variables and slots are not alike (a slot near
        zero can be millions of ULPs from a value a rounding away)."""
        ports = self.results[1:] or self.results
        loss = max(r.max_loss_ulps for r in ports)
        param = max(r.max_param_ulps for r in ports)
        slot = max(r.max_slot_ulps for r in ports)
        return f"{loss} ULPs apart in losses, {param} in variables, {slot} in slots"

    def _verdict_reason(self) -> str:
        worst = self.worst_ulps
        floor = self.noise_floor
        if worst == 0:
            return "every loss, variable and slot equal bit for bit in every style"
        big = self._real_findings()
        if big:
            if big[0].basis == "setting":
                return f"{big[0].rung} at step {big[0].step}: a setting differs"
            return (
                f"at equal parameters and batch, {big[0].rung} at step {big[0].step} differs by "
                f"{big[0].ulps} ULPs, beyond --tolerance-ulps {self.tolerance_ulps}: not rounding"
            )
        if worst <= self.tolerance_ulps:
            return f"{self._apart()}, within --tolerance-ulps {self.tolerance_ulps}"
        floor_text = (
            f"rounding alone moves TF1 by {floor.loss_ulps} ULPs in losses, "
            f"{floor.param_ulps} in variables, {floor.slot_ulps} in slots"
            if floor
            else "no noise floor measured"
        )
        if self._within_noise_floor():
            return f"{self._apart()}, within the noise floor: {floor_text}"
        if self._explained():
            return (
                f"{self._apart()}: beyond the noise floor ({floor_text}) from step "
                f"{self.beyond_floor_step}, where at equal parameters every rung agrees but for "
                "rounding and the libraries' arithmetic: the trajectory amplifies them"
            )
        return (
            f"{self._apart()}, beyond --tolerance-ulps {self.tolerance_ulps} and the noise "
            f"floor ({floor_text})"
        )

    def summary(self) -> str:
        header = (
            f"{'style':<9} {'final loss':>14} {'loss ULPs':>10} {'param ULPs':>11} "
            f"{'slot ULPs':>10} {'first diff step':>16}  first diff variable"
        )
        rows = [header]
        for result in self.results:
            last = result.losses[-1] if len(result.losses) else float("nan")
            step = "none" if result.first_divergent_step is None else result.first_divergent_step
            rows.append(
                f"{result.mode:<9} {last!s:>14} {result.max_loss_ulps:>10} "
                f"{result.max_param_ulps:>11} {result.max_slot_ulps:>10} {step!s:>16}  "
                f"{result.first_divergent_variable or 'none'}"
            )
        return "\n".join(rows)

    def mapping_text(self) -> str:
        width = max((len(tf1) for tf1, _, _ in self.variable_map), default=0)
        return "\n".join(
            f"  {tf1:<{width}}  ->  {tf2}" + ("" if how == "name" else f"  ({how})")
            for tf1, tf2, how in self.variable_map
        )


def _describe(divergence: Divergence) -> str:
    index = "" if not divergence.index else f"[{', '.join(map(str, divergence.index))}]"
    return (
        f"after step {divergence.step}'s update, {divergence.variable}{index} is "
        f"{divergence.tf1_value!r} in TF1 and {divergence.port_value!r} in the port "
        f"({divergence.port_variable}), {divergence.ulps} ULPs apart"
    )


def first_difference(
    values: Sequence[tuple[str, str, np.ndarray, np.ndarray]], step: int
) -> Divergence | None:
    """The first (TF1 order) of (tf1 name, port name, tf1 value, port value) that differs."""
    from tfmigration.measure.ulp import ulp_distance

    for tf1_name, port_name, tf1_value, port_value in values:
        distances = ulp_distance(tf1_value, port_value)
        if distances.size and distances.max():
            index = np.unravel_index(int(distances.argmax()), distances.shape)
            return Divergence(
                step=step,
                variable=tf1_name,
                port_variable=port_name,
                index=tuple(int(i) for i in index),
                tf1_value=float(np.asarray(tf1_value)[index]),
                port_value=float(np.asarray(port_value)[index]),
                ulps=int(distances.max()),
            )
    return None


def migration_panel(report: CheckReport) -> Any:
    """The report as a plot panel: each style's losses, each port's loss ULPs from TF1 per step,
    the noise floor (one value for the run) as a band."""
    from tfmigration.measure.plot import PlotPanel

    floor = report.noise_floor
    steps = len(report.results[0].losses)
    return PlotPanel(
        title=f"{report.model}: {report.verdict}",
        loss_curves={result.mode: result.losses for result in report.results},
        ulps={
            result.mode: result.loss_ulps
            for result in report.results[1:]
            if result.loss_ulps is not None
        },
        noise_band=None if floor is None else np.full(steps, floor.loss_ulps),
        tolerance_ulps=report.tolerance_ulps,
        reference="graph",
    )
