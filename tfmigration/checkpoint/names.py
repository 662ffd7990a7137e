"""The names each format gives every piece of training state, and the mapping between them.

TF1's `Saver` keys a tensor by its variable's name. The optimizers name their slots
`<variable>/<optimizer name>` and uniquify a second slot of the same optimizer with `_1`
(tensorflow/python/training/slot_creator.py; adam.py `_create_slots`: `_zeros_slot(v, "m",
self._name)` then `"v"`), and keep Adam's beta^t in two non-slot variables, `beta1_power` and
`beta2_power`; `global_step` counts the steps. Our TF2 checkpoints are object-based
(`tf.train.Checkpoint`), keyed by object path, laid out by name so that a person can read them:

    item                 TF1 Saver key          TF2 Checkpoint path
    parameter w          w                      model/w
    Adam m, v            w/Adam, w/Adam_1       optimizer/m/w, optimizer/v/w
    Momentum             w/Momentum             optimizer/momentum/w
    RMSProp ms, momentum w/RMSProp, w/RMSProp_1 optimizer/ms/w, optimizer/momentum/w
    Adagrad              w/Adagrad              optimizer/accumulator/w
    beta^(t+1)           beta1_power, ...       optimizer/beta1_power, ... (TF1Adam only)
    steps done           global_step            step (and Keras's optimizer/iterations)
    run settings         tfbridge_settings      settings

(each TF2 path followed by `/.ATTRIBUTES/VARIABLE_VALUE` in the file). What one format has and
the other lacks is derived, and said so: Keras's `iterations` from `global_step` (or, in a TF1
checkpoint without one, from `beta1_power`), TF1's `beta1_power` by TF1's own float32 products
when a stock Keras Adam kept none.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tfmigration.catalog.optimizers import SLOTS, TF1_SLOT_SUFFIXES
from tfmigration.checkpoint.state import CheckpointError, TrainingState, parse_settings

TF1, TF2 = "tf1", "tf2"

TF1_GLOBAL_STEP = "global_step"
TF1_SETTINGS = "tfbridge_settings"
BETA_POWERS = ("beta1_power", "beta2_power")
TF2_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
TF2_OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"
TF2_STEP, TF2_ITERATIONS, TF2_SETTINGS = "step", "optimizer/iterations", "settings"
# tf.train.Checkpoint's own count of its saves (tensorflow/python/checkpoint/checkpoint.py).
TF2_SAVE_COUNTER = "save_counter"


@dataclass(frozen=True)
class Row:
    """One line of a conversion table."""

    source: str
    destination: str
    shape: tuple[int, ...]
    dtype: str
    note: str = ""


def detect_format(keys: set[str]) -> str:
    """TF2 object-based checkpoints carry their object graph; TF1 name-based ones do not."""
    return TF2 if TF2_OBJECT_GRAPH in keys else TF1


def _text(value: np.ndarray) -> str:
    item = np.asarray(value)[()]
    return item.decode() if isinstance(item, bytes) else str(item)


def _optimizer_of(settings: dict | None, *, keras_side: bool) -> tuple[str | None, dict]:
    if not settings:
        return None, {}
    spec = settings.get("keras_optimizer" if keras_side else "optimizer") or {}
    return spec.get("name"), spec


def state_from_tf1(tensors: Mapping[str, np.ndarray]) -> TrainingState:
    """Read a name-based checkpoint: parameters are what is neither a slot nor a counter."""
    settings = parse_settings(_text(tensors[TF1_SETTINGS])) if TF1_SETTINGS in tensors else None
    named_optimizer, spec = _optimizer_of(settings, keras_side=False)
    by_suffix = {suffix: key for key, suffix in TF1_SLOT_SUFFIXES.items()}
    slots: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    found_optimizers = set()
    params = {}
    special = {TF1_GLOBAL_STEP, TF1_SETTINGS, *BETA_POWERS}
    slot_keys = []
    # Our settings name the parameters; a checkpoint without them (a user's own TF1 run)
    # has every variable that is neither a slot nor a counter taken for one.
    declared = set((settings or {}).get("params") or ())
    unknown = []
    for key in sorted(tensors):
        parent, _, leaf = key.rpartition("/")
        if parent and leaf in by_suffix:
            slot_keys.append(key)
        elif key in special:
            continue
        elif declared and key not in declared:
            unknown.append(key)
        else:
            params[key] = np.asarray(tensors[key])
            sources[key] = key
    for key in slot_keys:
        parent, _, leaf = key.rpartition("/")
        optimizer, slot = by_suffix[leaf]
        if parent not in params:
            unknown.append(key)
            continue
        found_optimizers.add(optimizer)
        slots[f"{parent}/{slot}"] = np.asarray(tensors[key])
        sources[f"{parent}/{slot}"] = key
    # Momentum and RMSProp share nothing but `Momentum` vs `RMSProp_1`; the suffixes tell.
    if len(found_optimizers) > 1:
        raise CheckpointError(
            "the checkpoint holds slots of several optimizers: "
            + ", ".join(sorted(found_optimizers))
        )
    optimizer = named_optimizer or (next(iter(found_optimizers)) if found_optimizers else None)
    if BETA_POWERS[0] in tensors:
        optimizer = optimizer or "adam"
    if settings is not None:
        sources["settings"] = TF1_SETTINGS
    state = TrainingState(
        step=0,
        params=params,
        slots=slots,
        optimizer=optimizer,
        settings=settings,
        unknown=unknown,
        sources=sources,
    )
    if all(power in tensors for power in BETA_POWERS):
        state.beta_powers = (
            np.float32(tensors[BETA_POWERS[0]]),
            np.float32(tensors[BETA_POWERS[1]]),
        )
        sources.update({power: power for power in BETA_POWERS})
    if TF1_GLOBAL_STEP in tensors:
        state.step = int(np.asarray(tensors[TF1_GLOBAL_STEP]))
        sources["step"] = TF1_GLOBAL_STEP
    elif state.beta_powers is not None:
        beta1 = spec.get("beta1", 0.9)
        state.step = steps_from_beta_power(state.beta_powers[0], beta1)
        state.derived["step"] = f"from beta1_power = beta1^(step+1), beta1 {beta1:g}"
        sources["step"] = BETA_POWERS[0]
    else:
        raise CheckpointError(
            "the checkpoint has no global_step (nor Adam's beta1_power): the step it was "
            "saved at, and with it the position in the batch schedule, is unknown"
        )
    return state


def state_from_tf2(tensors: Mapping[str, np.ndarray]) -> TrainingState:
    """Read one of our object-based checkpoints (the layout in this module's docstring)."""
    paths = {key.removesuffix(TF2_SUFFIX): key for key in tensors if key.endswith(TF2_SUFFIX)}
    settings = (
        parse_settings(_text(tensors[paths[TF2_SETTINGS]])) if TF2_SETTINGS in paths else None
    )
    optimizer, spec = _optimizer_of(settings, keras_side=True)
    state = TrainingState(step=0, params={}, optimizer=optimizer, settings=settings)
    if settings is not None:
        state.sources["settings"] = paths[TF2_SETTINGS]
    slot_names = {slot for slots in SLOTS.values() for slot in slots}
    for path, key in sorted(paths.items()):
        parts = path.split("/")
        if parts[0] == "model" and len(parts) == 2:
            state.params[parts[1]] = np.asarray(tensors[key])
            state.sources[parts[1]] = key
        elif parts[0] == "optimizer" and len(parts) == 3 and parts[1] in slot_names:
            item = f"{parts[2]}/{parts[1]}"
            state.slots[item] = np.asarray(tensors[key])
            state.sources[item] = key
        elif path in (TF2_SETTINGS, TF2_STEP, TF2_ITERATIONS, TF2_SAVE_COUNTER) or path in {
            f"optimizer/{power}" for power in BETA_POWERS
        }:
            continue
        else:
            state.unknown.append(key)
    if TF2_STEP not in paths:
        raise CheckpointError(
            "the checkpoint has no `step`: not one written by `train --save-to` or "
            "`convert-checkpoint`, so the position in the batch schedule is unknown"
        )
    state.step = int(np.asarray(tensors[paths[TF2_STEP]]))
    state.sources["step"] = paths[TF2_STEP]
    powers = [f"optimizer/{power}" for power in BETA_POWERS]
    if all(power in paths for power in powers):
        state.beta_powers = tuple(np.float32(tensors[paths[power]]) for power in powers)  # type: ignore[assignment]
        state.sources.update({p: paths[f"optimizer/{p}"] for p in BETA_POWERS})
    # Keras's SGD keeps -lr x TF1's accumulator; TF1Momentum (translated) keeps TF1's own.
    state.keras_momentum = optimizer == "momentum" and spec.get("formulation") == "keras"
    return state


def read_state(tensors: Mapping[str, np.ndarray]) -> tuple[str, TrainingState]:
    """The format of a checkpoint's tensors, and the training state they hold."""
    keys = set(tensors)
    fmt = detect_format(keys)
    return fmt, state_from_tf2(tensors) if fmt == TF2 else state_from_tf1(tensors)


def steps_from_beta_power(beta1_power: float, beta1: float) -> int:
    """The steps done when TF1's `beta1_power` holds `beta1_power`: it starts at beta1 and is
    multiplied by beta1 after every step, in float32."""
    beta = float(np.float32(beta1))
    if not 0 < beta < 1 or not 0 < float(beta1_power) <= beta:
        raise CheckpointError(
            f"beta1_power {float(beta1_power)!r} is no power of beta1 {beta1:g}: "
            "the step count cannot be derived from it"
        )
    estimate = max(round(math.log(float(beta1_power)) / math.log(beta)) - 1, 0)
    for steps in (estimate, estimate - 1, estimate + 1):
        if steps >= 0 and beta_power_after(beta1, steps) == np.float32(beta1_power):
            return steps
    raise CheckpointError(
        f"beta1_power {float(beta1_power)!r} is not beta1 {beta1:g} multiplied in float32 "
        "as TF1 does: the step count cannot be derived from it"
    )


def beta_power_after(beta: float, steps: int) -> np.float32:
    """TF1 Adam's beta^(steps+1): float32(beta) multiplied by itself in float32 after every
    step (adam.py `_finish`: beta1_power * beta1_t), not a power computed afresh."""
    factor = np.float32(beta)
    power = factor
    for _ in range(steps):
        following = np.float32(power * factor)
        if following == power:  # zero, or a fixed point: no further step changes it
            break
        power = following
    return power


def _settings_text(state: TrainingState) -> np.ndarray:
    return np.asarray(json.dumps(state.settings or {}, sort_keys=True).encode(), dtype=object)


def state_to_tensors(state: TrainingState, fmt: str) -> tuple[dict[str, np.ndarray], list[Row]]:
    """The tensors a checkpoint of format `fmt` holds for `state`, keyed as that format names
    them (TF2 paths without the `/.ATTRIBUTES/VARIABLE_VALUE` suffix), and one table row per
    tensor. Refuses, naming the reason, a conversion that could not be exact."""
    if state.unknown:
        raise CheckpointError(
            "the checkpoint holds variables that belong to no parameter or slot of the model, "
            "which the conversion would drop: " + ", ".join(state.unknown)
        )
    tensors: dict[str, np.ndarray] = {}
    rows: list[Row] = []

    def put(item: str, key: str, value: np.ndarray, note: str = "") -> None:
        value = np.asarray(value)
        tensors[key] = value
        source = state.sources.get(item, "-")
        note = note or state.derived.get(item, "")
        dtype = "string" if value.dtype == object else str(value.dtype)
        rows.append(Row(source, key, tuple(value.shape), dtype, note))

    optimizer = state.optimizer
    for name, value in state.params.items():
        put(name, name if fmt == TF1 else f"model/{name}", value)
    for slot in SLOTS.get(optimizer or "gd", ()):
        for name in state.params:
            item = f"{name}/{slot}"
            note = ""
            if item in state.slots:
                value = state.slots[item]
            elif optimizer == "rmsprop" and slot == "momentum":
                # Keras's RMSprop keeps no momentum slot when momentum is 0; TF1's is then
                # multiplied by 0 before every use, so zeros continue exactly.
                value = np.zeros_like(state.params[name])
                note = "zeros: Keras keeps no momentum slot at momentum 0 (TF1 multiplies it by 0)"
            else:
                raise CheckpointError(f"the checkpoint lacks the slot {slot} of {name}")
            if state.keras_momentum and fmt == TF1:
                raise CheckpointError(
                    f"{state.sources.get(item, item)} is Keras SGD's momentum, -lr x TF1's "
                    "accumulator rounded at every step: TF1's value cannot be recovered exactly "
                    "(refusing a lossy conversion; save with --defaults translated, TF1Momentum)"
                )
            key = (
                f"{name}/{TF1_SLOT_SUFFIXES[optimizer, slot]}"
                if fmt == TF1
                else f"optimizer/{slot}/{name}"
            )
            put(item, key, value, note)
    step = np.asarray(state.step, dtype=np.int64)
    if optimizer == "adam" and _needs_beta_powers(state, fmt):
        powers = state.beta_powers
        note = ""
        if powers is None:
            spec = (state.settings or {}).get("keras_optimizer") or {}
            beta1, beta2 = spec.get("beta1", 0.9), spec.get("beta2", 0.999)
            powers = (beta_power_after(beta1, state.step), beta_power_after(beta2, state.step))
            note = f"derived: beta^(step+1) by TF1's float32 products, step {state.step}"
        for power, value in zip(BETA_POWERS, powers, strict=True):
            put(power, power if fmt == TF1 else f"optimizer/{power}", np.float32(value), note)
    if fmt == TF1:
        put("step", TF1_GLOBAL_STEP, step)
    else:
        put("step", TF2_STEP, step)
        if optimizer not in (None, "gd"):
            note = f"derived from {state.sources.get('step', 'the step')}: the steps done"
            put("iterations", TF2_ITERATIONS, step, note)
    settings_key = TF1_SETTINGS if fmt == TF1 else TF2_SETTINGS
    put("settings", settings_key, _settings_text(state), "the run's settings (JSON)")
    return tensors, rows


def _needs_beta_powers(state: TrainingState, fmt: str) -> bool:
    if fmt == TF1:
        return True
    # In TF2, only TF1Adam (the translated Keras Adam) keeps them; stock Keras Adam computes
    # beta^t from `iterations`.
    spec = (state.settings or {}).get("keras_optimizer") or {}
    return spec.get("formulation", "tf1") == "tf1"


def render_rows(rows: list[Row]) -> str:
    """The conversion table: source -> destination, shape, dtype, what was derived."""
    header = Row("source", "destination", (), "dtype", "note")
    shapes = ["shape", *[str(list(row.shape)) for row in rows]]
    table = [header, *rows]
    widths = [
        max(len(row.source) for row in table),
        max(len(row.destination) for row in table),
        max(len(shape) for shape in shapes),
        max(len(row.dtype) for row in table),
    ]
    lines = []
    for row, shape in zip(table, shapes, strict=True):
        arrow = "   " if row is header else "-> "
        lines.append(
            f"{row.source:<{widths[0]}}  {arrow}{row.destination:<{widths[1]}}  "
            f"{shape:<{widths[2]}}  {row.dtype:<{widths[3]}}  {row.note}".rstrip()
        )
    return "\n".join(lines) + "\n"
