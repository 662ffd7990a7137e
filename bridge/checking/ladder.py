"""The ladder: one step rerun in the eager port from TF1's own values, rung by rung.

Live (a TF1Program at hand): the forward pass, the gradient of each variable, the optimizer's
update given TF1's gradients, the slots, the non-trainable updates. Against a recording (no
TF1 to ask for gradients): the forward pass and the whole step, at recorded steps.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bridge.checking import layers
from bridge.checking.context import CheckContext
from bridge.checking.ports import align, align_optimizer, slot_pairs
from bridge.checking.reference import Reference
from eagermode.migration import TF2Port, value_view
from graphmode.migration import TF1Program
from tfmigration.measure.migration_report import (
    Finding,
    LadderStep,
    StyleCheck,
)
from tfmigration.measure.ulp import (
    in_chunks,
    max_ulp_distance,
    normwise_ulp_distance,
    relative_error,
)
from tfmigration.measure.verdict import ARITHMETIC_RELATIVE
from tfmigration.migration.mapping import Pair


def ladder(
    check: CheckContext,
    step: int,
    results: Sequence[StyleCheck],
    *,
    localise: bool = True,
    port: TF2Port | None = None,
    pairs: Sequence[Pair] | None = None,
) -> tuple[list[Finding], LadderStep | None]:
    """Rerun step `step` in a port (the eager one unless `port` and its `pairs` are given) from
    TF1's own values and find the rungs that differ: the step counter and learning rate it runs
    with, the forward pass, the whole step (the port's own gradients and update, every paired
    variable and slot after it), and, live, each gradient, the optimizer's update given TF1's
    gradients, the non-trainable updates. Without a TF1 program (a recording), for a port run
    data-parallel (its gradients of shards, TF1's of the whole batch), or for a traced port
    (its gradients inside the trace), the counter, forward pass and whole step.

    The port's own step count before this step in its run is compared first: the rerun sets
    it to TF1's. `localise=False` leaves out the layer localisation (as --no-localise does).
    Returns the findings, each naming the port's style, and which rungs ran."""
    findings, run = _ladder(
        check, step, results, localise, port or check.eager, pairs or check.pairs
    )
    return [replace(f, style=run.style if run else None) for f in findings], run


def _ladder(
    check: CheckContext,
    step: int,
    results: Sequence[StyleCheck],
    localise: bool,
    port: TF2Port,
    pairs: Sequence[Pair],
) -> tuple[list[Finding], LadderStep | None]:
    program, reference = check.program, check.reference
    batches, strict = check.batches, check.settings.strict
    localise = localise and check.settings.localise and port.gradients_readable
    sharded = check.settings.replicas != 1
    port_iterations = _iterations_before(results, step, port.mode)
    whole_step_because = (
        "TF1's gradients are of the whole batch, the replicas' of their shards"
        if sharded
        else "a recording holds no gradients"
        if program is None
        else "its gradients are inside its trace"
    )
    if sharded or not port.gradients_readable:
        program = None
    findings: list[Finding] = []
    before = reference.before(step)
    if before is None:
        return findings, None
    after = reference.after.get(step)
    features, labels = batches(step)
    trainable = [p for p in pairs if p.tf1.trainable]
    slots = slot_pairs(reference, port, pairs)
    scale = port.slot_scale()
    ran: list[str] = []
    expected_count = reference.start_iteration + step
    if port_iterations is not None:
        ran.append("step count")
        findings += _counter_findings(port, port_iterations, expected_count, step)

    def load_before() -> None:
        align(port, pairs, before)
        align_optimizer(port, pairs, reference, before, expected_count)

    tf1_loss = reference.losses[step]
    tf1_gradients: dict[str, np.ndarray] = {}
    if program is not None:
        # TF1 at its own values before the step: the gradients its optimizer received, and the
        # learning rate it ran with.
        program.load(before)
        tf1_gradients = program.gradients(features, labels, step)
        tf1_rate = program.learning_rate(features, labels, step)
    else:
        tf1_rate = None

    load_before()
    rate_before = port.learning_rate()
    port.clear_recorded()
    with layers.recording(port) if localise else contextlib.nullcontext() as recorded:
        port_loss = np.asarray(port.step(features, labels, step)).astype(reference.losses.dtype)[()]
    if step > 0 and port.gradients_readable:
        # The rate its update applied in the rerun (a rate the step assigns itself included);
        # a traced step's is inside its trace, and its whole step shows what the rate did.
        applied = port.applied_learning_rate()
        ran.append("learning rate")
        findings += learning_rate_findings(
            reference, rate_before if applied is None else applied, tf1_rate, step
        )
    whole = port.values()
    whole_slots = _slot_values(slots, scale)
    port_gradients = port.recorded_gradients() or port.tape_gradients(features, labels, step)
    ran.append("forward pass")

    if port_loss != tf1_loss:
        message = (
            f"forward pass: at equal parameters and batch the port's loss is {port_loss!s}, "
            f"TF1's {tf1_loss!s} ({max_ulp_distance(port_loss, tf1_loss)} ULPs)"
        )
        if program is not None:
            program.load(before)
            hint = _regularization_hint(
                program.regularization(), port, float(port_loss), float(tf1_loss)
            )
            if hint:
                message += f"; {hint}"
        if reference.unaligned_random_ops:
            message += (
                "; TF1 draws random numbers the checker cannot align "
                f"({', '.join(reference.unaligned_random_ops[:3])}): they may be the cause"
            )
        if program is not None:
            load_before()
            message += _first_intermediate(port, program, before, features, labels, step)
        findings.append(
            Finding(
                "forward pass",
                None,
                message,
                max_ulp_distance(port_loss, tf1_loss),
                step=step,
                relative=relative_error(port_loss, tf1_loss),
            )
        )
        if program is not None and localise:
            findings += layers.localise(
                recorded, port, program, pairs, before, features, labels, step
            )

    if after is not None:
        ran.append("whole step")
        findings += _whole_step(
            port,
            pairs,
            reference,
            before,
            after,
            whole,
            whole_slots,
            step,
            program is None,
            whole_step_because,
        )
    if port is not check.eager and not port.gradients_readable:
        ran.append("traced step")
        findings += _traced_step(check, step, before, after, pairs, whole, whole_slots)
    # Views of the port's buffers: held while the rungs below write its variables, each would
    # keep a copy of what it views.
    whole = whole_slots = None

    if program is None:
        return findings, LadderStep(step, tuple(ran), port.mode)

    if port_gradients:
        ran.append("gradient")
        for pair in trainable:
            tf1_gradient = tf1_gradients.get(pair.tf1.name)
            port_gradient = port_gradients.get(pair.tf2.name)
            if tf1_gradient is None:
                continue
            if port_gradient is None and pair.tf2.name in port.variables and np.any(tf1_gradient):
                # The port's tape reached no gradient for it (an op without a gradient, or a
                # tf.stop_gradient on its path); TF1's is not zero.
                findings.append(
                    Finding(
                        "gradient",
                        pair.tf1.name,
                        f"gradient of {pair.tf1.name}: the port's is None (its loss does not "
                        "reach it), TF1's is not zero",
                        step=step,
                        basis="setting",
                    )
                )
                break
            if port_gradient is None:
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
                        relative=relative_error(port_gradient, tf1_gradient),
                    )
                )
                break

    # The forward pass agrees and a gradient differs: the same walk, backwards from the loss.
    if (
        localise
        and port_loss == tf1_loss
        and any(
            f.rung == "gradient" and (f.basis == "setting" or layers.beyond_rounding(f.relative))
            for f in findings
        )
    ):
        load_before()
        findings += layers.localise_backward(
            recorded, port, program, pairs, before, features, labels, step
        )

    if port.optimizer is not None and after is not None:
        # The update alone: the port's optimizer handed TF1's gradients, from TF1's state.
        ran.append("update")
        load_before()
        substitute = {
            p.tf2.name: tf1_gradients[p.tf1.name] for p in trainable if p.tf1.name in tf1_gradients
        }
        with port.substituting(substitute):
            port.step(features, labels, step)
        values = port.values()
        updated = _worst_update(trainable, before, after, values)
        if updated is not None:
            name, distance, relative = updated
            hint, basis = _hyperparameter_hint(reference, port, relative)
            findings.append(
                Finding(
                    "update",
                    name,
                    f"{_optimizer_name(port)} update of {name} differs from TF1's by {distance} "
                    f"ULPs (normwise) given the same gradients{hint}",
                    distance,
                    basis=basis,
                    step=step,
                    relative=relative,
                )
            )
        else:
            for tf1_name, key, variable in slots if scale is not None else []:
                value = _in_tf1_convention(variable, scale)
                distance = max_ulp_distance(after[tf1_name], value.astype(after[tf1_name].dtype))
                if distance:
                    hint, basis = _hyperparameter_hint(reference, port)
                    findings.append(
                        Finding(
                            "slot",
                            key,
                            f"optimizer slot {key} differs from TF1's ({distance} ULPs){hint}",
                            distance,
                            basis=basis,
                            step=step,
                            relative=_relative_change(value, after[tf1_name], before[tf1_name]),
                        )
                    )
                    break
        others = [p for p in pairs if not p.tf1.trainable]
        moved = _worst_update(others, before, after, values)
        if moved is not None:
            name, distance, relative = moved
            if math.isinf(relative):
                # TF1's step left it where it was and the port's moved it.
                message = (
                    f"non-trainable {name} never moves in TF1's step and does in the port's"
                    + (
                        ": TF1's batch-norm statistics move only when its update ops run; "
                        "does tf1_train's train_op depend on "
                        "tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)?"
                        if "moving" in name
                        else ""
                    )
                )
                basis = "setting"
            else:
                message = (
                    f"update of non-trainable {name} differs from TF1's by {distance} ULPs "
                    f"(normwise){_moving_hint(name, program)}"
                )
                basis = "measured"
            findings.append(
                Finding(
                    "non-trainable update",
                    name,
                    message,
                    distance,
                    basis=basis,
                    step=step,
                    relative=relative,
                )
            )
    if not findings:
        eager = next((r for r in results if r.mode == "eager"), None)
        if (
            port.mode != "eager"
            and eager is not None
            and eager.first_difference_step is None
            and not strict
        ):
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
        elif reference.unaligned_random_ops:
            findings.append(
                Finding(
                    "random ops",
                    None,
                    "TF1 draws random numbers the checker cannot align "
                    f"({', '.join(reference.unaligned_random_ops[:3])}); they, not the port, "
                    "may be why the runs part",
                    step=step,
                )
            )
    return findings, LadderStep(step, tuple(ran), port.mode)


