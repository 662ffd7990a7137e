"""A user's migration file: loading it, checking it keeps the contract, and drawing its batches.

The contract (names are the interface):

    def data():                                   # -> (features, labels), the whole data set
    def tf1_train(features, labels):              # -> (loss, train_op), inside a fresh tf.Graph
    def tf2_setup():                              # -> state: tf.Module / Keras model / optimizer,
                                                  #    or a tuple, list or dict of them
    def tf2_train_step(state, features, labels):  # -> the loss before this step's update
    VARIABLE_MAP = {"tf1/name": "tf2/name"}       # optional: where the inferred mapping is wrong

Optional extensions: `tf2_loss(state, features, labels)` (the port's loss without an update, for
the ladder's forward rung when the port's optimizer cannot be intercepted), `BATCH_SIZE` and
`STEPS` (the file's own defaults for --batch-size and --steps), `SEED`, `REPLICAS = True` (the
port may run under --replicas N: its step returns its replica's share of the loss),
`TF1_FEEDS = {"keep_prob": 0.5, "is_training": True}` (placeholders of the TF1 graph, by name,
and the value a TF1 training loop fed them in `feed_dict`: fed on every TF1 step the checker runs,
reruns and the noise floor's included), and for `check --inference` (bridge/inference.py)
`TF1_OUTPUT = "logits:0"` with `tf2_predict(state, features)`: the tensors standing for each other.

Several inputs: `features` may be one array, a dict of name -> array (each its own placeholder in
`tf1_train`, named so, and a dict of tensors of the same names in the port) or a tuple of arrays
(placeholders `input_0`, `input_1`, ...; a tuple of tensors in the port). `labels` is one array.
Every array has one row per example; a batch takes the same rows of each.

Nothing here imports TensorFlow: the file is imported, but its functions run only in a style
(a file that imported TensorFlow and turned eager execution off gets it turned back on).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeAlias

import numpy as np

from tfmigration.catalog.errors import ConfigError, UserError
from tfmigration.catalog.problem import MAX_SEED, MAX_STEPS, draw_batch_indices

REQUIRED = ("data", "tf1_train", "tf2_setup", "tf2_train_step")
DEFAULT_STEPS = 20
DEFAULT_SEED = 0
# The file's own defaults take what their options take (--steps, --batch-size, --seed).
SETTING_RANGES: dict[str, tuple[int, int | None]] = {
    "STEPS": (1, MAX_STEPS),
    "BATCH_SIZE": (1, None),
    "SEED": (0, MAX_SEED),
}


# One array, or several named inputs (a dict) or positional ones (a tuple) of equal row counts.
Features: TypeAlias = "np.ndarray | dict[str, np.ndarray] | tuple[np.ndarray, ...]"
ACCEPTED_FEATURES = "a numeric NumPy array, a dict of name -> array, or a tuple of arrays"
# A TF op name (tensorflow/python/framework/ops.py `_VALID_OP_NAME_REGEX`): each dict input
# becomes a placeholder of that name.
_OP_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*")


def input_names(features: Features) -> list[str]:
    """The TF1 placeholder name of each input, in `flat_inputs` order."""
    if isinstance(features, dict):
        return sorted(features)
    if isinstance(features, tuple):
        return [f"input_{index}" for index in range(len(features))]
    return ["features"]


def flat_inputs(features: Any) -> list[Any]:
    """The inputs of a features structure (arrays, tensors, placeholders) in a fixed order: a
    dict's by sorted name, a tuple's by position; one array alone."""
    if isinstance(features, dict):
        return [features[name] for name in sorted(features)]
    if isinstance(features, tuple):
        return list(features)
    return [features]


def map_inputs(function: Callable[[Any], Any], features: Any) -> Any:
    """`features` with `function` applied to each input, its structure (dict, tuple) kept."""
    if isinstance(features, dict):
        return {name: function(value) for name, value in features.items()}
    if isinstance(features, tuple):
        return tuple(function(value) for value in features)
    return function(features)


def input_rows(features: Any) -> int:
    return len(flat_inputs(features)[0])


def _range_text(low: int, high: int | None) -> str:
    return f"from {low} to {high}" if high is not None else f"of at least {low}"


class ContractError(ConfigError):
    """The migration file does not keep the contract (exit 2); the message names the file."""


class UserCodeError(UserError):
    """The user's own code raised; the message carries their traceback, trimmed to their file."""

    exit_code = 2


