"""Check a user's migration: their TF1 code against their TF2 port, in all three styles.

TF1 (`tf1_train`) runs in a Session and is the reference; the port runs eagerly and with its step
under tf.function. Variables are paired by `tfmigration.migration.mapping`, TF1's initial values
are copied into each port, every style trains on the same batches with dropout aligned, and
every step's loss, every mapped variable and every optimizer slot both sides keep is measured in
ULPs (`bridge.checking.ports`). Where the port parts from TF1, the ladder reruns that step in the
eager port from TF1's own values (`bridge.checking.ladder`).

With `against=DIR` the reference is a golden recording (`bridge.record`) instead of a live TF1
run: the migration file then needs no `tf1_train`.
"""

from __future__ import annotations

import gc
import platform
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from bridge.checking.context import PORT_STYLES, CheckContext, CheckSettings
from bridge.checking.ladder import ladder, learning_rate_findings, starting_state
from bridge.checking.layers import shape_hint
from bridge.checking.ports import (
    PortRun,
    align,
    align_optimizer,
    departure,
    first_beyond,
    renamed,
)
from bridge.checking.reference import (
    Batches,
    MigrationDiverged,
    Reference,
    Snapshots,
    noise_floor,
    refuse_untrained,
    replay,
    start_reference,
    tf1_train,
)
from bridge.function.grappler import grappler_disabled
from bridge.function.migration import FunctionPort, ReplicatedFunctionPort
from eagermode.migration import TF2Port
from eagermode.replicated_migration import ReplicatedPort
from graphmode.migration import TF1Program
from tfmigration.catalog.errors import ConfigError, DataError
from tfmigration.catalog.problem import MAX_SEED, MAX_STEPS
from tfmigration.distributed import check_replicas
from tfmigration.machine import cpu, cpu_difference
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS
from tfmigration.measure.migration_report import (
    CheckReport,
    Finding,
    LadderStep,
    StyleCheck,
)
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.migration.contract import (
    DEFAULT_SEED,
    DEFAULT_STEPS,
    ContractError,
    MigrationFile,
    batch_indices,
    load,
)
from tfmigration.migration.golden import Recording, read_recording
from tfmigration.migration.layouts import CellInfo
from tfmigration.migration.mapping import MappingError, Pair, VariableInfo, infer_mapping

__all__ = ["PORT_STYLES", "MigrationDiverged", "check_migration"]