def _iterations_before(results: Sequence[StyleCheck], step: int, mode: str) -> int | None:
    """The port's own optimizer step count before `step` in its run (None at step 0, where
    `starting_state` compares it, and without a Keras optimizer)."""
    run = next((r for r in results if r.mode == mode), None)
    if run is None or run.iterations is None or step == 0:
        return None
    return int(run.iterations[step - 1])


def starting_state(
    port: TF2Port,
    pairs: Sequence[Pair],
    reference: Reference,
    tf1_rate: float | None,
    *,
    optimizer_loaded: bool = False,
) -> list[Finding]:
    """What the port starts with against what TF1 starts with, beyond the paired variables
    (which the check copies): the optimizer's kind and every setting both hold, the learning
    rate, the step count, and every slot both keep. Nothing here is rounding: a difference is a
    setting. `optimizer_loaded`: TF1's slots and count were copied in (a TF1 checkpoint)."""
    findings: list[Finding] = []
    tf1_kind, port_kind = reference.optimizer_kind, port.optimizer_kind
    if tf1_kind and port_kind and tf1_kind != port_kind:
        findings.append(
            _start(f"TF1 trains with {tf1_kind}, the port with {port_kind}", "optimizer")
        )
        return findings
    tf1, ours = reference.hyperparameters, port.hyperparameters()
    for key in ours:
        # The rate is compared as the port's first update applies it (`learning_rate_findings`
        # after step 0): a step may set it itself.
        if key != "learning_rate" and key in tf1 and np.float32(ours[key]) != np.float32(tf1[key]):
            fix = _SETTING_FIXES.get((port_kind, key), "")
            findings.append(
                _start(
                    f"optimizer setting {key} {_number(ours[key])} in the port, "
                    f"{_number(tf1[key])} in TF1{fix}",
                    key,
                )
            )
    for key, value in port.keras_only_settings().items():
        findings.append(
            _start(
                f"the port's optimizer sets {key}={value!r}, which no tf.compat.v1.train "
                "optimizer has: its update is not TF1's",
                key,
            )
        )
    if not optimizer_loaded:
        findings += _counter_findings(port, port.iterations(), reference.start_iteration, 0)
        scale = port.slot_scale()
        for tf1_name, key, variable in slot_pairs(reference, port, pairs):
            if scale is None:
                continue
            held = _in_tf1_convention(variable, scale)
            start = reference.initial[tf1_name]
            if np.array_equal(held.astype(start.dtype), start):
                continue
            fix = _SLOT_FIXES.get((port_kind, key.rsplit("/", 1)[-1]), "")
            findings.append(
                _start(
                    f"optimizer slot {key} starts at {_describe_values(start)} in TF1 and "
                    f"{_describe_values(held)} in the port{fix}",
                    key,
                    rung_variable=key,
                )
            )
    return findings


