"""Reading a user's CSV: good tables load exactly, bad ones fail naming the line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tfmigration.catalog import ConfigError, DataError, TrainConfig, prepare
from tfmigration.catalog.csvdata import read_table


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(2, 4)),
        elements=st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False),
    )
)
def test_a_written_table_reads_back_exactly(tmp_path_factory, values: np.ndarray) -> None:
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    header = ",".join(f"c{i}" for i in range(values.shape[1]))
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in values)
    path.write_text(f"{header}\n{rows}\n", encoding="utf-8")
    table = read_table(path)
    assert table.columns == tuple(f"c{i}" for i in range(values.shape[1]))
    np.testing.assert_array_equal(table.values, values)


def test_blank_lines_and_a_byte_order_mark_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffx,y\n1,2\n\n3,4\n".encode())
    table = read_table(path)
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty: expected a header row and data rows"),
        ("\n\n", "is empty"),
        ("x,y\n", "has a header but no data rows"),
        ("x\n1\n2\n", "line 1 has 1 column; expected at least two"),
        ("x,y\n1,2\n3\n", "line 3 has 1 cells; the header has 2"),
        ("x,y\n1,2\n3,4,5\n", "line 3 has 3 cells; the header has 2"),
        ("x,y\n1,2\n3,abc\n", "line 3, column 'y': 'abc' is not a number"),
        ("x,y\n1,\n", "line 2, column 'y': '' is not a number"),
        ("x,y\nnan,2\n", "line 2, column 'x': 'nan' is not finite"),
        ("x,y\n1,2\n4,-inf\n", "line 3, column 'y': '-inf' is not finite"),
        ("1,2\n3,4\n", "line 1 holds numbers, not column names: the first row must be a header"),
    ],
)
def test_bad_csv_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path, text))


def test_a_quoted_cell_may_hold_a_line_break_and_lines_are_still_named(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, 'x,"the\ntarget"\n1,2\n3,4\n'))
    assert table.columns == ("x", "the\ntarget")
    np.testing.assert_array_equal(table.values, [[1, 2], [3, 4]])
    with pytest.raises(DataError, match="line 5, column 'x': 'oops' is not a number"):
        read_table(write(tmp_path, 'x,"the\ntarget"\n1,2\n3,4\noops,5\n'))


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data file '.*missing.csv' does not exist"):
        read_table(tmp_path / "missing.csv")


def test_linear_trains_on_any_number_of_feature_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c,target\n1,2,3,4\n5,6,7,8\n9,1,2,3\n")
    problem = prepare("linear", TrainConfig(data_path=str(path)))
    assert problem.features.shape == (3, 3)
    assert problem.targets.shape == (3, 1)
    assert problem.initial_params["w"].shape == (3, 1)


def test_replacing_a_builtin_models_data_checks_the_column_count(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"model 'house' expects 2 columns \(area, price\)"):
        prepare("house", TrainConfig(data_path=str(path)))


def test_a_cell_beyond_float32_is_a_data_error_naming_its_line_not_a_divergence(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "x,y\n1,2\n\n1e39,3\n")
    with pytest.raises(
        DataError,
        match=r"line 4, column 'x': 1e\+39 does not fit in float32, the dtype of 'linear'",
    ):
        prepare("linear", TrainConfig(data_path=str(path)))


def test_house_multi_refuses_a_constant_column(tmp_path: Path) -> None:
    path = write(tmp_path, "area,rooms,price\n50,2,100\n60,2,120\n")
    with pytest.raises(DataError, match="column 'rooms' holds one value"):
        prepare("house-multi", TrainConfig(data_path=str(path)))
