"""What a run must keep to continue exactly, and whether a checkpoint fits the run resuming it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tfmigration.catalog.errors import UserError
from tfmigration.catalog.optimizers import SLOTS
from tfmigration.catalog.problem import Problem

SETTINGS_VERSION = 1


class CheckpointError(UserError):
    """A checkpoint that exists but cannot be used: unreadable, or of another run."""

    exit_code = 1


@dataclass
class TrainingState:
    """Everything a run continues from, in one convention whatever file it came from.

    Slots are keyed "param/slot" with our slot names (`SLOTS`) and hold TF1's convention (the
    momentum accumulator of raw gradients), except where `keras_momentum` says the file held
    Keras SGD's lr-scaled one. `beta_powers` is TF1 Adam's (beta1^(t+1), beta2^(t+1)) in float32,
    as `tf.compat.v1.train.AdamOptimizer` and `TF1Adam` keep them. `derived` names each value
    computed rather than read, and how.
    """

    step: int
    params: dict[str, np.ndarray]
    slots: dict[str, np.ndarray] = field(default_factory=dict)
    optimizer: str | None = None  # None: unknown (a checkpoint of plain gd, or of no optimizer)
    beta_powers: tuple[np.float32, np.float32] | None = None
    settings: dict[str, Any] | None = None
    keras_momentum: bool = False
    derived: dict[str, str] = field(default_factory=dict)
    # Names in the file that belong to nothing above (another model's variables, say).
    unknown: list[str] = field(default_factory=list)
    # Where each item was read from: item ("w", "w/m", "step", "beta1_power") -> key in the file.
    sources: dict[str, str] = field(default_factory=dict)


def _spec_record(spec: Any) -> dict[str, Any]:
    return asdict(spec)


def data_fingerprint(problem: Problem) -> str:
    """A hash of the training data: a resumed run must see the very same rows."""
    digest = hashlib.sha256()
    for array in (problem.features, problem.targets):
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def settings_of(problem: Problem) -> dict[str, Any]:
    """The settings a checkpoint records: a run resuming it must match every one, because the
    batch order (drawn up front from the seed), the data and the optimizer's equations decide
    the steps after it."""
    return {
        "version": SETTINGS_VERSION,
        "model": problem.model.name,
        "dtype": str(problem.dtype),
        "data_sha256": data_fingerprint(problem),
        "seed": problem.seed,
        "batch_size": problem.batch_size,
        "loss": problem.loss,
        "learning_rate": problem.learning_rate,
        "defaults": problem.defaults,
        "optimizer": _spec_record(problem.optimizer_spec),
        "keras_optimizer": _spec_record(problem.keras_optimizer_spec),
        # Which names in a checkpoint are the parameters (the rest are slots and counters).
        "params": {name: list(value.shape) for name, value in problem.initial_params.items()},
    }


def settings_text(problem: Problem) -> str:
    return json.dumps(settings_of(problem), sort_keys=True)


def parse_settings(text: str) -> dict[str, Any] | None:
    try:
        settings = json.loads(text)
    except ValueError:
        return None
    return settings if isinstance(settings, dict) else None


def expected_items(problem: Problem) -> dict[str, tuple[tuple[int, ...], str]]:
    """item -> (shape, dtype) of every parameter and slot a run of `problem` keeps."""
    items = {
        name: (value.shape, str(value.dtype)) for name, value in problem.initial_params.items()
    }
    for slot in SLOTS[problem.optimizer]:
        for name, value in problem.initial_params.items():
            items[f"{name}/{slot}"] = (value.shape, str(value.dtype))
    return items


def _what_to_pass(key: str, value: Any) -> str:
    options = {
        "seed": "--seed",
        "batch_size": "--batch-size",
        "loss": "--loss",
        "learning_rate": "--lr",
        "defaults": "--defaults",
    }
    if key not in options or value is None:
        return ""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f" (pass {options[key]} {shown})"


def check_fits(state: TrainingState, problem: Problem, source: str) -> None:
    """Refuse, in one line, a checkpoint of another model, optimizer, shape or setting."""
    expected = expected_items(problem)
    found = {
        name: (array.shape, str(array.dtype))
        for name, array in {**state.params, **state.slots}.items()
    }
    problems = []
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected] + state.unknown
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("not in this run " + ", ".join(extra))
    for name in expected:
        if name in found and found[name] != expected[name]:
            (shape, dtype), (want_shape, want_dtype) = found[name], expected[name]
            problems.append(
                f"{name} is {dtype} {list(shape)} where this run has "
                f"{want_dtype} {list(want_shape)}"
            )
    if state.optimizer is not None and state.optimizer != problem.optimizer:
        problems.insert(0, f"optimizer {state.optimizer}, not {problem.optimizer}")
    settings = state.settings
    if settings is not None and settings.get("model") != problem.model.name:
        problems.insert(0, f"model {settings.get('model')!r}, not {problem.model.name!r}")
    if problems:
        raise CheckpointError(f"{source} is a checkpoint of another run: {'; '.join(problems)}")
    if settings is None:
        raise CheckpointError(
            f"{source} records no tfbridge settings (seed, batch order, optimizer), so an exact "
            "resume cannot be vouched for; convert it with `tfbridge convert-checkpoint` from a "
            "checkpoint written by `train --save-to`"
        )
    differences = []
    for key, value in settings_of(problem).items():
        saved = settings.get(key)
        if saved == value:
            continue
        if key == "data_sha256":
            differences.append("the data differs (another --data file or --seed)")
        elif key in ("optimizer", "keras_optimizer"):
            differences.extend(_spec_differences(saved, value))
        else:
            differences.append(f"{key} {saved} vs {value}{_what_to_pass(key, saved)}")
    if differences:
        raise CheckpointError(
            f"{source} was saved with other settings (checkpoint vs this run): "
            + "; ".join(dict.fromkeys(differences))
        )


_SPEC_OPTIONS = {
    "momentum": "--momentum",
    "nesterov": "--nesterov",
    "beta1": "--beta1",
    "beta2": "--beta2",
    "epsilon": "--epsilon",
    "rho": "--rho",
    "initial_accumulator": "--initial-accumulator",
    "learning_rate": "--lr",
    "formulation": "--defaults",
    "decay": "--lr-decay-rate/--lr-decay-steps/--staircase",
}


def _spec_differences(saved: Any, value: dict[str, Any]) -> list[str]:
    if not isinstance(saved, dict):
        return [f"optimizer {saved!r} vs {value.get('name')}"]
    found = []
    for key, current in value.items():
        if saved.get(key) != current:
            option = _SPEC_OPTIONS.get(key, f"--{key}")
            found.append(f"{key} {saved.get(key)} vs {current} ({option})")
    return found


DEFAULT_KEEP = 5  # TF1 Saver's max_to_keep (tensorflow/python/training/saver.py)


@dataclass(frozen=True)
class SaveOptions:
    """Where and how often a run saves: `every` 0 saves at the end (and on Ctrl-C) only."""

    directory: str
    settings: str  # `settings_text(problem)`, stored in every checkpoint
    every: int = 0
    keep: int = DEFAULT_KEEP