_SLOT_FIXES = {
    ("rmsprop", "ms"): (
        ": TF1's RMSPropOptimizer starts its mean square at ones, Keras's RMSprop at zeros; "
        "use eagermode.tf1_compatible.TF1RMSprop"
    ),
    ("adagrad", "accumulator"): (
        ": set Keras's initial_accumulator_value to TF1's initial_accumulator_value"
    ),
}
_SETTING_FIXES = {
    ("adam", "epsilon"): " (TF1's AdamOptimizer defaults to 1e-8, Keras's Adam to 1e-7)",
    ("rmsprop", "epsilon"): " (TF1's RMSPropOptimizer defaults to 1e-10, Keras's RMSprop to 1e-7)",
    ("rmsprop", "rho"): " (TF1 calls it decay)",
}


# A schedule's rate computed by two graphs can round apart: Grappler rewrites x / 10 as
# x * 0.1, so TF1's warmup rate 9 / 10 at its step 8 was 0.90000004 where Keras's eager schedule
# gives 0.89999998. A rate that is another setting is off by far more than this.
RATE_ROUNDING_ULPS = 4


def learning_rate_findings(
    reference: Reference,
    port_rate: float | None,
    tf1_rate: float | None,
    step: int,
    *,
    rung: str = "setting",
) -> list[Finding]:
    """TF1's learning rate at this step (a schedule evaluated at its global step, else its
    number) against the rate the port's update applied at this step (`port_rate`: a Keras
    schedule at its step count, or the rate its step assigned)."""
    scheduled = tf1_rate is not None or "learning_rate" not in reference.hyperparameters
    if tf1_rate is None:
        tf1_rate = reference.hyperparameters.get("learning_rate")
    if port_rate is None or tf1_rate is None:
        return []
    if max_ulp_distance(np.float32(port_rate), np.float32(tf1_rate)) <= RATE_ROUNDING_ULPS:
        return []
    return [
        Finding(
            rung,
            "learning_rate",
            f"learning rate at step {step}: {_number(tf1_rate)} in TF1 and {_number(port_rate)} "
            "in the port"
            + (
                " (a TF1 rate built from global_step is a schedule: give Keras a "
                "keras.optimizers.schedules.LearningRateSchedule, or set the rate before the "
                "update as TF1's schedule gives it)"
                if scheduled
                else ""
            ),
            basis="setting",
            step=step,
        )
    ]


