"""The training loop every execution style shares; a style supplies only an `Engine`.

The loop feeds each step its batch, records the loss computed before that step's update, stops on
a loss that is not finite, reports progress, and ends with one forward pass on the whole data.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from catalog.errors import UserError
from catalog.problem import Problem


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; the message names the step and suggests a smaller lr."""

    def __init__(self, step: int, loss: float, learning_rate: float) -> None:
        self.step = step
        self.loss = loss
        super().__init__(
            f"the loss became {loss} at step {step}; training stopped there. "
            f"Try a smaller learning rate than --lr {learning_rate:g}"
        )


@dataclass(frozen=True)
class Trajectory:
    """What one run produced. `losses[i]` is the loss before step i's update."""

    model: str
    mode: str
    losses: np.ndarray
    final_loss: np.floating
    final_params: dict[str, np.ndarray]
    seconds: float
    # Optimizer slots after the last step, keyed "param/slot" ("w/m", "w/momentum"); empty for gd.
    final_slots: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.losses)


class Engine(Protocol):
    """One execution style's way to run a step; built from a `Problem`, owns its state."""

    mode: str
    dtype: np.dtype

    def step(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        """Compute the loss at the current parameters, then update them; return that loss."""

    def loss(self, features: np.ndarray, targets: np.ndarray) -> np.floating:
        """The loss at the current parameters, without updating them."""

    def params(self) -> dict[str, np.ndarray]:
        """The current parameter values."""

    def slots(self) -> dict[str, np.ndarray]:
        """The optimizer's slot values, keyed "param/slot"; empty when it keeps none."""


class Observer(Protocol):
    """Told about progress; `log_every` 0 asks for no parameter snapshots."""

    log_every: int

    def on_step(self, step: int, loss: float) -> None: ...

    def on_log(self, step: int, loss: float, params: dict[str, np.ndarray]) -> None: ...


def run(problem: Problem, engine: Engine, observer: Observer | None = None) -> Trajectory:
    """Train `engine` on `problem` for `problem.steps` steps."""
    log_every = observer.log_every if observer is not None else 0
    losses = np.empty(problem.steps, dtype=engine.dtype)
    start = time.perf_counter()
    for step in range(problem.steps):
        logging = log_every and step % log_every == 0
        # Parameters are read before the step so a log line pairs them with losses[step].
        snapshot = engine.params() if logging else None
        features, targets = problem.batch(step)
        loss = engine.step(features, targets)
        losses[step] = loss
        if not math.isfinite(loss):
            raise TrainingDiverged(step, float(loss), problem.learning_rate)
        if observer is not None:
            observer.on_step(step, float(loss))
            if snapshot is not None:
                observer.on_log(step, float(loss), snapshot)
    final_loss = engine.loss(problem.features, problem.targets)
    seconds = time.perf_counter() - start
    if not math.isfinite(final_loss):
        raise TrainingDiverged(problem.steps, float(final_loss), problem.learning_rate)
    return Trajectory(
        model=problem.model.name,
        mode=engine.mode,
        losses=losses,
        final_loss=np.asarray(final_loss, dtype=engine.dtype)[()],
        final_params=engine.params(),
        seconds=seconds,
        final_slots=engine.slots(),
    )