def check_migration(
    path: str | Path,
    *,
    steps: int | None = None,
    strict: bool = False,
    batch_size: int | None = None,
    seed: int | None = None,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    against: str | Path | None = None,
    tf1_checkpoint: str | Path | None = None,
    styles: Sequence[str] = PORT_STYLES,
    on_style: Callable[[str], None] | None = None,
    replicas: int = 1,
    localise: bool = True,
) -> CheckReport:
    """Run the migration file at `path` in every style and report where, if anywhere, they part.

    `steps`, `batch_size` and `seed` default to the file's `STEPS`, `BATCH_SIZE` and `SEED`, then
    to 20 steps on the whole data set with seed 0. `strict` turns Grappler off. `against` names a
    recording of the TF1 run to compare with instead of running TF1. `tf1_checkpoint` names a
    TF1 `Saver` checkpoint of the model to start from (variables, slots and step count), in TF1
    and, through the variable pairing, in the port. `replicas` > 1 runs the port data-parallel
    (MirroredStrategy over that many logical CPUs) against TF1 on one device, for files that
    declare `REPLICAS = True`. `localise=False` leaves out the layer localisation (the ladder's
    rungs stay), to measure what it costs (scripts/bench_localise.py).
    """
    if against is not None and tf1_checkpoint is not None:
        raise ConfigError("--against and --tf1-checkpoint: a recording holds its own start")
    if replicas != 1 and tf1_checkpoint is not None:
        raise ConfigError(
            f"--replicas {replicas} with --tf1-checkpoint: a replicated check starts from TF1's "
            "initial values; drop one of them"
        )
    announce = on_style or (lambda style: None)
    if against is not None:
        recording = read_recording(against)
        try:
            return _check_recorded(
                path,
                recording,
                steps,
                batch_size,
                seed,
                announce,
                strict=strict,
                tolerance_ulps=tolerance_ulps,
                styles=styles,
                replicas=replicas,
                localise=localise,
            )
        finally:
            recording.after.close()
    migration = load(path)
    steps, batch_size, seed = settings(migration, steps, batch_size, seed)
    resolved = CheckSettings(
        steps, batch_size, seed, strict, tolerance_ulps, tuple(styles), replicas, localise
    )
    _allow_replicas(migration, replicas, batch_size)
    batches = Batches(migration, batch_indices(migration.rows, steps, batch_size, seed))
    program = TF1Program(migration, strict=strict, seed=resolved.seed)
    reference: Reference | None = None
    try:
        eager = _port(migration, "eager", replicas, program.rnn_cells)
        pairs = pair_variables(migration, program.variable_infos(), eager, program)
        start, restored = 0, []
        if tf1_checkpoint is not None:
            from tfmigration.checkpoint.files import resolve

            prefix = resolve(str(tf1_checkpoint), option="--tf1-checkpoint")
            start, not_found = program.restore(prefix)
            restored = [f"started from the TF1 checkpoint {prefix} (global step {start})"]
            if not_found:
                restored.append(
                    "not in the checkpoint, so left at their initial values: "
                    + ", ".join(not_found[:5])
                )
        features, labels = batches(0)
        tf1_rate = program.learning_rate(features, labels, 0)
        reference = start_reference(program, resolved.steps, start_iteration=start)
        check = CheckContext(
            migration, resolved, batches, reference, eager, pairs, announce, program, restored
        )
        return _compare(check, optimizer_state=tf1_checkpoint is not None, tf1_rate=tf1_rate)
    finally:
        program.close()
        if reference is not None and isinstance(reference.after, Snapshots):
            reference.after.close()  # the snapshots spilled to disk


def _compare(
    check: CheckContext,
    *,
    optimizer_state: bool = False,
    tf1_rate: float | None = None,
    recorded_floor: EveryStepNudgedFloor | None = None,
) -> CheckReport:
    """The one comparison behind both references: the ports in lockstep with TF1, then, where a
    port parts, the noise floor and the ladder at the first differing step, at the first step
    beyond the floor and, beyond it, at the last and before any later jump; then the report.
    Each style's ladder is its own, or the eager port's where its run was the eager port's bit
    for bit (`StyleCheck.ladder_style`)."""
    settings, reference, program = check.settings, check.reference, check.program
    results, findings, own = _run_ports(check, optimizer_state=optimizer_state, tf1_rate=tf1_rate)
    differing = [r for r in results[1:] if r.first_difference_step is not None]
    floor = recorded_floor
    runs: list[LadderStep] = []
    if differing and program is not None:
        check.announce("noise floor")
        _spill(reference, {settings.steps - 1})  # the floor compares the last step alone
        floor = noise_floor(program, reference, check.batches, settings.steps, settings.seed)
    results = [results[0], *(_placed(results[0], r, floor, check) for r in results[1:])]
    plan = _ladder_plan([r for r in results[1:] if r.first_difference_step is not None], check)
    ports = {check.eager.mode: (check.eager, check.pairs), **own}
    own = {}  # `ports` alone holds them, so that one dropped is freed
    # A port of its own is dropped after its last rerun: on the 10M-parameter CNN, holding the
    # tf.function port through the eager port's last rerun was 150 MB of the check's peak.
    last = {style: max((s for s in plan if style in plan[s]), default=-1) for style in ports}
    for step in sorted(plan):
        # Reruns only to earn `equivalent` are not run where a real difference is found already
        # (and are not localised: the layer where the port parts first is).
        styles = {
            style: to_earn
            for style, to_earn in plan[step].items()
            if not (to_earn and _real(findings, style, settings.tolerance_ulps))
        }
        if program is not None and styles:
            _keep_only(reference, {s for s in plan if s >= step})
            unrepeatable = replay(program, reference, check.batches, {step})
            if unrepeatable:
                check.notes.append(unrepeatable)
                styles = {}
            _spill(reference, {step - 1, step})
        eager = check.eager.mode
        found_by = {
            style: _rerun(check, step, results, ports[style], styles[style])
            for style in styles
            if style != eager
        }
        # Every other port is done with before the eager port, which stays, reruns.
        done = [s for s in ports if s != eager and last[s] == step]
        for style in done:
            del ports[style]
        if done:
            gc.collect()  # a Keras model and its traces hold cycles
        if eager in styles:
            found_by[eager] = _rerun(check, step, results, ports[eager], styles[eager])
        for style in styles:  # reported in the styles' order
            found, run = found_by[style]
            findings += found
            runs += [run] if run else []
    findings = _traced_against_eager(findings, settings.tolerance_ulps)
    notes = _notes(reference, check.eager, results) + check.notes
    notes += replication_notes(results, settings.replicas)
    return CheckReport(
        model=check.migration.name,
        path=str(check.migration.path),
        strict=settings.strict,
        tolerance_ulps=settings.tolerance_ulps,
        steps=settings.steps,
        batch_size=settings.batch_size,
        seed=settings.seed,
        variable_map=tuple(
            (p.tf1.name, p.tf2.name, p.how + (f"; {p.tf2.layout}" if p.tf2.layout else ""))
            for p in check.pairs
        ),
        results=tuple(results),
        findings=tuple(dict.fromkeys(findings)),
        notes=tuple(notes),
        ladder=tuple(runs),
        noise_floor=floor,
        replicas=settings.replicas,
    )


