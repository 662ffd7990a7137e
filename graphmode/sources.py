"""What a trained TF1 model is kept as, read back as {TF1 variable name: value}.

Three forms people have:

- a `tf.compat.v1.train.Saver` checkpoint (a prefix, or a directory's latest): every variable,
  the optimizer's slots and the step;
- a frozen `GraphDef` (`.pb`, from `freeze_graph` or `graph_util.convert_variables_to_constants`):
  each variable reached by the frozen outputs became a `Const` node under the variable's own op
  name (`hidden/kernel`, read through `hidden/kernel/read` or `.../ReadVariableOp`); no slots;
- a TF1 SavedModel directory (`saved_model.pb` + `variables/`, from `tf.compat.v1.saved_model`
  builders or `simple_save`): loaded in a Session of its own, its global variables read.

`load_source` puts them into a `TF1Program` of the migration file's TF1 code, whose variables
say which names the model needs and at which shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from graphmode.migration import TF1Program
from tfmigration.catalog.errors import ConfigError
from tfmigration.checkpoint.state import CheckpointError

SAVER, FROZEN, SAVED_MODEL = "TF1 Saver checkpoint", "frozen GraphDef", "TF1 SavedModel"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


@dataclass(frozen=True)
class TF1Source:
    """The values a TF1 source holds, by TF1 variable name (no `:0`)."""

    kind: str  # SAVER, FROZEN or SAVED_MODEL
    path: str  # as resolved: a Saver checkpoint's prefix, else the file or directory given
    values: dict[str, np.ndarray]
    optimizer_state: bool  # whether slots and step can be in it (a frozen graph keeps neither)


def read_source(source: str | Path, option: str = "SRC") -> TF1Source:
    """Read `source`, whichever of the three forms it is; a missing or unreadable one is one
    line naming `option` and what would be accepted."""
    source = str(source)
    path = Path(source)
    if path.is_dir() and any((path / name).is_file() for name in SAVED_MODEL_FILES):
        return TF1Source(SAVED_MODEL, source, _saved_model_values(source, option), True)
    if path.is_file() and path.suffix == ".pb":
        return TF1Source(FROZEN, source, _frozen_values(source, option), False)
    from graphmode.checkpoints import read_tensors
    from tfmigration.checkpoint.files import resolve

    try:
        prefix = resolve(source, option=option)
    except ConfigError as error:
        if path.exists():
            raise ConfigError(
                f"{error}; or a frozen GraphDef (.pb file), or a TF1 SavedModel directory "
                "(holding saved_model.pb)"
            ) from None
        raise
    return TF1Source(SAVER, prefix, read_tensors(prefix), True)


def load_source(program: TF1Program, source: TF1Source, option: str = "SRC") -> int:
    """Load `source` into `program` (every model variable must be there, at its shape; slots
    and counters where present); returns the global step it was saved at (0 if unknown).

    Refused, naming what is missing and what the source holds instead: a source of another
    model, or a frozen graph frozen for outputs that do not reach every variable."""
    model = {info.name: info for info in program.variable_infos()}
    known = program.snapshot()  # every name the graph can load: the model's, slots, counters
    values = source.values
    missing = [name for name in model if name not in values]
    wrong = [
        f"{name} is {list(values[name].shape)} there, {list(info.shape)} here"
        for name, info in model.items()
        if name in values and tuple(values[name].shape) != info.shape
    ]
    if missing or wrong:
        extra = sorted(name for name in values if name not in known)
        problems = [*wrong]
        if missing:
            problems.append("lacks " + _listed(missing))
        if extra:
            problems.append("holds " + _listed(extra) + ", which this model does not have")
        raise CheckpointError(
            f"{option} {source.path} is not a {source.kind} of this model: " + "; ".join(problems)
        )
    program.load(
        {
            name: np.asarray(value, dtype=known[name].dtype)
            for name, value in values.items()
            if name in known and np.shape(value) == np.shape(known[name])
        }
    )
    step = values.get("global_step")
    if step is not None:
        return int(step)
    if program.beta_powers and program.beta_powers[0] in values:
        # No global_step (minimize() without one): Adam's beta1_power counts the steps.
        from tfmigration.checkpoint.names import steps_from_beta_power

        beta1 = program.optimizer_hyperparameters.get("beta_1", 0.9)
        return steps_from_beta_power(values[program.beta_powers[0]], beta1)
    return 0


def _listed(names: list[str], most: int = 6) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" (and {len(names) - most} more)" if len(names) > most else "")


def _frozen_values(source: str, option: str) -> dict[str, np.ndarray]:
    """The Const nodes that stand where variables were: those read through an Identity, as
    convert_variables_to_constants leaves them (`x/read` for a ref variable, the former
    `.../ReadVariableOp` for a resource variable)."""
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(source).read_bytes())
    except OSError as error:
        raise ConfigError(f"{option} {source}: {error.strerror or error}") from None
    except Exception as error:  # protobuf's DecodeError, whose module path varies by version
        raise CheckpointError(
            f"{option} {source} is not a frozen GraphDef (a binary GraphDef .pb): {error}"
        ) from None
    nodes = {node.name: node for node in graph_def.node}
    read_as_variable: set[str] = set()
    for node in graph_def.node:
        if node.op == "Identity" and node.input:
            producer = node.input[0].lstrip("^").split(":")[0]
            if node.name == f"{producer}/read" or "ReadVariableOp" in node.name:
                read_as_variable.add(producer)
    values = {}
    for name in sorted(read_as_variable):
        node = nodes.get(name)
        if node is not None and node.op == "Const":
            values[name] = tf.make_ndarray(node.attr["value"].tensor)
    if not values and not graph_def.node:
        raise CheckpointError(f"{option} {source} is not a frozen GraphDef: it holds no nodes")
    return values


def _saved_model_values(source: str, option: str) -> dict[str, np.ndarray]:
    """Every global variable of the SavedModel's first MetaGraph, loaded as TF1 loads it."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((Path(source) / "saved_model.pb").read_bytes())
    except Exception as error:
        raise CheckpointError(
            f"{option} {source}: saved_model.pb cannot be read: {error}"
        ) from None
    if not proto.meta_graphs:
        raise CheckpointError(f"{option} {source}: the SavedModel holds no MetaGraph")
    tags = list(proto.meta_graphs[0].meta_info_def.tags)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        try:
            tf.compat.v1.saved_model.loader.load(session, tags, source)
        except (tf.errors.OpError, ValueError, RuntimeError, OSError) as error:
            message = str(getattr(error, "message", error)).strip().splitlines()[0]
            raise CheckpointError(f"{option} {source} cannot be loaded: {message}") from None
        variables = tf.compat.v1.global_variables()
        if not variables:
            raise CheckpointError(
                f"{option} {source} holds no TF1 variables (a TF2 tf.saved_model.save export?); "
                "name the TF1 model's Saver checkpoint, frozen graph or TF1 SavedModel"
            )
        return {
            variable.op.name: value
            for variable, value in zip(variables, session.run(variables), strict=True)
        }
