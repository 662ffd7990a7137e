"""The style-free catalog: tutorial values, problem preparation, and every bad option value."""

from __future__ import annotations

import fractions
import re
from pathlib import Path

import numpy as np
import pytest

from tfmigration.catalog import MODELS, ConfigError, TrainConfig, parse_init, prepare


def test_house_initial_values_are_the_tutorials_seeded_draws() -> None:
    problem = prepare("house")
    # The tutorial's own draws, replayed here: np.random.seed(612), then randn() twice.
    tutorial = np.random.RandomState(612)
    w0, b0 = tutorial.randn(), tutorial.randn()
    assert problem.initial_params["w"] == np.float32(w0)
    assert problem.initial_params["b"] == np.float32(b0)
    assert problem.dtype == np.float32


def test_house_multi_is_float64_with_a_bias_column_and_scaled_features() -> None:
    problem = prepare("house-multi")
    assert problem.features.dtype == np.float64
    assert problem.features.shape == (16, 3)
    np.testing.assert_array_equal(problem.features[:, 0], 1.0)
    assert problem.features[:, 1:].min() == 0.0 and problem.features[:, 1:].max() == 1.0
    np.testing.assert_array_equal(
        problem.initial_params["W"].ravel(), np.random.RandomState(612).randn(3)
    )


def test_quadratic_data_is_the_tutorials_seed_100_draw() -> None:
    problem = prepare("quadratic")
    np.random.seed(100)
    x = np.linspace(-1, 1, 100).reshape(100, 1)
    y = 3 * x**2 + 2 + 0.2 * np.random.rand(100, 1)
    np.testing.assert_array_equal(problem.features, x.astype(np.float32))
    np.testing.assert_array_equal(problem.targets, y.astype(np.float32))


def test_noisy_line_batches_are_drawn_once_with_replacement() -> None:
    problem = prepare("noisy-line", TrainConfig(steps=20))
    assert problem.batch_indices.shape == (20, 1000)
    assert problem.features.shape == (1_000_000,)
    again = prepare("noisy-line", TrainConfig(steps=20))
    np.testing.assert_array_equal(problem.batch_indices, again.batch_indices)
    features, _targets = problem.batch(3)
    np.testing.assert_array_equal(features, problem.features[problem.batch_indices[3]])
    other_seed = prepare("noisy-line", TrainConfig(steps=20, seed=1))
    assert not np.array_equal(problem.batch_indices, other_seed.batch_indices)


def test_every_builtin_model_prepares_with_its_tutorial_hyperparameters() -> None:
    for name, model in MODELS.items():
        if model.builtin_table is None:
            continue
        problem = prepare(name)
        assert problem.steps == model.steps
        assert problem.learning_rate == model.learning_rate
        assert problem.features.dtype == np.dtype(model.dtype)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("w=0.5", ("w", (0.5,))), ("W=1,2,3", ("W", (1.0, 2.0, 3.0))), (" b = -2 ", ("b", (-2.0,)))],
)
def test_parse_init(text: str, expected: tuple) -> None:
    assert parse_init(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w", "is not of the form NAME=V[,V...]"),
        ("=1", "is not of the form NAME=V[,V...]"),
        ("w=", "is not of the form NAME=V[,V...]"),
        ("w=a", "values must be numbers"),
        ("w=nan", "values must be finite"),
    ],
)
def test_parse_init_rejects(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_init(text)


def test_init_fills_the_shape_row_major_and_broadcasts_one_value() -> None:
    problem = prepare("house-multi", TrainConfig(init={"W": (1, 2, 3)}))
    np.testing.assert_array_equal(problem.initial_params["W"], [[1.0], [2.0], [3.0]])
    assert problem.initial_params["W"].dtype == np.float64
    problem = prepare("house-multi", TrainConfig(init={"W": (7,)}))
    np.testing.assert_array_equal(problem.initial_params["W"], [[7.0], [7.0], [7.0]])


def test_a_default_batch_larger_than_the_users_data_is_not_blamed_on_the_user(
    tmp_path: Path,
) -> None:
    data = tmp_path / "small.csv"
    data.write_text("x,y\n1,2\n2,3\n3,4\n", encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"^model 'noisy-line' trains on batches of 1000 by default; the data has 3 rows: "
        r"pass --batch-size at most 3$",
    ):
        prepare("noisy-line", TrainConfig(data_path=str(data)))


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("nope", TrainConfig(), "unknown model 'nope'; choose one of: house, house-multi"),
        ("house", TrainConfig(init={"v": (1,)}), "has no parameter 'v'; its parameters are: w, b"),
        ("house-multi", TrainConfig(init={"W": (1, 2)}), r"shape \[3, 1\] and takes 1 or 3"),
        ("house", TrainConfig(init={"w": (1e39,)}), "--init w: 1e\\+39 does not fit in float32"),
        ("house", TrainConfig(learning_rate=0.0), "--lr 0.0 must be a positive finite number"),
        ("house", TrainConfig(learning_rate=-1e-3), "--lr -0.001 must be a positive"),
        ("house", TrainConfig(learning_rate=float("inf")), "--lr inf must be a positive finite"),
        ("house", TrainConfig(steps=0), "--steps 0 must be a positive whole number"),
        ("house", TrainConfig(batch_size=0), "--batch-size 0 must be a positive whole number"),
        ("house", TrainConfig(batch_size=17), "--batch-size 17 is larger than the data"),
        ("house", TrainConfig(seed=-1), "--seed -1 is negative"),
        ("noisy-line", TrainConfig(steps=10**9), "--steps 1000000000 with batches of 1000 needs"),
        # 75 GiB: allocatable lazily on many machines, then killed; refused up front instead.
        (
            "noisy-line",
            TrainConfig(steps=10**7),
            r"needs a batch schedule of 74.5 GiB \(at most 4 GiB\)",
        ),
        ("house", TrainConfig(loss="median"), "--loss 'median' is unknown; choose one of: mean"),
        ("house", TrainConfig(optimizer="lbfgs"), "--optimizer 'lbfgs' is unknown"),
        ("linear", TrainConfig(), "trains on your own data: pass --data PATH"),
    ],
)
def test_bad_configuration_is_one_clear_error(name: str, config: TrainConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        prepare(name, config)


@pytest.mark.parametrize(
    "learning_rate",
    [0.01, 1, np.float32(0.01), np.float64(0.01), np.int64(1), fractions.Fraction(1, 100)],
    ids=["float", "int", "np.float32", "np.float64", "np.int64", "Fraction"],
)
def test_the_api_takes_any_real_learning_rate(learning_rate: object) -> None:
    problem = prepare("house", TrainConfig(steps=2, learning_rate=learning_rate))
    assert problem.learning_rate == float(learning_rate)
    assert type(problem.learning_rate) is float


@pytest.mark.parametrize("learning_rate", [True, "0.01", np.float32("nan"), -0.01, 0])
def test_the_api_refuses_a_learning_rate_that_is_not_a_positive_real(learning_rate) -> None:
    with pytest.raises(ConfigError, match=r"--lr .* must be a positive finite number"):
        prepare("house", TrainConfig(steps=2, learning_rate=learning_rate))