def _rerun(
    check: CheckContext,
    step: int,
    results: list[StyleCheck],
    port: tuple[TF2Port, list[Pair]],
    to_earn: bool,
) -> tuple[list[Finding], LadderStep | None]:
    """One style's ladder at `step`; the port has trained, and the ladder loads every value it
    needs afresh."""
    return ladder(check, step, results, localise=not to_earn, port=port[0], pairs=port[1])


def _placed(
    graph: StyleCheck, result: StyleCheck, floor: EveryStepNudgedFloor | None, check: CheckContext
) -> StyleCheck:
    """`result` with where it left the floor, and the further steps whose reruns must earn its
    equivalence beyond it: the last step (a difference that lasts, or slots nothing reads
    after) and, where its losses jump, the two steps that moved them (against a recording,
    each at the last recorded step before it)."""
    if floor is None or result.first_difference_step is None:
        return result
    beyond = first_beyond((graph, result), floor, check.settings.tolerance_ulps)
    also: set[int] = set()
    if beyond is not None:
        also.add(check.settings.steps - 1)
        anew = departure((graph, result), floor, beyond)
        if anew is not None:
            also |= {max(anew - 2, beyond), max(anew - 1, beyond)}
    if check.program is None:
        also = {_recorded_before(check.reference, step) for step in also}
    also.discard(beyond)
    return replace(result, beyond_floor_step=beyond, also_earned_at=tuple(sorted(also)))


def _ladder_plan(
    differing: Sequence[StyleCheck], check: CheckContext
) -> dict[int, dict[str, bool]]:
    """Step -> {style whose ladder reruns it: whether only to earn equivalence}: for each
    evidence style, its styles' first differing step, the step where they left the floor and
    each of their `also_earned_at` (against a recording, each at the last recorded step before
    it)."""
    plan: dict[int, dict[str, bool]] = {}
    for style in dict.fromkeys(r.evidence_style for r in differing):
        covered = [r for r in differing if r.evidence_style == style]
        first = min(r.first_difference_step for r in covered)
        left = {r.beyond_floor_step for r in covered if r.beyond_floor_step is not None}
        steps = {first, *left}
        if check.program is None:
            steps = {_recorded_before(check.reference, step) for step in steps}
        also = {s for r in covered for s in r.also_earned_at}
        for step in steps | also:
            plan.setdefault(step, {})[style] = step in also - steps
    return plan


