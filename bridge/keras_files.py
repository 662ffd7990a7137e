"""The files a Keras 3 user loads: `.weights.h5` (`model.load_weights`) and `.keras`
(`keras.saving.load_model`), written from the port after TF1's values crossed the pairing.

Which file DEST asks for is read from its name, and a DEST that could not be written is refused
before anything runs. A file is written under a temporary name in DEST's own folder and renamed
into place (same file system, so the rename is atomic): a failed or interrupted conversion
leaves DEST as it was, or absent.

What each keeps: `.weights.h5` the model's variables only (Keras writes no optimizer into a
weights file); `.keras` the model's config and variables, and its optimizer with its slots only
where tf2_setup() compiled the model with it (`model.compile(optimizer=...)`): Keras saves the
compiled optimizer and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np

from eagermode.migration import TF2Port
from tfmigration.catalog.errors import ConfigError
from tfmigration.migration.mapping import Pair

WEIGHTS, WHOLE_MODEL, DIRECTORY = ".weights.h5", ".keras", "directory"
KINDS = {
    WEIGHTS: "Keras 3 weights, for model.load_weights",
    WHOLE_MODEL: "a whole Keras 3 model, for keras.saving.load_model",
}
ACCEPTED = (
    "name a .weights.h5 file (Keras 3 weights), a .keras file (a whole Keras model) or a "
    "directory (a TF checkpoint)"
)


def destination_kind(destination: str, *, force: bool = False, option: str = "DEST") -> str:
    """WEIGHTS, WHOLE_MODEL or DIRECTORY, by DEST's name; a file DEST that exists (without
    `force`), whose folder is missing or not writable, or of a kind we do not write, refused."""
    path = Path(destination)
    if destination.endswith(WEIGHTS):
        kind = WEIGHTS
    elif path.suffix == WHOLE_MODEL:
        kind = WHOLE_MODEL
    elif path.is_dir() or not path.suffix:
        return DIRECTORY
    else:
        raise ConfigError(
            f"{option} {destination}: convert-checkpoint writes no {path.suffix!r} file; {ACCEPTED}"
        )
    if path.is_dir():
        raise ConfigError(f"{option} {destination} is a directory; name a file to write")
    if path.exists() and not force:
        raise ConfigError(
            f"{option} {destination} already exists: pass --force to replace it, or name a new file"
        )
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {destination}: {folder} is not a folder")
    if not folder.is_dir():
        raise ConfigError(f"{option} {destination}: its folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {destination}: its folder {folder} is not writable")
    return kind


def first_keras_model(port: TF2Port, pairs: Sequence[Pair], destination: str) -> keras.Model:
    """The model the file is written from: the first Keras model in tf2_setup()'s state, which
    must hold every paired variable (a second model's would be silently left out)."""
    path = port.migration.path
    models = [model for model in port.models if isinstance(model, keras.Model)]
    if not models:
        kinds = ", ".join(dict.fromkeys(type(model).__name__ for model in port.models))
        raise ConfigError(
            f"DEST {destination}: a Keras file needs a Keras model, and {path}'s tf2_setup() "
            f"returns none (it holds {kinds}); name a directory DEST for a TF checkpoint"
        )
    model = models[0]
    held = {id(variable) for variable in model.variables}
    outside = [
        pair.tf2.name
        for pair in pairs
        if not all(id(part) in held for part in _parts(port.variables[pair.tf2.name]))
    ]
    if outside:
        raise ConfigError(
            f"DEST {destination}: the first Keras model in {path}'s tf2_setup() state, "
            f"{model.name!r}, does not hold the paired " + ", ".join(outside[:6]) + "; a Keras "
            "file is one model's: name a directory DEST for a TF checkpoint of every object"
        )
    return model


def _parts(variable: object) -> list[object]:
    """The Keras variables behind a port variable: itself, or, for a recurrent layer seen in
    TF1's layout (eagermode/rnn_layouts.py `LayoutView`), the kernel, recurrent kernel and bias
    it gathers from."""
    return list(getattr(variable, "sources", [variable]))


def write_keras_file(model: keras.Model, destination: str, kind: str) -> dict[str, str]:
    """Write `model` to DEST as `kind` (through a temporary name and a rename); what the file
    holds, {what: class name}. A `.keras` file is read back with `keras.saving.load_model` and
    its variables compared before it takes DEST's name."""
    if kind == WHOLE_MODEL and type(model).get_config is keras.Model.get_config:
        raise ConfigError(
            f"DEST {destination}: {type(model).__name__} is a subclassed Keras model without "
            "get_config(), which keras.saving.load_model cannot rebuild; name a .weights.h5 "
            "DEST and load it into your model with model.load_weights"
        )
    target = Path(destination)
    # Keras insists on the suffix, so the temporary name keeps it.
    temporary = target.parent / f".{target.name}.tmp-{os.getpid()}{kind}"
    try:
        try:
            with _numpy_copy_warning_ignored():
                if kind == WEIGHTS:
                    model.save_weights(str(temporary))
                else:
                    model.save(str(temporary))
        except OSError as error:
            # h5py's message runs on with its flags: "Unable to create file (unable to open ...".
            reason = str(error.strerror or error).split(" (")[0]
            raise ConfigError(f"DEST {destination} cannot be written: {reason}") from None
        if kind == WHOLE_MODEL:
            _read_back(model, temporary, destination)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    held = {"model": type(model).__name__}
    optimizer = getattr(model, "optimizer", None)
    if kind == WHOLE_MODEL and optimizer is not None:
        held["optimizer"] = type(optimizer).__name__
    return held


@contextlib.contextmanager
def _numpy_copy_warning_ignored() -> Iterator[None]:
    """Keras's writers call `np.array(variable)` on the TF variable behind each Keras one
    (keras/src/backend/tensorflow/core.py `convert_to_numpy`), and TensorFlow's
    `BaseResourceVariable.__array__` takes no `copy` argument, which NumPy 2 warns of: a
    library pairing's notice, not a problem in the file written."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="__array__ implementation doesn't accept a copy keyword",
            category=DeprecationWarning,
        )
        yield


def _read_back(model: keras.Model, written: Path, destination: str) -> None:
    """Open the written `.keras` file as the user will, and compare every variable."""
    try:
        loaded = keras.saving.load_model(str(written), compile=False)
    except Exception as error:  # Keras raises TypeError/ValueError for a class it cannot find
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(
            f"DEST {destination}: keras.saving.load_model cannot open the model it was written "
            f"as ({detail}); register the class with @keras.saving.register_keras_serializable, "
            "or name a .weights.h5 DEST"
        ) from None
    mine = [variable.numpy() for variable in model.weights]
    theirs = [variable.numpy() for variable in loaded.weights]
    if len(mine) != len(theirs) or not all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(mine, theirs, strict=False)
    ):
        raise ConfigError(
            f"DEST {destination}: keras.saving.load_model rebuilds {type(model).__name__} with "
            "other variables than the port's; name a .weights.h5 DEST"
        )