def _counter_findings(port: TF2Port, count: int | None, expected: int, step: int) -> list[Finding]:
    """The port's step count, where its update reads it (Adam's bias correction, a schedule)."""
    if count is None or count == expected or not port.counts_matter():
        return []
    return [
        Finding(
            "start" if step == 0 else "step count",
            "iterations",
            f"the optimizer's step count before step {step} is {count} in the port, {expected} "
            "in TF1: its update reads the count (Adam's bias correction, a learning-rate "
            "schedule)",
            basis="setting",
            step=step,
        )
    ]


def _start(message: str, variable: str, *, rung_variable: str | None = None) -> Finding:
    return Finding("start", rung_variable or variable, message, basis="setting", step=0)


def _number(value: float) -> str:
    return f"{value:g}"


def _describe_values(values: np.ndarray) -> str:
    values = np.asarray(values)
    if values.size and np.all(values == values.flat[0]):
        return _number(float(values.flat[0]))
    return f"values in [{float(values.min()):g}, {float(values.max()):g}]"


def _moving_hint(name: str, program: TF1Program) -> str:
    """Why a batch-norm statistic moves otherwise in the port: TF1's fused kernel's unbiased
    variance, else the decay."""
    if "moving_variance" in name and program.fused_batch_norm:
        return (
            ": TF1's fused batch norm (tf.compat.v1.layers.batch_normalization's default on 4-D "
            "inputs) moves moving_variance toward the unbiased batch variance, n / (n - 1) "
            "times the biased one Keras's BatchNormalization uses, and no Keras setting matches "
            "it (fused=False in TF1 does); the training losses do not read it"
        )
    if "moving" in name:
        return (
            ": a moving statistic: is Keras BatchNormalization's momentum TF1's decay (Keras "
            "defaults to 0.99)?"
        )
    return ""


