"""Optimizers as data: names, hyperparameters, each library's defaults, and the TF1 -> Keras map.

Nothing here imports TensorFlow. An `OptimizerSpec` is one optimizer with every hyperparameter
resolved; the graph style builds the `tf.compat.v1.train` optimizer from it, the eager and
tf.function styles a Keras optimizer, and the oracle its NumPy equations.

Defaults differ between the libraries (confirmed against the installed sources, TF 2.21 and
Keras 3; see docs/migration-optimizers.md for files and lines):

    optimizer  TF1 tf.compat.v1.train            Keras 3 keras.optimizers
    adam       epsilon 1e-8                      epsilon 1e-7
    rmsprop    epsilon 1e-10, slot starts at 1   epsilon 1e-7, slot starts at 0
    adagrad    no epsilon at all                 epsilon 1e-7 (inside the square root)
    momentum   slot holds raw gradients          slot holds lr-scaled gradients (same updates
                                                 only while lr is constant)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tfmigration.catalog.errors import ConfigError

OPTIMIZERS = ("gd", "sgd", "momentum", "adam", "rmsprop", "adagrad")

DEFAULTS_MODES = ("translated", "tf1", "keras", "each")
"""How unset hyperparameters are filled and whether the Keras side is made to match TF1.

translated (the default) and tf1: TF1's defaults on both sides, and the Keras side computes
  TF1's update (hyperparameters carried over, a compatible class where Keras has no setting).
keras: Keras's defaults on both sides (where TF1 has the argument), Keras side still made to
  compute TF1's update.
each: every side its own library's defaults and its own formulas -- what a user gets by renaming
  the class. The difference this shows is the finding, not a failure.
