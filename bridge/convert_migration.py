"""`tfbridge convert-checkpoint --migration FILE SRC DEST`: a trained TF1 model of the user's
own (a Saver checkpoint, a frozen GraphDef or a TF1 SavedModel: graphmode/sources.py), written
as what their port loads: a Keras 3 `.weights.h5` or `.keras` file (bridge/keras_files.py), or,
for a directory DEST, the TF2 checkpoint their port restores.

The TF1 side of FILE is built to know which saved names are the model's and which the
optimizer's; the checkpoint is restored into it; the values cross to the port through the same
pairing `check` uses (slots and the step count too, where both optimizers keep them); and the
port's own objects are saved with `tf.train.Checkpoint`, so that

    state = tf2_setup()                       # e.g. (model, optimizer)
    optimizer.build(model.trainable_variables)
    tf.train.Checkpoint(model=model, optimizer=optimizer).restore(tf.train.latest_checkpoint(DEST))

loads it: the objects are named `model`, `optimizer` (then `model_1`, ... for more), or by the
keys of a dict that tf2_setup() returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from bridge.check import pair_variables
from bridge.checking.ports import align, align_optimizer
from bridge.checking.reference import Reference
from bridge.keras_files import DIRECTORY, destination_kind, first_keras_model, write_keras_file
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from graphmode.sources import SAVER, load_source, read_source
from tfmigration.checkpoint.files import TF2_BASENAME, check_save_directory, make_save_directory
from tfmigration.migration.contract import load


@dataclass(frozen=True)
class MigrationConversion:
    source: str
    destination: str
    objects: dict[str, str]  # checkpoint attribute -> what it holds
    # TF1 name, port name, shape, dtype, and how the port's Keras variables hold it where a
    # weight layout stands between them (a Keras LSTM/GRU for a TF1 cell), else "".
    rows: list[tuple[str, str, tuple[int, ...], str, str]]
    step: int
    source_kind: str = SAVER
    destination_kind: str = DIRECTORY


def convert_migration_checkpoint(
    migration_path: str | Path, source: str, destination: str, *, force: bool = False
) -> MigrationConversion:
    """Read `source` (a TF1 Saver checkpoint, frozen GraphDef or TF1 SavedModel) into FILE's
    TF1 graph, carry it into the port, and write DEST: a `.weights.h5` or `.keras` file of the
    port's first Keras model, or a directory of the port's objects as a TF checkpoint."""
    kind = destination_kind(destination, force=force)
    if kind == DIRECTORY:
        check_save_directory(destination, resumed_step=None, option="DEST")
    tf1_source = read_source(source, option="SRC")
    migration = load(migration_path)
    program = TF1Program(migration)
    try:
        port = TF2Port(migration, program.rnn_cells)
        pairs = pair_variables(migration, program.variable_infos(), port)
        step = load_source(program, tf1_source, option="SRC")
        values = program.snapshot()
        reference = Reference(
            losses=np.empty(0, np.float32),
            initial=values,
            after={},
            seconds=0.0,
            variables=program.variable_infos(),
            optimizer_kind=program.optimizer_kind,
            hyperparameters=program.optimizer_hyperparameters,
            slot_names=dict(program.slot_names),
            beta_powers=program.beta_powers,
            start_iteration=step,
        )
    finally:
        program.close()
    align(port, pairs, values)
    if tf1_source.optimizer_state:
        align_optimizer(port, pairs, reference, values)
    rows = [(p.tf1.name, p.tf2.name, p.tf2.shape, p.tf2.dtype, p.tf2.layout) for p in pairs]
    if kind != DIRECTORY:
        model = first_keras_model(port, pairs, destination)
        held = write_keras_file(model, destination, kind)
        return MigrationConversion(
            source=tf1_source.path,
            destination=destination,
            objects=held,
            rows=rows,
            step=step,
            source_kind=tf1_source.kind,
            destination_kind=kind,
        )
    objects = _named_objects(port.state)
    make_save_directory(destination, option="DEST")
    checkpoint = tf.train.Checkpoint(**objects)
    manager = tf.train.CheckpointManager(
        checkpoint, destination, max_to_keep=None, checkpoint_name=TF2_BASENAME
    )
    written = manager.save(checkpoint_number=step)
    return MigrationConversion(
        source=tf1_source.path,
        destination=written,
        objects={name: type(value).__name__ for name, value in objects.items()},
        rows=rows,
        step=step,
        source_kind=tf1_source.kind,
    )


def _named_objects(state: object) -> dict[str, object]:
    """The port's trackable objects under the names the README tells users to restore with."""
    import keras

    if isinstance(state, dict):
        return {str(key): value for key, value in state.items()}
    items = list(state) if isinstance(state, tuple | list) else [state]
    named: dict[str, object] = {}
    for item in items:
        base = "optimizer" if isinstance(item, keras.optimizers.Optimizer) else "model"
        name, count = base, 0
        while name in named:
            count += 1
            name = f"{base}_{count}"
        named[name] = item
    return named
