"""The ladder: one step rerun in the eager port from TF1's own values, rung by rung.

Live (a TF1Program at hand): the forward pass, the gradient of each variable, the optimizer's
update given TF1's gradients, the slots, the non-trainable updates. Against a recording (no
TF1 to ask for gradients): the forward pass and the whole step, at recorded steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bridge.checking.ports import align, slot_pairs
from bridge.checking.reference import Batches, Reference
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from tfmigration.measure.migration_report import Finding, StyleCheck
from tfmigration.measure.ulp import max_ulp_distance, normwise_ulp_distance
from tfmigration.migration.mapping import Pair


def ladder(
    port: TF2Port,
    program: TF1Program | None,
    pairs: Sequence[Pair],
    reference: Reference,
    batches: Batches,
    step: int,
    results: Sequence[StyleCheck],
    strict: bool,
    *,
    sharded: bool = False,
) -> list[Finding]:
    """Rerun step `step` in the eager port from TF1's own values and find the rungs that
    differ: forward pass, gradients, the optimizer's update, non-trainable updates. Without a
    TF1 program (a recording), or for a `sharded` port (run data-parallel, its gradients of
    shards, TF1's of the whole batch), the forward pass and the whole step."""
    if sharded:
        program = None
    whole_step_because = (
        "TF1's gradients are of the whole batch, the replicas' of their shards"
        if sharded
        else "a recording holds no gradients"
    )
    findings: list[Finding] = []
    before = reference.before(step)
    if before is None:
        return findings
    after = reference.after.get(step)
    features, labels = batches(step)
    trainable = [p for p in pairs if p.tf1.trainable]
    slots = slot_pairs(reference, port, pairs)
    scale = port.slot_scale()

    def load_before() -> None:
        align(port, pairs, before)
        for tf1_name, _, variable in slots if scale is not None else []:
            variable.assign(before[tf1_name] * scale)
        powers = reference.beta_powers
        port.set_iterations(
            reference.start_iteration + step,
            (before[powers[0]], before[powers[1]]) if powers else None,
        )

    tf1_loss = reference.losses[step]
    tf1_gradients: dict[str, np.ndarray] = {}
    if program is not None:
        # TF1 at its own values before the step: the gradients its optimizer received.
        program.load(before)
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
            Finding("forward pass", None, message, max_ulp_distance(port_loss, tf1_loss), step=step)
        )

    if program is None:
        return findings + _recorded_step(
            port, pairs, reference, before, after, step, whole_step_because
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
            hint, basis = _hyperparameter_hint(reference, port)
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
                    hint, basis = _hyperparameter_hint(reference, port)
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
    return findings


def _recorded_step(
    port: TF2Port,
    pairs: Sequence[Pair],
    reference: Reference,
    before: dict[str, np.ndarray],
    after: dict[str, np.ndarray] | None,
    step: int,
    because: str,
) -> list[Finding]:
    """Against a recording: the port's whole step (its own gradients and update) from TF1's
    recorded values, against TF1's recorded result. A recording holds no gradients, so the
    two rungs are one here."""
    if after is None:
        return []
    moved = _first_update_difference(pairs, before, after, port.values())
    if moved is None:
        return []
    name, distance = moved
    hint, basis = _hyperparameter_hint(reference, port)
    if basis == "arithmetic" and "Keras's Adam" not in hint:
        basis = "measured"  # the gradient is in this rung too: same settings prove less here
    return [
        Finding(
            "step",
            name,
            f"from TF1's values, the port's step {step} (gradient and update together: "
            f"{because}) moves {name} {distance} ULPs (normwise) from "
            f"where TF1 moved it{hint}",
            distance,
            basis=basis,
            step=step,
        )
    ]


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


def _hyperparameter_hint(reference: Reference, port: TF2Port) -> tuple[str, str]:
    """What the optimizers' settings say about an update that differs, and whether they differ
    (if not, the difference is the libraries' arithmetic, not the port)."""
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
