"""Check a user's migration: their TF1 code against their TF2 port, in all three styles.

TF1 (`tf1_train`) runs in a Session and is the reference; the port runs eagerly and with its step
under tf.function. Variables are paired by `tfmigration.migration.mapping`, TF1's initial values
are copied into each port, every style trains on the same batches with dropout aligned, and
every step's loss, every mapped variable and every optimizer slot both sides keep is measured in
ULPs. Where the port parts from TF1, the ladder reruns that step in the eager port from TF1's
own values: forward pass, gradients, optimizer update, non-trainable updates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bridge.function.grappler import grappler_disabled
from bridge.function.migration import FunctionPort
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from tfmigration.catalog.errors import UserError
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS
from tfmigration.measure.migration_report import (
    CheckReport,
    Divergence,
    Finding,
    NoiseFloor,
    StyleCheck,
    first_difference,
)
from tfmigration.measure.ulp import max_ulp_distance, normwise_ulp_distance, ulp_distance
from tfmigration.migration.contract import (
    DEFAULT_SEED,
    DEFAULT_STEPS,
    MigrationFile,
    batch_indices,
    load,
)
from tfmigration.migration.mapping import Pair, infer_mapping

PORT_STYLES = ("eager", "function")


class MigrationDiverged(UserError):
    """A loss or variable became NaN or infinite; the message names the style and step."""


@dataclass
class _Run:
    """What the TF1 reference did: each step's loss and every variable after each step."""

    losses: np.ndarray
    initial: dict[str, np.ndarray]
    after: list[dict[str, np.ndarray]]
    seconds: float

    def before(self, step: int) -> dict[str, np.ndarray]:
        return self.initial if step == 0 else self.after[step - 1]


