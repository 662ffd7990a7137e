"""Fused loops (K steps a call) and XLA: same batches, same numbers, measured honestly."""

from __future__ import annotations

import numpy as np
import pytest

import tfmigration.training.in_graph_batches
from bridge.function.engine import FunctionEngine
from bridge.function.train import run_engine
from bridge.function.train import train as train_function
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.execution import RunSettings
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS, measure
from tfmigration.measure.oracle_check import problem_bound
from tfmigration.oracle import train as train_oracle


def assert_same_run(actual, expected) -> None:
    np.testing.assert_array_equal(actual.losses, expected.losses)
    assert actual.final_loss == expected.final_loss
    for name, value in expected.final_params.items():
        np.testing.assert_array_equal(actual.final_params[name], value)


@pytest.mark.parametrize("model", ["quadratic", "noisy-line", "house-multi"])
@pytest.mark.parametrize("steps_per_call", [7, 60])
def test_fused_function_steps_are_bit_for_bit_single_steps_in_strict_mode(
    model: str, steps_per_call: int
) -> None:
    problem = prepare(model, TrainConfig(steps=60))
    single = train_function(problem, RunSettings(strict=True))
    engine = FunctionEngine(problem, steps_per_call=steps_per_call)
    fused = run_engine(problem, engine, RunSettings(strict=True))
    assert_same_run(fused, single)
    assert engine.tracing_count == 1  # 60 = 8 * 7 + 4: the shorter last call does not retrace


def test_fused_batches_gathered_per_step_match_pregathered_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = prepare("noisy-line", TrainConfig(steps=30))
    pregathered = train_function(problem, RunSettings(strict=True, steps_per_call=30))
    monkeypatch.setattr(tfmigration.training.in_graph_batches, "PREGATHER_BUDGET_BYTES", 0)
    engine = FunctionEngine(problem, steps_per_call=30)
    assert not engine._batches.pregathered
    assert_same_run(run_engine(problem, engine, RunSettings(strict=True)), pregathered)


class Recorder:
    log_every = 10

    def __init__(self) -> None:
        self.logged: list[int] = []
        self.stepped: list[int] = []

    def on_step(self, step: int, loss: float) -> None:
        self.stepped.append(step)

    def on_log(self, step: int, loss: float, params: dict) -> None:
        self.logged.append(step)


def test_fused_runs_still_log_every_nth_step_and_report_each_step() -> None:
    problem = prepare("quadratic", TrainConfig(steps=35))
    recorder = Recorder()
    train_function(problem, RunSettings(steps_per_call=16), recorder)
    assert recorder.logged == [0, 10, 20, 30]
    assert recorder.stepped == list(range(35))


@pytest.mark.parametrize("style", ["graph", "function"])
def test_steps_per_call_beyond_the_run_is_capped_at_its_steps(style: str) -> None:
    # Uncapped, the loop's TensorArray held K entries: --steps 3 --steps-per-call 100000000 took
    # 13 GB and 50 s.
    from bridge.styles import engine_class

    problem = prepare("house", TrainConfig(steps=3))
    engine = engine_class(style)(problem, steps_per_call=10**9)
    assert engine.steps_per_call == 3


def test_a_divergence_inside_a_fused_call_names_its_own_step() -> None:
    from tfmigration.training import TrainingDiverged

    problem = prepare("house", TrainConfig(learning_rate=0.01, steps=50))
    with pytest.raises(TrainingDiverged, match="at step 9;"):
        train_function(problem, RunSettings(steps_per_call=50))


def test_a_divergence_inside_a_fused_call_still_reports_the_steps_before_it() -> None:
    from tfmigration.training import TrainingDiverged

    problem = prepare("house", TrainConfig(learning_rate=0.01, steps=50))
    stepped, fused = Recorder(), Recorder()
    for recorder, steps_per_call in ((stepped, 1), (fused, 50)):
        with pytest.raises(TrainingDiverged):
            train_function(problem, RunSettings(steps_per_call=steps_per_call), recorder)
    assert (
        (fused.logged, fused.stepped) == (stepped.logged, stepped.stepped) == ([0], list(range(9)))
    )


@pytest.mark.parametrize("steps_per_call", [1, 40])
def test_xla_is_measured_in_ulps_and_stays_close_to_the_oracle(steps_per_call: int) -> None:
    problem = prepare("quadratic", TrainConfig(steps=40))
    reference = train_function(problem, RunSettings(strict=True))
    xla = train_function(problem, RunSettings(steps_per_call=steps_per_call, jit_compile=True))
    result = measure(xla, reference, train_oracle(problem), oracle_bound=problem_bound(problem))
    # XLA reorders the reductions: a few ULPs, within the default tolerance.
    assert result.max_loss_ulps <= DEFAULT_TOLERANCE_ULPS
    assert result.oracle.within, result.oracle


@pytest.mark.parametrize(
    ("model", "optimizer", "decay"),
    [
        ("quadratic", "gd", False),
        ("noisy-line", "sgd", False),
        ("house-multi", "gd", False),
        ("quadratic", "momentum", True),
        ("quadratic", "adam", True),
        ("noisy-line", "rmsprop", False),
        ("house", "adagrad", False),
    ],
    ids=lambda value: str(value),
)
def test_fused_graph_and_function_loops_match_the_tf1_step_by_step_run(
    model: str, optimizer: str, decay: bool
) -> None:
    from graphmode.train import train as train_graph
    from tfmigration.catalog.optimizers import OptimizerChoice

    choice = OptimizerChoice(lr_decay_rate=0.5, lr_decay_steps=10) if decay else OptimizerChoice()
    config = TrainConfig(steps=40, optimizer=optimizer, optimizer_options=choice)
    problem = prepare(model, config)
    reference = train_graph(problem, RunSettings(strict=True))
    graph_fused = train_graph(problem, RunSettings(strict=True, steps_per_call=16))
    function_fused = train_function(problem, RunSettings(strict=True, steps_per_call=16))
    for fused in (graph_fused, function_fused):
        assert_same_run(fused, reference)
        for name, value in reference.final_slots.items():
            np.testing.assert_array_equal(fused.final_slots[name], value)


def test_compare_fused_in_strict_mode_is_identical_across_styles() -> None:
    from bridge.compare import compare_problem

    problem = prepare("noisy-line", TrainConfig(steps=50))
    comparison = compare_problem(problem, RunSettings(strict=True, steps_per_call=50))
    assert comparison.verdict == "identical"
    assert comparison.steps_per_call == 50


@pytest.mark.parametrize(
    ("cli", "args", "message"),
    [
        ("eagermode", ["--steps-per-call", "4"], "--steps-per-call 4: eager style runs one step"),
        ("eagermode", ["--jit-compile"], "--jit-compile: eager style cannot use XLA"),
        ("graphmode", ["--jit-compile"], "--jit-compile: graph style cannot use XLA"),
    ],
)
def test_styles_refuse_execution_options_they_cannot_honour(
    tmp_path, cli: str, args: list[str], message: str
) -> None:
    import importlib

    from click.testing import CliRunner

    main = importlib.import_module(f"{cli}.cli").main
    output = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["train", "house", *args, "--output", str(output)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}")
    assert result.output.count("\n") == 1
    assert not output.exists()


def test_cli_fused_xla_run_reports_its_settings() -> None:
    import json

    from click.testing import CliRunner

    from bridge.cli import main

    args = ["compare", "quadratic", "--steps", "30", "--steps-per-call", "30", "--jit-compile"]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert {r["steps_per_call"] for r in records} == {30}
    assert {r["jit_compile"] for r in records} == {True}
    assert records[0]["verdict"] in ("identical", "equivalent")
