"""The regression models of docs/catalog.md, as data.

Each tutorial's numbers (data, seeds, initial draws, hyperparameters) are copied here once; every
execution style and the NumPy oracle read them from this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tfmigration.catalog.errors import DataError
from tfmigration.catalog.spec import Model

HOUSE_AREA = (
    137.97, 104.50, 100.00, 124.32, 79.20, 99.00, 124.00, 114.00,
    106.69, 138.05, 53.75, 46.91, 68.00, 63.02, 81.26, 86.21,
)  # fmt: skip
HOUSE_ROOMS = (3, 2, 2, 3, 1, 2, 3, 2, 2, 3, 1, 1, 1, 1, 2, 2)
HOUSE_PRICE = (
    145.00, 110.00, 93.00, 116.00, 65.32, 104.00, 118.00, 91.00,
    62.00, 133.00, 51.00, 45.00, 78.50, 69.65, 75.69, 95.30,
)  # fmt: skip


def _house_table(seed: int) -> np.ndarray:
    return np.column_stack([HOUSE_AREA, HOUSE_PRICE]).astype(np.float64)


def _house_multi_table(seed: int) -> np.ndarray:
    return np.column_stack([HOUSE_AREA, HOUSE_ROOMS, HOUSE_PRICE]).astype(np.float64)


def _noisy_line_table(seed: int) -> np.ndarray:
    x = np.linspace(0.0, 10.0, 1_000_000)
    noise = np.random.RandomState(seed).randn(x.size)
    return np.column_stack([x, 2.5 * x + 15.0 + noise])


def _quadratic_table(seed: int) -> np.ndarray:
    # The tutorial's own draw: np.random.seed(100), then 0.2 * rand(100, 1) as noise.
    x = np.linspace(-1.0, 1.0, 100)
    noise = np.random.RandomState(seed).rand(100, 1)[:, 0]
    return np.column_stack([x, 3.0 * x**2 + 2.0 + 0.2 * noise])


def _one_feature(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return table[:, 0], table[:, 1]


def _column_feature(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return table[:, :1], table[:, 1:2]


def _min_max(column: np.ndarray, name: str) -> np.ndarray:
    low, high = column.min(), column.max()
    if high == low:
        raise DataError(
            f"column {name!r} holds one value ({low:g}) in every row: "
            "min-max normalisation needs at least two distinct values"
        )
    return (column - low) / (high - low)


def _house_multi_features(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    area = _min_max(table[:, 0], "area")
    rooms = _min_max(table[:, 1], "rooms")
    design = np.column_stack([np.ones(len(table)), area, rooms])
    return design, table[:, 2:3]


def _linear_features(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return table[:, :-1], table[:, -1:]


def _house_init(seed: int, features: np.ndarray) -> dict[str, np.ndarray]:
    # The tutorial: np.random.seed(612); w = np.random.randn(); b = np.random.randn().
    draws = np.random.RandomState(seed)
    return {"w": np.array(draws.randn()), "b": np.array(draws.randn())}


def _house_multi_init(seed: int, features: np.ndarray) -> dict[str, np.ndarray]:
    return {"W": np.random.RandomState(seed).randn(3, 1)}


def _zero_line_init(seed: int, features: np.ndarray) -> dict[str, np.ndarray]:
    return {"w": np.array(0.0), "b": np.array(0.0)}


def _quadratic_init(seed: int, features: np.ndarray) -> dict[str, np.ndarray]:
    # The tutorial drew w with TensorFlow's unseeded tf.random_uniform([1], 0, 1), which no
    # NumPy stream replays; docs/catalog.md records the run it describes as starting from w = 0.2
    # (loss near 10), so that start is pinned here. `--init w=...` picks another one.
    return {"w": np.array([0.2]), "b": np.array([0.0])}


def _linear_init(seed: int, features: np.ndarray) -> dict[str, np.ndarray]:
    return {"w": np.zeros((features.shape[1], 1)), "b": np.zeros(1)}


def _line(params: Mapping[str, Any], x: Any) -> Any:
    return params["w"] * x + params["b"]


def _design_matmul(params: Mapping[str, Any], x: Any) -> Any:
    return x @ params["W"]


def _parabola(params: Mapping[str, Any], x: Any) -> Any:
    return params["w"] * (x * x) + params["b"]


def _affine(params: Mapping[str, Any], x: Any) -> Any:
    return x @ params["w"] + params["b"]


MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        Model(
            name="house",
            summary="house price from area, 16 flats, plain gradient descent",
            dtype="float32",
            columns=("area", "price"),
            builtin_table=_house_table,
            featurize=_one_feature,
            initialize=_house_init,
            predict=_line,
            learning_rate=1e-4,
            steps=100,
            log_every=10,
            seed=612,
            loss="half-mean",
            oracle_budget_eps=256,  # 100 steps; the loss ends near 89, far from 0
        ),
        Model(
            name="house-multi",
            summary="house price from area and rooms (min-max scaled, bias column), float64",
            dtype="float64",
            columns=("area", "rooms", "price"),
            builtin_table=_house_multi_table,
            featurize=_house_multi_features,
            initialize=_house_multi_init,
            predict=_design_matmul,
            learning_rate=1e-3,
            steps=500,
            log_every=50,
            seed=612,
            loss="half-mean",
            oracle_budget_eps=64,  # float64 end to end, no cancellation to speak of
        ),
        Model(
            name="noisy-line",
            summary="one million noisy points on y = 2.5x + 15, minibatch SGD",
            dtype="float32",
            columns=("x", "y"),
            builtin_table=_noisy_line_table,
            featurize=_one_feature,
            initialize=_zero_line_init,
            predict=_line,
            learning_rate=1e-3,
            steps=10_000,
            log_every=1000,
            seed=0,
            loss="mean",
            optimizer="sgd",
            batch_size=1000,
        ),
        Model(
            name="quadratic",
            summary="parabola y = 3x^2 + 2 + noise fitted by w*x^2 + b (the TF1 original)",
            dtype="float32",
            columns=("x", "y"),
            builtin_table=_quadratic_table,
            featurize=_column_feature,
            initialize=_quadratic_init,
            predict=_parabola,
            learning_rate=0.01,
            steps=2000,
            log_every=200,
            seed=100,
            loss="mean",
        ),
        Model(
            name="linear",
            summary="linear regression y = X @ w + b on your own CSV (--data)",
            dtype="float32",
            columns=None,
            builtin_table=None,
            featurize=_linear_features,
            initialize=_linear_init,
            predict=_affine,
            learning_rate=0.01,
            steps=1000,
            log_every=100,
            seed=0,
            loss="mean",
        ),
    )
}