def _traced_step(
    check: CheckContext,
    step: int,
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray] | None,
    pairs: Sequence[Pair],
    values: dict[str, np.ndarray],
    slot_values: dict[str, np.ndarray],
) -> list[Finding]:
    """The traced port's step from TF1's values against the eager port's own step from the
    same values and batch: the same Python and the same libraries, so where they part it is the
    trace (Python that runs only while tracing, a value frozen into it), or Grappler's
    rewrites; with --strict judged by its ULPs against --tolerance-ulps, unless the traced step
    lands no further from TF1's step than the eager port's own step does: then the two styles'
    arithmetic parts them (a recurrent layer's loop traced rounds otherwise than run eagerly),
    and it is judged as the libraries' arithmetic."""
    eager, eager_pairs, reference = check.eager, check.pairs, check.reference
    align(eager, eager_pairs, before)
    align_optimizer(eager, eager_pairs, reference, before, reference.start_iteration + step)
    slots, scale = slot_pairs(reference, eager, eager_pairs), eager.slot_scale()
    eager.step(*check.batches(step), step)
    done = eager.values()
    done_slots = _slot_values(slots, scale)
    eager_after = {p.tf1.name: done[p.tf2.name] for p in eager_pairs} | done_slots
    traced = _furthest(
        pairs,
        before,
        eager_after,
        values,
        {k: v for k, v in slot_values.items() if k in eager_after},
    )
    if traced is None:
        return []
    name, distance, relative = traced
    # Without --strict, Grappler rewrites the traced step's arithmetic: where Adam divides by a
    # gradient's size, a rounding moves a step by more than the tolerance (2.2e-4 of its change
    # on a GRU), so it is judged as the libraries' arithmetic is; with Grappler off the traced
    # step is the eager one's ops, and judged by its ULPs.
    basis = "measured" if check.settings.strict else "arithmetic"
    message = (
        f"from TF1's values, the tf.function port's step {step} takes {name} {distance} "
        f"ULPs (normwise) from where the eager port's own step took it, {relative:.3g} of "
        "its change: the same Python traced (a value frozen into the trace, Python that "
        "runs only while tracing, or Grappler's rewrites without --strict)"
    )
    if basis == "measured" and after is not None:
        # Measured on a faithful GRU with Adam, Grappler and oneDNN off: the traced step 2.2e-4
        # of its change from the eager one's, while each is 6.4e-5 and 1.6e-4 of TF1's change
        # from TF1's step. A trace that is wrong moves its step away from TF1's.
        traced_off = _furthest(pairs, before, after, values, slot_values)
        eager_off = _furthest(eager_pairs, before, after, done, done_slots)
        traced_relative = traced_off[2] if traced_off else 0.0
        eager_relative = eager_off[2] if eager_off else 0.0
        if traced_relative <= eager_relative:
            basis = "arithmetic"
            message += (
                f"; it lands no further from TF1's step than the eager port's own step does "
                f"({traced_relative:.3g} against {eager_relative:.3g} of TF1's change), so the "
                "two styles' arithmetic"
            )
    return [
        Finding("traced step", name, message, distance, basis=basis, step=step, relative=relative)
    ]


