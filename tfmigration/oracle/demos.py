"""The autodiff demos by hand, in NumPy float64: each derivative from its formula, no autodiff.

The independent reference for the `grad` demos; it shares nothing with the TensorFlow code, so a
mistake all three styles make (or a catalog number copied wrong) shows up against it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Quantities = dict[str, np.ndarray]


def _square() -> Quantities:
    x = 3.0
    # y = x^2  =>  dy/dx = 2x
    return {"y": np.float64(x**2), "dy/dx": np.float64(2.0 * x)}


def _chain() -> Quantities:
    x = 5.0
    # y = x^2, z = y^2 = x^4  =>  dz/dx = 4x^3, dy/dx = 2x
    return {"dz/dx": np.float64(4.0 * x**3), "dy/dx": np.float64(2.0 * x)}


def _partials() -> Quantities:
    x, y = 3.0, 4.0
    # f = x^2 + 2y^2 + 1  =>  df/dx = 2x, df/dy = 4y; d2f/dx2 = 2, d2f/dy2 = 4, d2f/dxdy = 0
    hessian = np.array([[2.0, 0.0], [0.0, 4.0]])
    return {
        "f": np.float64(x**2 + 2.0 * y**2 + 1.0),
        "df/dx": np.float64(2.0 * x),
        "df/dy": np.float64(4.0 * y),
        "d2f/dx2": hessian[0, 0],
        "d2f/dy2": hessian[1, 1],
        "hessian": hessian,
    }


def _matrix() -> Quantities:
    x = np.ones((5, 5))
    # s = sum(x); y = sum(s + x) = n*s + s = (n + 1) s with n = x.size, so dy/dx_ij = n + 1;
    # z = y^2  =>  dz/dx_ij = 2 y (n + 1)
    s = x.sum()
    y = np.sum(s + x)
    return {"z": np.float64(y * y), "dz/dx": np.full(x.shape, 2.0 * y * (x.size + 1))}


ORACLE_DEMOS: dict[str, Callable[[], Quantities]] = {
    "square": _square,
    "chain": _chain,
    "partials": _partials,
    "matrix": _matrix,
}


def run_demo(name: str) -> Quantities:
    """The float64 value of every quantity of demo `name`, in the catalog's print order."""
    return ORACLE_DEMOS[name]()
