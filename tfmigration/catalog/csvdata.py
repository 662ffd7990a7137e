"""Reading a user's CSV: a header row, then rows of finite numbers, the last column the target."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfmigration.catalog.errors import ConfigError, DataError


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    values: np.ndarray  # rows x columns, float64
    lines: tuple[int, ...] = ()  # each row's line number in the file


def read_table(path: str | Path) -> Table:
    """Read `path` as a numeric table, or raise one clear error naming the line and column."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist or is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"data file {str(path)!r} cannot be read as UTF-8 text: {error}") from None
    # Parsed as one stream, so a quoted cell may hold a line break; each row is named by the
    # line it ends on.
    reader = csv.reader(io.StringIO(text, newline=""))
    numbered = [(reader.line_num, row) for row in reader if any(row)]
    if not numbered:
        raise DataError(f"data file {str(path)!r} is empty: expected a header row and data rows")
    header_line, header = numbered[0]
    columns = tuple(name.strip() for name in header)
    if len(columns) < 2:
        raise DataError(
            f"{path}: line {header_line} has {len(columns)} column; "
            "expected at least two (features, then the target)"
        )
    if all(_is_number(name) for name in columns):
        # Without this a header-less file silently loses its first row to the header.
        raise DataError(
            f"{path}: line {header_line} holds numbers, not column names: the first row must be "
            "a header"
        )
    rows = numbered[1:]
    if not rows:
        raise DataError(f"{path}: has a header but no data rows")
    values = np.empty((len(rows), len(columns)), dtype=np.float64)
    for index, (number, row) in enumerate(rows):
        if len(row) != len(columns):
            raise DataError(
                f"{path}: line {number} has {len(row)} cells; the header has {len(columns)}"
            )
        for column, cell in enumerate(row):
            values[index, column] = _number(path, number, columns[column], cell)
    return Table(columns=columns, values=values, lines=tuple(number for number, _ in rows))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(path: Path, line: int, column: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(
            f"{path}: line {line}, column {column!r}: {cell.strip()!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise DataError(
            f"{path}: line {line}, column {column!r}: {cell.strip()!r} is not finite; "
            "every cell must be a finite number"
        )
    return value