def _slot_values(slots: list, scale: float | None) -> dict[str, np.ndarray]:
    if scale is None:
        return {}
    return {tf1_name: _in_tf1_convention(variable, scale) for tf1_name, _, variable in slots}


def _in_tf1_convention(variable: Any, scale: float) -> np.ndarray:
    """A Keras slot's value as TF1 keeps it: divided by `scale`, a new array only where `scale`
    is not 1 (elsewhere the read itself, which shares the variable's buffer: two Adam slots of
    a 10M-parameter model copied were 160 MB of the ladder's peak)."""
    value = value_view(variable)
    return value if scale == 1.0 else value / scale


def _whole_step(
    port: TF2Port,
    pairs: Sequence[Pair],
    reference: Reference,
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    slot_values: dict[str, np.ndarray],
    step: int,
    recorded: bool,
    because: str,
) -> list[Finding]:
    """The port's own step (its gradients and its update) from TF1's values, against where TF1's
    step took every paired variable and slot: the one furthest from TF1's change, variables
    and slots alike (a slot written wrong after the update leaves the variables as TF1's)."""
    furthest = _furthest(pairs, before, after, values, slot_values)
    if furthest is None:
        return []
    name, distance, relative = furthest
    hint, basis = _hyperparameter_hint(reference, port, relative)
    if port.optimizer is None:
        basis = "measured"  # an update written by hand: no settings to compare
    if reference.gradient_clipping and not port.clipping():
        hint += (
            f"; TF1's graph clips its gradients ({', '.join(reference.gradient_clipping)}) and "
            "the port's optimizer does not (global_clipnorm, clipnorm, clipvalue): does its "
            "step clip them?"
        )
    what = f"gradient and update together: {because}" if recorded else "its gradients and update"
    return [
        Finding(
            "whole step",
            name,
            f"from TF1's values, the port's step {step} ({what}) takes {name} {distance} ULPs "
            f"(normwise) from where TF1's took it, {relative:.3g} of TF1's change{hint}",
            distance,
            basis=basis,
            step=step,
            relative=relative,
        )
    ]