"""

# Which hyperparameters each optimizer reads (TF1 names; rho is TF1's `decay`).
HYPERPARAMETERS: dict[str, tuple[str, ...]] = {
    "gd": (),
    "sgd": (),
    "momentum": ("momentum", "nesterov"),
    "adam": ("beta1", "beta2", "epsilon"),
    "rmsprop": ("rho", "momentum", "epsilon"),
    "adagrad": ("initial_accumulator",),
}

# Defaults from tensorflow/python/training/{momentum,adam,rmsprop,adagrad}.py. TF1's
# MomentumOptimizer has no default momentum; 0.9 is the value its docs and tutorials use.
TF1_DEFAULTS: dict[str, dict[str, float | bool]] = {
    "gd": {},
    "sgd": {},
    "momentum": {"momentum": 0.9, "nesterov": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-10},
    "adagrad": {"initial_accumulator": 0.1, "epsilon": 0.0},
}

# Defaults from keras/src/optimizers/{sgd,adam,rmsprop,adagrad}.py. Momentum stays 0.9: a user
# renaming MomentumOptimizer(lr, 0.9) to SGD(lr, momentum=0.9) carries that argument over.
KERAS_DEFAULTS: dict[str, dict[str, float | bool]] = {
    "gd": {},
    "sgd": {},
    "momentum": {"momentum": 0.9, "nesterov": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7},
    "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7},
    "adagrad": {"initial_accumulator": 0.1, "epsilon": 1e-7},
}


@dataclass(frozen=True)
class SlotName:
    """One optimizer slot under each name it goes by; the one table of them is `SLOT_NAMES`."""

    optimizer: str
    # Ours: what trajectories report it under ("w/ms") and the TF2 checkpoint path's segment.
    name: str
    # TF1's: `tf.compat.v1.train.Optimizer.get_slot(variable, tf1_name)`.
    tf1_name: str
    # TF1's Saver key suffix ("w/RMSProp"): the optimizer's `_name`, uniquified with `_1`.
    tf1_suffix: str


# Every slot each optimizer keeps per parameter, in the order trajectories report them. Momentum
# slots are reported in TF1's convention (raw gradients). TF1's names are checked against the
# installed tensorflow/python/training/{momentum,adam,rmsprop,adagrad}.py (`_zeros_slot(v, "m",
# self._name)`, rmsprop.py's "rms", ...) and slot_creator.py (the `_1` of a second slot).
SLOT_NAMES: tuple[SlotName, ...] = (
    SlotName("momentum", "momentum", tf1_name="momentum", tf1_suffix="Momentum"),
    SlotName("adam", "m", tf1_name="m", tf1_suffix="Adam"),
    SlotName("adam", "v", tf1_name="v", tf1_suffix="Adam_1"),
    SlotName("rmsprop", "ms", tf1_name="rms", tf1_suffix="RMSProp"),
    SlotName("rmsprop", "momentum", tf1_name="momentum", tf1_suffix="RMSProp_1"),
    SlotName("adagrad", "accumulator", tf1_name="accumulator", tf1_suffix="Adagrad"),
)

# Derived from SLOT_NAMES: each optimizer's slots by our names ("w/m", "w/v", ...).
SLOTS: dict[str, tuple[str, ...]] = {
    optimizer: tuple(slot.name for slot in SLOT_NAMES if slot.optimizer == optimizer)
    for optimizer in OPTIMIZERS
}
# Derived from SLOT_NAMES: (optimizer, our slot name) -> TF1's `get_slot` name.
TF1_SLOT_NAMES: dict[tuple[str, str], str] = {
    (slot.optimizer, slot.name): slot.tf1_name for slot in SLOT_NAMES
}
# Derived from SLOT_NAMES: (optimizer, our slot name) -> TF1's Saver key suffix.
TF1_SLOT_SUFFIXES: dict[tuple[str, str], str] = {
    (slot.optimizer, slot.name): slot.tf1_suffix for slot in SLOT_NAMES
}
# The `tf.compat.v1.train` class of each optimizer that has one ("gd" is written by hand).
TF1_OPTIMIZER_CLASSES: dict[str, str] = {
    "sgd": "GradientDescentOptimizer",
    "momentum": "MomentumOptimizer",
    "adam": "AdamOptimizer",
    "rmsprop": "RMSPropOptimizer",
    "adagrad": "AdagradOptimizer",
}


@dataclass(frozen=True)
class LearningRateDecay:
    """lr · rate^(step / steps), the step floored when `staircase`: TF1 exponential_decay."""

    rate: float
    steps: int
    staircase: bool = False

    def at(self, learning_rate: float, step: int) -> float:
        exponent = step // self.steps if self.staircase else step / self.steps
        return learning_rate * self.rate**exponent


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer, every hyperparameter resolved (TF1 names).

    Build it through `resolve`, the one place that fills in each library's defaults; the field
    defaults here only keep hand-written specs (tests of the oracle's equations) short.

    `formulation` says whose update equations a side computes: "tf1" (the graph style always,
    and the Keras side when translated) or "keras" (the Keras side under --defaults each).
    `epsilon` is Adagrad's Keras epsilon (0 in TF1's formulation, which has none).
    """

    name: str
    learning_rate: float
    momentum: float = 0.0
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 0.0
    rho: float = 0.9
    initial_accumulator: float = 0.1
    decay: LearningRateDecay | None = None
    formulation: str = "tf1"

    def learning_rate_at(self, step: int) -> float:
        """The learning rate step `step` (0-based) uses."""
        if self.decay is None:
            return self.learning_rate
        return self.decay.at(self.learning_rate, step)

    def describe(self) -> str:
        values = [
            f"{key} {getattr(self, key):g}"
            for key in HYPERPARAMETERS[self.name]
            if not isinstance(getattr(self, key), bool)
        ]
        if self.nesterov:
            values.append("nesterov")
        if self.decay is not None:
            floor = "floor" if self.decay.staircase else ""
            values.append(f"lr x {self.decay.rate:g}^{floor}(step/{self.decay.steps})")
        return self.name + (f" ({', '.join(values)})" if values else "")


@dataclass(frozen=True)
class OptimizerChoice:
    """The user's hyperparameter choices; `None` means the chosen library's default."""

    defaults: str = "translated"
    momentum: float | None = None
    nesterov: bool | None = None
    beta1: float | None = None
    beta2: float | None = None
    epsilon: float | None = None
    rho: float | None = None
    initial_accumulator: float | None = None
    lr_decay_rate: float | None = None
    lr_decay_steps: int | None = None
    staircase: bool = False


