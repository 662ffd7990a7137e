"""The port's side of a check: each port style trained from TF1's values, measured step by step."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import tensorflow as tf

from bridge.checking.reference import MigrationDiverged, Reference, check_finite
from eagermode.migration import TF2Port
from tfmigration.catalog.errors import UserError
from tfmigration.measure.migration_report import (
    Divergence,
    StyleCheck,
    first_difference,
)
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.measure.ulp import max_ulp_distance, relative_error, same_bits, ulp_distance
from tfmigration.migration.mapping import Pair


def first_beyond(
    results: Sequence[StyleCheck], floor: EveryStepNudgedFloor, tolerance_ulps: int
) -> int | None:
    """The first step at which a port is further from TF1 than rounding alone moves TF1: its
    loss or a variable at a step, or else its slots at the last step (the floor's slots are
    measured at the end only), so that the ladder reruns where it left the floor."""
    steps, ends = [], []
    for result in results[1:]:
        if result.loss_ulps is None or result.param_ulps is None:
            continue
        beyond = (result.loss_ulps > max(floor.loss_ulps, tolerance_ulps)) | (
            result.param_ulps > max(floor.param_ulps, tolerance_ulps)
        )
        if beyond.any():
            steps.append(int(np.flatnonzero(beyond)[0]))
        elif result.max_slot_ulps > max(floor.slot_ulps, tolerance_ulps):
            ends.append(len(result.loss_ulps) - 1)
    return min(steps) if steps else min(ends) if ends else None


# A port that was beyond the floor only by amplified rounding (the ladder earned it there) and
# then parts anew, at a later step, shows it in its losses: they jump where rounding's grow
# slowly. Measured on faithful ports (digits MLP, the 1.6M MLP, 100 steps, tests/test_check_floor
# .py's Adam MLP), their loss distance to TF1 never grew more than 3.7x over its largest so far;
# an Adam momentum scaled by 1.001 at one step made it jump 42x. The base is at least
# DEPARTURE_MIN_ULPS, so that a distance of a few ULPs doubling is not a jump.
DEPARTURE_JUMP = 8
DEPARTURE_MIN_ULPS = 16


def departure(
    results: Sequence[StyleCheck], floor: EveryStepNudgedFloor, beyond: int
) -> int | None:
    """The first step after `beyond` at which a port's loss is more than DEPARTURE_JUMP times
    further from TF1's than at any step from `beyond` on before it (and the floor): where a
    port that rounding alone had carried off the floor parts from TF1 anew, or None. The loss
    at step s is computed from the variables after step s - 1, which the slots after step s - 2
    moved: the ladder reruns those two steps."""
    found = []
    for result in results[1:]:
        if result.loss_ulps is None:
            continue
        largest = max(int(floor.loss_ulps), DEPARTURE_MIN_ULPS)
        for step in range(beyond, len(result.loss_ulps)):
            distance = int(result.loss_ulps[step])
            if step > beyond and distance > DEPARTURE_JUMP * largest:
                found.append(step)
                break
            largest = max(largest, distance)
    return min(found) if found else None


def renamed(pairs: Sequence[Pair], named_from: TF2Port, port: TF2Port) -> list[Pair]:
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


def align(port: TF2Port, pairs: Sequence[Pair], values: dict[str, np.ndarray]) -> None:
    """Copy TF1's values into the port, so the port's own initialisers never matter."""
    port.load({pair.tf2.name: values[pair.tf1.name] for pair in pairs})


def align_optimizer(
    port: TF2Port,
    pairs: Sequence[Pair],
    reference: Reference,
    values: dict[str, np.ndarray],
    iterations: int | None = None,
) -> None:
    """Copy TF1's optimizer state too (slots both keep, the step count, Adam's beta powers):
    for a start from a TF1 checkpoint, where the optimizer is mid-run, and for a ladder's
    rerun from TF1's state before a step (`iterations`: its count; else the start's)."""
    scale = port.slot_scale()
    for tf1_name, _, variable in slot_pairs(reference, port, pairs) if scale is not None else []:
        variable.assign(values[tf1_name] * scale)
    powers = reference.beta_powers
    port.set_iterations(
        reference.start_iteration if iterations is None else iterations,
        (values[powers[0]], values[powers[1]]) if powers else None,
    )


def slot_pairs(
    reference: Reference, port: TF2Port, pairs: Sequence[Pair]
) -> list[tuple[str, str, object]]:
    """(TF1 variable name in a snapshot, "tf1name/slot", Keras slot variable) both sides keep."""
    if reference.optimizer_kind is None or reference.optimizer_kind != port.optimizer_kind:
        return []
    keras_slots = port.slot_variables()
    found = []
    for pair in pairs:
        for (port_name, slot), variable in keras_slots.items():
            key = f"{pair.tf1.name}/{slot}"
            if port_name == pair.tf2.name and key in reference.slot_names:
                found.append((reference.slot_names[key], key, variable))
    return found


class _Reader:
    """Every compared port value (the paired variables, then the slots), read in one traced call
    as one NumPy view per value, and TF1's names in the same order. A variable's read is its
    own buffer (no copy) while nothing writes to it: the views are dropped before the port's
    next step, and a view still held when the variable is written keeps the old value (Keras
    and TensorFlow copy a variable's buffer before writing to it while a read shares it)."""

    def __init__(
        self, port: TF2Port, pairs: Sequence[Pair], slots: list, scale: float | None
    ) -> None:
        variables = [port.variables[p.tf2.name] for p in pairs]
        variables += [variable for _, _, variable in slots]
        self.tf1_names = [p.tf1.name for p in pairs] + [tf1_name for tf1_name, _, _ in slots]
        self._labels = [p.tf1.name for p in pairs] + [key for _, key, _ in slots]
        self.split = len(pairs)
        self._dtypes = [tf.as_dtype(v.dtype).as_numpy_dtype for v in variables]
        # Values of one dtype are compared as TF1's values share one; mixed ones each in the
        # port's own dtype, so that a ULP is always the variable's own.
        self._mixed = len(set(self._dtypes)) > 1
        # Which values have matched TF1's bit for bit at every step so far: those are compared
        # bit for bit first (one pass), the rest by ULPs at once (a port that parted from TF1
        # seldom meets it again, and where it does the ULP distance says 0 all the same).
        self._same = [True] * len(variables)
        # Slots are kept in TF1's convention: Keras's momentum slot divided by -lr.
        divisors = [1.0] * len(pairs) + [scale or 1.0] * len(slots)

        def reader(count: int):
            @tf.function
            def read() -> list[tf.Tensor]:
                return [
                    tf.convert_to_tensor(v) / tf.constant(d, v.dtype)
                    if d != 1.0
                    else tf.convert_to_tensor(v)
                    for v, d in zip(variables[:count], divisors[:count], strict=True)
                ]

            return read if count else list

        self._read, self._read_paired = reader(len(variables)), reader(len(pairs))

    def __call__(self, slots: bool = True) -> list[np.ndarray]:
        """Every compared value, or (`slots=False`) the paired variables' alone."""
        # `_numpy()` views each tensor's buffer, where `.numpy()` would copy every value.
        return [tensor._numpy() for tensor in (self._read if slots else self._read_paired)()]

    def measure(
        self, tf1_values: Sequence[np.ndarray], values: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, float]:
        """The largest ULP distance within each of `values` (0 for an empty one), and the
        worst normwise relative distance max|port - TF1| / max|TF1| over the paired variables
        (measured only where a variable differs: elsewhere it is 0): `values` the first
        compared values in the reader's order (all, or the paired variables'), TF1's given one
        array for each."""
        worst = np.zeros(len(values), dtype=np.uint64)
        relative = 0.0
        # One dtype for TF1's values, as concatenating them would give.
        common = np.result_type(*tf1_values) if tf1_values else None
        for index, port in enumerate(values):
            if not port.size:
                continue
            dtype = self._dtypes[index] if self._mixed else common
            tf1 = tf1_values[index].ravel().astype(dtype, copy=False)
            port = port.ravel().astype(dtype, copy=False)
            if self._same[index] and same_bits(tf1, port):
                continue
            self._same[index] = False
            worst[index] = max_ulp_distance(tf1, port)
            if worst[index] and index < self.split:
                relative = max(relative, relative_error(port, tf1))
        return worst, relative

    def same_layout(self, other: _Reader) -> bool:
        """Whether `other` reads values for the same TF1 values in the same order and dtypes,
        so that equal bits read here and there measure alike."""
        return (
            self.tf1_names == other.tf1_names
            and self._dtypes == other._dtypes
            and self.split == other.split
        )

    def copied(self, each: np.ndarray) -> None:
        """Measures taken from a twin's equal values: the values that differ from TF1's are
        compared by ULPs at once from now on, as `measure` would have marked them."""
        for index in np.flatnonzero(each):
            self._same[index] = False

    def label(self, index: int) -> str:
        return self._labels[index]

    def first_nonfinite(self, values: Sequence[np.ndarray]) -> str | None:
        """The first paired variable holding a NaN or an infinity, or None: a NaN carries
        through min, an infinity shows in min or max, and neither needs a temporary the size of
        the model."""
        for index, value in enumerate(values[: self.split]):
            if value.size and not (np.isfinite(value.min()) and np.isfinite(value.max())):
                return self._labels[index]
        return None


class PortRun:
    """One port style's run against TF1, advanced a step at a time: the port's step k is taken
    (`advance`, where its loss is compared) and its values after it are read, then measured
    against TF1's step k (`measure`, which may run on another thread while the next style
    steps), and only the measures are kept (memory grows with the model, not the steps)."""

    def __init__(
        self,
        port: TF2Port,
        pairs: Sequence[Pair],
        reference: Reference,
        steps: int,
        display: dict[str, str],
        twin: PortRun | None = None,
    ) -> None:
        self.port, self.pairs, self.reference = port, list(pairs), reference
        self.display = display
        self.losses = np.empty(steps, dtype=reference.losses.dtype)
        self.param_ulps = np.zeros(steps, dtype=np.int64)
        self.iterations = np.zeros(steps, dtype=np.int64) if port.iterations() is not None else None
        slots = slot_pairs(reference, port, pairs)
        scale = port.slot_scale()
        if scale is None:
            slots = []  # a scheduled lr: Keras's momentum slot cannot be put in TF1's convention
        self.reader = _Reader(port, pairs, slots, scale)
        # The eager port's run, while this one repeats it bit for bit (every loss, every value
        # measured): its measures are then this run's, copied after one comparison of bits, and
        # its ladder reruns stand for this style. None once they part (or with no twin).
        self.twin = twin if twin is not None and self.reader.same_layout(twin.reader) else None
        self._measured: tuple[int, np.ndarray, float] | None = None  # step, each, relative
        # The paired variables' starting values, held as reads: the port's first write to each
        # copies it (its buffer is shared), once, and `moved` compares them with the last.
        self._start = self.reader()[: self.reader.split]
        self.first_loss: int | None = None
        # The rate the port's optimizer applied at the run's first step (None where unread).
        self.first_rate: float | None = None
        self.first_values: int | None = None
        self.first_what: str | None = None
        self.divergence: Divergence | None = None
        self.max_param = self.max_slot = 0
        self.param_relative = 0.0
        self.seconds = 0.0

    @property
    def first_difference_step(self) -> int | None:
        found = [s for s in (self.first_loss, self.first_values) if s is not None]
        return min(found) if found else None

    def advance(self, step: int, features: np.ndarray, labels: np.ndarray) -> None:
        """The port's step `step`, its loss compared with TF1's."""
        port = self.port
        start = time.perf_counter()
        loss = port.step(features, labels, step)
        self.seconds += time.perf_counter() - start
        check_finite(port.mode, step, loss)
        if step == 0:
            self.first_rate = port.applied_learning_rate()
        self.losses[step] = np.asarray(loss).astype(self.losses.dtype)
        if self.iterations is not None:
            self.iterations[step] = port.iterations()
        if self.first_loss is None and self.losses[step] != self.reference.losses[step]:
            self.first_loss = step
        twin = self.twin
        if twin is not None and not same_bits(twin.losses[step], self.losses[step]):
            self.twin = None

    def read(self, slots: bool = True) -> list[np.ndarray]:
        """The port's compared values now (its slots too, or not), as views (drop them before
        the port's next step)."""
        return self.reader(slots)

    def measure(
        self,
        step: int,
        tf1_after: Mapping[str, np.ndarray],
        values: Sequence[np.ndarray],
        twin_values: Sequence[np.ndarray] | None = None,
    ) -> None:
        """The port's `values` after step `step` (`read`, slots or not) measured against TF1's
        after the same step; where the twin's values this step (`twin_values`, measured just
        before) are these bit for bit, its measures are taken instead. Touches only this run's
        measures (and reads its twin's, measured before it on the same worker), so that it may
        run on a worker thread while the main thread steps other styles; the runs' measures are
        read once it is done."""
        pairs, reader = self.pairs, self.reader
        each = self._twin_measures(step, values, twin_values)
        if each is not None:
            each, relative = each
            reader.copied(each)
        else:
            name = reader.first_nonfinite(values)
            if name is not None:
                raise MigrationDiverged(
                    f"{self.port.mode} style: variable {name} holds a NaN or infinity after "
                    f"step {step}"
                )
            tf1_values = [tf1_after[name] for name in reader.tf1_names[: len(values)]]
            each, relative = reader.measure(tf1_values, values)
        self._measured = (step, each, relative)
        if not each.any():
            return  # equal bit for bit (+0.0 and -0.0 alike, as array_equal): nothing to measure
        worst, slot_worst = each[: len(pairs)], each[len(pairs) :]
        if worst.any():
            first = int(np.flatnonzero(worst)[0])
            pair = pairs[first]
            if self.divergence is None:
                port_value = values[first].reshape(tf1_after[pair.tf1.name].shape)
                found = first_difference(
                    [(pair.tf1.name, pair.tf2.name, tf1_after[pair.tf1.name], port_value)], step
                )
                # Named as the mapping shows it (a second tf2_setup() numbers Keras layers anew).
                shown = {p.tf2.name: p.tf2.name for p in pairs} | self.display
                self.divergence = replace(found, port_variable=shown[found.port_variable])
            if self.first_values is None:
                self.first_values, self.first_what = step, pair.tf1.name
            self.param_ulps[step] = int(worst.max())
            self.max_param = max(self.max_param, int(self.param_ulps[step]))
            self.param_relative = max(self.param_relative, relative)
        if slot_worst.size:
            if slot_worst.any() and self.first_values is None:
                self.first_values = step
                slot = len(pairs) + int(np.flatnonzero(slot_worst)[0])
                self.first_what = "slot " + reader.label(slot)
            self.max_slot = max(self.max_slot, int(slot_worst.max()))

    def _twin_measures(
        self, step: int, values: Sequence[np.ndarray], twin_values: Sequence[np.ndarray] | None
    ) -> tuple[np.ndarray, float] | None:
        """The twin's measures of step `step` where this run's values are its bit for bit;
        otherwise None, and the runs have parted for good."""
        twin = self.twin
        if twin is None or twin_values is None:
            return None
        measured = twin._measured
        if (
            measured is None
            or measured[0] != step
            or len(values) != len(twin_values)
            or not all(same_bits(a, b) for a, b in zip(values, twin_values, strict=True))
        ):
            self.twin = None
            return None
        return measured[1].copy(), measured[2]

    def result(self) -> StyleCheck:
        reference = self.reference
        # The first step at which anything differs: a loss (computed before the step's update)
        # or a variable or slot after the step's update, whichever comes first.
        found = [
            (step, what)
            for step, what in ((self.first_loss, "loss"), (self.first_values, self.first_what))
            if step is not None
        ]
        first_step, first_name = min(found, key=lambda c: c[0]) if found else (None, None)
        return StyleCheck(
            mode=self.port.mode,
            losses=self.losses,
            max_loss_ulps=max_ulp_distance(self.losses, reference.losses),
            max_param_ulps=self.max_param,
            max_slot_ulps=self.max_slot,
            first_divergent_step=first_step,
            first_divergent_variable=self.first_what,
            divergence=self.divergence,
            seconds=self.seconds,
            first_difference_step=first_step,
            loss_ulps=ulp_distance(self.losses, reference.losses).astype(np.int64),
            param_ulps=self.param_ulps,
            first_difference=first_name,
            loss_relative=relative_error(self.losses, reference.losses),
            param_relative=self.param_relative,
            iterations=self.iterations,
            moved=any(
                not np.array_equal(start, last)
                for start, last in zip(self._start, self.read(), strict=False)
            ),
            ladder_style=self.twin.port.mode if self.twin is not None else None,
        )