@dataclass(frozen=True)
class MigrationFile:
    """A loaded migration file and its data, checked against the contract."""

    path: Path
    module: ModuleType = field(repr=False)
    features: Features = field(repr=False)
    labels: np.ndarray = field(repr=False)
    variable_map: dict[str, str]
    has_tf1: bool
    # TF1_FEEDS: TF1 placeholder name -> the value fed on every TF1 training step.
    tf1_feeds: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # What the checker undid of the file's global TensorFlow settings, for the report's notes.
    adjustments: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def rows(self) -> int:
        return input_rows(self.features)

    def function(self, name: str) -> Callable[..., Any]:
        return getattr(self.module, name)

    def optional(self, name: str) -> Callable[..., Any] | None:
        found = getattr(self.module, name, None)
        return found if callable(found) else None

    def setting(self, name: str, default: int | None) -> int | None:
        """The file's STEPS, BATCH_SIZE or SEED, checked against the range its option takes;
        the message names the file's constant, since no option was passed."""
        value = getattr(self.module, name, None)
        if value is None:
            return default
        low, high = SETTING_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ContractError(
                f"{self.path}: {name} = {value!r} must be a whole number {_range_text(low, high)}"
            )
        if not low <= value <= (high if high is not None else value):
            raise ContractError(
                f"{self.path}: {name} = {value!r} is out of range; use a whole number "
                f"{_range_text(low, high)}"
            )
        return int(value)

    def fingerprint(self) -> str:
        """SHA-256 of the data: its dtypes, shapes and bytes; with several inputs, also their
        names and structure (one array hashes as it always has, so older recordings match)."""
        digest = hashlib.sha256()
        if isinstance(self.features, dict | tuple):
            digest.update(type(self.features).__name__.encode())
            named = zip(input_names(self.features), flat_inputs(self.features), strict=True)
            for name, array in named:
                digest.update(f"{name}:{array.dtype.str}{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
            arrays: tuple[np.ndarray, ...] = (self.labels,)
        else:
            arrays = (self.features, self.labels)
        for array in arrays:
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def load(path: str | Path, *, need_tf1: bool = True) -> MigrationFile:
    """Import the migration file at `path` and check every contract name; call its `data()`."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"migration file {str(path)!r} does not exist or is not a file")
    if path.suffix != ".py":
        raise ContractError(f"migration file {str(path)!r} is not a Python file (.py)")
    module = _import(path)
    adjusted = _undo_graph_mode(path, "importing the file")
    required = REQUIRED if need_tf1 else tuple(name for name in REQUIRED if name != "tf1_train")
    expected = f"it must define {', '.join(f'{name}()' for name in required)}"
    for name in required:
        value = getattr(module, name, None)
        if value is not None and not callable(value):
            raise ContractError(
                f"{path}: {name} is {_article(type(value).__name__)}, not a function; {expected}"
            )
    missing = [name for name in required if not callable(getattr(module, name, None))]
    if missing:
        raise ContractError(f"{path}: the migration file defines no {_names(missing)}; {expected}")
    variable_map = getattr(module, "VARIABLE_MAP", None) or {}
    if not isinstance(variable_map, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in variable_map.items()
    ):
        raise ContractError(f"{path}: VARIABLE_MAP must be a dict of TF1 name -> TF2 name strings")
    _one_tf1_name_each(path, variable_map)
    tf1_feeds = _tf1_feeds(path, getattr(module, "TF1_FEEDS", None))
    result = call_user(path, module.data)
    adjusted += _undo_graph_mode(path, "data()")
    features, labels = _data_arrays(path, result)
    return MigrationFile(
        path=path,
        module=module,
        features=features,
        labels=labels,
        variable_map={_strip(key): value for key, value in variable_map.items()},
        has_tf1=callable(getattr(module, "tf1_train", None)),
        tf1_feeds=tf1_feeds,
        adjustments=tuple(adjusted),
    )


def _tf1_feeds(path: Path, feeds: Any) -> dict[str, np.ndarray]:
    """TF1_FEEDS as name -> array; the graph's own check (is it a placeholder, of that dtype and
    shape) comes when TF1's graph is built."""
    if feeds is None:
        return {}
    if not isinstance(feeds, Mapping) or not all(isinstance(key, str) for key in feeds):
        raise ContractError(
            f"{path}: TF1_FEEDS must be a dict of TF1 placeholder name -> the value fed in "
            f"training (e.g. {{'keep_prob': 0.5}}); it is {_kind(feeds)}"
        )
    found = {}
    for name, value in feeds.items():
        try:
            array = np.asarray(value)
        except ValueError:
            array = np.asarray(None)
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise ContractError(
                f"{path}: TF1_FEEDS[{name!r}] = {value!r} must be a number, a bool or a numeric "
                "array"
            )
        found[_strip(name)] = array
    return found


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _one_tf1_name_each(path: Path, variable_map: Mapping[str, str]) -> None:
    """Refuse a VARIABLE_MAP that gives one port variable two TF1 variables: the pairing is one
    to one, and the second would silently overwrite the first's initial values."""
    seen: dict[str, str] = {}
    for tf1_name, tf2_name in variable_map.items():
        if tf2_name in seen:
            raise ContractError(
                f"{path}: VARIABLE_MAP maps both {seen[tf2_name]!r} and {tf1_name!r} to the "
                f"port's {tf2_name!r}; each port variable stands for one TF1 variable"
            )
        seen[tf2_name] = tf1_name