def _real(findings: Sequence[Finding], style: str, tolerance_ulps: int) -> bool:
    """Whether a real difference is found already for `style` (or for every style); a traced
    step against the eager one counts only once every rerun is in (`_traced_against_eager`)."""
    return any(
        f.is_real(tolerance_ulps) and f.style in (None, style) and f.rung != "traced step"
        for f in findings
    )


def _traced_against_eager(findings: list[Finding], tolerance_ulps: int) -> list[Finding]:
    """The traced port's steps measured against the eager port's stand only where the eager
    port is not itself found wrong; where it is, it is no reference, and they are judged as the
    libraries' arithmetic (against ARITHMETIC_RELATIVE of the change) instead."""
    if not any(f.is_real(tolerance_ulps) and f.style == "eager" for f in findings):
        return findings
    return [
        replace(
            f,
            basis="arithmetic",
            message=f.message + "; the eager port is itself found wrong, so no reference here",
        )
        if f.rung == "traced step"
        else f
        for f in findings
    ]


def _port(
    migration: MigrationFile, style: str, replicas: int, cells: Sequence[CellInfo] = ()
) -> TF2Port:
    """A port of `style`: one device, or mirrored over `replicas` logical CPUs; its recurrent
    layers seen in the layout of TF1's `cells`."""
    if replicas == 1:
        return TF2Port(migration, cells) if style == "eager" else FunctionPort(migration, cells)
    if style == "eager":
        return ReplicatedPort(migration, replicas, cells)
    return ReplicatedFunctionPort(migration, replicas, cells)


def _allow_replicas(migration: MigrationFile, replicas: int, batch_size: int | None) -> None:
    """Refuse, in one line, a replica count the file or its batches cannot honour."""
    check_replicas(replicas, batch_size or migration.rows)
    if replicas != 1 and getattr(migration.module, "REPLICAS", None) is not True:
        raise ContractError(
            f"{migration.path}: --replicas {replicas}: the file does not declare REPLICAS = True. "
            "Under --replicas every replica runs tf2_train_step on its shard of the batch and "
            "the replicas' losses are summed, so the step must return its share of the global "
            "loss (tf.nn.compute_average_loss with the global batch size) and build its "
            "variables in tf2_setup(); declare REPLICAS = True in the file once it does"
        )


def settings(
    migration: MigrationFile, steps: int | None, batch_size: int | None, seed: int | None
) -> tuple[int, int | None, int]:
    """The run's steps, batch size and seed: the options, else the file's, else the defaults.

    An option's bad value is named as the option; a file's as its constant (`BATCH_SIZE = 500`),
    since the user passed no option to look for."""
    steps = _positive("steps", steps, None, maximum=MAX_STEPS)
    batch_size = _positive("batch_size", batch_size, None)
    seed = _positive("seed", seed, None, minimum=0, maximum=MAX_SEED)
    if batch_size is None:
        batch_size = migration.setting("BATCH_SIZE", None)
        if batch_size is not None and batch_size > migration.rows:
            raise ContractError(
                f"{migration.path}: BATCH_SIZE = {batch_size} is larger than the data "
                f"({migration.rows} rows); use at most {migration.rows}, or pass --batch-size"
            )
    if steps is None:
        steps = migration.setting("STEPS", DEFAULT_STEPS)
    if seed is None:
        seed = migration.setting("SEED", DEFAULT_SEED)
    return steps, batch_size, seed


