"""The training loop every execution style shares; a style supplies only an `Engine`.

The loop feeds each step its batch, records the loss computed before that step's update, stops on
a loss that is not finite, reports progress, and ends with one forward pass on the whole data.
"""

from __future__ import annotations

import math
import signal
import threading
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
    # A run resumed from a checkpoint starts there: losses[i] is then step first_step + i's.
    first_step: int = 0

    @property
    def steps(self) -> int:
        return self.first_step + len(self.losses)


class TrainingInterrupted(Exception):
    """Ctrl-C stopped a run that saves checkpoints; the last completed step was saved."""

    def __init__(self, step: int, path: str) -> None:
        self.step = step
        self.path = path
        super().__init__(f"interrupted after step {step}; saved {path}")


class Checkpoints(Protocol):
    """Saves the engine's whole training state; told after which completed step."""

    every: int  # save after every `every`-th step (counted from 0); 0: only at the end

    def save(self, steps_done: int) -> str:
        """Save the state after `steps_done` steps; return the checkpoint's prefix."""


class _InterruptFlag:
    """Ctrl-C during a saving run sets a flag the loop reads between calls, so that the state
    saved is the one after a completed step, never one caught between a Session.run's update
    and its bookkeeping."""

    def __init__(self) -> None:
        self.raised = False
        self._previous: object = None

    def __enter__(self) -> _InterruptFlag:
        # Signal handlers can be set from the main thread only; elsewhere Ctrl-C cannot land.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.raised = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]


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


def _chunks(
    steps: int, steps_per_call: int, log_every: int, *, start: int = 0, save_every: int = 0
) -> Iterator[tuple[int, int]]:
    """(first step, step count) of each call from `start`; calls start at multiples of
    `steps_per_call`, and a logged step always starts a call, as does the step after a save.
    Lazy: a long run is never listed step by step."""
    first = start
    while first < steps:
        end = min(steps, (first // steps_per_call + 1) * steps_per_call)
        for every in (log_every, save_every):
            if every:
                end = min(end, (first // every + 1) * every)
        yield first, end - first
        first = end


def run(
    problem: Problem,
    engine: Engine,
    observer: Observer | None = None,
    *,
    steps_per_call: int = 1,
    start: int = 0,
    checkpoints: Checkpoints | None = None,
) -> Trajectory:
    """Train `engine` on `problem` from step `start` to `problem.steps`, `steps_per_call` steps
    a call, saving through `checkpoints` if given.

    With one step a call the loop feeds each step its batch from NumPy; with more, the engine
    must be a `FusedEngine`, which takes the same batches from the schedule inside TensorFlow.
    A resumed run passes the step its engine's state was saved after as `start`: batches are
    drawn up front, so step k trains on batch k whichever run it is part of.
    """
    if checkpoints is None:
        return _run(problem, engine, observer, steps_per_call, start, None, None)
    with _InterruptFlag() as interrupt:
        return _run(problem, engine, observer, steps_per_call, start, checkpoints, interrupt)


def _run(
    problem: Problem,
    engine: Engine,
    observer: Observer | None,
    steps_per_call: int,
    start: int,
    checkpoints: Checkpoints | None,
    interrupt: _InterruptFlag | None,
) -> Trajectory:
    log_every = observer.log_every if observer is not None else 0
    save_every = checkpoints.every if checkpoints is not None else 0
    losses = np.empty(problem.steps - start, dtype=engine.dtype)
    offset = start  # losses[i] is step start + i's
    saved_at, saved_path = start, ""
    begun = time.perf_counter()
    for first, count in _chunks(
        problem.steps, steps_per_call, log_every, start=start, save_every=save_every
    ):
        # Parameters are read before the call so a log line pairs them with losses[first].
        snapshot = engine.params() if log_every and first % log_every == 0 else None
        if steps_per_call == 1:
            features, targets = problem.batch(first)
            losses[first - offset] = engine.step(features, targets)
            # The hot per-step path: a scalar check, not an array one.
            reported = 1 if math.isfinite(losses[first - offset]) else 0
        else:
            losses[first - offset : first - offset + count] = engine.steps(first, count)
            # Steps before a divergence are reported as a step-by-step run would report them.
            finite = np.isfinite(losses[first - offset : first - offset + count])
            reported = count if finite.all() else int(np.flatnonzero(~finite)[0])
        if observer is not None:
            for step in range(first, first + reported):
                observer.on_step(step, float(losses[step - offset]))
            if snapshot is not None and reported:
                observer.on_log(first, float(losses[first - offset]), snapshot)
        if reported < count:
            bad = first + reported
            raise TrainingDiverged(bad, float(losses[bad - offset]), problem.learning_rate)
        if checkpoints is not None:
            done = first + count
            if done == problem.steps or (save_every and done % save_every == 0):
                saved_at, saved_path = done, checkpoints.save(done)
            if interrupt is not None and interrupt.raised and done < problem.steps:
                if saved_at != done:
                    saved_at, saved_path = done, checkpoints.save(done)
                raise TrainingInterrupted(done, saved_path)
    final_loss = engine.loss(problem.features, problem.targets)
    seconds = time.perf_counter() - begun
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
        first_step=start,
    )