def resolve(
    name: str, choice: OptimizerChoice, learning_rate: float
) -> tuple[OptimizerSpec, OptimizerSpec]:
    """The (graph side, Keras side) specs of optimizer `name`, validated; raises ConfigError."""
    if name not in OPTIMIZERS:
        raise ConfigError(
            f"--optimizer {name!r} is unknown; choose one of: {', '.join(OPTIMIZERS)}"
        )
    if choice.defaults not in DEFAULTS_MODES:
        raise ConfigError(
            f"--defaults {choice.defaults!r} is unknown; choose one of: {', '.join(DEFAULTS_MODES)}"
        )
    _validate(choice, name)
    if name == "adagrad" and choice.epsilon is not None and choice.defaults != "each":
        raise ConfigError(
            "--epsilon applies to adagrad only with --defaults each (Keras's Adagrad); "
            "TF1's AdagradOptimizer has no epsilon to translate"
        )
    decay = _decay(choice)
    if decay is not None and name == "gd":
        raise ConfigError(
            "--lr-decay-rate needs a library optimizer; gd is a hand-written update with a "
            "constant lr (choose --optimizer sgd, momentum, adam, rmsprop or adagrad)"
        )
    keras_side_defaults = KERAS_DEFAULTS if choice.defaults == "keras" else TF1_DEFAULTS
    graph = _spec(name, learning_rate, keras_side_defaults, choice, decay, "tf1")
    if name == "adagrad":
        # TF1's Adagrad has no epsilon; its formulation ignores any value it would carry.
        graph = replace(graph, epsilon=0.0)
    if choice.defaults != "each":
        return graph, graph
    keras = _spec(name, learning_rate, KERAS_DEFAULTS, choice, decay, "keras")
    return graph, keras


def _spec(
    name: str,
    learning_rate: float,
    defaults: dict[str, dict[str, float | bool]],
    choice: OptimizerChoice,
    decay: LearningRateDecay | None,
    formulation: str,
) -> OptimizerSpec:
    values: dict[str, float | bool] = dict(defaults[name])
    for key in HYPERPARAMETERS[name]:
        chosen = getattr(choice, key)
        if chosen is not None:
            values[key] = chosen
    if name == "adagrad" and choice.epsilon is not None and formulation == "keras":
        values["epsilon"] = choice.epsilon
    return OptimizerSpec(
        name=name,
        learning_rate=learning_rate,
        decay=decay,
        formulation=formulation,
        **values,  # type: ignore[arg-type]
    )


def _validate(choice: OptimizerChoice, name: str) -> None:
    for option, value in (
        ("--momentum", choice.momentum),
        ("--epsilon", choice.epsilon),
    ):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"{option} {value!r} must be a finite number >= 0")
    for option, value in (
        ("--beta1", choice.beta1),
        ("--beta2", choice.beta2),
        ("--rho", choice.rho),
    ):
        if value is not None and not (math.isfinite(value) and 0 <= value < 1):
            raise ConfigError(f"{option} {value!r} must be in [0, 1)")
    if choice.initial_accumulator is not None and not (
        math.isfinite(choice.initial_accumulator) and choice.initial_accumulator > 0
    ):
        # tensorflow/python/training/adagrad.py refuses it: "initial_accumulator_value must be
        # positive".
        raise ConfigError(
            f"--initial-accumulator {choice.initial_accumulator!r} must be a positive number "
            "(TF1's AdagradOptimizer refuses 0 and below)"
        )
    given = [
        key
        for key in (
            "momentum",
            "nesterov",
            "beta1",
            "beta2",
            "epsilon",
            "rho",
            "initial_accumulator",
        )
        if getattr(choice, key) not in (None, False)
    ]
    accepted = set(HYPERPARAMETERS[name]) | ({"epsilon"} if name == "adagrad" else set())
    unused = [key for key in given if key not in accepted]
    if unused:
        option = "--" + unused[0].replace("_", "-")
        takes = ", ".join("--" + key.replace("_", "-") for key in sorted(accepted)) or "none"
        raise ConfigError(f"{option} does not apply to --optimizer {name}; it takes: {takes}")


def _decay(choice: OptimizerChoice) -> LearningRateDecay | None:
    if choice.lr_decay_rate is None and choice.lr_decay_steps is None:
        if choice.staircase:
            raise ConfigError("--staircase needs --lr-decay-rate and --lr-decay-steps")
        return None
    if choice.lr_decay_rate is None or choice.lr_decay_steps is None:
        raise ConfigError("--lr-decay-rate and --lr-decay-steps go together; give both")
    rate = choice.lr_decay_rate
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigError(f"--lr-decay-rate {rate!r} must be a positive finite number")
    steps = choice.lr_decay_steps
    # TensorFlow converts it to an integer tensor: beyond int32 it is a TypeError traceback.
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 < steps < 2**31:
        raise ConfigError(
            f"--lr-decay-steps {steps!r} must be a positive whole number up to {2**31 - 1}"
        )
    return LearningRateDecay(rate=float(rate), steps=steps, staircase=choice.staircase)
