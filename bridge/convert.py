"""`tfbridge convert-checkpoint`: a TF1 Saver checkpoint to our TF2 layout and back, optimizer
state included, each tensor's name mapped and each derived value said."""

from __future__ import annotations

from dataclasses import dataclass

from eagermode.checkpoints import read_tensors
from tfmigration.checkpoint.files import check_save_directory, make_save_directory, resolve
from tfmigration.checkpoint.names import TF1, TF2, Row, read_state, state_to_tensors


@dataclass(frozen=True)
class Conversion:
    source: str  # the prefix read
    source_format: str
    destination: str  # the prefix written
    rows: list[Row]


def convert_checkpoint(source: str, destination: str, to: str) -> Conversion:
    """Convert the checkpoint `source` (a prefix, or a directory's latest) into the directory
    `destination` in format `to` ("tf1" or "tf2"). Refuses, before writing anything, a
    conversion that would lose or round a value, and a destination holding checkpoints."""
    prefix = resolve(source, option="SRC")
    check_save_directory(destination, resumed_step=None, option="DEST")
    source_format, state = read_state(read_tensors(prefix))
    tensors, rows = state_to_tensors(state, to)
    make_save_directory(destination, option="DEST")
    if to == TF1:
        from graphmode.checkpoints import write_tensors
    elif to == TF2:
        from eagermode.checkpoints import write_tensors
    else:
        raise ValueError(f"unknown checkpoint format {to!r}")
    written = write_tensors(tensors, destination, state.step)
    return Conversion(prefix, source_format, written, rows)
