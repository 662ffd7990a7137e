"""Optimizer choices: defaults, translation, and bad hyperparameters (Python API and CLI)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from eagermode.cli import main as eagermode
from graphmode.cli import main as graphmode
from tfmigration.catalog.errors import ConfigError
from tfmigration.catalog.optimizers import KERAS_DEFAULTS, OPTIMIZERS, TF1_DEFAULTS, OptimizerChoice
from tfmigration.catalog.problem import TrainConfig, prepare


def _prepare(optimizer: str, **choice: object):
    return prepare(
        "quadratic",
        TrainConfig(steps=3, optimizer=optimizer, optimizer_options=OptimizerChoice(**choice)),
    )


def test_every_optimizer_is_offered() -> None:
    assert OPTIMIZERS == ("gd", "sgd", "momentum", "adam", "rmsprop", "adagrad")


@pytest.mark.parametrize(
    ("model", "expected"), [("quadratic", "gd"), ("house", "gd"), ("noisy-line", "sgd")]
)
def test_model_default_optimizer_is_kept(model: str, expected: str) -> None:
    problem = prepare(model, TrainConfig(steps=2))
    assert problem.optimizer == expected
    assert problem.optimizer_spec.name == expected


# Our hyperparameter names -> each library's, where they differ.
TF1_CLASSES = {
    "momentum": ("MomentumOptimizer", {"nesterov": "use_nesterov"}),
    "adam": ("AdamOptimizer", {}),
    "rmsprop": ("RMSPropOptimizer", {"rho": "decay"}),
    "adagrad": ("AdagradOptimizer", {"initial_accumulator": "initial_accumulator_value"}),
}
KERAS_CLASSES = {
    "momentum": ("SGD", {}),
    "adam": ("Adam", {"beta1": "beta_1", "beta2": "beta_2"}),
    "rmsprop": ("RMSprop", {}),
    "adagrad": ("Adagrad", {"initial_accumulator": "initial_accumulator_value"}),
}


@pytest.mark.parametrize("name", list(TF1_CLASSES))
def test_tf1_defaults_are_the_installed_tf1_optimizers(name: str) -> None:
    """Read from `inspect.signature` of tf.compat.v1.train, not typed a second time."""
    import inspect

    import tensorflow as tf

    class_name, renamed = TF1_CLASSES[name]
    parameters = inspect.signature(getattr(tf.compat.v1.train, class_name).__init__).parameters
    for key, value in TF1_DEFAULTS[name].items():
        if (name, key) == ("momentum", "momentum"):
            # MomentumOptimizer has no default momentum; 0.9 is our stated choice.
            assert parameters["momentum"].default is inspect.Parameter.empty
        elif (name, key) == ("adagrad", "epsilon"):
            # TF1's Adagrad has no epsilon at all; 0.0 stands for "none".
            assert "epsilon" not in parameters and value == 0.0
        else:
            assert parameters[renamed.get(key, key)].default == value, key


@pytest.mark.parametrize("name", list(KERAS_CLASSES))
def test_keras_defaults_are_the_installed_keras_optimizers(name: str) -> None:
    """Read from each Keras optimizer's `get_config()`, built with no arguments."""
    import keras
    import numpy as np

    class_name, renamed = KERAS_CLASSES[name]
    config = getattr(keras.optimizers, class_name)().get_config()
    for key, value in KERAS_DEFAULTS[name].items():
        if (name, key) == ("momentum", "momentum"):
            # Keras's SGD defaults to no momentum; a user renaming MomentumOptimizer(lr, 0.9)
            # carries the 0.9 over, so that is the Keras side's default here.
            assert config["momentum"] == 0.0 and value == 0.9
        else:
            assert np.float32(config[renamed.get(key, key)]) == np.float32(value), key


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "adagrad"])
def test_translated_gives_keras_the_tf1_hyperparameters(optimizer: str) -> None:
    problem = _prepare(optimizer)
    assert problem.keras_optimizer_spec == problem.optimizer_spec
    assert problem.optimizer_spec.formulation == "tf1"
    assert problem.optimizer_spec.epsilon == TF1_DEFAULTS[optimizer]["epsilon"]


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "adagrad"])
def test_each_gives_every_side_its_own_defaults(optimizer: str) -> None:
    problem = _prepare(optimizer, defaults="each")
    assert problem.optimizer_spec.epsilon == TF1_DEFAULTS[optimizer]["epsilon"]
    assert problem.keras_optimizer_spec.epsilon == KERAS_DEFAULTS[optimizer]["epsilon"]
    assert problem.keras_optimizer_spec.formulation == "keras"


def test_keras_defaults_are_carried_to_both_sides() -> None:
    problem = _prepare("adam", defaults="keras")
    assert problem.optimizer_spec.epsilon == problem.keras_optimizer_spec.epsilon == 1e-7


def test_user_hyperparameters_reach_both_sides() -> None:
    problem = _prepare("adam", defaults="each", beta1=0.8, epsilon=1e-6)
    for spec in (problem.optimizer_spec, problem.keras_optimizer_spec):
        assert (spec.beta1, spec.epsilon) == (0.8, 1e-6)


