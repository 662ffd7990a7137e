"""Record a migration file's TF1 run once, as a golden trajectory the port is checked against
after the TF1 code is gone (`tfbridge check FILE --against DIR`). The format is in
`tfmigration.migration.golden`."""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bridge.check import settings
from bridge.checking.reference import Batches, Reference, noise_floor, run_tf1
from graphmode.migration import TF1Program
from tfmigration.catalog.errors import ConfigError
from tfmigration.machine import cpu
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.migration.contract import (
    Features,
    MigrationFile,
    batch_indices,
    flat_inputs,
    input_names,
    load,
)
from tfmigration.migration.golden import RecordingWriter, check_destination, recorded_steps


def record_migration(
    path: str | Path,
    output: str | Path,
    *,
    steps: int | None = None,
    strict: bool = False,
    batch_size: int | None = None,
    seed: int | None = None,
    every: int = 1,
) -> dict:
    """Run the file's TF1 side and write its golden trajectory to `output`; return the manifest.

    Variables are kept after every `every`-th step's update (the first, the last and the one
    before it always); losses and the noise floor (one extra TF1 run) for every step."""
    if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
        raise ConfigError(f"--every {every!r} must be a positive whole number")
    # Refused before TF1 runs, so a long run never ends at a destination it may not write.
    check_destination(output)
    migration = load(path)
    steps, batch_size, seed = settings(migration, steps, batch_size, seed)
    indices = batch_indices(migration.rows, steps, batch_size, seed)
    batches = Batches(migration, indices)
    program = TF1Program(migration, strict=strict, seed=seed)
    try:
        # Each kept step goes to disk as TF1 produces it; the writer removes its staging
        # directory (and only that) if anything below fails or is interrupted.
        with RecordingWriter(output, indices) as writer:
            reference = run_tf1(program, batches, steps, writer.after, every)
            writer.initial(reference.initial)
            floor = noise_floor(program, reference, batches, steps, seed)
            manifest = _manifest(
                migration, reference, floor, steps, batch_size, seed, strict, every
            )
            writer.finish(manifest, reference.losses)
    finally:
        program.close()
    return manifest


def _manifest(
    migration: MigrationFile,
    reference: Reference,
    floor: EveryStepNudgedFloor,
    steps: int,
    batch_size: int | None,
    seed: int,
    strict: bool,
    every: int,
) -> dict:
    model_names = {variable.name for variable in reference.variables}
    manifest = {
        "model": migration.name,
        "settings": {
            "steps": steps,
            "batch_size": batch_size,
            "seed": seed,
            "strict": strict,
            "every": every,
        },
        "data": {
            "sha256": migration.fingerprint(),
            **_recorded_features(migration.features),
            "labels": {"shape": list(migration.labels.shape), "dtype": migration.labels.dtype.str},
        },
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "tensorflow": tf.__version__,
            "keras": keras.version(),
        },
        "machine": cpu(),
        # TF1's recurrent cells: a port's Keras LSTM/GRU is checked in their layout.
        "rnn_cells": [dataclasses.asdict(cell) for cell in reference.rnn_cells],
        "variables": [
            {
                "name": variable.name,
                "shape": list(variable.shape),
                "dtype": variable.dtype,
                "trainable": variable.trainable,
            }
            for variable in reference.variables
        ],
        "optimizer": {
            "kind": reference.optimizer_kind,
            "hyperparameters": reference.hyperparameters,
            "slots": reference.slot_names,
            "beta_powers": list(reference.beta_powers) if reference.beta_powers else None,
            "owned": sorted(set(reference.initial) - model_names),
        },
        "recorded_steps": recorded_steps(steps, every),
        "noise_floor": {
            "loss_ulps": floor.loss_ulps,
            "param_ulps": floor.param_ulps,
            "slot_ulps": floor.slot_ulps,
            "loss_relative": floor.loss_relative,
            "param_relative": floor.param_relative,
        },
        "unaligned_random_ops": reference.unaligned_random_ops,
        "gradient_clipping": reference.gradient_clipping,
    }
    return manifest


def _recorded_features(features: Features) -> dict:
    """One array as `features` (as recordings always held it); several as `inputs`: their
    structure and each one's name, shape and dtype, in the fingerprint's order."""
    if not isinstance(features, dict | tuple):
        return {"features": {"shape": list(features.shape), "dtype": features.dtype.str}}
    arrays = [
        {"name": name, "shape": list(array.shape), "dtype": array.dtype.str}
        for name, array in zip(input_names(features), flat_inputs(features), strict=True)
    ]
    return {"inputs": {"structure": type(features).__name__, "arrays": arrays}}
