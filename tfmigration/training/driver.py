"""The training loop every execution style shares; a style supplies only an `Engine`.

The loop feeds each step its batch, records the loss computed before that step's update, stops on
a loss that is not finite, reports progress, and ends with one forward pass on the whole data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tfmigration.catalog.errors import UserError
from tfmigration.catalog.problem import Problem


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; the message names the step and suggests a smaller lr
    (at step 0, before any update, it points at the initial values and data instead)."""

    def __init__(
        self, step: int, loss: float, learning_rate: float, *, final: bool = False
    ) -> None:
        self.step = step
        self.loss = loss
        if final:  # every step ran; the extra forward pass at the final parameters did not
            message = (
                f"the final loss, after all {step} steps, is {loss}. "
                f"Try a smaller learning rate than --lr {learning_rate:g}"
            )
        elif step == 0:  # no update has run yet: the learning rate cannot be the cause
            message = (
                f"the loss is {loss} at the initial parameters (step 0), before any update: "
                "check --init and the data"
            )
        else:
            message = (
                f"the loss became {loss} at step {step}; training stopped there. "
                f"Try a smaller learning rate than --lr {learning_rate:g}"
            )
        super().__init__(message)


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


class FusedEngine(Engine, Protocol):
    """An engine that can run several steps in one call, its batches taken in-graph."""

    def steps(self, start: int, count: int) -> np.ndarray:
        """Run steps start .. start+count-1; return their losses (each before its update)."""


def _chunks(steps: int, steps_per_call: int, log_every: int) -> Iterator[tuple[int, int]]:
    """(first step, step count) of each call; calls start at multiples of `steps_per_call`,
    and a logged step always starts a call. Lazy: a long run is never listed step by step."""
    first = 0
    while first < steps:
        end = min(steps, (first // steps_per_call + 1) * steps_per_call)
        if log_every:
            end = min(end, (first // log_every + 1) * log_every)
        yield first, end - first
        first = end


def run(
    problem: Problem,
    engine: Engine,
    observer: Observer | None = None,
    *,
    steps_per_call: int = 1,
) -> Trajectory:
    """Train `engine` on `problem` for `problem.steps` steps, `steps_per_call` steps a call.

    With one step a call the loop feeds each step its batch from NumPy; with more, the engine
    must be a `FusedEngine`, which takes the same batches from the schedule inside TensorFlow.
    """
    log_every = observer.log_every if observer is not None else 0
    losses = np.empty(problem.steps, dtype=engine.dtype)
    start = time.perf_counter()
    for first, count in _chunks(problem.steps, steps_per_call, log_every):
        # Parameters are read before the call so a log line pairs them with losses[first].
        snapshot = engine.params() if log_every and first % log_every == 0 else None
        if steps_per_call == 1:
            features, targets = problem.batch(first)
            losses[first] = engine.step(features, targets)
            # The hot per-step path: a scalar check, not an array one.
            reported = 1 if math.isfinite(losses[first]) else 0
        else:
            losses[first : first + count] = engine.steps(first, count)
            # Steps before a divergence are reported as a step-by-step run would report them.
            finite = np.isfinite(losses[first : first + count])
            reported = count if finite.all() else int(np.flatnonzero(~finite)[0])
        if observer is not None:
            for step in range(first, first + reported):
                observer.on_step(step, float(losses[step]))
            if snapshot is not None and reported:
                observer.on_log(first, float(losses[first]), snapshot)
        if reported < count:
            bad = first + reported
            raise TrainingDiverged(bad, float(losses[bad]), problem.learning_rate)
    final_loss = engine.loss(problem.features, problem.targets)
    seconds = time.perf_counter() - start
    if not math.isfinite(final_loss):
        raise TrainingDiverged(problem.steps, float(final_loss), problem.learning_rate, final=True)
    return Trajectory(
        model=problem.model.name,
        mode=engine.mode,
        losses=losses,
        final_loss=np.asarray(final_loss, dtype=engine.dtype)[()],
        final_params=engine.params(),
        seconds=seconds,
        final_slots=engine.slots(),
    )