class _Batches:
    def __init__(self, migration: MigrationFile, indices: np.ndarray | None) -> None:
        self._migration = migration
        self._indices = indices

    def __call__(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        if self._indices is None:
            return self._migration.features, self._migration.labels
        rows = self._indices[step]
        return self._migration.features[rows], self._migration.labels[rows]


def check_migration(
    path: str | Path,
    *,
    steps: int | None = None,
    strict: bool = False,
    batch_size: int | None = None,
    seed: int | None = None,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = PORT_STYLES,
    on_style: Callable[[str], None] | None = None,
) -> CheckReport:
    """Run the migration file at `path` in every style and report where, if anywhere, they part.

    `steps`, `batch_size` and `seed` default to the file's `STEPS`, `BATCH_SIZE` and `SEED`, then
    to 20 steps on the whole data set with seed 0. `strict` turns Grappler off.
    """
    migration = load(path)
    steps = _positive("steps", steps, migration.setting("STEPS", DEFAULT_STEPS))
    batch_size = _positive("batch_size", batch_size, migration.setting("BATCH_SIZE", None))
    seed = seed if seed is not None else migration.setting("SEED", None) or DEFAULT_SEED
    batches = _Batches(migration, batch_indices(migration.rows, steps, batch_size, seed))

    if on_style:
        on_style("graph")
    program = TF1Program(migration, strict=strict, seed=seed)
    try:
        ports = {"eager": TF2Port(migration)}
        pairs = infer_mapping(
            program.variable_infos(),
            ports["eager"].variable_infos(),
            migration.variable_map,
            source=str(migration.path),
        )
        reference = _run_tf1(program, batches, steps)
        results = [
            StyleCheck(
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
        ]
        for style in styles:
            if on_style:
                on_style(style)
            port = ports.get(style) or FunctionPort(migration)
            ports[style] = port
            port_pairs = _renamed(pairs, ports["eager"], port)
            _align(port, port_pairs, reference.initial)
            with grappler_disabled(strict and style == "function"):
                shown = {
                    renamed.tf2.name: pair.tf2.name
                    for renamed, pair in zip(port_pairs, pairs, strict=True)
                }
                results.append(
                    _run_port(port, program, port_pairs, reference, batches, steps, shown)
                )
        differences = [
            r.first_difference_step for r in results if r.first_difference_step is not None
        ]
        findings: list[Finding] = []
        noise_floor = beyond = None
        if differences:
            if on_style:
                on_style("noise floor")
            noise_floor = _noise_floor(program, pairs, reference, batches, steps, seed)
            beyond = _first_beyond(results, noise_floor, tolerance_ulps)
            for step in sorted({min(differences), *([beyond] if beyond is not None else [])}):
                # The eager port has trained; the ladder loads every value it needs afresh.
                findings += _ladder(
                    ports["eager"], program, pairs, reference, batches, step, results, strict
                )
        notes = _notes(program, ports["eager"])
    finally:
        program.close()
    return CheckReport(
        model=migration.name,
        path=str(migration.path),
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        variable_map=tuple((p.tf1.name, p.tf2.name, p.how) for p in pairs),
        results=tuple(results),
        findings=tuple(findings),
        notes=tuple(notes),
        noise_floor=noise_floor,
        beyond_floor_step=beyond,
    )


def _positive(name: str, value: int | None, default: int | None) -> int | None:
    from tfmigration.catalog.errors import ConfigError

    value = default if value is None else value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ConfigError(f"--{name.replace('_', '-')} {value!r} must be a positive whole number")
    return int(value)


def _run_tf1(program: TF1Program, batches: _Batches, steps: int) -> _Run:
    losses = np.empty(steps, dtype=program.loss.dtype.as_numpy_dtype)
    initial = program.snapshot()
    after = []
    start = time.perf_counter()
    for step in range(steps):
        features, labels = batches(step)
        losses[step] = program.step(features, labels, step)
        _finite("graph", step, losses[step])
        after.append(program.snapshot())
    return _Run(losses, initial, after, time.perf_counter() - start)


def _first_beyond(
    results: Sequence[StyleCheck], floor: NoiseFloor, tolerance_ulps: int
) -> int | None:
    """The first step at which a port is further from TF1 than rounding alone moves TF1."""
    steps = []
    for result in results[1:]:
        if result.loss_ulps is None or result.param_ulps is None:
            continue
        beyond = (result.loss_ulps > max(floor.loss_ulps, tolerance_ulps)) | (
            result.param_ulps > max(floor.param_ulps, tolerance_ulps)
        )
        if beyond.any():
            steps.append(int(np.flatnonzero(beyond)[0]))
    return min(steps) if steps else None


def _noise_floor(
    program: TF1Program,
    pairs: Sequence[Pair],
    reference: _Run,
    batches: _Batches,
    steps: int,
    seed: int,
) -> NoiseFloor:
    """How far rounding alone moves TF1's own trajectory: TF1 rerun with every model variable
    nudged by one ULP at the start and after every update, as a faithful port's rounding
    differs at every step rather than once. One extra TF1 run; the losses are compared at every
    step, the variables and slots at the end (where the spread is widest)."""
    names = [pair.tf1.name for pair in pairs]
    program.load(reference.initial)
    program.nudge(names, -1, seed)
    loss_ulps = 0
    last = -1
    for step in range(steps):
        features, labels = batches(step)
        loss = program.step(features, labels, step)
        if not math.isfinite(float(loss)):
            break
        loss_ulps = max(loss_ulps, max_ulp_distance(np.asarray(loss), reference.losses[step]))
        last = step
        program.nudge(names, step, seed)
    if last < 0:
        return NoiseFloor(loss_ulps, 0, 0)
    values, expected = program.snapshot(), reference.after[last]
    finite = [name for name in names if np.isfinite(values[name]).all()]
    param_ulps = max((max_ulp_distance(values[n], expected[n]) for n in finite), default=0)
    slot_ulps = max(
        (max_ulp_distance(values[n], expected[n]) for n in program.slot_names.values()),
        default=0,
    )
    return NoiseFloor(loss_ulps, param_ulps, slot_ulps)


def _finite(style: str, step: int, loss: np.floating) -> None:
    if not math.isfinite(float(loss)):
        raise MigrationDiverged(
            f"{style} style: the loss is {float(loss)} at step {step}"
            + (" (before any update: check the data and initial values)" if step == 0 else "")
        )


def _renamed(pairs: Sequence[Pair], named_from: TF2Port, port: TF2Port) -> list[Pair]:
    """`pairs` for another port built by the same tf2_setup(): Keras numbers each new model
    (`sequential_1/...`), so its variables are matched to the first port's by position."""
    if port is named_from:
        return list(pairs)
    first, second = list(named_from.variables.items()), list(port.variables.items())
    shapes = [tuple(v.shape) for _, v in first], [tuple(v.shape) for _, v in second]
    if shapes[0] != shapes[1]:
        raise UserError(
            f"{port.migration.path}: tf2_setup() built different variables on a second call "
            f"({len(first)} then {len(second)}); it must build the same model every time"
        )
    renamed = {a: b for (a, _), (b, _) in zip(first, second, strict=True)}
    return [
        Pair(pair.tf1, replace(pair.tf2, name=renamed[pair.tf2.name]), pair.how) for pair in pairs
    ]


def _align(port: TF2Port, pairs: Sequence[Pair], values: dict[str, np.ndarray]) -> None:
    """Copy TF1's values into the port, so the port's own initialisers never matter."""
    port.load({pair.tf2.name: values[pair.tf1.name] for pair in pairs})


def _slot_pairs(
    program: TF1Program, port: TF2Port, pairs: Sequence[Pair]
) -> list[tuple[str, str, object]]:
    """(TF1 variable name in a snapshot, "tf1name/slot", Keras slot variable) both sides keep."""
    if program.optimizer_kind is None or program.optimizer_kind != port.optimizer_kind:
        return []
    keras_slots = port.slot_variables()
    found = []
    for pair in pairs:
        for (port_name, slot), variable in keras_slots.items():
            key = f"{pair.tf1.name}/{slot}"
            if port_name == pair.tf2.name and key in program.slot_names:
                found.append((program.slot_names[key], key, variable))
    return found


def _port_slot_values(port: TF2Port, slots: list, scale: float | None) -> list[np.ndarray]:
    return [np.asarray(variable.numpy()) / (scale or 1.0) for _, _, variable in slots]


def _run_port(
    port: TF2Port,
    program: TF1Program,
    pairs: Sequence[Pair],
    reference: _Run,
    batches: _Batches,
    steps: int,
    display: dict[str, str],
) -> StyleCheck:
    losses = np.empty(steps, dtype=reference.losses.dtype)
    param_ulps = np.zeros(steps, dtype=np.int64)
    slots = _slot_pairs(program, port, pairs)
    scale = port.slot_scale()
    if scale is None:
        slots = []  # a scheduled lr: Keras's momentum slot cannot be put in TF1's convention
    first_loss = first_values = None
    divergence: Divergence | None = None
    per_step_first: dict[int, str] = {}
    max_param = max_slot = 0
    seconds = 0.0
    for step in range(steps):
        features, labels = batches(step)
        start = time.perf_counter()
        loss = port.step(features, labels, step)
        seconds += time.perf_counter() - start
        _finite(port.mode, step, loss)
        losses[step] = np.asarray(loss).astype(losses.dtype)
        if first_loss is None and losses[step] != reference.losses[step]:
            first_loss = step
        values = port.values()
        tf1_after = reference.after[step]
        compared = [
            (p.tf1.name, p.tf2.name, tf1_after[p.tf1.name], values[p.tf2.name]) for p in pairs
        ]
        for name, _, _tf1_value, port_value in compared:
            if not np.isfinite(port_value).all():
                raise MigrationDiverged(
                    f"{port.mode} style: variable {name} holds a NaN or infinity after step {step}"
                )
        found = first_difference(compared, step)
        if found is not None:
            per_step_first.setdefault(step, found.variable)
            if divergence is None:
                # Named as the mapping shows it (a second tf2_setup() numbers Keras layers anew).
                shown = {p.tf2.name: p.tf2.name for p in pairs} | display
                divergence = replace(found, port_variable=shown[found.port_variable])
            if first_values is None:
                first_values = step
            param_ulps[step] = max(
                max_ulp_distance(c[2], c[3].astype(c[2].dtype)) for c in compared
            )
            max_param = max(max_param, int(param_ulps[step]))
        if slots:
            slot_values = _port_slot_values(port, slots, scale)
            for (tf1_name, _, _), value in zip(slots, slot_values, strict=True):
                distance = max_ulp_distance(
                    tf1_after[tf1_name], value.astype(tf1_after[tf1_name].dtype)
                )
                if distance and first_values is None:
                    first_values = step
                max_slot = max(max_slot, distance)
    loss_ulps = max_ulp_distance(losses, reference.losses)
    first_step = first_loss
    if first_step is None and first_values is not None:
        first_step = first_values + 1
    variable = None
    if first_step is not None:
        at = min(first_step, steps - 1)
        variable = per_step_first.get(at) or next(iter(per_step_first.values()), None)
    differences = [s for s in (first_loss, first_values) if s is not None]
    return StyleCheck(
        mode=port.mode,
        losses=losses,
        max_loss_ulps=loss_ulps,
        max_param_ulps=max_param,
        max_slot_ulps=max_slot,
        first_divergent_step=first_step,
        first_divergent_variable=variable,
        divergence=divergence,
        seconds=seconds,
        first_difference_step=min(differences) if differences else None,
        loss_ulps=ulp_distance(losses, reference.losses).astype(np.int64),
        param_ulps=param_ulps,
    )


def _ladder(
    port: TF2Port,
    program: TF1Program,
    pairs: Sequence[Pair],
    reference: _Run,
    batches: _Batches,
    step: int,
    results: Sequence[StyleCheck],
    strict: bool,
) -> list[Finding]:
    """Rerun step `step` in the eager port from TF1's own values and find the first rung that
    differs: forward pass, gradients, the optimizer's update, non-trainable updates."""
    findings: list[Finding] = []
    before = reference.before(step)
    after = reference.after[step]
    features, labels = batches(step)
    trainable = [p for p in pairs if p.tf1.trainable]
    slots = _slot_pairs(program, port, pairs)
    scale = port.slot_scale()

    def load_before() -> None:
        _align(port, pairs, before)
        for tf1_name, _, variable in slots if scale is not None else []:
            variable.assign(before[tf1_name] * scale)
        powers = program.beta_powers
        port.set_iterations(step, (before[powers[0]], before[powers[1]]) if powers else None)

    # TF1 at its own values before the step: the gradients its optimizer received.
    program.load(before)
    tf1_loss = reference.losses[step]
    tf1_gradients = program.gradients(features, labels, step)

    load_before()
    port.clear_recorded()
    port_loss = np.asarray(port.step(features, labels, step)).astype(reference.losses.dtype)[()]
    port_gradients = port.recorded_gradients() or port.tape_gradients(features, labels, step)

    if port_loss != tf1_loss:
        message = (
            f"forward pass: at equal parameters and batch the port's loss is {port_loss!s}, "
            f"TF1's {tf1_loss!s} ({max_ulp_distance(port_loss, tf1_loss)} ULPs)"
        )
        program.load(before)
        hint = _regularization_hint(
            program.regularization(), port, float(port_loss), float(tf1_loss)
        )
        if hint:
            message += f"; {hint}"
        if program.unaligned_random_ops:
            message += (
                "; TF1 draws random numbers the checker cannot align "
                f"({', '.join(program.unaligned_random_ops[:3])}): they may be the cause"
            )
        load_before()
        message += _first_intermediate(port, program, before, features, labels, step)
        findings.append(
            Finding("forward pass", None, message, max_ulp_distance(port_loss, tf1_loss), step=step)
        )

    if port_gradients:
        for pair in trainable:
            tf1_gradient = tf1_gradients.get(pair.tf1.name)
            port_gradient = port_gradients.get(pair.tf2.name)
            if tf1_gradient is None or port_gradient is None:
                continue
            distance = normwise_ulp_distance(port_gradient, tf1_gradient)
            if distance:
                findings.append(
                    Finding(
                        "gradient",
                        pair.tf1.name,
                        f"gradient of {pair.tf1.name}: {distance} ULPs (normwise) from TF1's "
                        f"(largest difference {_largest(tf1_gradient, port_gradient):.3g})",
                        distance,
                        step=step,
                    )
                )
                break

    if port.optimizer is not None:
        # The update alone: the port's optimizer handed TF1's gradients, from TF1's state.
        load_before()
        substitute = {
            p.tf2.name: tf1_gradients[p.tf1.name] for p in trainable if p.tf1.name in tf1_gradients
        }
        with port.substituting(substitute):
            port.step(features, labels, step)
        values = port.values()
        updated = _first_update_difference(trainable, before, after, values)
        if updated is not None:
            name, distance = updated
            hint, basis = _hyperparameter_hint(program, port)
            findings.append(
                Finding(
                    "update",
                    name,
                    f"{_optimizer_name(port)} update of {name} differs from TF1's by {distance} "
                    f"ULPs (normwise) given the same gradients{hint}",
                    distance,
                    basis=basis,
                    step=step,
                )
            )
        else:
            for tf1_name, key, variable in slots if scale is not None else []:
                value = np.asarray(variable.numpy()) / scale
                distance = max_ulp_distance(after[tf1_name], value.astype(after[tf1_name].dtype))
                if distance:
                    hint, basis = _hyperparameter_hint(program, port)
                    findings.append(
                        Finding(
                            "slot",
                            key,
                            f"optimizer slot {key} differs from TF1's ({distance} ULPs){hint}",
                            distance,
                            basis=basis,
                            step=step,
                        )
                    )
                    break
        others = [p for p in pairs if not p.tf1.trainable]
        moved = _first_update_difference(others, before, after, values)
        if moved is not None:
            name, distance = moved
            findings.append(
                Finding(
                    "non-trainable update",
                    name,
                    f"update of non-trainable {name} differs from TF1's by {distance} ULPs "
                    "(normwise)"
                    + (
                        ": a moving statistic: is Keras BatchNormalization's momentum TF1's "
                        "decay (Keras defaults to 0.99)?"
                        if "moving" in name
                        else ""
                    ),
                    distance,
                    step=step,
                )
            )
    if not findings:
        eager = next((r for r in results if r.mode == "eager"), None)
        if eager is not None and eager.first_divergent_step is None and not strict:
            findings.append(
                Finding(
                    "graph rewrites",
                    None,
                    "only tf.function parts from TF1, and the eager port agrees: Grappler's "
                    "arithmetic rewrites; rerun with --strict to turn them off",
                    basis="arithmetic",
                    step=step,
                )
            )
        elif program.unaligned_random_ops:
            findings.append(
                Finding(
                    "random ops",
                    None,
                    "TF1 draws random numbers the checker cannot align "
                    f"({', '.join(program.unaligned_random_ops[:3])}); they, not the port, may be "
                    "why the runs part",
                    step=step,
                )
            )
    return findings


def _first_update_difference(
    pairs: Sequence[Pair],
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    port_values: dict[str, np.ndarray],
) -> tuple[str, int] | None:
    """The first variable whose update (after - before) differs from TF1's, normwise ULPs."""
    for pair in pairs:
        start = before[pair.tf1.name].astype(np.float64)
        tf1_update = after[pair.tf1.name] - start
        port_update = port_values[pair.tf2.name].astype(np.float64) - start
        if np.array_equal(after[pair.tf1.name], port_values[pair.tf2.name]):
            continue
        dtype = after[pair.tf1.name].dtype
        distance = normwise_ulp_distance(port_update.astype(dtype), tf1_update.astype(dtype))
        return pair.tf1.name, max(distance, 1)
    return None


def _first_intermediate(
    port: TF2Port,
    program: TF1Program,
    before: dict[str, np.ndarray],
    features: np.ndarray,
    labels: np.ndarray,
    step: int,
) -> str:
    """The first intermediate tensor, in the file's order, that differs at equal parameters,
    where the file names them: TF1_INTERMEDIATES = {label: "tensor:0"} and
    tf2_intermediates(state, features, labels) -> {label: tensor}."""
    names = getattr(program.migration.module, "TF1_INTERMEDIATES", None)
    if not names:
        return ""
    program.load(before)
    tf1 = program.intermediates(dict(names), features, labels, step)
    tf2 = port.intermediates(features, labels, step)  # the caller loaded `before` into the port
    for label, tf1_value in tf1.items():
        if label not in tf2:
            continue
        if tf2[label].shape != tf1_value.shape:
            return (
                f"; intermediate {label!r} has shape {list(tf2[label].shape)} in the port, "
                f"{list(tf1_value.shape)} in TF1"
            )
        distance = normwise_ulp_distance(tf2[label].astype(tf1_value.dtype), tf1_value)
        if distance:
            return f"; the first intermediate that differs is {label!r} ({distance} ULPs, normwise)"
    return "; every named intermediate agrees"


def _largest(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _optimizer_name(port: TF2Port) -> str:
    return type(port.optimizer).__name__


def _hyperparameter_hint(program: TF1Program, port: TF2Port) -> tuple[str, str]:
    """What the optimizers' settings say about an update that differs, and whether they differ
    (if not, the difference is the libraries' arithmetic, not the port)."""
    tf1 = program.optimizer_hyperparameters
    tf2 = port.hyperparameters()
    if (
        program.optimizer_kind
        and port.optimizer_kind
        and program.optimizer_kind != port.optimizer_kind
    ):
        return f"; TF1 runs {program.optimizer_kind}, the port {port.optimizer_kind}", "setting"
    if program.optimizer_kind is None or port.optimizer_kind is None:
        return "", "measured"
    differing = [
        f"{key} {tf2[key]:g} vs {tf1[key]:g}"
        for key in tf2
        if key in tf1 and np.float32(tf2[key]) != np.float32(tf1[key])
    ]
    if differing:
        return f": {', '.join(differing)} (port vs TF1)", "setting"
    if port.optimizer_kind == "adam" and type(port.optimizer).__name__ == "Adam":
        return (
            "; same hyperparameters: Keras's Adam rounds 1 - beta_1 and 1 - beta_2 from float64 "
            "(1 - 0.999 -> 0.001) where TF1's kernel subtracts in float32 (0.00099998713), and "
            "computes beta^t afresh where TF1 multiplies it up; rounding, not a wrong setting "
            "(eagermode.tf1_compatible.TF1Adam computes TF1's update bit for bit)"
        ), "arithmetic"
    return "; same hyperparameters: the libraries' arithmetic differs", "arithmetic"


def _regularization_hint(
    tf1_regularization: float | None, port: TF2Port, port_loss: float, tf1_loss: float
) -> str:
    port_regularization = port.regularization()
    if tf1_regularization is None:
        return ""
    if port_regularization is None:
        gap = tf1_loss - port_loss
        if math.isclose(gap, tf1_regularization, rel_tol=1e-3, abs_tol=1e-6):
            return (
                f"the port's loss lacks TF1's regularization (REGULARIZATION_LOSSES adds "
                f"{tf1_regularization:.6g}): add kernel_regularizer and sum(model.losses)"
            )
        return f"TF1's REGULARIZATION_LOSSES add {tf1_regularization:.6g}; the port has none"
    if not math.isclose(port_regularization, tf1_regularization, rel_tol=1e-5):
        return (
            f"regularization differs: {port_regularization:.6g} in the port, "
            f"{tf1_regularization:.6g} in TF1 (Keras L2(l) is l*sum(w^2); tf.nn.l2_loss is "
            "sum(w^2)/2)"
        )
    return ""


def _notes(program: TF1Program, port: TF2Port) -> list[str]:
    notes = []
    if port.skipped:
        notes.append("not compared (not floating point): " + ", ".join(port.skipped))
    if program.unaligned_random_ops:
        notes.append(
            "random ops the checker cannot align: " + ", ".join(program.unaligned_random_ops[:5])
        )
    return notes
