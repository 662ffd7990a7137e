"""The three styles against each other (ULPs) and against the NumPy oracle, on every catalog model.

The full tutorial runs are trained once per module in strict mode (Grappler off), where every
model must come out bit for bit identical in graph, eager and tf.function.
"""

from __future__ import annotations

import numpy as np
import pytest

from bridge.compare import compare_problem
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.execution import RunSettings
from tfmigration.measure.comparison import Comparison
from tfmigration.measure.oracle_check import problem_bound

pytestmark = pytest.mark.slow  # the full tutorial runs, trained once per module

BUILTIN_MODELS = ["house", "house-multi", "noisy-line", "quadratic"]


@pytest.fixture(scope="module")
def strict_runs() -> dict[str, Comparison]:
    return {
        name: compare_problem(prepare(name), RunSettings(strict=True)) for name in BUILTIN_MODELS
    }


@pytest.mark.parametrize("model", BUILTIN_MODELS)
def test_strict_mode_is_bit_for_bit_identical_every_step(
    strict_runs: dict[str, Comparison], model: str
) -> None:
    comparison = strict_runs[model]
    assert comparison.verdict == "identical"
    graph = comparison.results[0].trajectory
    for result in comparison.results[1:]:
        np.testing.assert_array_equal(result.trajectory.losses, graph.losses)
        for name, value in graph.final_params.items():
            np.testing.assert_array_equal(result.trajectory.final_params[name], value)
        assert result.max_loss_ulps == result.max_param_ulps == 0
        assert result.first_divergent_step is None


@pytest.mark.parametrize("model", BUILTIN_MODELS)
def test_every_style_agrees_with_the_numpy_oracle(
    strict_runs: dict[str, Comparison], model: str, style: str
) -> None:
    comparison = strict_runs[model]
    result = next(r for r in comparison.results if r.mode == style)
    # Every loss and parameter element within the bound the catalog states for the model, not
    # widened: the tutorial runs are insensitive to a one-ULP nudge.
    assert result.oracle.within, result.oracle
    assert result.oracle.bound == problem_bound(prepare(model))
    assert result.trajectory.steps == comparison.oracle.steps


def test_house_lands_where_the_catalog_says(strict_runs: dict[str, Comparison]) -> None:
    graph = strict_runs["house"].results[0].trajectory
    assert graph.losses[0] > 1000  # from thousands ...
    assert 88.5 < graph.losses[10] < 90  # ... to about 89 within 10 steps
    assert graph.final_params["b"] == pytest.approx(-1.1628988, abs=0.05)  # b barely moves
    assert 0.9 < graph.final_params["w"] < 1.0  # towards the least-squares 0.8946


def test_house_multi_moves_towards_least_squares(strict_runs: dict[str, Comparison]) -> None:
    # docs/catalog.md: the least-squares W ~ [11.967, 0.535, 14.332] is in raw units (per m2, per
    # room); the model trains on min-max scaled features, so its W is mapped back to compare.
    from tfmigration.catalog.models import HOUSE_AREA, HOUSE_PRICE, HOUSE_ROOMS

    area, rooms = np.array(HOUSE_AREA), np.array(HOUSE_ROOMS, dtype=float)
    raw_design = np.column_stack([np.ones(16), area, rooms])
    solution, *_ = np.linalg.lstsq(raw_design, np.array(HOUSE_PRICE), rcond=None)
    np.testing.assert_allclose(solution, [11.967, 0.535, 14.332], atol=1e-3)

    def in_raw_units(scaled: np.ndarray) -> np.ndarray:
        bias, w_area, w_rooms = scaled.ravel()
        area_span, rooms_span = np.ptp(area), np.ptp(rooms)
        return np.array(
            [
                bias - w_area * area.min() / area_span - w_rooms * rooms.min() / rooms_span,
                w_area / area_span,
                w_rooms / rooms_span,
            ]
        )

    graph = strict_runs["house-multi"].results[0].trajectory
    start = prepare("house-multi").initial_params["W"]
    assert np.all(np.diff(graph.losses) < 0)  # gradient descent at lr 1e-3: every step helps
    distance_before = np.linalg.norm(in_raw_units(start) - solution)
    distance_after = np.linalg.norm(in_raw_units(graph.final_params["W"]) - solution)
    assert distance_after < distance_before / 3  # measured: 18.3 -> 5.5


def test_noisy_line_lands_where_the_catalog_says(strict_runs: dict[str, Comparison]) -> None:
    graph = strict_runs["noisy-line"].results[0].trajectory
    assert graph.final_params["w"] == pytest.approx(2.5, abs=0.05)
    assert graph.final_params["b"] == pytest.approx(14.9, abs=0.1)


def test_quadratic_lands_where_the_catalog_says(strict_runs: dict[str, Comparison]) -> None:
    graph = strict_runs["quadratic"].results[0].trajectory
    assert graph.losses[0] == pytest.approx(10.0, abs=0.05)
    assert graph.final_loss == pytest.approx(0.0038, abs=0.0001)
    assert graph.final_params["w"][0] == pytest.approx(2.92, abs=0.01)
    assert graph.final_params["b"][0] == pytest.approx(2.12, abs=0.01)


@pytest.mark.parametrize("model", BUILTIN_MODELS)
def test_default_mode_is_measured_and_within_tolerance(model: str) -> None:
    # With Grappler on, tf.function and graph may be rewritten; the report must show whatever
    # that costs in ULPs, and the styles must stay within the default tolerance.
    steps = {"noisy-line": 300}.get(model)
    comparison = compare_problem(
        prepare(model, TrainConfig(steps=steps)), RunSettings(strict=False)
    )
    assert comparison.verdict in ("identical", "equivalent")
    for result in comparison.results:
        if result.max_loss_ulps or result.max_param_ulps:
            assert result.first_divergent_step is not None


def test_a_real_difference_is_reported_as_different() -> None:
    # Two runs that genuinely differ (another learning rate) must not pass as equivalent.
    problem = prepare("quadratic", TrainConfig(steps=30))
    other = prepare("quadratic", TrainConfig(steps=30, learning_rate=0.0101))
    from graphmode.train import train as train_graph
    from tfmigration.measure.comparison import measure
    from tfmigration.oracle import train as train_oracle

    reference = train_graph(problem)
    result = measure(train_graph(other), reference, train_oracle(problem))
    comparison = Comparison("quadratic", False, 64, (result,), train_oracle(problem))
    assert result.first_divergent_step == 1  # step 0's loss is computed before any update
    assert result.max_loss_ulps > 64
    assert comparison.verdict == "different"
