"""The shape of a catalog entry: a regression model written down as data.

A `Model` says where its data comes from, how a raw table becomes features and targets, which
parameters it has and how they start, how it predicts (with arithmetic operators only, so the
same function runs on TensorFlow tensors in every execution style), and the hyperparameters its
tutorial uses. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

LOSS_REDUCTIONS = ("mean", "half-mean", "sum", "half-sum")

# A raw table (rows of numbers, the last column the target) becomes (features, targets).
Featurizer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# (seed, features) -> initial parameter values, drawn once in NumPy.
Initializer = Callable[[int, np.ndarray], dict[str, np.ndarray]]
# (params, features) -> predictions, written with operators that tensors and arrays share.
Predictor = Callable[[Mapping[str, Any], Any], Any]

DEFAULT_ORACLE_BUDGET_EPS = 1024.0
"""A model's bound against the oracle, in epsilons of its working precision, unless it states
one: 1.2e-4 in float32, room for a loss whose residual cancels a thousandfold."""


@dataclass(frozen=True)
class Model:
    """One trainable catalog entry.

    `columns` names the raw table's columns (the last is the target); `None` means any number of
    feature columns (the user's own data). `builtin_table` draws the tutorial's data from a seed;
    `None` means the model needs `--data`.
    """

    name: str
    summary: str
    dtype: str
    columns: tuple[str, ...] | None
    builtin_table: Callable[[int], np.ndarray] | None
    featurize: Featurizer
    initialize: Initializer
    predict: Predictor
    learning_rate: float
    steps: int
    log_every: int
    seed: int
    loss: str
    optimizer: str = "gd"
    batch_size: int | None = None
    # Largest relative error of any loss or final parameter element against the float64 oracle,
    # in epsilons of the working precision (tfmigration/measure/oracle_check.py); see
    # docs/catalog.md for each model's reason.
    oracle_budget_eps: float = DEFAULT_ORACLE_BUDGET_EPS

    def __post_init__(self) -> None:
        if self.loss not in LOSS_REDUCTIONS:
            raise ValueError(f"{self.name}: loss {self.loss!r} is not one of {LOSS_REDUCTIONS}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"{self.name}: dtype {self.dtype!r} is not float32 or float64")
