"""`tfbridge convert-checkpoint --migration FILE SRC DEST`: a TF1 checkpoint of the user's own
model, written as the TF2 checkpoint their port restores.

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

from bridge.check import _pairs
from bridge.checking.ports import align, align_optimizer
from bridge.checking.reference import Reference
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from tfmigration.checkpoint.files import (
    TF2_BASENAME,
    check_save_directory,
    make_save_directory,
    resolve,
)
from tfmigration.migration.contract import load


@dataclass(frozen=True)
class MigrationConversion:
    source: str
    destination: str
    objects: dict[str, str]  # checkpoint attribute -> what it holds
    rows: list[tuple[str, str, tuple[int, ...], str]]  # TF1 name, port name, shape, dtype
    step: int


def convert_migration_checkpoint(
    migration_path: str | Path, source: str, destination: str
) -> MigrationConversion:
    """Restore `source` into FILE's TF1 graph, carry it into the port, save the port's objects."""
    prefix = resolve(source, option="SRC")
    check_save_directory(destination, resumed_step=None, option="DEST")
    migration = load(migration_path)
    program = TF1Program(migration)
    try:
        port = TF2Port(migration, program.rnn_cells)
        pairs = _pairs(migration, program.variable_infos(), port)
        step, _ = program.restore(prefix, option="SRC")
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
    align_optimizer(port, pairs, reference, values)
    objects = _named_objects(port.state)
    make_save_directory(destination, option="DEST")
    checkpoint = tf.train.Checkpoint(**objects)
    manager = tf.train.CheckpointManager(
        checkpoint, destination, max_to_keep=None, checkpoint_name=TF2_BASENAME
    )
    written = manager.save(checkpoint_number=step)
    return MigrationConversion(
        source=prefix,
        destination=written,
        objects={name: type(value).__name__ for name, value in objects.items()},
        rows=[(p.tf1.name, p.tf2.name, p.tf2.shape, p.tf2.dtype) for p in pairs],
        step=step,
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
