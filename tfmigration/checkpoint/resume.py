"""Resuming a run: find the checkpoint, read it in the resuming style, check that it fits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tfmigration.catalog.errors import ConfigError
from tfmigration.catalog.problem import Problem
from tfmigration.checkpoint.files import resolve
from tfmigration.checkpoint.names import TF1, read_state
from tfmigration.checkpoint.state import TrainingState, check_fits

FORMAT_NAMES = {TF1: "TF1 Saver checkpoint", "tf2": "TF2 tf.train.Checkpoint"}
TF2_STYLES = ("eager", "function")


@dataclass(frozen=True)
class Resumption:
    prefix: str
    format: str
    state: TrainingState

    def describe(self, style: str) -> str:
        """One line: what was read, and each value derived rather than read."""
        state = self.state
        line = f"resuming from {self.prefix} ({FORMAT_NAMES[self.format]}, step {state.step})"
        derived = [f"{item} {how}" for item, how in state.derived.items()]
        into_keras = style in TF2_STYLES and state.optimizer not in (None, "gd")
        if into_keras and self.format == TF1:
            derived.append(f"Keras's iterations = {state.step} (from global_step)")
        if style == "graph" and self.format != TF1:
            if state.optimizer == "adam" and state.beta_powers is None:
                derived.append("beta1_power, beta2_power by TF1's float32 products")
            derived.append(f"global_step = {state.step} (from step)")
        return line + (f"; derived: {', '.join(derived)}" if derived else "")


def load_for_resume(
    path: str, problem: Problem, read_tensors: Callable[[str], dict[str, np.ndarray]]
) -> Resumption:
    """The checkpoint `path` names (a prefix, or a directory's latest), read by the resuming
    style's `read_tensors` and checked against `problem`; refuses one of another run, and a
    `--steps` not beyond its step."""
    prefix = resolve(path)
    tensors = read_tensors(prefix)
    fmt, state = read_state(tensors)
    check_fits(state, problem, prefix)
    if problem.steps <= state.step:
        raise ConfigError(
            f"--steps {problem.steps} is not beyond the checkpoint's step {state.step}: "
            f"pass --steps N with N > {state.step} (the total, not the steps still to run)"
        )
    return Resumption(prefix, fmt, state)
