"""Behaviour each execution style must have, whatever the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from bridge.function.engine import FunctionEngine
from bridge.function.train import run_engine
from bridge.function.train import train as train_function
from bridge.styles import runner
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.execution import RunSettings
from tfmigration.training import TrainingDiverged


class Recorder:
    def __init__(self, log_every: int) -> None:
        self.log_every = log_every
        self.steps: list[int] = []
        self.logs: list[tuple[int, float, dict]] = []

    def on_step(self, step: int, loss: float) -> None:
        self.steps.append(step)

    def on_log(self, step: int, loss: float, params: dict) -> None:
        self.logs.append((step, loss, params))


def test_the_fetched_loss_is_the_loss_before_the_update(style: str) -> None:
    problem = prepare("quadratic", TrainConfig(steps=3))
    trajectory = runner(style)(problem)
    from tfmigration.oracle.models import squared_error

    w, b = problem.initial_params["w"], problem.initial_params["b"]
    expected = squared_error("mean", problem.targets, w * problem.features**2 + b)
    assert trajectory.losses[0] == pytest.approx(expected, rel=1e-6)
    assert trajectory.losses[0] > trajectory.losses[1] > trajectory.losses[2]


def test_observer_sees_every_step_and_parameters_before_each_logged_step(style: str) -> None:
    problem = prepare("house", TrainConfig(steps=7))
    recorder = Recorder(log_every=3)
    trajectory = runner(style)(problem, observer=recorder)
    assert recorder.steps == list(range(7))
    assert [step for step, _, _ in recorder.logs] == [0, 3, 6]
    first_params = recorder.logs[0][2]
    assert first_params["w"] == problem.initial_params["w"]
    assert recorder.logs[1][1] == trajectory.losses[3]


def test_a_diverging_loss_stops_at_the_same_step_in_every_style(style: str) -> None:
    problem = prepare("house", TrainConfig(learning_rate=0.01, steps=200))
    with pytest.raises(TrainingDiverged) as caught:
        runner(style)(problem)
    assert caught.value.step == 9
    assert "the loss became inf at step 9; training stopped there" in str(caught.value)
    assert "Try a smaller learning rate than --lr 0.01" in str(caught.value)


def test_a_loss_not_finite_before_any_update_does_not_blame_the_learning_rate(style: str) -> None:
    problem = prepare("house", TrainConfig(init={"w": (1e30,)}, steps=3))
    with pytest.raises(TrainingDiverged) as caught:
        runner(style)(problem)
    assert str(caught.value) == (
        "the loss is inf at the initial parameters (step 0), before any update: "
        "check --init and the data"
    )


def test_a_final_loss_that_is_not_finite_is_not_called_a_step_of_the_run(style: str) -> None:
    problem = prepare("house", TrainConfig(learning_rate=0.01, steps=9))  # step 9 is inf
    with pytest.raises(TrainingDiverged) as caught:
        runner(style)(problem)
    assert str(caught.value) == (
        "the final loss, after all 9 steps, is inf. Try a smaller learning rate than --lr 0.01"
    )


@pytest.mark.parametrize("model", ["noisy-line", "quadratic"])
def test_the_function_step_is_traced_once_per_run(model: str) -> None:
    problem = prepare(model, TrainConfig(steps=25))
    engine = FunctionEngine(problem)
    run_engine(problem, engine)
    assert engine.tracing_count == 1


def test_strict_function_runs_restore_grapplers_options() -> None:
    before = tf.config.optimizer.get_experimental_options()
    train_function(prepare("house", TrainConfig(steps=2)), RunSettings(strict=True))
    assert tf.config.optimizer.get_experimental_options() == before


def test_graph_style_leaves_eager_execution_on() -> None:
    runner("graph")(prepare("house", TrainConfig(steps=2)))
    assert tf.executing_eagerly()


@pytest.mark.parametrize("loss", ["mean", "half-mean", "sum", "half-sum"])
def test_linear_on_user_data_matches_the_oracle_for_every_loss_reduction(
    tmp_path: Path, style: str, loss: str
) -> None:
    path = tmp_path / "data.csv"
    rows = np.random.RandomState(0).rand(40, 3)
    target = rows @ [1.5, -2.0, 0.5] + 3.0
    np.savetxt(path, np.column_stack([rows, target]), delimiter=",", header="a,b,c,y", comments="")
    lr = 0.001 if loss.endswith("sum") else 0.05
    config = TrainConfig(data_path=str(path), loss=loss, steps=60, learning_rate=lr, batch_size=8)
    problem = prepare("linear", config)
    from tfmigration.measure.comparison import measure
    from tfmigration.measure.oracle_check import problem_bound
    from tfmigration.oracle import train as train_oracle
    from tfmigration.oracle.models import squared_error

    oracle = train_oracle(problem)
    trajectory = runner(style)(problem)
    result = measure(trajectory, trajectory, oracle, oracle_bound=problem_bound(problem))
    assert result.oracle.within, result.oracle
    initial_loss = squared_error(loss, problem.targets, np.zeros_like(problem.targets))
    assert trajectory.final_loss < initial_loss / 2


@given(st.integers(1, 400), st.integers(1, 64), st.integers(0, 50))
def test_calls_cover_every_step_once_and_start_where_they_must(
    steps: int, steps_per_call: int, log_every: int
) -> None:
    from tfmigration.training.driver import _chunks

    calls = list(_chunks(steps, steps_per_call, log_every))
    starts = [first for first, _ in calls]
    assert [first + count for first, count in calls] == [*starts[1:], steps]  # contiguous
    assert all(1 <= count <= steps_per_call for _, count in calls)
    must_start = set(range(0, steps, steps_per_call))
    if log_every:
        must_start |= set(range(0, steps, log_every))
    assert starts == sorted(must_start)


def test_calls_are_planned_lazily_for_long_runs() -> None:
    from tfmigration.training.driver import _chunks

    assert next(iter(_chunks(2**31 - 1, 1, 0))) == (0, 1)  # no list of two billion steps


REFUSED_SETTINGS = [
    (
        "eager",
        RunSettings(steps_per_call=4),
        "--steps-per-call 4: eager style runs one step per Python call; fused steps need graph "
        "style (graphmode) or tf.function style (tfbridge)",
    ),
    (
        "graph",
        RunSettings(jit_compile=True),
        "--jit-compile: graph style cannot use XLA; it is for tf.function style (tfbridge train)",
    ),
    (
        "eager",
        RunSettings(variables="ref"),
        "--variables ref: eager style makes TF2's resource variables only; RefVariables are "
        "graph style's (graphmode, tfbridge compare)",
    ),
    (
        "function",
        RunSettings(variables="shared"),
        "--variables shared: not a kind of variable; use one of ref, resource",
    ),
    (
        "graph",
        RunSettings(replicas=2, multi_worker=True),
        "--multi-worker: graph style with --replicas already runs a process per task (TF1 "
        "between-graph replication); --multi-worker is for eager and tf.function style",
    ),
    (
        "eager",
        RunSettings(ports=(2222,)),
        "--ports names the ports of a local cluster's processes, and this run starts none: use "
        "it with --replicas 2 or more in graph style, or with --multi-worker",
    ),
]


@pytest.mark.parametrize(
    ("refusing", "settings", "message"),
    REFUSED_SETTINGS,
    ids=[f"{style}-{i}" for i, (style, _, _) in enumerate(REFUSED_SETTINGS)],
)
def test_a_style_refuses_a_setting_it_cannot_honour_in_one_line(
    refusing: str, settings: RunSettings, message: str
) -> None:
    from tfmigration.catalog.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        runner(refusing)(prepare("quadratic", TrainConfig(steps=2)), settings)
    assert str(caught.value) == message


def test_every_style_honours_the_default_settings_and_resource_variables(style: str) -> None:
    problem = prepare("quadratic", TrainConfig(steps=3))
    default = runner(style)(problem)
    resource = runner(style)(problem, RunSettings(variables="resource"))
    np.testing.assert_array_equal(default.losses, resource.losses)
