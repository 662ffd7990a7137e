"""Printing results for people: tutorial-style numbers and parameter lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def format_number(value: Any) -> str:
    array = np.asarray(value)
    if array.ndim == 0:
        return str(array[()])
    return "[" + ", ".join(str(item) for item in array.ravel()) + "]"


def format_params(params: Mapping[str, np.ndarray]) -> str:
    return "  ".join(f"{name} {format_number(value)}" for name, value in params.items())
