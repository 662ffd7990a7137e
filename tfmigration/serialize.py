"""Results as data: exact JSON records, and files written all or nothing."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tfmigration.training.driver import Trajectory


def exact(value: Any) -> Any:
    """A JSON-ready copy of `value` whose floats read back to the very same float32/float64.

    A float32 is written in its shortest round-trip form (numpy's `str`), so `0.1f` prints as
    0.1 rather than 0.10000000149011612, and float32(json value) is the original bits.
    """
    if isinstance(value, Mapping):
        return {str(key): exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [exact(item) for item in value]
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype == np.float32:
            converted = np.array([float(str(item)) for item in array.ravel()], dtype=object)
            return converted.reshape(array.shape).tolist()
        return array.tolist()
    return value


def trajectory_record(trajectory: Trajectory) -> dict[str, Any]:
    return {
        "model": trajectory.model,
        "mode": trajectory.mode,
        "steps": trajectory.steps,
        "losses": exact(trajectory.losses),
        "final_loss": exact(trajectory.final_loss),
        "params": exact(trajectory.final_params),
        "slots": exact(trajectory.final_slots),
        "seconds": trajectory.seconds,
        # Only a resumed run has it: `losses` then start at this step.
        **({"first_step": trajectory.first_step} if trajectory.first_step else {}),
    }


def to_json(value: Any) -> str:
    return json.dumps(value, indent=None, allow_nan=False)


def _umask() -> int:
    # The only portable way to read the umask is to set it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: str | Path, content: str | bytes) -> None:
    """Write `content` to `path` through a temporary file and a rename: all of it or nothing.

    The file gets the mode a plain `open(path, "w")` would give (0666 less the umask), not
    mkstemp's private 0600.
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
