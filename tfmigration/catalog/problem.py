"""Turning a model name and the user's choices into one fully drawn training problem.

Everything random (data noise, initial values, batch order) is drawn here, once, in NumPy; every
execution style and the oracle receive the same arrays, so they differ only in how TensorFlow
computes, never in what they are given.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tfmigration.catalog.csvdata import Table, read_table
from tfmigration.catalog.errors import ConfigError, DataError
from tfmigration.catalog.models import MODELS
from tfmigration.catalog.optimizers import OPTIMIZERS, OptimizerChoice, OptimizerSpec, resolve
from tfmigration.catalog.spec import LOSS_REDUCTIONS, Model

MAX_STEPS = 2**31 - 1  # the fused loops count steps in int32
MAX_SEED = 2**32 - 1  # NumPy's legacy np.random.seed takes 32-bit seeds

__all__ = ["OPTIMIZERS", "Problem", "TrainConfig", "get_model", "parse_init", "prepare"]


# The batch order is drawn whole, in memory, before training (int64 indices, steps x batch).
SCHEDULE_BUDGET_BYTES = 4 * 2**30


@dataclass(frozen=True)
class TrainConfig:
    """What the user chose; `None` means the model's tutorial value."""

    steps: int | None = None
    learning_rate: float | None = None
    batch_size: int | None = None
    seed: int | None = None
    init: Mapping[str, Sequence[float]] = field(default_factory=dict)
    data_path: str | None = None
    loss: str | None = None
    optimizer: str | None = None
    optimizer_options: OptimizerChoice = field(default_factory=OptimizerChoice)


@dataclass(frozen=True)
class Problem:
    """A model with its data, initial values, hyperparameters and batch order, all resolved."""

    model: Model
    features: np.ndarray
    targets: np.ndarray
    initial_params: dict[str, np.ndarray]
    steps: int
    learning_rate: float
    loss: str
    optimizer: str
    seed: int
    batch_size: int | None
    batch_indices: np.ndarray | None = field(repr=False)
    # The graph style's optimizer (TF1), and the one the eager and tf.function styles build
    # (the same unless --defaults each gives Keras its own defaults and formulas).
    optimizer_spec: OptimizerSpec | None = None
    keras_optimizer_spec: OptimizerSpec | None = None
    # --defaults: translated (Keras made to compute TF1's update), tf1, keras, or each.
    defaults: str = "translated"

    def __post_init__(self) -> None:
        if self.optimizer_spec is None:
            # The same resolution `prepare` makes: one place fills in optimizer defaults.
            graph, keras = resolve(
                self.optimizer, OptimizerChoice(defaults=self.defaults), self.learning_rate
            )
            object.__setattr__(self, "optimizer_spec", graph)
            if self.keras_optimizer_spec is None:
                object.__setattr__(self, "keras_optimizer_spec", keras)
        if self.keras_optimizer_spec is None:
            object.__setattr__(self, "keras_optimizer_spec", self.optimizer_spec)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.model.dtype)

    @property
    def batch_rows(self) -> int:
        """How many rows every step trains on: the batch size, or the whole data set."""
        return self.batch_size or len(self.features)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The features and targets step `step` trains on."""
        if self.batch_indices is None:
            return self.features, self.targets
        rows = self.batch_indices[step]
        return self.features[rows], self.targets[rows]


def draw_batch_indices(rows: int, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """Each step's rows, drawn with replacement from a generator of `seed`'s own: the catalog's
    batch order, and a migration check's."""
    return np.random.default_rng(seed).integers(0, rows, size=(steps, batch_size), dtype=np.int64)


def get_model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None


