"""ULP distance and relative error: the measures every comparison rests on."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tfmigration.measure.ulp import max_ulp_distance, relative_error, same_bits, ulp_distance

FLOAT32 = st.floats(allow_nan=False, width=32)
FLOAT64 = st.floats(allow_nan=False)


@given(FLOAT32)
def test_a_float32_is_zero_ulps_from_itself_and_one_from_its_neighbour(value: float) -> None:
    x = np.array([value], dtype=np.float32)
    assert ulp_distance(x, x)[0] == 0
    if np.isfinite(x[0]) and x[0] != np.finfo(np.float32).max:
        up = np.nextafter(x, np.float32(np.inf))
        assert ulp_distance(x, up)[0] == 1
        assert ulp_distance(up, x)[0] == 1


@given(FLOAT64, FLOAT64)
def test_float64_distance_is_symmetric_and_matches_counting(a: float, b: float) -> None:
    x = np.array([a])
    y = np.array([b])
    assert ulp_distance(x, y)[0] == ulp_distance(y, x)[0]
    assert (ulp_distance(x, y)[0] == 0) == (a == b)


@given(FLOAT32, FLOAT32, FLOAT32)
def test_float32_distance_obeys_the_triangle_equality_along_the_line(a, b, c) -> None:
    low, mid, high = sorted(np.array([a, b, c], dtype=np.float32))
    d = ulp_distance
    arr = np.array
    total = int(d(arr([low]), arr([high]))[0])
    assert total == int(d(arr([low]), arr([mid]))[0]) + int(d(arr([mid]), arr([high]))[0])


def test_signed_zeros_are_the_same_point_and_the_smallest_subnormals_straddle_them() -> None:
    assert ulp_distance(np.float32([-0.0]), np.float32([0.0]))[0] == 0
    tiny = np.float32(1e-45)
    assert ulp_distance(np.float32([-tiny]), np.float32([tiny]))[0] == 2


def test_opposite_float64_extremes_do_not_overflow() -> None:
    distance = ulp_distance(np.array([-np.finfo(np.float64).max]), np.array([np.inf]))[0]
    assert distance == 2 * 0x7FF0000000000000 - 1


def test_mixed_dtypes_nan_and_shape_mismatches_are_refused() -> None:
    with pytest.raises(TypeError, match="two float32 or two float64"):
        ulp_distance(np.float32([1]), np.float64([1]))
    with pytest.raises(ValueError, match="undefined for NaN"):
        ulp_distance(np.float32([np.nan]), np.float32([1]))
    with pytest.raises(ValueError, match="equal shapes"):
        ulp_distance(np.float32([1, 2]), np.float32([1]))


def test_max_ulp_distance_and_relative_error() -> None:
    assert max_ulp_distance(np.float32([1, 2]), np.float32([1, 2])) == 0
    assert max_ulp_distance(np.float32([]), np.float32([])) == 0
    assert relative_error(np.array([1.0, 2.1]), np.array([1.0, 2.0])) == pytest.approx(0.05)
    assert relative_error(np.array([0.5]), np.array([0.0])) == 0.5


def test_same_bits_is_bit_for_bit_in_every_chunk() -> None:
    values = np.linspace(-3, 3, 200_001, dtype=np.float32)
    assert same_bits(values, values.copy())
    late = values.copy()
    late[-1] = np.nextafter(late[-1], np.float32(np.inf))  # one ULP, in the last chunk
    assert not same_bits(values, late)
    assert max_ulp_distance(values, late) == 1
    assert not same_bits(np.float32([0.0]), np.float32([-0.0]))  # equal values, other bits
    assert max_ulp_distance(np.float32([0.0]), np.float32([-0.0])) == 0
    assert same_bits(np.float32([np.nan]), np.float32([np.nan]))  # the same bits
    assert not same_bits(np.float32([1, 2]), np.float64([1, 2]))
    assert not same_bits(np.float32([1, 2]), np.float32([[1, 2]]))
    assert same_bits(np.float32([]), np.float32([]))