BAD_CHOICES = [
    ("adam", {"beta1": 1.0}, "--beta1 1.0 must be in [0, 1)"),
    ("adam", {"beta2": -0.1}, "--beta2 -0.1 must be in [0, 1)"),
    ("adam", {"epsilon": -1e-8}, "--epsilon -1e-08 must be a finite number >= 0"),
    ("rmsprop", {"rho": 1.5}, "--rho 1.5 must be in [0, 1)"),
    ("momentum", {"momentum": -0.9}, "--momentum -0.9 must be a finite number >= 0"),
    ("adagrad", {"initial_accumulator": 0.0}, "--initial-accumulator 0.0 must be a positive"),
    ("sgd", {"beta1": 0.5}, "--beta1 does not apply to --optimizer sgd"),
    ("gd", {"lr_decay_rate": 0.5, "lr_decay_steps": 10}, "--lr-decay-rate needs a library"),
    ("sgd", {"lr_decay_rate": 0.5}, "--lr-decay-rate and --lr-decay-steps go together"),
    ("sgd", {"lr_decay_rate": -0.5, "lr_decay_steps": 2}, "--lr-decay-rate -0.5 must be"),
    (
        "sgd",
        {"lr_decay_rate": 0.5, "lr_decay_steps": 10**20},
        "must be a positive whole number up to 2147483647",
    ),
    ("adam", {"defaults": "pytorch"}, "--defaults 'pytorch' is unknown"),
    ("adagrad", {"epsilon": 1e-7}, "--epsilon applies to adagrad only with --defaults each"),
]
BAD_IDS = [
    "beta1-one",
    "beta2-negative",
    "epsilon-negative",
    "rho-above-one",
    "momentum-negative",
    "accumulator-zero",
    "beta1-on-sgd",
    "decay-on-gd",
    "decay-without-steps",
    "decay-rate-negative",
    "decay-steps-beyond-int32",
    "defaults-unknown",
    "adagrad-epsilon-translated",
]


@pytest.mark.parametrize(("optimizer", "choice", "message"), BAD_CHOICES, ids=BAD_IDS)
def test_bad_hyperparameters_raise_config_error(optimizer: str, choice: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _prepare(optimizer, **choice)
    assert message in str(raised.value)


def test_unknown_optimizer_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="--optimizer 'adadelta' is unknown; choose one of: gd,"):
        prepare("quadratic", TrainConfig(optimizer="adadelta"))


BAD_ARGUMENTS = [
    (["--optimizer", "adam", "--beta1", "1"], "--beta1 1.0 must be in [0, 1)"),
    (["--optimizer", "adam", "--beta2", "-0.5"], "--beta2 -0.5 must be in [0, 1)"),
    (["--optimizer", "adam", "--epsilon", "-1"], "--epsilon -1.0 must be a finite number >= 0"),
    (["--optimizer", "rmsprop", "--rho", "1"], "--rho 1.0 must be in [0, 1)"),
    (["--optimizer", "momentum", "--momentum", "-1"], "--momentum -1.0 must be"),
    (["--optimizer", "adagrad", "--initial-accumulator", "-1"], "--initial-accumulator -1.0"),
    (["--optimizer", "sgd", "--nesterov"], "--nesterov does not apply to --optimizer sgd"),
]


@pytest.mark.parametrize(
    ("cli", "command"),
    [(graphmode, "train"), (eagermode, "train"), (tfbridge, "compare")],
    ids=["graphmode-train", "eagermode-train", "tfbridge-compare"],
)
@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS, ids=lambda v: str(v))
def test_cli_rejects_bad_hyperparameters(
    cli, command: str, arguments: list[str], message: str, tmp_path
) -> None:
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        cli, [command, "quadratic", "--steps", "2", "--output", str(output), *arguments]
    )
    assert result.exit_code == 2, result.output
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_cli_rejects_unknown_optimizer() -> None:
    result = CliRunner().invoke(graphmode, ["train", "quadratic", "--optimizer", "adadelta"])
    assert result.exit_code == 2
    assert "'adadelta' is not one of" in result.output


def test_adagrad_epsilon_reaches_keras_under_each() -> None:
    problem = _prepare("adagrad", defaults="each", epsilon=1e-3)
    assert problem.keras_optimizer_spec.epsilon == 1e-3
    assert problem.optimizer_spec.epsilon == 0.0


@pytest.mark.parametrize(
    "cli", [graphmode, eagermode, tfbridge], ids=["graphmode", "eagermode", "tfbridge"]
)
def test_cli_train_reports_slots(cli, tmp_path) -> None:
    output = tmp_path / "run.json"
    result = CliRunner().invoke(
        cli,
        ["train", "quadratic", "--optimizer", "adam", "--steps", "3", "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(output.read_text())
    assert sorted(record["slots"]) == ["b/m", "b/v", "w/m", "w/v"]
    assert "WARNING" not in result.output


def test_cli_train_header_names_the_optimizer_each_style_runs() -> None:
    arguments = ["train", "quadratic", "--optimizer", "adam", "--defaults", "each"]
    graph = CliRunner().invoke(graphmode, [*arguments, "--steps", "2"])
    eager = CliRunner().invoke(eagermode, [*arguments, "--steps", "2"])
    assert "adam (beta1 0.9, beta2 0.999, epsilon 1e-08)" in graph.output
    assert "adam (beta1 0.9, beta2 0.999, epsilon 1e-07)" in eager.output


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_problem_built_directly_resolves_the_optimizer_as_prepare_does(optimizer: str) -> None:
    """One place fills in optimizer defaults: `Problem(..., optimizer=...)` and `prepare` agree
    (MomentumOptimizer's momentum was 0.0 one way and 0.9 the other)."""
    import dataclasses

    from tfmigration.catalog.problem import Problem

    prepared = _prepare(optimizer)
    fields = {f.name: getattr(prepared, f.name) for f in dataclasses.fields(Problem)}
    direct = Problem(**{**fields, "optimizer_spec": None, "keras_optimizer_spec": None})
    assert direct.optimizer_spec == prepared.optimizer_spec
    assert direct.keras_optimizer_spec == prepared.keras_optimizer_spec