def parse_init(text: str) -> tuple[str, tuple[float, ...]]:
    """Parse one `--init NAME=V[,V...]` value."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise ConfigError(f"--init {text!r} is not of the form NAME=V[,V...] (e.g. w=0.5)")
    try:
        numbers = tuple(float(value) for value in values.split(","))
    except ValueError:
        raise ConfigError(f"--init {text!r}: values must be numbers separated by commas") from None
    if not all(math.isfinite(number) for number in numbers):
        raise ConfigError(f"--init {text!r}: values must be finite")
    return name.strip(), numbers


def prepare(name: str, config: TrainConfig | None = None) -> Problem:
    """Draw the data, initial values and batch order for model `name` under `config`."""
    config = config or TrainConfig()
    model = get_model(name)
    steps = _positive_int("--steps", config.steps, model.steps)
    learning_rate = _positive_float("--lr", config.learning_rate, model.learning_rate)
    seed = model.seed if config.seed is None else config.seed
    if seed < 0:
        raise ConfigError(f"--seed {seed} is negative; use a whole number from 0")
    if seed > MAX_SEED:
        raise ConfigError(f"--seed {seed} is too large; use a whole number up to {MAX_SEED}")
    if steps > MAX_STEPS:
        raise ConfigError(f"--steps {steps} is too large; use at most {MAX_STEPS}")
    loss = model.loss if config.loss is None else config.loss
    if loss not in LOSS_REDUCTIONS:
        raise ConfigError(
            f"--loss {loss!r} is unknown; choose one of: {', '.join(LOSS_REDUCTIONS)}"
        )
    optimizer = model.optimizer if config.optimizer is None else config.optimizer
    graph_spec, keras_spec = resolve(optimizer, config.optimizer_options, learning_rate)

    table = _table(model, config.data_path, seed)
    features, targets = model.featurize(table)
    dtype = np.dtype(model.dtype)
    features = np.ascontiguousarray(features, dtype=dtype)
    targets = np.ascontiguousarray(targets, dtype=dtype)
    initial = {
        key: np.asarray(value, dtype=dtype)
        for key, value in model.initialize(seed, features).items()
    }
    initial.update(_overrides(model, initial, config.init))

    batch_size = model.batch_size if config.batch_size is None else config.batch_size
    indices = None
    if batch_size is not None:
        batch_size = _positive_int("--batch-size", batch_size, batch_size)
        if batch_size > len(features) and config.batch_size is None:
            raise ConfigError(
                f"model {model.name!r} trains on batches of {batch_size} by default; the data "
                f"has {len(features)} rows: pass --batch-size at most {len(features)}"
            )
        if batch_size > len(features):
            raise ConfigError(
                f"--batch-size {batch_size} is larger than the data ({len(features)} rows); "
                f"use at most {len(features)}"
            )
        schedule_bytes = steps * batch_size * 8
        if schedule_bytes > SCHEDULE_BUDGET_BYTES:
            # Refused up front: an allocation that fits at first can still end in the OOM killer.
            raise ConfigError(
                f"--steps {steps} with batches of {batch_size} needs a batch schedule of "
                f"{schedule_bytes / 2**30:.1f} GiB (at most {SCHEDULE_BUDGET_BYTES // 2**30} "
                "GiB); use fewer steps or a smaller batch"
            )
        # A generator of its own (not the data's legacy stream), so that replacing the data
        # never changes the batch order. Drawn with replacement, as the tutorial's randint.
        try:
            indices = draw_batch_indices(len(features), steps, batch_size, seed)
        except MemoryError:
            raise ConfigError(
                f"--steps {steps} with batches of {batch_size} needs a batch schedule of "
                f"{schedule_bytes / 2**30:.1f} GiB, more than this machine can allocate; "
                "use fewer steps or a smaller batch"
            ) from None
    return Problem(
        model=model,
        features=features,
        targets=targets,
        initial_params=initial,
        steps=steps,
        learning_rate=learning_rate,
        loss=loss,
        optimizer=optimizer,
        seed=seed,
        batch_size=batch_size,
        batch_indices=indices,
        optimizer_spec=graph_spec,
        keras_optimizer_spec=keras_spec,
        defaults=config.optimizer_options.defaults,
    )


def _table(model: Model, data_path: str | None, seed: int) -> np.ndarray:
    if data_path is None:
        if model.builtin_table is None:
            raise ConfigError(f"model {model.name!r} trains on your own data: pass --data PATH")
        return model.builtin_table(seed)
    table = read_table(data_path)
    if model.columns is not None and len(table.columns) != len(model.columns):
        raise DataError(
            f"{data_path}: model {model.name!r} expects {len(model.columns)} columns "
            f"({', '.join(model.columns)}); the file has {len(table.columns)}"
        )
    _check_fits(model, table, data_path)
    return table.values


def _check_fits(model: Model, table: Table, data_path: str) -> None:
    """A finite float64 cell beyond the model's dtype would become inf, then a false divergence."""
    largest = float(np.finfo(np.dtype(model.dtype)).max)
    too_big = np.argwhere(np.abs(table.values) > largest)
    if too_big.size:
        row, column = too_big[0]
        raise DataError(
            f"{data_path}: line {table.lines[row]}, column {table.columns[column]!r}: "
            f"{table.values[row, column]:g} does not fit in {model.dtype}, the dtype of "
            f"{model.name!r}"
        )


def _overrides(
    model: Model, initial: Mapping[str, np.ndarray], init: Mapping[str, Sequence[float]]
) -> dict[str, np.ndarray]:
    replaced = {}
    for name, values in init.items():
        if name not in initial:
            raise ConfigError(
                f"--init: model {model.name!r} has no parameter {name!r}; "
                f"its parameters are: {', '.join(initial)}"
            )
        shape = initial[name].shape
        size = int(np.prod(shape))
        values = tuple(values)
        if len(values) == 1:
            values = values * size
        if len(values) != size:
            accepted = "1 value" if size == 1 else f"1 or {size} values"
            raise ConfigError(
                f"--init {name}: parameter {name!r} has shape {list(shape)} and takes "
                f"{accepted}; got {len(values)}"
            )
        dtype = initial[name].dtype
        too_big = [value for value in values if abs(value) > float(np.finfo(dtype).max)]
        if too_big:
            raise ConfigError(f"--init {name}: {too_big[0]:g} does not fit in {dtype}")
        replaced[name] = np.asarray(values, dtype=dtype).reshape(shape)
    return replaced


def _positive_int(option: str, value: int | None, default: int) -> int:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ConfigError(f"{option} {value!r} must be a positive whole number")
    return int(value)


def _positive_float(option: str, value: float | None, default: float) -> float:
    value = default if value is None else value
    # Any real number: NumPy scalars (np.float32(0.01)) and fractions too, but not a bool.
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{option} {value!r} must be a positive finite number")
    return float(value)
