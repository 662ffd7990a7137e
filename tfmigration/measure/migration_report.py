"""What checking a user's migration found: per-style measures, the ladder's findings, the text.

Style-free: built by `bridge.check` from runs it made; read by the CLI, the Python API and the
pytest plugin. The verdict is `judge`'s: the rule of tfmigration/measure/verdict.py (`decide`)
given the check's evidence, with the reason written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfmigration.measure.layer_report import LayerComparison, layers_text
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.measure.verdict import (
    ARITHMETIC_RELATIVE,
    BEYOND_BOTH,
    DIFFERENT,
    EARNED_BY_LADDER,
    EARNING_RUNGS,
    IDENTICAL,
    REAL_FINDING,
    WITHIN_NOISE_FLOOR,
    WITHIN_TOLERANCE,
    beyond_floor,
    decide,
)
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
    # What the first difference was: "loss", a TF1 variable name, or "slot <tf1name/slot>".
    first_difference: str | None = None
    # Normwise relative distances, meaningful where values cross zero: the loss curve as a whole
    # (max|port - TF1| / max|TF1| over the steps), and the worst variable at any compared step.
    loss_relative: float = 0.0
    param_relative: float = 0.0
    # The port's optimizer step count after each step (None without a Keras optimizer).
    iterations: np.ndarray | None = None
    # Whether the port changed any paired variable in its run.
    moved: bool = True
    # Whose ladder reruns stand for this style: its own, or the eager style's where this style's
    # run repeated the eager port's bit for bit (every loss, every variable and slot measured),
    # so that the eager port's reruns from TF1's values are this style's too. None: its own.
    ladder_style: str | None = None
    # The first step at which this style is further from TF1 than the noise floor (None: never),
    # and the further steps whose reruns must earn its equivalence there too: the last step,
    # and the two before a later jump of its losses (`departure` in bridge/checking/ports.py).
    beyond_floor_step: int | None = None
    also_earned_at: tuple[int, ...] = ()

    @property
    def evidence_style(self) -> str:
        """The style whose ladder reruns and findings judge this one."""
        return self.ladder_style or self.mode


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
    # How far apart relative to the quantity (a step's change, a gradient, the loss); None where
    # not measured.
    relative: float | None = None
    # The port style whose rerun found it; None: the port's starting state, which every style
    # shares (one tf2_setup()).
    style: str | None = None
    # The port's layers against TF1's tensors at this step (bridge.checking.layers), if located.
    layers: tuple[LayerComparison, ...] = ()

    def is_real(self, tolerance_ulps: int) -> bool:
        """A difference no rounding explains: a setting; beyond the tolerance where measured;
        beyond ARITHMETIC_RELATIVE where the libraries' arithmetic is claimed."""
        if self.basis == "setting":
            return True
        if self.basis == "arithmetic":
            return self.relative is not None and self.relative > ARITHMETIC_RELATIVE
        return self.ulps > tolerance_ulps


@dataclass(frozen=True)
class LadderStep:
    """One rerun of the ladder: the step, and the rungs that ran and were compared there."""

    step: int
    rungs: tuple[str, ...]
    style: str = "eager"  # the port style rerun


