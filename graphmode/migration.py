"""A user's TF1 code (`tf1_train`) built in a graph of its own and run in a Session, as TF1 did.

`TF1Program` builds the graph once: placeholders with a `None` batch dimension, the user's model
and train op, and, beside them, what the checker needs to look inside: `tf.gradients` of the
loss, the regularization total, and an assign op per variable (to load values the ladder
chooses). It records every `tf.compat.v1.train` optimizer the code creates, so optimizer slots
(`w/Adam`, `beta1_power`, ...) are told from the model's own variables.
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.python.training import optimizer as tf1_optimizer_module

from graphmode import step as tf1_step
from graphmode.engine import session_config
from tfmigration.catalog.optimizers import TF1_OPTIMIZER_CLASSES
from tfmigration.migration.contract import (
    ContractError,
    MigrationFile,
    call_user,
    flat_inputs,
    input_names,
)
from tfmigration.migration.layouts import CellInfo
from tfmigration.migration.mapping import VariableInfo
from tfmigration.migration.random_ops import AlignedRandomOps, unaligned_random_ops

LEGACY_HINT = (
    "needs the legacy Keras that TF1 layers code runs on: "
    "pip install 'tf-migration-bridge[legacy]' (in a checkout: pip install '.[legacy]')"
)

# TF1 optimizer classes -> our optimizer names (the catalog's table, inverted).
TF1_OPTIMIZERS: dict[str, str] = {
    tf1_class: optimizer for optimizer, tf1_class in TF1_OPTIMIZER_CLASSES.items()
}
# TF1 attribute -> the Keras argument that means the same, per optimizer.
TF1_HYPERPARAMETERS = {
    "adam": {"_lr": "learning_rate", "_beta1": "beta_1", "_beta2": "beta_2", "_epsilon": "epsilon"},
    "rmsprop": {
        "_learning_rate": "learning_rate",
        "_decay": "rho",
        "_momentum": "momentum",
        "_epsilon": "epsilon",
    },
    "momentum": {
        "_learning_rate": "learning_rate",
        "_momentum": "momentum",
        "_use_nesterov": "nesterov",
    },
    "adagrad": {
        "_learning_rate": "learning_rate",
        "_initial_accumulator_value": "initial_accumulator_value",
    },
    "sgd": {"_learning_rate": "learning_rate"},
}


@contextlib.contextmanager
def _recording_optimizers() -> Iterator[list[tf.compat.v1.train.Optimizer]]:
    """Every TF1 optimizer constructed inside the block, in order."""
    created: list[tf.compat.v1.train.Optimizer] = []
    cls = tf1_optimizer_module.Optimizer
    original = cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    cls.__init__ = init
    try:
        yield created
    finally:
        cls.__init__ = original


RNN_CELLS = ("BasicLSTMCell", "LSTMCell", "GRUCell", "BasicRNNCell")


@contextlib.contextmanager
def _recording_cells() -> Iterator[list[Any]]:
    """Every TF1 recurrent cell (`tf.compat.v1.nn.rnn_cell.*`) constructed inside the block."""
    created: list[Any] = []
    try:
        module = tf.compat.v1.nn.rnn_cell
        classes = [getattr(module, name) for name in RNN_CELLS]
    except Exception:  # no legacy Keras (tf_keras): TF1 cells cannot be built, none to record
        yield created
        return
    originals = [cls.__dict__.get("__init__") for cls in classes]

    def recorder(cls: type, original: Any) -> Any:
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            if type(self) is cls:
                created.append(self)

        return init

    for cls in classes:
        cls.__init__ = recorder(cls, cls.__init__)
    try:
        yield created
    finally:
        for cls, original in zip(classes, originals, strict=True):
            if original is None:
                del cls.__init__
            else:
                cls.__init__ = original


def _cell_info(cell: Any) -> CellInfo | None:
    """What the check needs of a built TF1 cell: its kind, variables by role, forget bias."""
    name = type(cell).__name__
    if name == "GRUCell":
        kernels = {
            "gates/kernel": cell._gate_kernel,
            "gates/bias": cell._gate_bias,
            "candidate/kernel": cell._candidate_kernel,
            "candidate/bias": cell._candidate_bias,
        }
        return CellInfo("gru", name, {role: _tf_name(v) for role, v in kernels.items()})
    if not hasattr(cell, "_kernel"):
        return None  # built nowhere in the graph
    variables = {"kernel": _tf_name(cell._kernel), "bias": _tf_name(cell._bias)}
    if name == "BasicRNNCell":
        return CellInfo("rnn", name, variables)
    twinless = [
        setting
        for setting, on in (
            ("use_peepholes", getattr(cell, "_use_peepholes", False)),
            ("cell_clip", getattr(cell, "_cell_clip", None) is not None),
            ("num_proj", getattr(cell, "_num_proj", None) is not None),
        )
        if on
    ]
    return CellInfo(
        "lstm",
        name,
        variables,
        forget_bias=float(cell._forget_bias),
        no_keras_twin=", ".join(twinless),
    )


@contextlib.contextmanager
def _seeded_python_and_numpy(seed: int) -> Iterator[None]:
    """Python's and NumPy's global generators seeded for the TF1 build, then put back.

    tf_keras draws the op seeds of `tf.compat.v1.layers` initialisers from Python's `random`
    when none is given (so the graph seed alone does not make them repeatable), and TF1 code
    often draws its own initial values from `np.random`."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