def _undo_graph_mode(path: Path, where: str) -> list[str]:
    """Turn eager execution back on if the file turned it off (`tf.compat.v1.
    disable_eager_execution()` or `disable_v2_behavior()`, a TF1 program's usual first line),
    and say so. The checker builds TF1's graph itself, in a tf.Graph of its own, so the call is
    not needed there; left on, it would run the port's eager styles as graph code."""
    tf = sys.modules.get("tensorflow")
    if tf is None or tf.executing_eagerly():
        return []
    from tensorflow.python import tf2
    from tensorflow.python.eager import context

    v2_was_off = not tf2.enabled()
    # The exact inverse of disable_eager_execution (tensorflow/python/framework/ops.py: it sets
    # these two and nothing else). The public enable_eager_execution refuses once any graph
    # exists ("must be called at program startup"), which in a long-lived process it may.
    context.default_execution_mode = context.EAGER_MODE
    current = context.context_safe()
    if current is not None:
        current._thread_local_data.is_eager = True
    if v2_was_off:
        # Eager is the default again, so this passes that startup check; it restores the rest
        # of what disable_v2_behavior turned off (resource variables, control flow v2, ...).
        tf.compat.v1.enable_v2_behavior()
    if not tf.executing_eagerly():
        raise ContractError(
            f"{path}: {where} turned eager execution off (tf.compat.v1.disable_eager_execution) "
            "and it cannot be turned back on; delete the call: put TF1 graph code in "
            "tf1_train(), the checker builds TF1's graph itself"
        )
    call = "disable_v2_behavior" if v2_was_off else "disable_eager_execution"
    return [
        f"{where} called tf.compat.v1.{call}(); turned back on for the TF2 port (TF1's graph is "
        "built by the checker in a tf.Graph of its own, so the call is not needed: delete it)"
    ]


def _names(names: list[str]) -> str:
    return " and ".join(f"{name}()" for name in names)


