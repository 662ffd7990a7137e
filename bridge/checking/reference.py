"""The TF1 side of a check as data: each step's loss and every variable after recorded updates.

Built live from a `TF1Program` (every step) or from a golden recording (every N steps); the
ports are measured against it either way. Also the noise floor: how far rounding alone moves it.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphmode.migration import TF1Program
from tfmigration.catalog.errors import UserError
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.measure.ulp import max_ulp_distance, relative_error
from tfmigration.migration.contract import ContractError, Features, MigrationFile, map_inputs
from tfmigration.migration.golden import RecordedSteps, recorded_steps
from tfmigration.migration.mapping import VariableInfo


class MigrationDiverged(UserError):
    """A loss or variable became NaN or infinite; the message names the style and step."""


class Snapshots(MutableMapping[int, dict[str, np.ndarray]]):
    """A live check's kept TF1 snapshots, by step: each is TF1's whole state (120 MB on the
    10M-parameter CNN with Adam), and the ladder reruns steps in order, so those a later rung
    needs are written to a temporary directory until then (`spill`), one uncompressed `.npy`
    per variable, read back with pickle off. Reading a spilled step returns a new copy each
    time; nothing is cached. `close` removes the directory (also at exit, if never called)."""

    def __init__(self) -> None:
        self._memory: dict[int, dict[str, np.ndarray]] = {}
        self._disk: dict[int, list[str]] = {}  # step -> its variables' names, in order
        self._directory: tempfile.TemporaryDirectory | None = None
        self._unwritable = False

    def __getitem__(self, step: int) -> dict[str, np.ndarray]:
        if step in self._memory:
            return self._memory[step]
        names = self._disk[step]  # KeyError for a step not kept
        folder = self._folder(step)
        return {
            name: np.load(folder / f"{index}.npy", allow_pickle=False)
            for index, name in enumerate(names)
        }

    def __setitem__(self, step: int, values: dict[str, np.ndarray]) -> None:
        self._forget(step)
        self._memory[step] = values

    def __delitem__(self, step: int) -> None:
        if step not in self:
            raise KeyError(step)
        self._forget(step)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._memory.keys() | self._disk.keys()))

    def __len__(self) -> int:
        return len(self._memory) + len(self._disk)

    def __contains__(self, step: object) -> bool:
        return step in self._memory or step in self._disk

    def spill(self, keep: Collection[int]) -> None:
        """Write every step held in memory but those in `keep` to disk, and drop it from memory.
        Where the temporary directory cannot be written (full, read-only), the steps stay in
        memory, as they would have without spilling."""
        if self._unwritable:
            return
        for step in [s for s in self._memory if s not in keep]:
            values = self._memory[step]
            try:
                folder = self._folder(step)
                folder.mkdir(parents=True)
                for index, value in enumerate(values.values()):
                    np.save(folder / f"{index}.npy", np.asarray(value), allow_pickle=False)
            except OSError:
                self._unwritable = True
                if self._directory is not None:
                    shutil.rmtree(self._folder(step), ignore_errors=True)
                return
            del self._memory[step]
            self._disk[step] = list(values)

    def in_memory(self) -> list[int]:
        return sorted(self._memory)

    def close(self) -> None:
        self._memory.clear()
        self._disk.clear()
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def _folder(self, step: int) -> Path:
        if self._directory is None:
            self._directory = tempfile.TemporaryDirectory(prefix="tfbridge-check-")
        return Path(self._directory.name) / str(step)

    def _forget(self, step: int) -> None:
        self._memory.pop(step, None)
        if self._disk.pop(step, None) is not None:
            shutil.rmtree(self._folder(step), ignore_errors=True)


@dataclass
class Reference:
    """What TF1 did. `after[s]` holds every variable (the optimizers' too) after step s's
    update, for the steps kept (a live run's few, or a recording's, read from disk a step at a
    time); `initial` before step 0."""

    losses: np.ndarray
    initial: dict[str, np.ndarray]
    after: Snapshots | RecordedSteps | dict[int, dict[str, np.ndarray]]
    seconds: float
    variables: list[VariableInfo]
    optimizer_kind: str | None = None
    hyperparameters: dict[str, float] = field(default_factory=dict)
    slot_names: dict[str, str] = field(default_factory=dict)  # "tf1name/slot" -> variable name
    beta_powers: tuple[str, str] | None = None
    unaligned_random_ops: list[str] = field(default_factory=list)
    # How TF1's graph clips its gradients (clip_by_global_norm, ...), where it does.
    gradient_clipping: list[str] = field(default_factory=list)
    # TF1's recurrent cells (a port's Keras LSTM/GRU is checked in their layout).
    rnn_cells: list = field(default_factory=list)
    # The optimizer's step count before step 0: 0, or a TF1 checkpoint's global step.
    start_iteration: int = 0

    def before(self, step: int) -> dict[str, np.ndarray] | None:
        return self.initial if step == 0 else self.after.get(step - 1)


class Batches:
    """Each step's features and labels: rows drawn up front (the same rows of every input), or
    the whole data set."""

    def __init__(self, migration: MigrationFile, indices: np.ndarray | None) -> None:
        self._migration = migration
        self.indices = indices

    def __call__(self, step: int) -> tuple[Features, np.ndarray]:
        if self.indices is None:
            return self._migration.features, self._migration.labels
        rows = self.indices[step]
        features = map_inputs(lambda array: array[rows], self._migration.features)
        return features, self._migration.labels[rows]


def start_reference(program: TF1Program, steps: int, start_iteration: int = 0) -> Reference:
    """TF1 before step 0: its initial values and settings; losses filled in by `tf1_step`."""
    return Reference(
        losses=np.zeros(steps, dtype=program.loss.dtype.as_numpy_dtype),
        initial=program.snapshot(),
        after=Snapshots(),
        seconds=0.0,
        variables=program.variable_infos(),
        optimizer_kind=program.optimizer_kind,
        hyperparameters=program.optimizer_hyperparameters,
        slot_names=dict(program.slot_names),
        beta_powers=program.beta_powers,
        unaligned_random_ops=list(program.unaligned_random_ops),
        gradient_clipping=list(program.gradient_clipping),
        rnn_cells=list(program.rnn_cells),
        start_iteration=start_iteration,
    )


def tf1_step(
    program: TF1Program, reference: Reference, batches: Batches, step: int
) -> dict[str, np.ndarray]:
    """TF1's step `step`: its loss into the reference; every variable after the update
    returned (the caller keeps it or drops it)."""
    tf1_train(program, reference, batches, step)
    return program.snapshot()


def tf1_train(program: TF1Program, reference: Reference, batches: Batches, step: int) -> None:
    """TF1's step `step`, its loss into the reference, and nothing read back."""
    features, labels = batches(step)
    start = time.perf_counter()
    reference.losses[step] = program.step(features, labels, step)
    reference.seconds += time.perf_counter() - start
    check_finite("graph", step, reference.losses[step])


def refuse_untrained(program: TF1Program, steps: int) -> None:
    raise ContractError(
        f"{program.migration.path}: tf1_train()'s train_op changed no variable in {steps} "
        "steps: it must be the op that updates the model (optimizer.minimize(loss)); a "
        "tf.no_op() or tf.identity(loss) trains nothing, so there is nothing to check a port "
        "against"
    )


def run_tf1(
    program: TF1Program,
    batches: Batches,
    steps: int,
    keep: Callable[[int, dict[str, np.ndarray]], None],
    every: int = 1,
    start_iteration: int = 0,
) -> Reference:
    """Train the TF1 program, handing every variable after every `every`-th step's update to
    `keep` as it comes (a recording writes it to disk); the reference keeps only the last
    step's, which the noise floor compares with, so memory grows with the model, not the
    steps."""
    reference = start_reference(program, steps, start_iteration)
    kept = set(recorded_steps(steps, every))
    moved = False
    for step in range(steps):
        values = tf1_step(program, reference, batches, step)
        moved = moved or program.changed_trainable(reference.initial, values)
        if step in kept:
            keep(step, values)
        if step == steps - 1:
            reference.after[step] = values
    if not moved:
        refuse_untrained(program, steps)
    return reference


def replay(
    program: TF1Program, reference: Reference, batches: Batches, steps: Collection[int]
) -> str | None:
    """Keep TF1's variables before and after each of `steps` in `reference`, recomputed: TF1
    rerun from the latest whole state the reference holds before the first it lacks (a kept
    step's snapshot, else its initial values) to the last of them, so that reruns for a
    ladder's steps in order take one pass over the run between them (a check keeps no step it
    does not need). The rerun's losses must be the run's, bit for bit, or the values would not
    be that run's: then nothing is kept and the reason is returned."""
    needed = {s for step in steps for s in (step - 1, step) if s >= 0}
    missing = needed - set(reference.after)
    if not missing:
        return None
    step = max(steps)
    resume = max((s for s in reference.after if s < min(missing)), default=-1)
    program.load(reference.initial if resume < 0 else reference.after[resume])
    kept = {}
    for past in range(resume + 1, max(missing) + 1):
        features, labels = batches(past)
        loss = program.step(features, labels, past)
        if loss != reference.losses[past]:
            return (
                f"TF1 rerun to step {step} gave another loss at step {past} ({loss!s}, first "
                f"{reference.losses[past]!s}): its run does not repeat (a random op the "
                "checker does not align?), so step {step} was not rerun from its values"
            ).replace("{step}", str(step))
        if past in missing:
            kept[past] = program.snapshot()
    reference.after.update(kept)
    return None


def check_finite(style: str, step: int, loss: np.floating) -> None:
    if not math.isfinite(float(loss)):
        raise MigrationDiverged(
            f"{style} style: the loss is {float(loss)} at step {step}"
            + (" (before any update: check the data and initial values)" if step == 0 else "")
        )


def noise_floor(
    program: TF1Program,
    reference: Reference,
    batches: Batches,
    steps: int,
    seed: int,
) -> EveryStepNudgedFloor:
    """How far rounding alone moves TF1's own trajectory: TF1 rerun with every model variable
    nudged by one ULP at the start and after every update, as a faithful port's rounding
    differs at every step rather than once. One extra TF1 run, after TF1's own (run beside a
    check's lockstep on a TF1 program of its own, it took the same time on two cores and 130
    MB more on the 10M-parameter CNN); the losses are compared at every step, the variables
    and slots at the end (where the spread is widest)."""
    names = [variable.name for variable in reference.variables]
    program.load(reference.initial)
    program.nudge(names, -1, seed)
    last = -1
    losses = np.empty(steps, dtype=reference.losses.dtype)
    for step in range(steps):
        features, labels = batches(step)
        loss = program.step(features, labels, step)
        if not math.isfinite(float(loss)):
            break
        losses[step] = loss
        last = step
        program.nudge(names, step, seed)
    losses, expected_losses = losses[: last + 1], reference.losses[: last + 1]
    loss_ulps = max_ulp_distance(losses, expected_losses)
    loss_relative = relative_error(losses, expected_losses)
    if last != steps - 1:  # diverged before the end: the losses say enough
        return EveryStepNudgedFloor(loss_ulps, 0, 0, loss_relative, 0.0)
    # A variable at a time: TF1's whole state read at once was 120 MB more on the 10M CNN.
    expected = reference.after[last]
    param_ulps, param_relative, slot_ulps = 0, 0.0, 0
    for name in names:
        value = program.snapshot([name])[name]
        if np.isfinite(value).all():
            param_ulps = max(param_ulps, max_ulp_distance(value, expected[name]))
            param_relative = max(param_relative, relative_error(value, expected[name]))
    for name in reference.slot_names.values():
        slot_ulps = max(slot_ulps, max_ulp_distance(program.snapshot([name])[name], expected[name]))
    return EveryStepNudgedFloor(loss_ulps, param_ulps, slot_ulps, loss_relative, param_relative)
