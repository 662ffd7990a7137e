"""The training options every `train` and `compare` command shares, validated by click."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from catalog.errors import ConfigError
from catalog.problem import OPTIMIZERS, TrainConfig, parse_init
from catalog.spec import LOSS_REDUCTIONS


def _init_values(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, tuple[float, ...]]:
    parsed: dict[str, tuple[float, ...]] = {}
    for text in values:
        try:
            name, numbers = parse_init(text)
        except ConfigError as error:
            raise click.BadParameter(str(error).removeprefix("--init "), ctx, param) from None
        parsed[name] = numbers
    return parsed


_POSITIVE_FLOAT = click.FloatRange(min=0.0, min_open=True)

TRAINING_OPTIONS = (
    click.option("--steps", type=click.IntRange(min=1), help="Training steps (model's default)."),
    click.option("--lr", "learning_rate", type=_POSITIVE_FLOAT, help="Learning rate, above 0."),
    click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        help="Minibatch size, drawn with replacement from --seed (default: the model's; "
        "full batch for most).",
    ),
    click.option("--seed", type=click.IntRange(min=0), help="Seed for data noise and batches."),
    click.option(
        "--init",
        multiple=True,
        callback=_init_values,
        metavar="NAME=V[,V...]",
        help="Initial value of a parameter, row-major; one value fills the shape. Repeatable.",
    ),
    click.option(
        "--data",
        "data_path",
        type=click.Path(dir_okay=False),
        help="CSV with a header row, numeric columns, the target last (required for 'linear').",
    ),
    click.option("--loss", type=click.Choice(LOSS_REDUCTIONS), help="Squared-error reduction."),
    click.option(
        "--optimizer",
        type=click.Choice(OPTIMIZERS),
        help="gd: hand-written assign update; sgd: the library optimizer (model's default).",
    ),
    click.option(
        "--strict",
        is_flag=True,
        help="Turn Grappler's rewrites off for graph and tf.function runs.",
    ),
    click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    ),
    click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True),
        help="Also write the JSON document to this file (all or nothing).",
    ),
)


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(TRAINING_OPTIONS):
        command = option(command)
    return command


def train_config(options: dict[str, Any]) -> TrainConfig:
    return TrainConfig(
        steps=options["steps"],
        learning_rate=options["learning_rate"],
        batch_size=options["batch_size"],
        seed=options["seed"],
        init=options["init"],
        data_path=options["data_path"],
        loss=options["loss"],
        optimizer=options["optimizer"],
    )
