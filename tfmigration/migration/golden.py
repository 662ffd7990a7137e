"""A golden trajectory: the TF1 run of a migration file, recorded once, read back with NumPy alone.

A recording is a directory of two files:

- `manifest.json`: `{"format": "tfbridge-golden", "version": 1, "model", "settings": {"steps",
  "batch_size", "seed", "strict", "every"}, "data": {"sha256", "features": {"shape", "dtype"},
  "labels": {...}}, "versions": {"python", "numpy", "tensorflow", "keras"}, "machine":
  {"architecture", "model", "vector_extensions"} (absent from older recordings), "variables":
  [{"name", "shape", "dtype", "trainable"}, ...] (TF1's, in creation order), "optimizer": {"kind",
  "hyperparameters", "slots": {"tf1name/slot": variable name}, "beta_powers"}, "recorded_steps":
  [...], "noise_floor": {"loss_ulps", "param_ulps", "slot_ulps"}}`;
- `trajectory.npz` (plain arrays, no pickle): `losses` (every step's loss, before its update),
  `batch_indices` (steps x batch rows; absent for whole-data steps), `initial/NAME` (every
  variable before step 0, the optimizer's included) and `after/STEP/NAME` (every variable after
  the update of each recorded step: every `every` steps, the first and the last always).

`np.load(DIR + "/trajectory.npz", allow_pickle=False)` reads it anywhere. The directory is
written beside its destination and renamed into place, so a recording is whole or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfmigration.catalog.errors import ConfigError, UserError

FORMAT = "tfbridge-golden"
VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "trajectory.npz"


class RecordingError(UserError):
    """A recording that cannot be used: truncated, of another format or version (exit 1)."""


@dataclass(frozen=True)
class Recording:
    path: Path
    manifest: dict[str, Any]
    losses: np.ndarray
    batch_indices: np.ndarray | None
    initial: dict[str, np.ndarray]
    after: dict[int, dict[str, np.ndarray]]

    @property
    def steps(self) -> int:
        return int(self.manifest["settings"]["steps"])


def recorded_steps(steps: int, every: int) -> list[int]:
    """The steps whose variables are kept: every `every`-th, the first and the last always."""
    return sorted({0, steps - 1, *range(0, steps, every)})


def write_recording(
    directory: str | Path,
    manifest: dict[str, Any],
    losses: np.ndarray,
    batch_indices: np.ndarray | None,
    initial: dict[str, np.ndarray],
    after: dict[int, dict[str, np.ndarray]],
) -> None:
    """Write a recording all or nothing: into a sibling temporary directory, then renamed."""
    directory = Path(directory)
    if (
        directory.exists()
        and not (directory / MANIFEST).is_file()
        and (not directory.is_dir() or any(directory.iterdir()))
    ):
        raise ConfigError(
            f"--output {directory} exists and is not a recording; name a new directory"
        )
    parent = directory.parent
    if not parent.is_dir():
        raise ConfigError(f"--output: directory {str(parent)!r} does not exist")
    arrays: dict[str, np.ndarray] = {"losses": losses}
    if batch_indices is not None:
        arrays["batch_indices"] = batch_indices
    arrays.update({f"initial/{name}": value for name, value in initial.items()})
    for step, values in after.items():
        arrays.update({f"after/{step:09d}/{name}": value for name, value in values.items()})
    document = {"format": FORMAT, "version": VERSION, **manifest}
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    except OSError as error:
        raise UserError(f"cannot write --output {directory}: {error.strerror or error}") from None
    try:
        # mkdtemp makes the directory private; a recording is as readable as the umask says.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        np.savez(staging / ARRAYS, **arrays)
        (staging / MANIFEST).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=parent))
            os.replace(directory, retired / "recording")
            os.replace(staging, directory)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_recording(directory: str | Path) -> Recording:
    """Read and check a recording; one clear error for anything missing, truncated or foreign."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"--against {directory}: no such recording directory")
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise RecordingError(
            f"--against {directory}: no {MANIFEST}; not a recording (make one with tfbridge "
            "record FILE --output DIR)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordingError(f"--against {directory}: {MANIFEST} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordingError(f"--against {directory}: {MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise RecordingError(
            f"--against {directory}: recording format version {manifest.get('version')!r}; "
            f"this tfbridge reads version {VERSION}"
        )
    try:
        # Opened here, so a truncated archive's file is closed even when np.load fails.
        with (
            open(directory / ARRAYS, "rb") as handle,
            np.load(handle, allow_pickle=False) as archive,
        ):
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise RecordingError(f"--against {directory}: {ARRAYS} is missing") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise RecordingError(
            f"--against {directory}: {ARRAYS} is truncated or corrupted ({error})"
        ) from None
    names = [variable["name"] for variable in manifest["variables"]]
    owned = list(manifest["optimizer"].get("owned", []))
    try:
        initial = {name: arrays[f"initial/{name}"] for name in [*names, *owned]}
        after = {
            step: {name: arrays[f"after/{step:09d}/{name}"] for name in [*names, *owned]}
            for step in manifest["recorded_steps"]
        }
        losses = arrays["losses"]
    except KeyError as error:
        raise RecordingError(
            f"--against {directory}: {ARRAYS} lacks {error.args[0]}; the recording is incomplete"
        ) from None
    if len(losses) != int(manifest["settings"]["steps"]):
        raise RecordingError(
            f"--against {directory}: {len(losses)} losses for {manifest['settings']['steps']} steps"
        )
    return Recording(
        path=directory,
        manifest=manifest,
        losses=losses,
        batch_indices=arrays.get("batch_indices"),
        initial=initial,
        after=after,
    )