def judge(
    results: Sequence[StyleCheck],
    findings: Sequence[Finding],
    floor: EveryStepNudgedFloor | None,
    tolerance_ulps: int,
    ladder: Sequence[LadderStep],
) -> tuple[str, str]:
    """The verdict and its reason, for a reference and the port styles it is given: `decide`
    (tfmigration/measure/verdict.py) over the ports' worst distances, against this floor, with
    a real finding (`Finding.is_real`) as rule 1's evidence and the ladder's reruns as rule 5's.
    Each style is judged by its own evidence (`StyleCheck.evidence_style`): the findings of its
    ladder (and the starting state every style shares), and, where it is beyond the floor, its
    ladder's reruns at the step where it left it and at each of its `also_earned_at`, each with
    every earning rung. A style whose run is not the eager port's is never earned by the eager
    port's reruns."""
    ports = results[1:] or results
    judged = {r.evidence_style for r in ports}
    real = [
        f for f in findings if f.is_real(tolerance_ulps) and (f.style is None or f.style in judged)
    ]

    def earning(style: str) -> set[int]:
        return {
            run.step
            for run in ladder
            if run.style == style and all(rung in run.rungs for rung in EARNING_RUNGS)
        }

    def beyond(result: StyleCheck) -> bool:
        distances = (result.max_loss_ulps, result.max_param_ulps, result.max_slot_ulps)
        return beyond_floor(distances, tolerance_ulps, None if floor is None else floor.ulps)

    def earned(result: StyleCheck) -> bool:
        steps = earning(result.evidence_style)
        return result.beyond_floor_step in steps and set(result.also_earned_at) <= steps

    outside = [r for r in ports if beyond(r)]
    verdict = decide(
        (
            max(r.max_loss_ulps for r in ports),
            max(r.max_param_ulps for r in ports),
            max(r.max_slot_ulps for r in ports),
        ),
        tolerance_ulps=tolerance_ulps,
        floors=None if floor is None else floor.ulps,
        against=[REAL_FINDING] if real else [],
        earned=bool(outside) and all(earned(r) for r in outside),
    )
    left = [r for r in outside if r.beyond_floor_step is not None]
    beyond_floor_step = min((r.beyond_floor_step for r in left), default=None)
    also_earned_at = sorted({s for r in left for s in r.also_earned_at})
    if REAL_FINDING in verdict.reasons:
        first = real[0]
        where = f"{first.rung} at step {first.step}" + (
            f" ({first.style} style)" if first.style not in (None, "eager") else ""
        )
        if first.basis == "setting":
            return DIFFERENT, f"{where}: a setting differs"
        how = (
            f"{first.relative:.3g} of the quantity, beyond what the libraries' arithmetic "
            f"explains ({ARITHMETIC_RELATIVE:g})"
            if first.basis == "arithmetic"
            else f"{first.ulps} ULPs, beyond --tolerance-ulps {tolerance_ulps}"
        )
        return DIFFERENT, (f"at equal parameters and batch, {where} differs by {how}: not rounding")
    if verdict.verdict == IDENTICAL:
        return IDENTICAL, "every loss, variable and slot equal bit for bit in every style"
    apart = _apart(ports)
    if verdict.basis == WITHIN_TOLERANCE:
        return verdict.verdict, f"{apart}, within --tolerance-ulps {tolerance_ulps}"
    floor_text = _floor_text(floor)
    if verdict.basis == WITHIN_NOISE_FLOOR:
        return verdict.verdict, f"{apart}, within the noise floor: {floor_text}"
    if verdict.basis == EARNED_BY_LADDER:
        first = next(r for r in left if r.beyond_floor_step == beyond_floor_step)
        rungs = next(
            run.rungs
            for run in ladder
            if run.step == beyond_floor_step and run.style == first.evidence_style
        )
        return verdict.verdict, (
            f"{apart}: beyond the noise floor ({floor_text}) from step {beyond_floor_step}, "
            f"where from TF1's values the rungs that ran ({', '.join(rungs)}) agree "
            "but for rounding and the libraries' arithmetic"
            + (f", as at step{_plural(also_earned_at)}" if also_earned_at else "")
            + ": the trajectory amplifies them"
        )
    assert verdict.basis == BEYOND_BOTH, verdict
    missing = sorted(
        {
            step
            for r in left
            for step in {r.beyond_floor_step, *r.also_earned_at} - earning(r.evidence_style)
        }
    )
    unearned = (
        f"; no rerun at step{_plural(missing)} could compare "
        f"{' and '.join(EARNING_RUNGS)}, so nothing shows it is rounding"
        if missing
        else ""
    )
    return verdict.verdict, (
        f"{apart}, beyond --tolerance-ulps {tolerance_ulps} and the noise floor "
        f"({floor_text}){unearned}"
    )


def _plural(steps: Sequence[int]) -> str:
    """ " 4" or "s 3 and 4": steps named after the word step."""
    names = [str(step) for step in steps]
    if len(names) == 1:
        return f" {names[0]}"
    return f"s {', '.join(names[:-1])} and {names[-1]}"


def _apart(results: Sequence[StyleCheck]) -> str:
    """How far apart, by quantity: losses, variables and slots are not alike (a slot near zero
    can be millions of ULPs from a value a rounding away); the relative distances beside."""
    loss = max(r.max_loss_ulps for r in results)
    param = max(r.max_param_ulps for r in results)
    slot = max(r.max_slot_ulps for r in results)
    loss_relative = max(r.loss_relative for r in results)
    param_relative = max(r.param_relative for r in results)
    return (
        f"{loss} ULPs apart in losses, {param} in variables, {slot} in slots (relative: "
        f"{loss_relative:.2g} in losses, {param_relative:.2g} in variables)"
    )


