"""TF1 checkpoints: `tf.compat.v1.train.Saver` over the graph's own variables, and reading any
checkpoint the TF1 way (`tf.compat.v1.train.NewCheckpointReader`)."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from graphmode.engine import GraphEngine
from tfmigration.catalog.optimizers import SLOTS, TF1_SLOT_SUFFIXES
from tfmigration.checkpoint.files import TF1_BASENAME, checkpoint_paths
from tfmigration.checkpoint.names import (
    BETA_POWERS,
    TF1_GLOBAL_STEP,
    TF1_SETTINGS,
    beta_power_after,
)
from tfmigration.checkpoint.state import CheckpointError, SaveOptions, TrainingState


def read_tensors(prefix: str) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint at `prefix`, read in full so that a truncated or
    corrupted file (TensorFlow checks each tensor's CRC32C) is found before training starts."""
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()}
    # A truncated data file surfaces as IndexError ("Read less bytes than requested").
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as error:
        message = str(getattr(error, "message", error)).strip().splitlines()[0]
        raise CheckpointError(f"{prefix} cannot be read: {message}") from None


class GraphCheckpoints:
    """Saves the engine's state with TF1's `Saver`: DIR/model.ckpt-STEP and DIR/checkpoint."""

    def __init__(self, engine: GraphEngine, options: SaveOptions) -> None:
        self.every = options.every
        self._engine = engine
        self._prefix = os.path.join(options.directory, TF1_BASENAME)
        os.makedirs(options.directory, exist_ok=True)
        with engine.graph.as_default():
            # A string variable in the checkpoint itself: the settings are saved atomically
            # with the state they describe.
            settings = tf.Variable(options.settings, name=TF1_SETTINGS, trainable=False)
            engine.session.run(settings.initializer)
            variables = [*engine.state_variables().values(), settings]
            self._saver = tf.compat.v1.train.Saver(
                var_list=variables, max_to_keep=options.keep, save_relative_paths=True
            )
        # Checkpoints already listed (the one this run resumed from) stay under max_to_keep.
        self._saver.recover_last_checkpoints(checkpoint_paths(options.directory))

    def save(self, steps_done: int) -> str:
        # In the engine's graph: outside it TF2's eager mode is on and the Saver would try to
        # save eagerly. The Saver built its save ops at construction; no op is added here.
        with self._engine.graph.as_default():
            return self._saver.save(
                self._engine.session,
                self._prefix,
                global_step=steps_done,
                write_meta_graph=False,
            )


def load_state(engine: GraphEngine, state: TrainingState) -> None:
    """Assign a checkpoint's state (from either format, already checked to fit) to the graph."""
    variables = engine.state_variables()
    spec = engine.problem.optimizer_spec
    values: dict[str, np.ndarray] = dict(state.params)
    for slot in SLOTS[spec.name]:
        for name in state.params:
            item = f"{name}/{slot}"
            if state.keras_momentum:
                raise CheckpointError(
                    "the checkpoint holds Keras SGD's momentum (-lr x TF1's accumulator, "
                    "rounded every step): TF1's cannot be recovered exactly; resume it in eager "
                    "or tf.function style with the same --defaults"
                )
            value = state.slots.get(item)
            if value is None:  # Keras's RMSprop at momentum 0: TF1 multiplies it by 0
                value = np.zeros_like(state.params[name])
            values[f"{name}/{TF1_SLOT_SUFFIXES[spec.name, slot]}"] = value
    if spec.name == "adam":
        powers = state.beta_powers
        if powers is None:  # a stock Keras Adam's checkpoint: TF1's products, derived
            powers = (
                beta_power_after(spec.beta1, state.step),
                beta_power_after(spec.beta2, state.step),
            )
        values.update(zip(BETA_POWERS, powers, strict=True))
    values[TF1_GLOBAL_STEP] = np.int64(state.step)
    with engine.graph.as_default():
        for name, variable in variables.items():
            value = np.asarray(values[name]).astype(variable.dtype.as_numpy_dtype)
            variable.load(value, engine.session)


def write_tensors(tensors: dict[str, np.ndarray], directory: str, step: int) -> str:
    """Write `tensors`, keyed by TF1 names, as a TF1 `Saver` checkpoint DIR/model.ckpt-STEP
    (and DIR/checkpoint): a graph of its own holding one variable per name."""
    graph = tf.Graph()
    with graph.as_default():
        variables = {
            name: tf.compat.v1.Variable(value, name=name, trainable=False)
            for name, value in tensors.items()
        }
        saver = tf.compat.v1.train.Saver(var_list=variables, save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.variables_initializer(list(variables.values())))
            return saver.save(
                session,
                os.path.join(directory, TF1_BASENAME),
                global_step=step,
                write_meta_graph=False,
            )