def _strip(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _import(path: Path) -> ModuleType:
    # A name of our own per file, so two files called `model.py` never share a module, and the
    # user's folder goes on sys.path for the file's own sibling imports.
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_tfbridge_migration_{path.stem.replace('-', '_')}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ContractError(f"migration file {str(path)!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ContractError(
            f"{path}: not valid Python: {error.msg} (line {error.lineno})"
        ) from None
    except SystemExit as error:
        raise UserCodeError(exit_message(path, "importing the file", error)) from None
    except Exception as error:
        raise UserCodeError(_user_failure(path, "importing the file", error)) from None
    finally:
        if added:
            sys.path.remove(folder)
    return module


def call_user(path: Path, function: Callable[..., Any], *args: Any, what: str | None = None) -> Any:
    """Call the user's `function`; if it raises, one error carrying their traceback, trimmed.
    `what` names it in that error when `function` is our wrapper around theirs."""
    what = what or f"{function.__name__}()"
    try:
        return function(*args)
    except UserError:
        raise
    except SystemExit as error:
        raise UserCodeError(exit_message(path, what, error)) from None
    except Exception as error:
        raise UserCodeError(_user_failure(path, what, error)) from None


class ProcessExitRefused(SystemExit):
    """Raised in place of `os._exit` while the user's code runs (see `no_process_exit`).

    A SystemExit, so the user's `except Exception` does not swallow it; its `code` is 2, so
    even escaping everything it never ends the process as a passed check would (status 0)."""

    def __init__(self, status: Any) -> None:
        super().__init__(ContractError.exit_code)
        self.status = status


def exit_message(path: Path | str, what: str, error: SystemExit) -> str:
    """The contract error for user code `what` that tried to end the process."""
    if isinstance(error, ProcessExitRefused):
        call = f"os._exit({error.status!r})"
    else:
        call = "sys.exit()" if error.code is None else f"sys.exit({error.code!r})"
    return f"{path}: {what} called {call}; a migration file's functions must return, not exit"


@contextlib.contextmanager
def no_process_exit() -> Iterator[None]:
    """Within the block, `os._exit` raises `ProcessExitRefused` instead of ending the process.

    `os._exit` skips every handler, so a migration file calling it would otherwise end the
    check with whatever status it chose, 0 included, before any verdict."""
    original = os._exit

    def refuse(status: Any) -> None:
        raise ProcessExitRefused(status)

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = original


def _user_failure(path: Path, what: str, error: BaseException) -> str:
    """The traceback of `error` cut to the frames in the user's file (useful, and theirs)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == path.resolve()
    ]
    lines = [f"{path}: {what} raised {type(error).__name__}: {error}"]
    lines += [f"  {path.name}, line {frame.lineno}: {frame.line}" for frame in frames]
    return "\n".join(lines)


def _data_arrays(path: Path, result: Any) -> tuple[Features, np.ndarray]:
    shape = f"(features, labels): features {ACCEPTED_FEATURES}, labels a numeric array"
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise ContractError(f"{path}: data() must return {shape}; it returned {_kind(result)}")
    features, labels = result
    if isinstance(labels, dict) or _holds_arrays(labels):
        raise ContractError(
            f"{path}: data() labels must be one numeric array; it returned {_kind(labels)} "
            "(several inputs go in features, as a dict of name -> array or a tuple of arrays)"
        )
    if isinstance(features, dict):
        if not features:
            raise ContractError(f"{path}: data() features is an empty dict; it needs an input")
        for name in features:
            if not isinstance(name, str) or not _OP_NAME.fullmatch(name):
                raise ContractError(
                    f"{path}: data() features has the key {name!r}; each input's name must be "
                    "a TF op name (letters, digits, '_', '.', '-', '/', not starting with '_')"
                )
        inputs = {name: _array(path, f"features[{name!r}]", v) for name, v in features.items()}
    elif _holds_arrays(features):
        inputs = tuple(
            _array(path, f"features[{index}]", value) for index, value in enumerate(features)
        )
    else:
        inputs = _array(path, "features", features)
    labels = _array(path, "labels", labels)
    rows = {
        f"features[{name!r}]" if isinstance(inputs, dict) else f"features[{index}]": len(array)
        for index, (name, array) in enumerate(
            zip(input_names(inputs), flat_inputs(inputs), strict=True)
        )
    }
    if not isinstance(inputs, dict | tuple):
        rows = {"features": len(inputs)}
    counts = set(rows.values())
    if len(counts) > 1:
        listed = ", ".join(f"{where} {count}" for where, count in rows.items())
        raise ContractError(
            f"{path}: data() returned inputs of different lengths ({listed} rows); every input "
            "needs one row per example"
        )
    (count,) = counts
    if count != len(labels):
        raise ContractError(
            f"{path}: data() returned {count} feature rows but {len(labels)} labels; "
            "they must be of equal length"
        )
    if count == 0:
        raise ContractError(f"{path}: data() returned no rows")
    return inputs, labels


def _holds_arrays(value: Any) -> bool:
    """A tuple holding a NumPy array is several inputs; any other tuple or list stays one array
    (rows of numbers), as it always was."""
    return isinstance(value, tuple) and any(isinstance(item, np.ndarray) for item in value)


def _array(path: Path, label: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nesting: NumPy refuses to make one array of it
        array = np.asarray(None)
    if array.dtype == object or array.dtype.kind not in "biuf":
        got = f"dtype {array.dtype}" if array.dtype != object else _kind(value)
        accepted = ACCEPTED_FEATURES if label == "features" else "a numeric NumPy array"
        raise ContractError(f"{path}: data() {label} must be {accepted}; got {got}")
    if array.ndim == 0:
        raise ContractError(f"{path}: data() {label} is a scalar; it needs one row per example")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise ContractError(f"{path}: data() {label} holds a NaN or infinity (row {row})")
    return np.ascontiguousarray(array)


def _kind(value: Any) -> str:
    if isinstance(value, tuple | list | dict):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def batch_indices(rows: int, steps: int, batch_size: int | None, seed: int) -> np.ndarray | None:
    """Each step's rows, drawn with replacement from `seed` as the catalog draws them; None for
    the whole data set every step."""
    if batch_size is None:
        return None
    if batch_size > rows:
        raise ConfigError(
            f"--batch-size {batch_size} is larger than the data ({rows} rows); use at most {rows}"
        )
    return draw_batch_indices(rows, steps, batch_size, seed)
