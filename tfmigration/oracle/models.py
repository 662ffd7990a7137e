"""Every catalog model's forward pass and gradient, by hand, in NumPy float64.

This is the independent reference: it shares no arithmetic with the TensorFlow code (no autodiff,
no shared predict function), so a bug common to all three execution styles cannot hide from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class OracleModel:
    forward: Callable[[Params, np.ndarray], np.ndarray]
    # (params, features, dloss/dprediction) -> dloss/dparams
    backward: Callable[[Params, np.ndarray, np.ndarray], Params]


def _line_forward(p: Params, x: np.ndarray) -> np.ndarray:
    return p["w"] * x + p["b"]


def _line_backward(p: Params, x: np.ndarray, upstream: np.ndarray) -> Params:
    # pred = w*x + b  =>  dL/dw = sum(dL/dpred * x), dL/db = sum(dL/dpred)
    return {"w": np.sum(upstream * x), "b": np.sum(upstream)}


def _design_forward(p: Params, x: np.ndarray) -> np.ndarray:
    return x @ p["W"]


def _design_backward(p: Params, x: np.ndarray, upstream: np.ndarray) -> Params:
    # pred = X W  =>  dL/dW = X^T dL/dpred
    return {"W": x.T @ upstream}


def _parabola_forward(p: Params, x: np.ndarray) -> np.ndarray:
    return p["w"] * x**2 + p["b"]


def _parabola_backward(p: Params, x: np.ndarray, upstream: np.ndarray) -> Params:
    # pred = w*x^2 + b (w, b of shape [1])  =>  dL/dw = sum(dL/dpred * x^2), dL/db = sum(dL/dpred)
    return {"w": np.sum(upstream * x**2, keepdims=True)[0], "b": np.sum(upstream, keepdims=True)[0]}


def _affine_forward(p: Params, x: np.ndarray) -> np.ndarray:
    return x @ p["w"] + p["b"]


def _affine_backward(p: Params, x: np.ndarray, upstream: np.ndarray) -> Params:
    # pred = X w + b (w [F,1], b [1])  =>  dL/dw = X^T dL/dpred, dL/db = column sum of dL/dpred
    return {"w": x.T @ upstream, "b": np.sum(upstream, axis=0)}


ORACLE_MODELS: dict[str, OracleModel] = {
    "house": OracleModel(_line_forward, _line_backward),
    "house-multi": OracleModel(_design_forward, _design_backward),
    "noisy-line": OracleModel(_line_forward, _line_backward),
    "quadratic": OracleModel(_parabola_forward, _parabola_backward),
    "linear": OracleModel(_affine_forward, _affine_backward),
}


def squared_error(reduction: str, targets: np.ndarray, predictions: np.ndarray) -> float:
    residual = targets - predictions
    scale = 0.5 if reduction.startswith("half-") else 1.0
    total = np.mean(residual**2) if reduction.endswith("mean") else np.sum(residual**2)
    return float(scale * total)


def squared_error_gradient(
    reduction: str, targets: np.ndarray, predictions: np.ndarray
) -> np.ndarray:
    """dloss/dpredictions for loss = scale * reduce((targets - predictions)**2)."""
    scale = 0.5 if reduction.startswith("half-") else 1.0
    count = targets.size if reduction.endswith("mean") else 1
    return -2.0 * scale * (targets - predictions) / count