def _positive(
    name: str,
    value: int | None,
    default: int | None,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> int | None:
    value = default if value is None else value
    if value is None:
        return None
    option = f"--{name.replace('_', '-')}"
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        accepted = (
            "a positive whole number"
            if minimum == 1
            else f"a whole number from {minimum} to {maximum}"
        )
        raise ConfigError(f"{option} {value!r} must be {accepted}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{option} {value} is too large; use at most {maximum}")
    return int(value)


def pair_variables(
    migration: MigrationFile,
    tf1: list[VariableInfo],
    eager: TF2Port,
    program: TF1Program | None = None,
) -> list[Pair]:
    """TF1's variables paired with the port's (`infer_mapping`); a pairing error on shapes
    names the setting upstream that likely caused it (padding, strides, pooling, a flatten)."""
    try:
        return infer_mapping(
            tf1, eager.variable_infos(), migration.variable_map, source=str(migration.path)
        )
    except MappingError as error:
        hint = shape_hint(program, eager) if program and "shapes differ" in str(error) else ""
        if not hint:
            raise
        raise MappingError(f"{error}\n  likely cause, upstream: {hint}") from None


def _run_ports(
    check: CheckContext, *, optimizer_state: bool = False, tf1_rate: float | None = None
) -> tuple[list[StyleCheck], list[Finding], dict[str, tuple[TF2Port, list[Pair]]]]:
    """The reference's record, then each port style trained from TF1's initial values in
    lockstep with TF1 (`check.program`, live) or its recording (`reference.after`); and what
    the eager port starts with that TF1 does not (`starting_state`), compared before it trains:
    TF1's initial values are copied into the paired variables, nothing else. Also, by style,
    each other port (and its pairs) that parted from TF1 and not as the eager port did: the
    ladder reruns it itself (the others are dropped here)."""
    migration, eager, pairs, reference = check.migration, check.eager, check.pairs, check.reference
    styles, steps, replicas = check.settings.styles, check.settings.steps, check.settings.replicas
    start: list[Finding] = []
    runs: list[PortRun] = []
    eager_run: PortRun | None = None  # the twin of every later run (`PortRun.twin`)
    for style in styles:
        port = eager if style == "eager" else _port(migration, style, replicas, eager.cells)
        port_pairs = renamed(pairs, eager, port)
        align(port, port_pairs, reference.initial)
        if optimizer_state:
            align_optimizer(port, port_pairs, reference, reference.initial)
        if port is eager:
            start = starting_state(
                port, port_pairs, reference, tf1_rate, optimizer_loaded=optimizer_state
            )
            rate_before = port.learning_rate()
        # Named as the mapping shows them (a second tf2_setup() numbers Keras layers anew).
        shown = {
            moved.tf2.name: pair.tf2.name for moved, pair in zip(port_pairs, pairs, strict=True)
        }
        runs.append(PortRun(port, port_pairs, reference, steps, shown, eager_run))
        if port is eager:
            eager_run = runs[-1]
    names = ["graph", *styles]
    check.announce(", ".join(names[:-1]) + f" and {names[-1]} in lockstep")
    _lockstep(runs, check)
    if eager_run is not None:
        # The rate the eager port's first update applied (a rate its step sets itself
        # included), else the one its optimizer held before it.
        applied = eager_run.first_rate
        start += learning_rate_findings(
            reference, rate_before if applied is None else applied, tf1_rate, 0, rung="start"
        )
    graph = StyleCheck(
        mode="graph",
        losses=reference.losses,
        max_loss_ulps=0,
        max_param_ulps=0,
        max_slot_ulps=0,
        first_divergent_step=None,
        first_divergent_variable=None,
        divergence=None,
        seconds=reference.seconds,
    )
    own = {
        run.port.mode: (run.port, run.pairs)
        for run in runs
        if run.port is not eager and run.twin is None and run.first_difference_step is not None
    }
    return [graph, *(run.result() for run in runs)], start, own


def _lockstep(runs: Sequence[PortRun], check: CheckContext) -> None:
    """TF1's step k (or its recording's), then each port's step k, measured, then dropped: only
    the snapshots the ladder and the noise floor need are kept (before and after the first step
    at which a port differs, and the last two), so memory grows with the model, not the steps.

    Slots are compared at every step until a port first parts from TF1 and at the last step;
    between, the variables alone (nor does TF1 read its slots out there). A slot that differs
    moves the variables at the next step (every optimizer's update reads its slots), where they
    are compared; at the last step nothing reads them, so they are compared there, as the
    noise floor's are. With Adam the slots are two thirds of what a step would measure.

    Measuring a step (ULPs of every variable and slot, in NumPy) runs on one worker thread
    while the main thread takes the next style's step and TF1's next step: on a large model it
    costs as much as a step, and a port's eager step leaves the second core idle. The worker
    measures in order; step k's measures are waited for before any port takes step k + 1
    (the views they read are then dropped, so no step writes a variable a measure still reads),
    and a divergence it finds is raised there, naming step k."""
    reference, batches, program = check.reference, check.batches, check.program
    steps, grappler_off = check.settings.steps, check.settings.strict
    tf1_moved = program is None
    kept = Kept(reference, program is not None, steps)
    model = [variable.name for variable in reference.variables]  # no slot, counter or power
    with (
        grappler_disabled(grappler_off and any(run.port.mode == "function" for run in runs)),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="tfbridge-measure") as worker,
    ):
        pending: list[Future] = []
        for step in range(steps):
            if program is not None:
                tf1_train(program, reference, batches, step)
            # TF1's step ran while the last style's measure did; TF1's values are read after
            # it, so that two snapshots (the step before and this one) are held, not three.
            _settle(pending)
            parted = _differs(runs)
            kept.settled(step - 1, parted)
            slots = not parted or step == steps - 1
            if program is not None:
                # Kept snapshots are whole: before the first difference every step's is, and
                # the last two steps' are.
                after = program.snapshot(None if slots or step >= steps - 2 else model)
                tf1_moved = tf1_moved or program.changed_trainable(reference.initial, after)
            else:
                after = reference.after.get(step)
            kept.add(step, after)
            features, labels = batches(step)
            read: dict[int, list[np.ndarray]] = {}
            for run in runs:
                run.advance(step, features, labels)
                if after is not None:  # a recording keeps every N-th step's variables
                    read[id(run)] = values = run.read(slots)
                    twin = read.get(id(run.twin)) if run.twin is not None else None
                    pending.append(worker.submit(run.measure, step, after, values, twin))
            after = read = values = twin = None
        _settle(pending)
        kept.settled(steps - 1, _differs(runs))
    if not tf1_moved:
        refuse_untrained(program, steps)


