"""A user's TF2 port (`tf2_setup`, `tf2_train_step`) run eagerly, one Python call a step.

`TF2Port` finds the port's variables in whatever `tf2_setup()` returned (Keras models and layers,
`tf.Module`s, Keras optimizers, in tuples, lists or dicts), names them as the user sees them
(Keras's `path`, a Module's attribute path), and can load values into them. It watches every Keras
optimizer's `apply`: the ladder reads the gradients the port computed and can hand it TF1's
instead, so a gradient and an optimizer update are judged apart.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from eagermode import keras_internals as internals
from eagermode.rnn_layouts import LayoutView, tf1_layout_views
from eagermode.tf1_compatible import TF1Adam
from tfmigration.catalog.optimizers import SLOTS
from tfmigration.migration.contract import ContractError, MigrationFile, call_user, map_inputs
from tfmigration.migration.layouts import CellInfo
from tfmigration.migration.mapping import VariableInfo
from tfmigration.migration.random_ops import AlignedRandomOps

KERAS_OPTIMIZERS = {
    "Adam": "adam",
    "RMSprop": "rmsprop",
    "Adagrad": "adagrad",
    "SGD": "sgd",
}
KERAS_HYPERPARAMETERS = {
    "adam": ("learning_rate", "beta_1", "beta_2", "epsilon"),
    "rmsprop": ("learning_rate", "rho", "momentum", "epsilon"),
    "momentum": ("learning_rate", "momentum", "nesterov"),
    "adagrad": ("learning_rate", "initial_accumulator_value", "epsilon"),
    "sgd": ("learning_rate", "momentum", "nesterov"),
}
# Keras settings no TF1 optimizer has: set to anything but these values, the port's optimizer
# computes another update than any `tf.compat.v1.train` one.
KERAS_ONLY_SETTINGS = {"weight_decay": None, "amsgrad": False, "centered": False, "use_ema": False}
# Keras settings TF1 code writes as graph ops instead (tf.clip_by_global_norm before
# apply_gradients): named, never judged on their own, as the trajectory shows whether they match.
KERAS_CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def _creation_order(variable: tf.Variable) -> int:
    # A tf.Module lists its variables sorted by attribute name; TensorFlow's per-variable uid
    # ("w_139") keeps the order they were made in.
    match = re.search(r"_(\d+)$", str(getattr(variable, "_unique_id", "")))
    return int(match.group(1)) if match else 0


class TF2Port:
    """The port's state and its train step, run eagerly."""

    mode = "eager"
    # Whether its step hands the optimizer gradients the ladder can read and substitute: an
    # eager step does; a traced one fixed both when it was traced.
    gradients_readable = True

    def __init__(self, migration: MigrationFile, cells: Sequence[CellInfo] = ()) -> None:
        self.migration = migration
        path = migration.path
        self.step_variable = tf.Variable(0, dtype=tf.int64, trainable=False, name="tfbridge_step")
        self.dropout = AlignedRandomOps(self.step_variable.read_value)
        self.state = call_user(path, migration.function("tf2_setup"))
        self.models, self.optimizers = self._find(self.state)
        named = self._named_variables()
        if not named:
            raise ContractError(
                f"{path}: tf2_setup() returned no model variables (found "
                f"{_describe(self.state)}); return a Keras model, a tf.Module, or a tuple, list "
                "or dict holding them and the optimizer"
            )
        self._real = named
        self.cells = tuple(cells)
        # TF1's recurrent cells in their own layout: Keras's LSTM/GRU seen through views.
        self.variables, self.layouts = tf1_layout_views(named, cells, str(path))
        self.skipped = [name for name, variable in self._all_named() if not _is_float(variable)]
        self._build_optimizers()
        self._train_step = migration.function("tf2_train_step")
        self._loss_function = migration.optional("tf2_loss")
        self._recorded: dict[int, tf.Tensor] = {}
        # The rate the next eager update applies is read once after `clear_recorded` (and at
        # the first step): a scalar read back from the device is not for every step of a run.
        self._applied_rate: float | None = None
        self._read_rate = True
        self._substitute: dict[int, tf.Tensor] | None = None
        for optimizer in self.optimizers:
            self._watch(optimizer)
        self.optimizer = self.optimizers[0] if self.optimizers else None
        self.optimizer_kind = _keras_kind(self.optimizer)

    # --- finding variables -------------------------------------------------------------------

    def _find(self, state: Any) -> tuple[list[Any], list[keras.optimizers.Optimizer]]:
        models: list[Any] = []
        optimizers: list[keras.optimizers.Optimizer] = []

        def visit(item: Any) -> None:
            if isinstance(item, keras.optimizers.Optimizer):
                optimizers.append(item)
            elif isinstance(item, keras.layers.Layer | tf.Module | tf.Variable):
                models.append(item)
            elif isinstance(item, dict):
                for value in item.values():
                    visit(value)
            elif isinstance(item, tuple | list):
                for value in item:
                    visit(value)

        visit(state)
        return models, optimizers

    def _all_named(self) -> list[tuple[str, Any]]:
        seen: set[int] = set()
        found: list[tuple[str, Any]] = []
        for model in self.models:
            for name, variable in _variables_of(model):
                key = id(_tf_variable(variable))
                if key not in seen:
                    seen.add(key)
                    found.append((name, variable))
        return found

    def _named_variables(self) -> dict[str, Any]:
        return {name: variable for name, variable in self._all_named() if _is_float(variable)}

    def variable_infos(self) -> list[VariableInfo]:
        ordered = sorted(
            self.variables.items(), key=lambda item: _creation_order(_underlying(item[1]))
        )
        orders = {name: index for index, (name, _) in enumerate(ordered)}
        return [
            VariableInfo(
                name=name,
                shape=tuple(variable.shape),
                dtype=tf.as_dtype(variable.dtype).name,
                trainable=bool(variable.trainable),
                order=orders[name],
                layout=variable.layout.description if isinstance(variable, LayoutView) else "",
            )
            for name, variable in self.variables.items()
        ]

    def _build_optimizers(self) -> None:
        # Built before the first step (Keras would build on it), so slots exist to be read and
        # loaded from step 0 on, and never inside a tf.function trace.
        trainable = [v for v in self._real.values() if v.trainable]
        for optimizer in self.optimizers:
            if not optimizer.built:
                optimizer.build(trainable)

    # --- watching the optimizer --------------------------------------------------------------

    def _watch(self, optimizer: keras.optimizers.Optimizer) -> None:
        original = optimizer.apply

        def apply(grads: Sequence[Any], trainable_variables: Any = None) -> Any:
            variables = (
                list(trainable_variables)
                if trainable_variables is not None
                else internals.built_variables(optimizer)
            )
            grads = list(grads)
            if self._read_rate and tf.executing_eagerly() and optimizer is self.optimizer:
                # The rate this update applies: a schedule at this step's count, or a rate the
                # step itself assigned just before (read before the step, it would be stale).
                self._applied_rate = float(np.asarray(optimizer.learning_rate))
                self._read_rate = False
            for index, variable in enumerate(variables):
                key = id(_tf_variable(variable))
                if tf.executing_eagerly():
                    self._recorded[key] = grads[index]
                if self._substitute is not None and key in self._substitute:
                    grads[index] = _like(self._substitute[key], grads[index])
            return original(grads, variables)

        optimizer.apply = apply

    # --- running -----------------------------------------------------------------------------

    def call_step(self, features: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """The user's step, as tf.function style traces it."""
        return self._train_step(self.state, features, labels)

    # What `step` calls: the eager step here; tf.function style swaps in its traced one.
    def run_step(self, features: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return self.call_step(features, labels)

    def _run(self, function: Callable[..., Any], features: np.ndarray, labels: np.ndarray) -> Any:
        return function(map_inputs(tf.convert_to_tensor, features), tf.convert_to_tensor(labels))

    def _aligned(
        self,
        function: Callable[..., Any],
        features: np.ndarray,
        labels: np.ndarray,
        step: int,
        what: str = "tf2_train_step()",
    ) -> Any:
        """`function(features, labels)` as step `step` of the run: dropout aligned from the
        step's first draw, the user's exceptions trimmed to their file and named as `what`
        (their function, not our wrapper around it)."""
        self.step_variable.assign(step)
        # Under tf.function this matters for the one trace: the k-th dropout built is the k-th.
        self.dropout.reset()
        with self.dropout.active():
            return call_user(self.migration.path, self._run, function, features, labels, what=what)

    def step(self, features: np.ndarray, labels: np.ndarray, step: int) -> np.floating:
        loss = self._aligned(self.run_step, features, labels, step)
        return _scalar_loss(self.migration.path, loss)

    def values(self) -> dict[str, np.ndarray]:
        """Every variable's value now, by name, each a view of its buffer (`value_view`)."""
        return {name: value_view(variable) for name, variable in self.variables.items()}

    def load(self, values: dict[str, np.ndarray]) -> None:
        for name, value in values.items():
            self.variables[name].assign(value)

    # --- optimizer slots ---------------------------------------------------------------------

    def slot_variables(self) -> dict[tuple[str, str], Any]:
        """(port variable name, slot) -> the Keras slot variable, for the optimizers we know."""
        kind = self.optimizer_kind
        if kind is None or kind == "sgd":
            return {}
        found = {}

        def slot_of(slot: str, variable: Any) -> Any:
            if isinstance(variable, LayoutView):
                sources = [slot_of(slot, source) for source in variable.sources]
                if any(source is None for source in sources):
                    return None
                return LayoutView(f"{variable.path}/{slot}", sources, variable.layout, slot=True)
            try:
                return internals.slot_for(self.optimizer, kind, slot, variable)
            except KeyError:
                return None  # a variable the optimizer was not built for

        for name, variable in self.variables.items():
            if not variable.trainable:
                continue
            for slot in SLOTS[kind]:
                slot_variable = slot_of(slot, variable)
                if slot_variable is not None:
                    found[(name, slot)] = slot_variable
        return found

    def slot_scale(self) -> float | None:
        """Keras's SGD keeps momentum as -lr x TF1's slot; the factor, while lr is a constant
        (1 for an optimizer whose slot is TF1's already, as `TF1Momentum`'s, schedule or not)."""
        if self.optimizer_kind != "momentum" or getattr(self.optimizer, "raw_gradient_slot", False):
            return 1.0
        if internals.has_schedule(self.optimizer):
            return None
        return -float(np.asarray(self.optimizer.learning_rate))

    def set_iterations(self, count: int, beta_powers: tuple[float, float] | None = None) -> None:
        """Put the optimizers' step counters where TF1's were after `count` steps.

        Keras's Adam derives beta^t from `iterations`; `TF1Adam` keeps TF1's own beta powers,
        which are loaded as they are when given."""
        for optimizer in self.optimizers:
            optimizer.iterations.assign(count)
            if isinstance(optimizer, TF1Adam) and beta_powers is not None:
                optimizer.load_beta_powers(*beta_powers)

    def _config(self) -> dict[str, Any]:
        """The optimizer's settings: its config, or, where Keras cannot serialize it (a
        LearningRateSchedule without get_config, which trains fine), the same settings read off
        the optimizer, the rate left out."""
        try:
            return self.optimizer.get_config()
        except NotImplementedError:
            keys = {*KERAS_ONLY_SETTINGS, *KERAS_CLIPPING}
            keys |= {k for kind in KERAS_HYPERPARAMETERS.values() for k in kind}
            keys.discard("learning_rate")
            return {k: getattr(self.optimizer, k) for k in keys if hasattr(self.optimizer, k)}

    def hyperparameters(self) -> dict[str, float]:
        if self.optimizer is None or self.optimizer_kind is None:
            return {}
        config = self._config()
        found = {}
        for key in KERAS_HYPERPARAMETERS[self.optimizer_kind]:
            value = config.get(key)
            if isinstance(value, int | float):
                found[key] = float(value)
        return found

    def keras_only_settings(self) -> dict[str, Any]:
        """Settings of the port's optimizer that TF1's optimizers lack, where they are on."""
        if self.optimizer is None:
            return {}
        config = self._config()
        return {
            key: config[key]
            for key, off in KERAS_ONLY_SETTINGS.items()
            if key in config and config[key] != off and config[key] not in (None, 0, 0.0)
        }

    def clipping(self) -> dict[str, float]:
        if self.optimizer is None:
            return {}
        config = self._config()
        return {key: config[key] for key in KERAS_CLIPPING if config.get(key) is not None}

    def learning_rate(self) -> float | None:
        """The port's learning rate now: a schedule evaluated at the optimizer's step count."""
        if self.optimizer is None:
            return None
        return float(np.asarray(self.optimizer.learning_rate))

    def applied_learning_rate(self) -> float | None:
        """The rate the port's optimizer applied in its first eager step since
        `clear_recorded` (or since it was built), None where it applied none or in a traced
        step."""
        return self._applied_rate

    def counts_matter(self) -> bool:
        """Whether the port's update reads its step count: Adam's bias correction, a schedule."""
        if self.optimizer is None:
            return False
        return self.optimizer_kind == "adam" or internals.has_schedule(self.optimizer)

    def iterations(self) -> int | None:
        """The port's optimizer's step count, or None without a Keras optimizer."""
        if self.optimizer is None:
            return None
        return int(self.optimizer.iterations.numpy())

    # --- the ladder --------------------------------------------------------------------------

    @contextlib.contextmanager
    def substituting(self, gradients: dict[str, np.ndarray]) -> Iterator[None]:
        """Within the block, the optimizer applies `gradients` (by port name) instead."""
        by_source: dict[int, tf.Tensor] = {}
        parts: dict[int, np.ndarray] = {}
        for name, value in gradients.items():
            variable = self.variables[name]
            if isinstance(variable, LayoutView):
                arrays = [
                    parts.setdefault(
                        id(_tf_variable(source)),
                        np.zeros(tuple(source.shape), np.asarray(value).dtype),
                    )
                    for source in variable.sources
                ]
                variable.scatter(np.asarray(value), arrays)
            else:
                by_source[id(_tf_variable(variable))] = tf.convert_to_tensor(value)
        by_source.update({key: tf.convert_to_tensor(part) for key, part in parts.items()})
        self._substitute = by_source
        try:
            yield
        finally:
            self._substitute = None

    def recorded_gradients(self) -> dict[str, np.ndarray]:
        """The gradients the port's last eager step handed its optimizer, by port name."""
        by_key = {id(_tf_variable(v)): name for name, v in self._real.items()}
        real = {
            by_key[key]: dense(gradient, self._real[by_key[key]])
            for key, gradient in self._recorded.items()
            if key in by_key and gradient is not None
        }
        return self._in_layout(real)

    def _in_layout(self, real: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-variable arrays (gradients) by real variable name, as the check sees them:
        views gather theirs from their sources'."""
        names = {id(_tf_variable(v)): name for name, v in self._real.items()}
        found = {}
        for name, variable in self.variables.items():
            if isinstance(variable, LayoutView):
                sources = [names[id(_tf_variable(s))] for s in variable.sources]
                if all(source in real for source in sources):
                    found[name] = variable.gather([real[source] for source in sources])
            elif name in real:
                found[name] = real[name]
        return found

    def sparse_gradients(self) -> set[str]:
        """The port variables whose last recorded gradient was `tf.IndexedSlices` (embeddings)."""
        by_key = {id(_tf_variable(v)): name for name, v in self.variables.items()}
        return {
            by_key[key]
            for key, gradient in self._recorded.items()
            if key in by_key and isinstance(gradient, tf.IndexedSlices)
        }

    def clear_recorded(self) -> None:
        self._recorded.clear()
        self._applied_rate, self._read_rate = None, True

    def intermediates(
        self, features: np.ndarray, labels: np.ndarray, step: int
    ) -> dict[str, np.ndarray]:
        """`tf2_intermediates(state, features, labels)` -> {label: tensor}, when defined."""
        function = self.migration.optional("tf2_intermediates")
        if function is None:
            return {}
        found = self._aligned(
            lambda f, y: function(self.state, f, y), features, labels, step, "tf2_intermediates()"
        )
        if not isinstance(found, dict):
            raise ContractError(
                f"{self.migration.path}: tf2_intermediates() must return a dict of label -> "
                f"tensor; it returned {type(found).__name__}"
            )
        return {label: np.asarray(tensor) for label, tensor in found.items()}

    def tape_gradients(
        self, features: np.ndarray, labels: np.ndarray, step: int
    ) -> dict[str, np.ndarray]:
        """Gradients of `tf2_loss` by tape, for ports that update without a Keras optimizer."""
        if self._loss_function is None:
            return {}
        trainable = {name: v for name, v in self._real.items() if v.trainable}
        self.step_variable.assign(step)
        self.dropout.reset()
        with self.dropout.active(), tf.GradientTape() as tape:
            loss = self._loss_function(
                self.state, map_inputs(tf.convert_to_tensor, features), tf.convert_to_tensor(labels)
            )
        gradients = tape.gradient(loss, [_tf_variable(v) for v in trainable.values()])
        return self._in_layout(
            {
                name: dense(g, trainable[name])
                for name, g in zip(trainable, gradients, strict=True)
                if g is not None
            }
        )

    def regularization(self) -> float | None:
        total = [loss for model in self.models for loss in getattr(model, "losses", [])]
        return float(tf.add_n(total).numpy()) if total else None


def _variables_of(model: Any) -> list[tuple[str, Any]]:
    if isinstance(model, tf.Variable):
        return [(_strip(model.name), model)]
    if isinstance(model, keras.layers.Layer):
        return [(variable.path, variable) for variable in model.variables]
    # tf.Module: the attribute path, under the module's own name.
    return list(_module_variables(model, (model.name,), set()))


def _module_variables(item: Any, where: tuple[str, ...], seen: set[int]) -> Iterator[tuple]:
    """(attribute path, variable) below a tf.Module, Keras objects inside it included."""
    if id(item) in seen:
        return
    seen.add(id(item))
    if isinstance(item, tf.Variable):
        yield "/".join(where), item
    elif isinstance(item, keras.layers.Layer):
        for variable in item.variables:
            yield "/".join((*where, variable.path.split("/")[-1])), variable
    elif isinstance(item, tf.Module):
        for key, value in sorted(vars(item).items()):
            if not key.startswith("_") or isinstance(value, tf.Variable):
                yield from _module_variables(value, (*where, key.lstrip("_")), seen)
    elif isinstance(item, dict):
        for key, value in item.items():
            yield from _module_variables(value, (*where, str(key)), seen)
    elif isinstance(item, list | tuple):
        for index, value in enumerate(item):
            yield from _module_variables(value, (*where, str(index)), seen)


def dense(gradient: Any, variable: Any) -> np.ndarray:
    """A gradient as a NumPy array of the variable's shape: an embedding's `tf.IndexedSlices`
    summed into its rows (duplicate ids add up), as TF1's side is densified."""
    if isinstance(gradient, tf.IndexedSlices):
        rows = int(variable.shape[0])
        return np.asarray(
            tf.math.unsorted_segment_sum(gradient.values, gradient.indices, rows).numpy()
        )
    return np.asarray(gradient.numpy() if hasattr(gradient, "numpy") else gradient)


def _like(value: tf.Tensor, gradient: Any) -> Any:
    """TF1's dense gradient in the form the port's own took: for `tf.IndexedSlices`, the rows the
    port's batch looked up, once each, so Keras runs the same sparse update it would have run."""
    if isinstance(gradient, tf.IndexedSlices):
        rows, _ = tf.unique(gradient.indices)
        return tf.IndexedSlices(
            tf.cast(tf.gather(value, rows), gradient.values.dtype), rows, gradient.dense_shape
        )
    if gradient is None:  # the port passed no gradient to the variable; TF1 did
        return tf.convert_to_tensor(value)
    return tf.cast(value, gradient.dtype)


def _underlying(variable: Any) -> tf.Variable:
    """The first real variable behind a view, or the variable's own."""
    return _tf_variable(variable.sources[0] if isinstance(variable, LayoutView) else variable)


def _tf_variable(variable: Any) -> tf.Variable:
    """The tf.Variable behind a Keras variable (its `.value`), or the variable itself."""
    if isinstance(variable, tf.Variable):
        return variable
    return variable.value


def _is_float(variable: Any) -> bool:
    return tf.as_dtype(variable.dtype).is_floating


def _strip(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _describe(state: Any) -> str:
    if isinstance(state, tuple | list):
        return f"a {type(state).__name__} of {', '.join(type(s).__name__ for s in state)}"
    return type(state).__name__


def _keras_kind(optimizer: keras.optimizers.Optimizer | None) -> str | None:
    if optimizer is None:
        return None
    for cls in type(optimizer).__mro__:
        kind = KERAS_OPTIMIZERS.get(cls.__name__)
        if kind is not None:
            if kind == "sgd" and float(getattr(optimizer, "momentum", 0.0) or 0.0) > 0:
                return "momentum"
            return kind
    return None


def _scalar_loss(path: Any, loss: Any, *, what: str = "tf2_train_step()") -> np.floating:
    if loss is None:
        raise ContractError(
            f"{path}: {what} returned nothing; it must return the loss computed before this "
            "step's update"
        )
    try:
        array = np.asarray(loss.numpy() if hasattr(loss, "numpy") else loss)
    except (TypeError, ValueError):
        raise ContractError(
            f"{path}: {what} must return the loss, a scalar tensor; it returned "
            f"{type(loss).__name__}"
        ) from None
    if array.shape != () or array.dtype.kind != "f":
        raise ContractError(
            f"{path}: {what} must return the loss, a float scalar; it returned "
            f"{array.dtype} of shape {list(array.shape)}"
        )
    return array[()]


def value_view(variable: Any) -> np.ndarray:
    """`variable`'s value now as a NumPy view of its buffer, not a copy (Keras's `numpy()` copies
    with `np.array`): TensorFlow copies a variable's buffer before writing to it while a read of
    it is held, so the view keeps this value after the variable moves on. On the 10M-parameter
    CNN, copies of the port's variables and slots were a quarter of a check's ladder peak."""
    return tf.convert_to_tensor(variable)._numpy()