@contextlib.contextmanager
def _legacy_layers() -> Iterator[None]:
    """Route `tf.compat.v1.layers` to tf_keras, as TF1 code needs, without touching `keras`.

    TensorFlow's KerasLazyLoader reads TF_USE_LEGACY_KERAS when a lazily loaded module is first
    touched (tensorflow/python/util/lazy_loader.py `_initialize`), so setting it for the TF1 build
    alone is enough; `import keras` stays Keras 3.
    """
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        yield
        return
    before = os.environ.get("TF_USE_LEGACY_KERAS")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        with warnings.catch_warnings():
            # tf_keras warns that tf.compat.v1.layers is deprecated on every call: that is the
            # very code being migrated, and the user knows.
            warnings.filterwarnings(
                "ignore", message=r".*is deprecated and will be removed", category=UserWarning
            )
            yield
    finally:
        if before is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = before


def _tf_name(variable: tf.Variable) -> str:
    name = variable.name
    return name[:-2] if name.endswith(":0") else name


class TF1Program:
    """The TF1 side of a migration file, built and initialised; one `Session.run` per step."""

    mode = "graph"

    def __init__(self, migration: MigrationFile, *, strict: bool = False, seed: int = 0) -> None:
        self.migration = migration
        path = migration.path
        self.graph = tf.Graph()
        with self.graph.as_default():
            # TF1's initialisers draw from the graph seed: set, so that a check is repeatable
            # (the file's own tf.compat.v1.set_random_seed, called later, still wins).
            tf.compat.v1.set_random_seed(seed)
            self._step = tf.compat.v1.placeholder_with_default(
                tf.constant(0, tf.int64), (), name="tfbridge_step"
            )
            self._x = _placeholders(migration.features)
            self.inputs = self._x  # the input placeholders, as data() shaped them
            self._y = tf.compat.v1.placeholder(
                migration.labels.dtype, (None, *migration.labels.shape[1:]), name="labels"
            )
            self.dropout = AlignedRandomOps(lambda: self._step)
            with (
                _recording_optimizers() as optimizers,
                _legacy_layers(),
                _recording_cells() as cells,
                _seeded_python_and_numpy(seed),
                self.dropout.active(),
            ):
                try:
                    result = call_user(path, migration.function("tf1_train"), self._x, self._y)
                except Exception as error:
                    if "not available with Keras 3" in str(error):
                        raise ContractError(f"{path}: tf1_train() {LEGACY_HINT}") from None
                    raise
            self.loss, self.train_op = _loss_and_train_op(path, result)
            self._feeds = self._training_feeds()
            self.optimizers = optimizers
            self.rnn_cells = [info for info in map(_cell_info, cells) if info is not None]
            slot_owner = self._slot_variables(optimizers)
            global_step = tf.compat.v1.train.get_global_step(self.graph)
            everything = tf.compat.v1.global_variables()
            owned = {id(variable) for variable in slot_owner}
            self.variables = [
                variable
                for variable in everything
                if id(variable) not in owned and variable is not global_step
            ]
            trainable = {id(v) for v in tf.compat.v1.trainable_variables()}
            self._trainable = [v for v in self.variables if id(v) in trainable]
            gradients = tf.gradients(self.loss, self._trainable)
            self._gradients = {
                _tf_name(variable): _dense(gradient, variable)
                for variable, gradient in zip(self._trainable, gradients, strict=True)
            }
            losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
            self._regularization = tf.add_n(losses) if losses else None
            self._loaders = {}
            global_steps = [global_step] if global_step is not None else []
            for variable in [*self.variables, *slot_owner, *global_steps]:
                value = tf.compat.v1.placeholder(variable.dtype.base_dtype, variable.shape)
                self._loaders[_tf_name(variable)] = (variable, value, variable.assign(value))
            self._learning_rate = _learning_rate_tensor(optimizers)
            self.gradient_clipping = sorted(
                {
                    scope
                    for op in self.graph.get_operations()
                    for scope in ("clip_by_global_norm", "clip_by_norm", "clip_by_value")
                    if f"{scope}/" in op.name or op.name.startswith(scope)
                }
            )
            # Fused batch norm (tf.compat.v1.layers.batch_normalization's default on 4-D
            # inputs) moves moving_variance toward the unbiased batch variance.
            self.fused_batch_norm = any(
                op.type.startswith("FusedBatchNorm") for op in self.graph.get_operations()
            )
            self.unaligned_random_ops = unaligned_random_ops(
                self._reachable_ops([self.loss, self.train_op])
            )
            initialize = tf.group(
                tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer(),
                tf.compat.v1.tables_initializer(),
            )
        self.session = tf.compat.v1.Session(graph=self.graph, config=session_config(strict=strict))
        self.session.run(initialize)
        self._fetch_all = {name: variable for name, (variable, _, _) in self._loaders.items()}
        # Slots by "tf1name/slot" point at the variables' names in a snapshot.
        self.slot_names = {key: _tf_name(variable) for key, variable in self._slots.items()}

    def _slot_variables(self, optimizers: list[Any]) -> list[tf.Variable]:
        """Every variable an optimizer owns; `self._slots` keys "tf1name/slot" for known ones."""
        self._slots: dict[str, tf.Variable] = {}
        self.optimizer_kind: str | None = None
        self.beta_powers: tuple[str, str] | None = None
        self.optimizer_hyperparameters: dict[str, float] = {}
        owned: list[tf.Variable] = []
        for optimizer in optimizers:
            kind = TF1_OPTIMIZERS.get(type(optimizer).__name__)
            if self.optimizer_kind is None and kind is not None:
                self.optimizer_kind = kind
                self.optimizer_hyperparameters = _hyperparameters(optimizer, kind)
                if kind == "adam":
                    # tensorflow/python/training/adam.py keeps beta^t in two non-slot variables.
                    powers = optimizer._get_beta_accumulators()
                    self.beta_powers = tuple(_tf_name(power) for power in powers)
            optimized = _optimized_variables(optimizer)
            slot_vars = set()
            for slot_name in optimizer.get_slot_names():
                for variable in optimized:
                    slot = optimizer.get_slot(variable, slot_name)
                    if slot is not None:
                        slot_vars.add(id(slot))
                        owned.append(slot)
            # The slots a port can hold, by our names: read by TF1's as every engine reads them.
            by_name = {_tf_name(variable): variable for variable in optimized}
            self._slots.update(tf1_step.slot_variables(optimizer, kind, by_name))
            for variable in optimizer.variables():
                if id(variable) not in slot_vars:
                    owned.append(variable)  # beta1_power, beta2_power, ...
            rate = getattr(optimizer, "_learning_rate", getattr(optimizer, "_lr", None))
            if isinstance(rate, tf.Variable) and all(rate is not v for v in owned):
                # A learning rate kept in a variable and set by assign between epochs (the PTB
                # tutorial's `assign_lr`): the optimizer's setting, compared as one, not a
                # model variable the port must hold.
                owned.append(rate)
        return owned

    def _reachable_ops(self, fetches: list[Any]) -> list[tf.Operation]:
        seen: set[tf.Operation] = set()
        stack = [fetch.op if isinstance(fetch, tf.Tensor) else fetch for fetch in fetches]
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            stack.extend(tensor.op for tensor in op.inputs)
            stack.extend(op.control_inputs)
        return list(seen)

    def variable_infos(self) -> list[VariableInfo]:
        trainable = {id(v) for v in self._trainable}
        return [
            VariableInfo(
                name=_tf_name(variable),
                shape=tuple(variable.shape.as_list()),
                dtype=variable.dtype.base_dtype.name,
                trainable=id(variable) in trainable,
                order=order,
            )
            for order, variable in enumerate(self.variables)
        ]

    def _training_feeds(self) -> dict[tf.Tensor, np.ndarray]:
        """TF1_FEEDS by placeholder, each checked against the graph; and no placeholder that
        the step needs left without a value (TF1 would stop at the first run, in its words)."""
        path = self.migration.path
        ours = {id(p.op) for p in [self._step, self._y, *flat_inputs(self._x)]}
        placeholders = [
            op
            for op in self.graph.get_operations()
            if op.type in ("Placeholder", "PlaceholderWithDefault") and id(op) not in ours
        ]
        listed = ", ".join(repr(op.name) for op in placeholders) or "none"
        feeds = {}
        for name, value in self.migration.tf1_feeds.items():
            try:
                op = self.graph.get_operation_by_name(name)
            except (KeyError, ValueError):
                op = None
            if op is None or op not in placeholders:
                raise ContractError(
                    f"{path}: TF1_FEEDS names {name!r}, which is not a placeholder of "
                    f"tf1_train()'s graph; its placeholders: {listed}"
                )
            feeds[op.outputs[0]] = _feed_value(path, name, op.outputs[0], value)
        fed = {id(tensor.op) for tensor in feeds}
        needed = [
            op
            for op in self._reachable_ops([self.loss, self.train_op])
            if op.type == "Placeholder" and id(op) not in ours and id(op) not in fed
        ]
        if needed:
            op = min(needed, key=lambda op: op.name)
            tensor = op.outputs[0]
            raise ContractError(
                f"{path}: tf1_train() makes placeholder {op.name!r} ({tensor.dtype.name}, shape "
                f"{_shape(tensor)}) that the checker does not feed; give its training value in "
                f"TF1_FEEDS = {{{op.name!r}: ...}} (features and labels are fed already)"
            )
        return feeds

    def _feed(self, features: Any, labels: np.ndarray, step: int) -> dict:
        feed = dict(zip(flat_inputs(self._x), flat_inputs(features), strict=True))
        return {**feed, self._y: labels, self._step: step, **self._feeds}

    def step(self, features: np.ndarray, labels: np.ndarray, step: int) -> np.floating:
        loss, _ = self.session.run([self.loss, self.train_op], self._feed(features, labels, step))
        return loss

    def gradients(self, features: np.ndarray, labels: np.ndarray, step: int) -> dict:
        return self.session.run(self._gradients, self._feed(features, labels, step))

    def learning_rate(self, features: np.ndarray, labels: np.ndarray, step: int) -> float | None:
        """TF1's learning rate at its current state (global_step as loaded), where the code built
        it as a tensor (a schedule such as exponential_decay); None where it is a number (then
        `optimizer_hyperparameters` holds it)."""
        if self._learning_rate is None:
            return None
        return float(self.session.run(self._learning_rate, self._feed(features, labels, step)))

    def changed_trainable(
        self, before: dict[str, np.ndarray], after: dict[str, np.ndarray]
    ) -> bool:
        """Whether any trainable variable differs between two snapshots."""
        return any(
            not np.array_equal(before[name], after[name])
            for name in (_tf_name(variable) for variable in self._trainable)
        )

    def intermediates(
        self, names: dict[str, str], features: np.ndarray, labels: np.ndarray, step: int
    ) -> dict[str, np.ndarray]:
        """The TF1 tensors `TF1_INTERMEDIATES` names ({label: "scope/op:0"}), by label."""
        tensors = {}
        for label, name in names.items():
            try:
                tensors[label] = self.graph.get_tensor_by_name(name)
            except (KeyError, ValueError) as error:
                raise ContractError(
                    f"{self.migration.path}: TF1_INTERMEDIATES[{label!r}] = {name!r} names no "
                    f"tensor of the TF1 graph ({error})"
                ) from None
        return self.session.run(tensors, self._feed(features, labels, step))

    def loss_gradients(
        self, names: Sequence[str], features: Any, labels: np.ndarray, step: int
    ) -> dict[str, np.ndarray]:
        """TF1's gradient of its loss with respect to each named tensor, in one backward pass
        (built into the graph once per set of names); zeros where the loss does not reach it."""
        key = tuple(names)
        cache = self.__dict__.setdefault("_loss_gradients", {})
        if key not in cache:
            tensors = [self.graph.get_tensor_by_name(name) for name in key]
            with self.graph.as_default():
                gradients = tf.gradients(self.loss, tensors)
                cache[key] = [
                    tf.zeros_like(t) if g is None else tf.convert_to_tensor(g)
                    for t, g in zip(tensors, gradients, strict=True)
                ]
        values = self.session.run(cache[key], self._feed(features, labels, step))
        return dict(zip(key, values, strict=True))

    def restore(self, prefix: str, option: str = "--tf1-checkpoint") -> tuple[int, list[str]]:
        """Load a TF1 checkpoint of this model (a `Saver`'s, keys = TF1 variable names) into the
        graph: every model variable must be there with its shape; the optimizer's slots and
        counters are loaded where present. Returns (global step, names not found). `option`
        names the checkpoint in errors as the command took it (check's option, convert's SRC)."""
        from graphmode.checkpoints import read_tensors

        tensors = read_tensors(prefix)
        model = {info.name: info for info in self.variable_infos()}
        missing = [name for name in model if name not in tensors]
        wrong = [
            f"{name} {list(tensors[name].shape)} in the checkpoint, {list(info.shape)} here"
            for name, info in model.items()
            if name in tensors and tuple(tensors[name].shape) != info.shape
        ]
        if missing or wrong:
            from tfmigration.checkpoint.state import CheckpointError

            problems = [f"lacks {name}" for name in missing] + wrong
            raise CheckpointError(
                f"{option} {prefix} is not a checkpoint of this model: "
                + "; ".join(problems[:6])
                + (f" (and {len(problems) - 6} more)" if len(problems) > 6 else "")
            )
        self.load({name: value for name, value in tensors.items() if name in self._loaders})
        not_found = [name for name in self._loaders if name not in tensors]
        step = tensors.get("global_step")
        if step is not None:
            return int(step), not_found
        if self.beta_powers and self.beta_powers[0] in tensors:
            # No global_step (minimize() without one): Adam's beta1_power counts the steps.
            from tfmigration.checkpoint.names import steps_from_beta_power

            beta1 = self.optimizer_hyperparameters.get("beta_1", 0.9)
            return steps_from_beta_power(tensors[self.beta_powers[0]], beta1), not_found
        return 0, not_found

    def nudge(self, names: list[str], step: int, seed: int) -> None:
        """Move every nonzero finite element of the named variables exactly one ULP up or down
        (one sign bit per element, drawn from `seed` and `step`), in the graph: the noise
        floor's per-step rounding, without carrying the values through Python. Zeros stay (a
        ULP of zero is a subnormal, which TensorFlow's CPU kernels flush to zero anyway)."""
        if getattr(self, "_nudge", None) is None:
            with self.graph.as_default():
                self._nudge_seed = tf.compat.v1.placeholder(tf.int64, (2,), name="nudge_seed")
                self._nudge = tf.group(
                    *(
                        _one_ulp_nudge(
                            self._fetch_all[name],
                            self._nudge_seed + tf.constant([index, 0], tf.int64),
                        )
                        for index, name in enumerate(names)
                    )
                )
        self.session.run(self._nudge, {self._nudge_seed: [seed, step]})

    def regularization(self) -> float | None:
        if self._regularization is None:
            return None
        return float(self.session.run(self._regularization))

    def snapshot(self, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Every variable's value by TF1 name: the model's, the optimizers' and global_step; or
        the named variables' alone."""
        if names is None:
            return self.session.run(self._fetch_all)
        return self.session.run({name: self._fetch_all[name] for name in names})

    def load(self, values: dict[str, np.ndarray]) -> None:
        """Assign TF1-named values (model variables, slots, beta powers) in one run."""
        ops, feed = [], {}
        for name, value in values.items():
            _, placeholder, assign = self._loaders[name]
            ops.append(assign.op)
            feed[placeholder] = value
        if ops:
            self.session.run(ops, feed)

    def close(self) -> None:
        self.session.close()


def _one_ulp_nudge(variable: tf.Variable, seed: tf.Tensor) -> tf.Operation:
    """`variable += variable * (±c)`, c = eps/2 * (1 + eps) of its dtype: the product is more
    than half an ULP and less than one and a half, so every nonzero finite element rounds to its
    neighbour, up or down by the sign. The signs are the bits of one Philox word per 32
    elements: about a quarter of the time a uniform draw and a `nextafter` per element took on
    the 10M-parameter CNN's kernel (40-47 ms against 169-179 ms a step, 2 busy cores)."""
    dtype = variable.dtype.base_dtype
    eps = float(np.finfo(dtype.as_numpy_dtype).eps)
    size = tf.size(variable, out_type=tf.int32)
    words = tf.random.stateless_uniform(
        tf.reshape((size + 31) // 32, [1]), seed=seed, minval=None, maxval=None, dtype=tf.int32
    )
    # Bit j of each word moved to the top: negative where it was set.
    bits = tf.bitwise.left_shift(words[:, None], tf.range(32, dtype=tf.int32)[None, :])
    down = tf.reshape(tf.reshape(bits, [-1])[:size] < 0, tf.shape(variable))
    c = tf.constant(eps / 2 * (1 + eps), dtype)
    return variable.assign_add(variable * tf.where(down, -c, c), read_value=False)


def _placeholders(features: Any) -> Any:
    """One placeholder per input, batch dimension None, named as `input_names` names it."""

    def placeholder(array: np.ndarray, name: str) -> tf.Tensor:
        return tf.compat.v1.placeholder(array.dtype, (None, *array.shape[1:]), name=name)

    names = input_names(features)
    if isinstance(features, dict):
        return {name: placeholder(features[name], name) for name in features}
    if isinstance(features, tuple):
        return tuple(placeholder(a, name) for a, name in zip(features, names, strict=True))
    return placeholder(features, names[0])


def _shape(tensor: tf.Tensor) -> str:
    return str(tensor.shape.as_list()) if tensor.shape.rank is not None else "unknown"


def _feed_value(path: Any, name: str, placeholder: tf.Tensor, value: np.ndarray) -> np.ndarray:
    """`value` as the placeholder's dtype, where that loses nothing a user meant: a bool only
    for a bool, a whole number for an integer, a number (not a bool) for a float."""
    dtype = placeholder.dtype.base_dtype
    kind = value.dtype.kind
    fits = (
        kind == "b"
        if dtype.is_bool
        else (kind in "iu" if dtype.is_integer else kind in "iuf" if dtype.is_floating else False)
    )
    if not fits:
        raise ContractError(
            f"{path}: TF1_FEEDS[{name!r}] = {value.tolist()!r} ({value.dtype}) does not fit "
            f"placeholder {name!r} of dtype {dtype.name}"
        )
    if not placeholder.shape.is_compatible_with(value.shape):
        raise ContractError(
            f"{path}: TF1_FEEDS[{name!r}] has shape {list(value.shape)}; placeholder {name!r} "
            f"takes shape {_shape(placeholder)}"
        )
    return value.astype(dtype.as_numpy_dtype)


def _dense(gradient: Any, variable: tf.Variable) -> tf.Tensor:
    """A gradient as a dense tensor: zeros where the loss does not reach the variable, and an
    embedding's `IndexedSlices` summed into its rows (duplicate ids add up, as TF1's sparse
    updates add them)."""
    if gradient is None:
        return tf.zeros_like(variable)
    if isinstance(gradient, tf.IndexedSlices):
        return tf.math.unsorted_segment_sum(
            gradient.values,
            gradient.indices,
            tf.shape(variable, out_type=gradient.indices.dtype)[0],
        )
    return gradient


def _learning_rate_tensor(optimizers: list[Any]) -> tf.Tensor | None:
    """The first known optimizer's learning rate where it is a tensor or variable."""
    for optimizer in optimizers:
        if type(optimizer).__name__ not in TF1_OPTIMIZERS:
            continue
        rate = getattr(optimizer, "_learning_rate", getattr(optimizer, "_lr", None))
        if isinstance(rate, tf.Tensor | tf.Variable):
            return tf.convert_to_tensor(rate)
        return None
    return None


def _optimized_variables(optimizer: Any) -> list[tf.Variable]:
    # TF1 optimizers key their slots by variable; `_slots` is {slot name: {var key: slot}}.
    variables = []
    for variable in tf.compat.v1.global_variables():
        if any(
            optimizer.get_slot(variable, name) is not None for name in optimizer.get_slot_names()
        ):
            variables.append(variable)
    return variables


def _hyperparameters(optimizer: Any, kind: str) -> dict[str, float]:
    found = {}
    for attribute, keras_name in TF1_HYPERPARAMETERS.get(kind, {}).items():
        value = getattr(optimizer, attribute, None)
        if isinstance(value, int | float):
            found[keras_name] = float(value)
    return found


def _loss_and_train_op(path: Any, result: Any) -> tuple[tf.Tensor, Any]:
    if not isinstance(result, tuple | list) or len(result) != 2:
        if isinstance(result, tuple | list):
            returned = f"a {type(result).__name__} of {len(result)}"
        elif isinstance(result, tf.Tensor | tf.Operation):
            returned = f"a single {'tensor' if isinstance(result, tf.Tensor) else 'op'}"
        else:
            returned = repr(result) if result is None else type(result).__name__
        raise ContractError(
            f"{path}: tf1_train() must return (loss, train_op); it returned {returned}"
        )
    loss, train_op = result
    if not isinstance(loss, tf.Tensor):
        raise ContractError(
            f"{path}: tf1_train() must return (loss, train_op); its loss is a "
            f"{type(loss).__name__}, not a tensor"
        )
    if loss.shape.rank != 0:
        raise ContractError(
            f"{path}: tf1_train()'s loss must be a scalar; it has shape {loss.shape.as_list()}"
        )
    if not loss.dtype.is_floating:
        raise ContractError(f"{path}: tf1_train()'s loss must be a float; it is {loss.dtype.name}")
    if not isinstance(train_op, tf.Operation | tf.Tensor):
        raise ContractError(
            f"{path}: tf1_train() must return (loss, train_op); its train_op is a "
            f"{type(train_op).__name__}, not an op (e.g. optimizer.minimize(loss))"
        )
    return loss, train_op
