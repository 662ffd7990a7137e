"""Distances in units in the last place (ULPs) and relative errors."""

from __future__ import annotations

import numpy as np

_SIGNED = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}

# Values per pass of the reductions below. A check reduces tens of millions of values after every
# step; whole-array temporaries that size are fresh pages every time (page faults, then memory
# bandwidth), where chunks this size reuse the same few hundred KiB in cache. Maxima do not
# depend on how the values are split, so the results are the whole-array ones to the bit.
_CHUNK = 1 << 16


def in_chunks(*arrays: np.ndarray):
    """Equal slices of flat arrays of one size, `_CHUNK` values at a time: for reductions over
    a whole model that must not make temporaries the size of the model."""
    size = arrays[0].size
    for start in range(0, size, _CHUNK):
        yield tuple(array[start : start + _CHUNK] for array in arrays)


def _ordered(values: np.ndarray) -> np.ndarray:
    """Map floats to integers of the same width whose order and spacing match the floats' (one
    step = one ULP)."""
    bits = values.view(_SIGNED[values.dtype]).copy()
    # Negative floats are sign-magnitude: flip them so -0.0 and +0.0 both land on 0. With
    # sign = bits >> (width - 1), 0 or -1: a negative float's bits are -2**(w-1) + magnitude,
    # xor with the magnitude mask gives -1 - magnitude, minus the sign -magnitude. Done in place
    # at the floats' own width: a check measures millions of values every step.
    sign = bits >> (8 * values.dtype.itemsize - 1)
    magnitude_mask = np.iinfo(bits.dtype).max
    np.bitwise_xor(bits, sign & magnitude_mask, out=bits)
    np.subtract(bits, sign, out=bits)
    return bits


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise number of representable floats between `a` and `b` (same float dtype).

    Returned as uint64: two float64 values of opposite sign can be more than 2**63 apart.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.dtype not in _SIGNED:
        raise TypeError(
            f"ulp_distance needs two float32 or two float64 arrays; got {a.dtype}, {b.dtype}"
        )
    if a.shape != b.shape:
        raise ValueError(f"ulp_distance needs equal shapes; got {a.shape} and {b.shape}")
    # min propagates NaN: one pass and no temporary array, where isnan(...).any() makes one.
    if a.size and (np.isnan(np.min(a)) or np.isnan(np.min(b))):
        raise ValueError("ulp_distance is undefined for NaN")
    ordered_a = _ordered(np.ascontiguousarray(a))
    ordered_b = _ordered(np.ascontiguousarray(b))
    if a.dtype == np.float32:
        # Two int32 values are less than 2**32 apart: exact in int64, and non-negative by abs.
        distance = np.subtract(ordered_a, ordered_b, dtype=np.int64)
        np.abs(distance, out=distance)
        return distance.view(np.uint64)
    high = np.maximum(ordered_a, ordered_b)
    low = np.minimum(ordered_a, ordered_b)
    # The true difference is below 2**64; int64 wraps, and the wrapped bits read as uint64 are it.
    with np.errstate(over="ignore"):
        return (high - low).view(np.uint64)


def max_ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """The largest element-wise ULP distance (0 for empty arrays), without ever holding the whole
    array of distances."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.size <= _CHUNK:
        distances = ulp_distance(a, b)  # also says what is wrong with a bad pair
        return int(distances.max()) if distances.size else 0
    return max(_chunk_max_ulp_distance(x, y) for x, y in in_chunks(a.ravel(), b.ravel()))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """True when `a` and `b` have one dtype and shape and the same bits, element for element
    (so +0.0 and -0.0 differ, and a NaN equals its own bits): one comparison per value, a
    fraction of an ULP distance's cost, for the values of a port that repeats TF1 bit for bit."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    signed = _SIGNED.get(a.dtype)
    flat_a, flat_b = np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel()
    if signed is not None:
        flat_a, flat_b = flat_a.view(signed), flat_b.view(signed)
    return all(np.array_equal(x, y) for x, y in in_chunks(flat_a, flat_b))


def _chunk_max_ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """`ulp_distance(a, b).max()` for one non-empty chunk, in fewer passes where it can."""
    if a.dtype != b.dtype or a.dtype not in _SIGNED:
        return int(ulp_distance(a, b).max())  # says what is wrong
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    bits_a, bits_b = a.view(_SIGNED[a.dtype]), b.view(_SIGNED[a.dtype])
    if np.bitwise_xor(bits_a, bits_b).min() < 0 or np.isnan(np.min(a)) or np.isnan(np.min(b)):
        return int(ulp_distance(a, b).max())  # some pair of opposite signs, or a NaN to refuse
    # Every pair has one sign, so their sign-magnitude bits are two integers on one side of 0
    # whose difference is the magnitudes' difference, the ULP distance: it fits the floats' own
    # width (its size is below 2**(width - 1)), and the largest |difference| is the larger of
    # its maximum and minus its minimum, with no temporary for abs.
    distance = np.subtract(bits_a, bits_b)
    return max(int(distance.max()), -int(distance.min()))


def relative_error(actual: np.ndarray, reference: np.ndarray) -> float:
    """Normwise relative error max|actual - reference| / max|reference|, in float64."""
    actual = np.asarray(actual)
    reference = np.asarray(reference)
    scale = error = 0.0
    if reference.size:
        actual, reference = np.broadcast_arrays(actual, reference)
        floats = reference.dtype.kind == "f"
        for x, r in in_chunks(actual.ravel(), reference.ravel()):
            # max|v| as max(max v, -min v): two reductions and no temporary, where abs makes
            # one; exact for floats in their own dtype. The difference is taken in float64 in
            # the subtraction itself (exact for two float32 values). A check measures millions
            # of values every step: this is about a third of casting, abs and max in turn.
            if not floats:
                r = r.astype(np.float64)
            difference = np.subtract(x, r, dtype=np.float64)
            # np.maximum, not max(): a NaN must carry through as in one whole-array np.max.
            scale = np.maximum(scale, np.maximum(np.max(r), -np.min(r)).astype(np.float64))
            error = np.maximum(error, np.maximum(np.max(difference), -np.min(difference)))
    if scale == 0.0:
        return float(error)
    return float(error / scale)


def normwise_ulp_distance(actual: np.ndarray, reference: np.ndarray) -> int:
    """max|actual - reference| in ULPs of the largest |reference|: how far apart two tensors are
    as wholes. Unlike the element-wise measure, an element that cancels to near zero (a gradient
    summing terms of opposite sign) does not read as thousands of ULPs for a rounding error."""
    reference = np.asarray(reference)
    actual = np.asarray(actual).astype(reference.dtype, copy=False)
    if reference.size == 0:
        return 0
    actual, reference = np.broadcast_arrays(actual, reference)
    largest = error = reference.dtype.type(0)
    for x, r in in_chunks(actual.ravel(), reference.ravel()):
        largest = np.maximum(largest, np.max(np.abs(r)))
        error = np.maximum(error, np.max(np.abs(x.astype(np.float64) - r.astype(np.float64))))
    unit = np.spacing(largest) if largest > 0 else np.finfo(reference.dtype).smallest_subnormal
    return int(np.ceil(error / float(unit)))