def _keep_only(reference: Reference, steps: set[int]) -> None:
    """Drop every live TF1 snapshot but those the ladder still needs at `steps` (each step's
    and the one before) and, where some of those are not held, the latest before the first of
    them, where TF1's rerun to them resumes (`replay`): each is TF1's whole state, the largest
    thing a check holds, and the floor and the earlier rungs are done with theirs."""
    needed = {s for step in steps for s in (step - 1, step)}
    missing = needed - set(reference.after) - {-1}  # -1: TF1's initial values, always held
    resume = None
    if missing:
        resume = max((s for s in reference.after if s < min(missing)), default=None)
    for step in [s for s in reference.after if s not in needed and s != resume]:
        del reference.after[step]


def _spill(reference: Reference, keep: set[int]) -> None:
    """Keep in memory only the live TF1 snapshots of `keep`; the others a later rung needs wait
    on disk (`Snapshots.spill`): on the 10M-parameter CNN the last two steps', kept from the
    lockstep, were 240 MB of every earlier rung's peak."""
    if isinstance(reference.after, Snapshots):
        reference.after.spill(keep)


def _differs(runs: Sequence[PortRun]) -> bool:
    return any(run.first_difference_step is not None for run in runs)


def _settle(pending: list[Future]) -> None:
    """Wait for the measures submitted so far; the first error any raised is raised here."""
    try:
        for future in pending:
            future.result()
    finally:
        for future in pending:
            future.cancel()
        pending.clear()


