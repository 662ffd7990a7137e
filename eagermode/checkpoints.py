"""TF2 checkpoints: `tf.train.Checkpoint` over the eager engine's own variables (parameters,
the Keras optimizer's slots and `iterations`, TF1Adam's beta powers), laid out by name
(`tfmigration/checkpoint/names.py`), kept by `tf.train.CheckpointManager`; and reading any
checkpoint with `tf.train.load_checkpoint`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from eagermode import keras_internals as internals
from eagermode.engine import EagerEngine
from eagermode.tf1_compatible import TF1Adam
from tfmigration.catalog.optimizers import SLOTS
from tfmigration.checkpoint.files import TF2_BASENAME
from tfmigration.checkpoint.names import beta_power_after
from tfmigration.checkpoint.state import CheckpointError, SaveOptions, TrainingState


def read_tensors(prefix: str) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint at `prefix` (either format), read in full so that a
    truncated or corrupted file (TensorFlow checks each tensor's CRC32C) is found up front."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}
    # A truncated data file surfaces as IndexError ("Read less bytes than requested").
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
        message = str(getattr(error, "message", error)).strip().splitlines()[0]
        raise CheckpointError(f"{prefix} cannot be read: {message}") from None


def _node(**children: object) -> tf.train.Checkpoint:
    # A Checkpoint is a trackable whose keyword arguments become its children's names.
    return tf.train.Checkpoint(**children)


def _slot_variables(engine: EagerEngine) -> dict[str, dict[str, tf.Variable]]:
    """slot -> {parameter: Keras's slot variable}, by our slot names."""
    optimizer, spec = engine.optimizer, engine.optimizer_spec
    found: dict[str, dict[str, tf.Variable]] = {}
    if optimizer is None:
        return found
    for slot in SLOTS[spec.name]:
        for name, variable in engine.variables.items():
            slot_variable = internals.slot_for(optimizer, spec.name, slot, variable)
            if slot_variable is not None:  # Keras's RMSprop has no momentum slot at 0
                found.setdefault(slot, {})[name] = slot_variable
    return found


class EagerCheckpoints:
    """Saves the engine's state: DIR/ckpt-STEP and DIR/checkpoint, as CheckpointManager does."""

    def __init__(self, engine: EagerEngine, options: SaveOptions) -> None:
        self.every = options.every
        self._step = tf.Variable(0, dtype=tf.int64)
        optimizer_children: dict[str, object] = {
            slot: _node(**variables) for slot, variables in _slot_variables(engine).items()
        }
        if engine.optimizer is not None:
            optimizer_children["iterations"] = engine.optimizer.iterations
        if isinstance(engine.optimizer, TF1Adam):
            beta1_power, beta2_power = engine.optimizer.beta_power_variables
            optimizer_children.update(beta1_power=beta1_power, beta2_power=beta2_power)
        children: dict[str, object] = {
            "model": _node(**engine.variables),
            "step": self._step,
            "settings": tf.Variable(options.settings, dtype=tf.string),
        }
        if optimizer_children:
            children["optimizer"] = _node(**optimizer_children)
        self.checkpoint = tf.train.Checkpoint(**children)
        self._manager = tf.train.CheckpointManager(
            self.checkpoint,
            options.directory,
            max_to_keep=options.keep,
            checkpoint_name=TF2_BASENAME,
        )

    def save(self, steps_done: int) -> str:
        self._step.assign(steps_done)
        return self._manager.save(checkpoint_number=steps_done)


def load_state(engine: EagerEngine, state: TrainingState) -> None:
    """Assign a checkpoint's state (either format, already checked to fit) to the engine."""
    for name, value in state.params.items():
        engine.variables[name].assign(value)
    optimizer, spec = engine.optimizer, engine.optimizer_spec
    if optimizer is None:
        return
    keras_momentum = spec.name == "momentum" and spec.formulation == "keras"
    if keras_momentum != state.keras_momentum:
        raise CheckpointError(
            "the checkpoint's momentum is in "
            + (
                "Keras SGD's convention (-lr x TF1's accumulator)"
                if state.keras_momentum
                else "TF1's convention (raw gradients)"
            )
            + f" and this run's optimizer keeps the other (--defaults {engine.problem.defaults}):"
            " the conversion would round; resume with the --defaults it was saved with"
        )
    for slot, variables in _slot_variables(engine).items():
        for name, slot_variable in variables.items():
            slot_variable.assign(state.slots[f"{name}/{slot}"])
    optimizer.iterations.assign(state.step)
    if isinstance(optimizer, TF1Adam):
        powers = state.beta_powers or (
            beta_power_after(spec.beta1, state.step),
            beta_power_after(spec.beta2, state.step),
        )
        optimizer.load_beta_powers(*powers)


def write_tensors(tensors: dict[str, np.ndarray], directory: str, step: int) -> str:
    """Write `tensors`, keyed by object path ("optimizer/m/w"), as a `tf.train.Checkpoint`
    DIR/ckpt-STEP (and DIR/checkpoint), one variable per path."""
    tree: dict = {}
    for path, value in tensors.items():
        *parents, leaf = path.split("/")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = tf.Variable(value)

    def build(node: dict) -> dict[str, object]:
        return {
            name: _node(**build(child)) if isinstance(child, dict) else child
            for name, child in node.items()
        }

    checkpoint = tf.train.Checkpoint(**build(tree))
    manager = tf.train.CheckpointManager(
        checkpoint, directory, max_to_keep=None, checkpoint_name=TF2_BASENAME
    )
    return manager.save(checkpoint_number=step)
