"""The bundled digits: the loader returns exactly what the raw CSV holds, scaled by 1/16.

Expected values come from reading the gzip'd CSV here with the standard library alone (no NumPy
parsing, no scikit-learn), plus a few facts written out by hand from the file itself, so that a
loader bug (wrong column, off-by-one row, wrong scale or dtype) cannot agree with itself.
"""

from __future__ import annotations

import csv
import gzip
import io
from fractions import Fraction
from importlib import resources

import numpy as np
import pytest

from tfmigration.datasets import load_digits

# Counted with `zcat digits.csv.gz | awk -F, '{print $65}' | sort | uniq -c`.
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# The first line of the file, as printed by `zcat | head -1`: a zero.
FIRST_LINE = (
    "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,"
    "0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0"
)


@pytest.fixture(scope="module")
def raw_rows() -> list[list[int]]:
    data = resources.files("tfmigration.datasets").joinpath("digits.csv.gz").read_bytes()
    text = gzip.decompress(data).decode("ascii")
    return [[int(cell) for cell in row] for row in csv.reader(io.StringIO(text))]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_digits()


def test_shapes_and_dtypes(digits: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = digits
    assert features.shape == (1797, 64)
    assert features.dtype == np.float32
    assert labels.shape == (1797,)
    assert labels.dtype == np.int32
    assert features.flags.c_contiguous and labels.flags.c_contiguous


def test_features_are_pixels_over_16_in_the_unit_interval(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    features, _ = digits
    assert features.min() == 0.0
    assert features.max() == 1.0
    # Every value is an exact multiple of 1/16 (scaling by a power of two loses nothing).
    sixteenths = features * 16
    np.testing.assert_array_equal(sixteenths, np.round(sixteenths))


def test_ten_classes_with_the_counts_in_the_file(digits: tuple[np.ndarray, np.ndarray]) -> None:
    _, labels = digits
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10
    assert counts.tolist() == CLASS_COUNTS
    assert counts.sum() == 1797


def test_every_row_matches_the_raw_csv(
    digits: tuple[np.ndarray, np.ndarray], raw_rows: list[list[int]]
) -> None:
    features, labels = digits
    assert len(raw_rows) == 1797 and {len(row) for row in raw_rows} == {65}
    assert labels.tolist() == [row[64] for row in raw_rows]
    for index in (0, 1, 2, 1000, 1796):
        expected = [Fraction(pixel, 16) for pixel in raw_rows[index][:64]]
        assert [Fraction(float(value)) for value in features[index]] == expected, index


def test_first_row_is_the_known_zero(digits: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = digits
    cells = [int(cell) for cell in FIRST_LINE.split(",")]
    assert labels[0] == cells[64] == 0
    assert labels[:3].tolist() == [0, 1, 2]
    assert labels[-1] == 8
    np.testing.assert_array_equal(features[0] * 16, np.array(cells[:64], dtype=np.float32))


def test_each_call_returns_fresh_arrays() -> None:
    first, _ = load_digits()
    first[0, 0] = 99.0
    again, _ = load_digits()
    assert again[0, 0] == 0.0