class Kept:
    """The live TF1 snapshots a check keeps: each step's until its measures say whether a port
    differs there (so two at once: the step before and the step), then only those before and
    after the first differing step, and the last two steps' (the noise floor ends at the last
    and holds slots against it there, so the ladder may rerun it)."""

    def __init__(self, reference: Reference, live: bool, steps: int) -> None:
        self._reference, self._live, self._steps = reference, live, steps
        self._recent: dict[int, dict[str, np.ndarray]] = {}
        self._first: int | None = None

    def add(self, step: int, after: dict[str, np.ndarray] | None) -> None:
        if not self._live:
            return
        if step >= self._steps - 2:  # the floor compares the last; the ladder may rerun it
            self._reference.after[step] = after
        if self._first is None:
            self._recent[step] = after

    def settled(self, step: int, differs: bool) -> None:
        """Step `step`'s measures are in: keep what the first difference needs, drop the rest."""
        if not self._live or step < 0 or self._first is not None:
            return
        if differs:
            self._first = step
            if step > 0:
                self._reference.after[step - 1] = self._recent[step - 1]
            self._reference.after[step] = self._recent[step]
            self._recent.clear()
            return
        self._recent.pop(step - 1, None)


def _check_recorded(
    path: str | Path,
    recording: Recording,
    steps: int | None,
    batch_size: int | None,
    seed: int | None,
    announce: Callable[[str], None],
    *,
    strict: bool,
    tolerance_ulps: int,
    styles: Sequence[str],
    replicas: int,
    localise: bool,
) -> CheckReport:
    """The port against a golden recording of its TF1 run: no TF1 code runs; the recorded
    batches, settings and noise floor stand in for TF1's."""
    migration = load(path, need_tf1=False)
    recorded = recording.manifest["settings"]
    if migration.fingerprint() != recording.manifest["data"]["sha256"]:
        raise DataError(
            f"{migration.path}: data() is not the data {recording.path} was recorded on "
            f"(SHA-256 {migration.fingerprint()[:12]}..., recorded "
            f"{recording.manifest['data']['sha256'][:12]}...)"
        )
    for option, value in (("batch-size", batch_size), ("seed", seed)):
        key = option.replace("-", "_")
        if value is not None and value != recorded[key]:
            raise ConfigError(
                f"--{option} {value}: {recording.path} was recorded with --{option} "
                f"{recorded[key]}; a check against it uses the recorded batches"
            )
    steps = _positive("steps", steps, recording.steps)
    if steps > recording.steps:
        raise ConfigError(
            f"--steps {steps}: {recording.path} holds {recording.steps} recorded steps; "
            f"use at most {recording.steps}"
        )
    _allow_replicas(migration, replicas, recorded["batch_size"])
    resolved = CheckSettings(
        steps,
        recorded["batch_size"],
        recorded["seed"],
        strict,
        tolerance_ulps,
        tuple(styles),
        replicas,
        localise,
    )
    reference = _recorded_reference(recording, steps)
    cells = [CellInfo(**cell) for cell in recording.manifest.get("rnn_cells", [])]
    eager = _port(migration, "eager", replicas, cells)
    pairs = pair_variables(migration, reference.variables, eager)
    batches = Batches(migration, recording.batch_indices)
    notes = _recording_notes(recording, strict, steps)
    check = CheckContext(
        migration, resolved, batches, reference, eager, pairs, announce, None, notes
    )
    floor_data = recording.manifest.get("noise_floor")
    whole = floor_data and steps == recording.steps
    return _compare(check, recorded_floor=EveryStepNudgedFloor(**floor_data) if whole else None)


def _recorded_reference(recording: Recording, steps: int) -> Reference:
    manifest = recording.manifest
    optimizer = manifest["optimizer"]
    powers = optimizer.get("beta_powers")
    return Reference(
        losses=recording.losses[:steps],
        initial=recording.initial,
        after=recording.after.upto(steps),
        seconds=0.0,
        variables=[
            VariableInfo(v["name"], tuple(v["shape"]), v["dtype"], v["trainable"], order)
            for order, v in enumerate(manifest["variables"])
        ],
        optimizer_kind=optimizer.get("kind"),
        hyperparameters=optimizer.get("hyperparameters", {}),
        slot_names=optimizer.get("slots", {}),
        beta_powers=tuple(powers) if powers else None,
        unaligned_random_ops=manifest.get("unaligned_random_ops", []),
        gradient_clipping=manifest.get("gradient_clipping", []),
    )


def _recorded_before(reference: Reference, step: int) -> int:
    """The ladder needs TF1's values before a step: the nearest recorded step at or before."""
    while step > 0 and reference.before(step) is None:
        step -= 1
    return step


