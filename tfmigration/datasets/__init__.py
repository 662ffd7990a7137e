"""Small real data sets shipped inside the package, so examples and tests need no download.

`digits.csv.gz` is a byte-for-byte copy of `sklearn/datasets/data/digits.csv.gz` from
scikit-learn 1.9.1 (sha256 09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22).

Origin: the test set of the UCI Machine Learning Repository's "Optical Recognition of
Handwritten Digits" (optdigits) data set, E. Alpaydin and C. Kaynak, 1998,
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits (the UCI
repository lists it under CC BY 4.0). scikit-learn, which packs it as this CSV, is
distributed under the BSD 3-Clause licence, (c) 2007-2026 The scikit-learn developers.

Format: 1797 lines, no header, 65 comma-separated integers each: an 8x8 image (pixels 0..16,
row by row) and then the digit (0..9).

scikit-learn is not a dependency: the file is read with the standard library and NumPy only.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

__all__ = ["DIGITS_CLASSES", "DIGITS_PIXEL_MAX", "load_digits"]

DIGITS_PIXEL_MAX = 16  # each pixel counts the "on" cells of a 4x4 block: 0..16
DIGITS_CLASSES = 10


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digits: features float32 (1797, 64) in [0, 1] (pixels / 16), labels int32 (1797,).

    Read through importlib.resources so that it works from an installed wheel as well as from
    the source tree. Fresh arrays on every call: callers may modify them.
    """
    source = resources.files(__package__).joinpath("digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int32, ndmin=2)
    # Dividing by a power of two is exact in float32, so every feature is k/16 exactly.
    features = table[:, :-1].astype(np.float32) / np.float32(DIGITS_PIXEL_MAX)
    labels = np.ascontiguousarray(table[:, -1], dtype=np.int32)
    return np.ascontiguousarray(features), labels