def _furthest(
    pairs: Sequence[Pair],
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    values: dict[str, np.ndarray],
    slot_values: dict[str, np.ndarray],
) -> tuple[str, int, float] | None:
    """The paired variable or slot furthest from `after` relative to its change from `before`
    (variables and slots alike: a slot written wrong after the update leaves the variables as
    TF1's), or None where every one is `after`'s bit for bit."""
    moved = [
        worst
        for worst in (
            _worst_update(pairs, before, after, values),
            _worst_slot(slot_values, before, after),
        )
        if worst is not None
    ]
    return max(moved, key=lambda worst: worst[2]) if moved else None


def _worst_update(
    pairs: Sequence[Pair],
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
    port_values: dict[str, np.ndarray],
) -> tuple[str, int, float] | None:
    """The variable whose step lands furthest from TF1's, relative to TF1's change: (TF1 name,
    normwise ULPs of the values after the step, relative difference of the changes)."""
    worst = None
    for pair in pairs:
        tf1_after, port_after = after[pair.tf1.name], port_values[pair.tf2.name]
        if np.array_equal(tf1_after, port_after.astype(tf1_after.dtype)):
            continue
        distance = max(normwise_ulp_distance(port_after, tf1_after), 1)
        relative = _relative_change(port_after, tf1_after, before[pair.tf1.name])
        if worst is None or relative > worst[2]:
            worst = (pair.tf1.name, distance, relative)
    return worst


def _worst_slot(
    slot_values: dict[str, np.ndarray],
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray],
) -> tuple[str, int, float] | None:
    worst = None
    for tf1_name, value in slot_values.items():
        if np.array_equal(after[tf1_name], value.astype(after[tf1_name].dtype)):
            continue
        distance = max(normwise_ulp_distance(value, after[tf1_name]), 1)
        relative = _relative_change(value, after[tf1_name], before[tf1_name])
        if worst is None or relative > worst[2]:
            worst = (tf1_name, distance, relative)
    return worst


def _relative_change(port_after: np.ndarray, tf1_after: np.ndarray, start: np.ndarray) -> float:
    """max|port change - TF1 change| / max|TF1 change|; infinite where TF1 did not move it and
    the port did."""
    arrays = np.broadcast_arrays(np.asarray(port_after), np.asarray(tf1_after), np.asarray(start))
    scale = error = np.float64(0.0)
    # A chunk at a time: whole float64 copies of a 10M-value kernel were the ladder's peak.
    for port_chunk, tf1_chunk, start_chunk in in_chunks(*(a.ravel() for a in arrays)):
        start_chunk = start_chunk.astype(np.float64)
        tf1_change = tf1_chunk.astype(np.float64) - start_chunk
        port_change = port_chunk.astype(np.float64) - start_chunk
        scale = np.maximum(scale, np.max(np.abs(tf1_change)))
        error = np.maximum(error, np.max(np.abs(port_change - tf1_change)))
    scale, error = float(scale), float(error)
    if scale == 0.0:
        return math.inf if error else 0.0
    return error / scale


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


def _hyperparameter_hint(
    reference: Reference, port: TF2Port, relative: float | None = None
) -> tuple[str, str]:
    """What the optimizers' settings say about an update that differs, and whether they differ
    (if not, and the update is within ARITHMETIC_RELATIVE of TF1's, the difference is the
    libraries' arithmetic, not the port)."""
    if relative is not None and relative > ARITHMETIC_RELATIVE:
        hint, basis = _hyperparameter_hint(reference, port)
        if basis != "arithmetic":
            return hint, basis
        return (
            f"; the same optimizer and settings, yet {relative:.3g} of TF1's change: more "
            f"than the libraries' arithmetic explains ({ARITHMETIC_RELATIVE:g})",
            "arithmetic",
        )
    tf1 = reference.hyperparameters
    tf2 = port.hyperparameters()
    kind = reference.optimizer_kind
    if kind and port.optimizer_kind and kind != port.optimizer_kind:
        return f"; TF1 runs {kind}, the port {port.optimizer_kind}", "setting"
    if kind is None or port.optimizer_kind is None:
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
