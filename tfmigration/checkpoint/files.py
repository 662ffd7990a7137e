"""Checkpoint paths: a prefix or a directory's latest, and directories a run may save to.

Both TF1's `Saver` and TF2's `CheckpointManager` keep a text `checkpoint` file in the directory
(a `CheckpointState` proto: `model_checkpoint_path: "model.ckpt-500"` and one
`all_model_checkpoint_paths` line per kept checkpoint), written through a temporary file and a
rename (tensorflow/python/checkpoint/checkpoint_management.py `update_checkpoint_state_internal`
calls `file_io.atomic_write_string_to_file`). A checkpoint is `PREFIX.index` plus
`PREFIX.data-*`; the index is written last, so a save killed half way leaves no index for its
new prefix and the previous checkpoint untouched.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tfmigration.catalog.errors import ConfigError
from tfmigration.checkpoint.state import CheckpointError

STATE_FILE = "checkpoint"
TF1_BASENAME = "model.ckpt"  # TF1 Saver's conventional prefix: DIR/model.ckpt-STEP
TF2_BASENAME = "ckpt"  # tf.train.CheckpointManager's default checkpoint_name
_STEP = re.compile(r"-(\d+)$")


def checkpoint_paths(directory: str | Path) -> list[str]:
    """The checkpoints the directory's `checkpoint` file lists, oldest first, latest last."""
    directory = Path(directory)
    try:
        text = (directory / STATE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    latest = re.findall(r'^model_checkpoint_path:\s*"(.*)"\s*$', text, flags=re.MULTILINE)
    every = re.findall(r'^all_model_checkpoint_paths:\s*"(.*)"\s*$', text, flags=re.MULTILINE)
    paths = [path for path in every if not latest or path != latest[-1]] + latest[-1:]
    return [path if os.path.isabs(path) else str(directory / path) for path in paths]


def step_of(prefix: str) -> int | None:
    match = _STEP.search(prefix)
    return int(match.group(1)) if match else None


def resolve(path: str, option: str = "--resume-from") -> str:
    """The checkpoint prefix `path` names: itself, or the latest in a directory. A missing
    path is a bad option (exit 2); a named checkpoint whose files are gone or cut short is one
    that cannot be used (exit 1)."""
    given = Path(path)
    if given.is_dir():
        listed = checkpoint_paths(given)
        if not listed:
            if any(given.glob("*.index")):
                raise CheckpointError(
                    f"{option} {path}: the directory's `checkpoint` file is missing or "
                    "unreadable; name a checkpoint prefix (DIR/model.ckpt-STEP or DIR/ckpt-STEP)"
                )
            raise ConfigError(f"{option} {path}: the directory holds no checkpoint")
        prefix = listed[-1]
        if not Path(prefix + ".index").is_file():
            raise CheckpointError(
                f"{option} {path}: its latest checkpoint {prefix} is missing its index "
                "file (deleted or cut short)"
            )
        return prefix
    if Path(path + ".index").is_file():
        return path
    if given.suffix == ".index" and given.is_file():
        return str(given.with_suffix(""))
    if given.exists():
        raise ConfigError(
            f"{option} {path}: not a checkpoint; name a directory or a prefix "
            "(DIR/model.ckpt-STEP, without .index or .data-*)"
        )
    raise ConfigError(f"{option} {path}: no such checkpoint or directory")


def check_save_directory(
    directory: str,
    *,
    resumed_step: int | None,
    resuming: bool = False,
    option: str = "--save-to",
) -> None:
    """Refuse before training a --save-to a run could not write, or one holding checkpoints
    this run would overwrite (only a run resumed from its latest checkpoint continues there).
    `resuming` with no step yet: the second check waits until the checkpoint has been read."""
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {directory}: exists and is not a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{option} {directory}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {directory}: {existing} is not writable")
    listed = checkpoint_paths(path) if path.is_dir() else []
    steps = [step for step in map(step_of, listed) if step is not None]
    if resuming and resumed_step is None:
        return
    if listed and (resumed_step is None or any(step > resumed_step for step in steps)):
        latest = max(steps) if steps else "?"
        # Only `train` can resume; a conversion's DEST is told to pick another directory.
        remedy = (
            f"resume with --resume-from {directory}, or save elsewhere"
            if option == "--save-to"
            else f"name a new or empty {option}"
        )
        raise ConfigError(
            f"{option} {directory} already holds checkpoints (latest step {latest}) that this "
            f"{'run' if option == '--save-to' else 'conversion'} would overwrite: {remedy}"
        )


def make_save_directory(directory: str, option: str = "--save-to") -> None:
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{option} {directory}: {error.strerror or error}") from None