def _floor_text(floor: EveryStepNudgedFloor | None) -> str:
    if floor is None:
        return "no noise floor measured"
    return (
        f"rounding alone moves TF1 by {floor.loss_ulps} ULPs in losses, {floor.param_ulps} in "
        f"variables, {floor.slot_ulps} in slots (relative: {floor.loss_relative:.2g} in losses, "
        f"{floor.param_relative:.2g} in variables)"
    )


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
    noise_floor: EveryStepNudgedFloor | None = None
    # The port's replicas (check --replicas N; TF1 on one device whatever N is).
    replicas: int = 1

    # Every rerun of the ladder: its step and the rungs that ran.
    ladder: tuple[LadderStep, ...] = ()

    @property
    def beyond_floor_step(self) -> int | None:
        """The first step at which any port style is further from TF1 than the noise floor
        (None when none leaves it); each style's own is its `StyleCheck.beyond_floor_step`."""
        return min(
            (r.beyond_floor_step for r in self.results[1:] if r.beyond_floor_step is not None),
            default=None,
        )

    @property
    def also_earned_at(self) -> tuple[int, ...]:
        """Every further step whose rerun must earn some style's equivalence (the last step,
        and the two before a later jump of its losses)."""
        return tuple(sorted({s for r in self.results[1:] for s in r.also_earned_at}))

    @property
    def worst_ulps(self) -> int:
        return max(max(r.max_loss_ulps, r.max_param_ulps, r.max_slot_ulps) for r in self.results)

    def _judged(self, results: Sequence[StyleCheck]) -> tuple[str, str]:
        parted = any(r.first_difference_step is not None for r in results[1:])
        return judge(
            results,
            self.findings if parted or not results[1:] else [],
            self.noise_floor,
            self.tolerance_ulps,
            self.ladder,
        )

    @property
    def verdict(self) -> str:
        """`identical`, `equivalent` or `different`, by `judge` over every style."""
        return self._judged(self.results)[0]

    def style_verdict(self, mode: str) -> str:
        """One port style's verdict by the same rule; the reference's is `reference`."""
        if mode == self.results[0].mode:
            return "reference"
        result = next(r for r in self.results if r.mode == mode)
        return self._judged((self.results[0], result))[0]

    def _verdict_reason(self) -> str:
        return self._judged(self.results)[1]

    def _earliest(self) -> StyleCheck | None:
        parted = [r for r in self.results[1:] if r.first_divergent_step is not None]
        return min(parted, key=lambda r: r.first_divergent_step) if parted else None

    @property
    def first_divergent_step(self) -> int | None:
        """The first step at which anything differs in any port style (loss, variable, slot)."""
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
                "first_difference": result.first_difference,
                "loss_relative_distance": result.loss_relative,
                "param_relative_distance": result.param_relative,
                "noise_floor_ulps": self.noise_floor.loss_ulps if self.noise_floor else None,
                "noise_floor_param_ulps": (
                    self.noise_floor.param_ulps if self.noise_floor else None
                ),
                "noise_floor_slot_ulps": self.noise_floor.slot_ulps if self.noise_floor else None,
                "noise_floor_loss_relative": (
                    self.noise_floor.loss_relative if self.noise_floor else None
                ),
                "noise_floor_param_relative": (
                    self.noise_floor.param_relative if self.noise_floor else None
                ),
                "findings": [
                    {
                        "rung": f.rung,
                        "step": f.step,
                        "variable": f.variable,
                        "ulps": f.ulps,
                        "basis": f.basis,
                        # JSON has no infinity: "inf" where the reference did not move
                        # and the port did.
                        "relative": "inf" if f.relative == float("inf") else f.relative,
                        "real": f.is_real(self.tolerance_ulps),
                        "style": f.style,
                        "message": f.message,
                    }
                    for f in self.findings
                ]
                if result.mode == "graph"
                else [],
                "layers": [{**c.record(), "step": f.step} for f in self.findings for c in f.layers]
                if result.mode == "graph"
                else [],
                "seconds": result.seconds,
                "steps": self.steps,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "strict": self.strict,
                "tolerance_ulps": self.tolerance_ulps,
                "replicas": 1 if result.mode == "graph" else self.replicas,
                "ladder": [
                    {"step": run.step, "style": run.style, "rungs": list(run.rungs)}
                    for run in self.ladder
                ]
                if result.mode == "graph"
                else [],
                "verdict": self.verdict,
                "style_verdict": self.style_verdict(result.mode),
            }
            for result in self.results
        ]

    def explain(self) -> str:
        """The verdict first, then where the port parts from TF1 and why, then the summary."""
        lines = [f"{self.model}: {self.verdict} ({self._verdict_reason()})"]
        earliest = self._earliest()
        if earliest is not None:
            what = earliest.first_difference or "loss"
            lines.append(
                f"first divergent step: {earliest.first_divergent_step}, the first at which "
                + (
                    "the loss differs"
                    if what == "loss"
                    else f"anything differs: {what} after the step's update"
                )
                + f" ({earliest.mode} style)"
            )
        verdicts = [f"{r.mode} {self.style_verdict(r.mode)}" for r in self.results[1:]]
        if verdicts:
            lines.append("per style: " + ", ".join(verdicts))
        for result in self.results[1:]:
            if result.divergence is not None:
                lines.append(f"  {result.mode}: {_describe(result.divergence)}")
        for step in dict.fromkeys(f.step for f in self.findings):
            lines.append(f"where they part at step {step}, from TF1's values on the same batch:")
            for finding in (f for f in self.findings if f.step == step):
                lines.append(
                    f"  - {finding.message}"
                    + (f" ({finding.style} style)" if finding.style not in (None, "eager") else "")
                )
                if finding.layers:
                    lines += ["    layers, port -> TF1:", layers_text(finding.layers)]
        lines += [f"note: {note}" for note in self.notes]
        lines.append(self.summary())
        return "\n".join(lines)

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
    located = next((f for f in report.findings if f.layers), None)
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
        layers=None
        if located is None
        else {c.layer: c.ulps for c in located.layers if c.ulps is not None},
        layers_step=None if located is None else located.step,
        named_layer=None if located is None else located.variable,
        layers_direction="forward" if located is None else located.layers[0].direction,
    )