def _recording_notes(recording: Recording, strict: bool, steps: int) -> list[str]:
    import keras
    import tensorflow as tf

    notes = []
    recorded = recording.manifest["versions"]
    here = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.version(),
    }
    changed = [
        f"{name} {recorded[name]} -> {here[name]}"
        for name in here
        if recorded.get(name) != here[name]
    ]
    if changed:
        notes.append(
            "recorded with other versions (" + ", ".join(changed) + "): kernels and rewrites "
            "may round differently, so a few ULPs may be the upgrade, not the port; re-record "
            "with the old code where it still runs to tell them apart"
        )
    machine = cpu_difference(recording.manifest.get("machine"), cpu())
    if machine:
        notes.append(
            machine + ": matrix products pick their vector code by CPU and may round the last "
            "bit differently, so a few ULPs may be the machine, not the port; a 0-ULP promise "
            "needs the recording made on this kind of CPU"
        )
    if bool(recording.manifest["settings"]["strict"]) != strict:
        notes.append(
            f"recorded {'with' if recording.manifest['settings']['strict'] else 'without'} "
            f"--strict, checked {'with' if strict else 'without'}: a 0-ULP promise needs --strict "
            "in both"
        )
    if steps < recording.steps:
        notes.append(f"checked {steps} of the {recording.steps} recorded steps")
    every = recording.manifest["settings"]["every"]
    if every > 1:
        notes.append(f"variables compared every {every} steps (as recorded), losses every step")
    return notes


def replication_notes(results: Sequence[StyleCheck], replicas: int) -> list[str]:
    """What ran under --replicas, and a loss N times TF1's named as the scaling forgotten."""
    if replicas == 1:
        return []
    notes = [
        f"the port ran data-parallel: MirroredStrategy over {replicas} logical CPUs "
        "(ReductionToOneDevice: the replicas' gradients summed in replica order), each "
        "replica's tf2_train_step on its shard (numpy.array_split's rule, replica 0 first), "
        "the replicas' losses summed; TF1 ran on one device on the whole batch, so summing "
        "shard gradients may move the last bits (judged by the noise floor and, beyond it, "
        "by the ladder's forward pass and whole step at TF1's values: its gradient and "
        "update rungs compare one device with one device and do not run)"
    ]
    tf1 = float(results[0].losses[0])
    for result in results[1:]:
        port = float(result.losses[0])
        if tf1 != 0.0 and abs(port / tf1 - replicas) <= 1e-3 * replicas:
            notes.append(
                f"{result.mode} style's step-0 loss is {port:.8g}, {replicas} x TF1's "
                f"{tf1:.8g}: each replica returned the mean of its own shard, so the summed "
                f"loss and every gradient are {replicas} times too large; return each "
                "replica's share, tf.nn.compute_average_loss(per_example_loss, "
                "global_batch_size=...)"
            )
            break
    return notes


def _notes(reference: Reference, port: TF2Port, results: Sequence[StyleCheck]) -> list[str]:
    notes = list(port.migration.adjustments)
    for result in results[1:]:
        if not result.moved:
            notes.append(
                f"the {result.mode} port never moved a paired variable in {len(result.losses)} "
                "steps while TF1 trained: does its step apply the update?"
            )
    if port.optimizer is None:
        notes.append(
            "the port updates its variables itself (no Keras optimizer found in tf2_setup()'s "
            "state): its settings are judged by the whole step from TF1's values"
        )
    elif port.clipping():
        notes.append(
            "the port's optimizer clips ("
            + ", ".join(f"{key}={value:g}" for key, value in port.clipping().items())
            + "): TF1 clips in the graph (tf.clip_by_global_norm) or not at all; the steps say "
            "whether they match"
        )
    if port.skipped:
        notes.append("not compared (not floating point): " + ", ".join(port.skipped))
    if reference.unaligned_random_ops:
        notes.append(
            "random ops the checker cannot align: " + ", ".join(reference.unaligned_random_ops[:5])
        )
    return notes
