"""The training options every `train` and `compare` command shares, validated by click."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tfmigration.catalog.errors import ConfigError
from tfmigration.catalog.optimizers import DEFAULTS_MODES, OPTIMIZERS, OptimizerChoice
from tfmigration.catalog.problem import MAX_SEED, MAX_STEPS, TrainConfig, parse_init
from tfmigration.catalog.spec import LOSS_REDUCTIONS
from tfmigration.cluster import DEFAULT_TIMEOUT_SECONDS
from tfmigration.distributed import MAX_REPLICAS
from tfmigration.execution import VARIABLE_KINDS, RunSettings


def _init_values(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, tuple[float, ...]]:
    parsed: dict[str, tuple[float, ...]] = {}
    for text in values:
        try:
            name, numbers = parse_init(text)
        except ConfigError as error:
            raise click.BadParameter(str(error).removeprefix("--init "), ctx, param) from None
        if name in parsed:
            raise click.BadParameter(f"{text!r}: parameter {name!r} is given twice", ctx, param)
        parsed[name] = numbers
    return parsed


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # Checked before training so a long run never ends in a file that cannot be written.
    if value == "":
        raise click.BadParameter("empty file name; name the file to write", ctx, param)
    if value is not None:
        if Path(value).is_symlink():
            # Written through a temporary file and a rename, the link itself would be replaced
            # by a plain file and its target left stale; better to say so than do it silently.
            raise click.BadParameter(
                f"{value} is a symbolic link; name the file itself", ctx, param
            )
        parent = Path(value).parent
        if not parent.is_dir():
            raise click.BadParameter(
                f"directory {str(parent)!r} does not exist; create it or name another file",
                ctx,
                param,
            )
    return value


_POSITIVE_FLOAT = click.FloatRange(min=0.0, min_open=True)


def _ports(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of port numbers", ctx, param
        ) from None


TRAINING_OPTIONS = (
    # Fused loops count steps in int32; NumPy's legacy seeding takes 32-bit seeds.
    click.option(
        "--steps",
        type=click.IntRange(min=1, max=MAX_STEPS),
        help="Training steps (model's default).",
    ),
    click.option("--lr", "learning_rate", type=_POSITIVE_FLOAT, help="Learning rate, above 0."),
    click.option(
        "--batch-size",
        type=click.IntRange(min=1),
        help="Minibatch size, drawn with replacement from --seed (default: the model's; "
        "full batch for most).",
    ),
    click.option(
        "--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Seed for data noise and batches."
    ),
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
        help="gd: hand-written assign update; sgd, momentum, adam, rmsprop, adagrad: TF1's "
        "tf.compat.v1.train optimizer in graph style, Keras's in eager and tf.function "
        "(model's default: gd, or sgd for noisy-line).",
    ),
    click.option(
        "--defaults",
        type=click.Choice(DEFAULTS_MODES),
        default="translated",
        show_default=True,
        help="translated/tf1: TF1's defaults, Keras made to compute TF1's update; keras: Keras's "
        "defaults on both sides; each: every side its own library's defaults and formulas "
        "(what renaming the class gives; compare then reports the real difference).",
    ),
    # Plain floats, validated in tfmigration.catalog.optimizers: the Python API and the CLI agree.
    click.option("--momentum", type=float, help="momentum, rmsprop: momentum (>= 0)."),
    click.option("--nesterov", is_flag=True, help="momentum: Nesterov momentum."),
    click.option("--beta1", type=float, help="adam: beta1 (Keras beta_1), in [0, 1)."),
    click.option("--beta2", type=float, help="adam: beta2 (Keras beta_2), in [0, 1)."),
    click.option("--epsilon", type=float, help="adam, rmsprop (Keras-side adagrad): >= 0."),
    click.option("--rho", type=float, help="rmsprop: decay (TF1) / rho (Keras), in [0, 1)."),
    click.option(
        "--initial-accumulator", type=float, help="adagrad: initial accumulator value, > 0."
    ),
    click.option(
        "--lr-decay-rate",
        type=float,
        help="Exponential lr decay: TF1 exponential_decay(global_step) / Keras ExponentialDecay.",
    ),
    click.option("--lr-decay-steps", type=int, help="Steps per lr decay by --lr-decay-rate."),
    click.option("--staircase", is_flag=True, help="Decay the lr in whole steps of N steps."),
    click.option(
        "--strict",
        is_flag=True,
        help="Turn Grappler's rewrites off for graph and tf.function runs, and oneDNN's CPU "
        "kernels off (TF_ENABLE_ONEDNN_OPTS=0, set before TensorFlow is imported).",
    ),
    click.option(
        "--steps-per-call",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Run K steps per Session.run (graph: tf.while_loop) or per tf.function call, "
        "batches taken inside TensorFlow. Eager style refuses K > 1 (compare runs it per step).",
    ),
    click.option(
        "--jit-compile",
        is_flag=True,
        help="Compile tf.function style with XLA (tfbridge only).",
    ),
    click.option(
        "--replicas",
        type=click.IntRange(min=1, max=MAX_REPLICAS),
        default=1,
        show_default=True,
        help="Train data-parallel over N replicas: graph style runs TF1 between-graph "
        "replication (1 parameter server + N worker processes on 127.0.0.1, "
        "SyncReplicasOptimizer, MonitoredTrainingSession); eager and tf.function style "
        "MirroredStrategy over N logical CPUs (or --multi-worker).",
    ),
    click.option(
        "--ports",
        callback=_ports,
        metavar="P1,P2,...",
        help="Ports on 127.0.0.1 for the processes a replicated run starts (graph: the "
        "parameter server, then the workers; --multi-worker: the workers). Default: free ports "
        "found by binding port 0.",
    ),
    click.option(
        "--cluster-timeout",
        type=click.FloatRange(min=1),
        default=DEFAULT_TIMEOUT_SECONDS,
        show_default=True,
        help="Seconds after which every process of a replicated run is stopped, and the run "
        "fails naming the tasks that had not finished.",
    ),
    click.option(
        "--asynchronous",
        is_flag=True,
        help="Asynchronous training (ParameterServerStrategy, TF1 without SyncReplicasOptimizer): "
        "always refused, with the reason; it cannot be compared step by step.",
    ),
    click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    ),
    click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True),
        callback=output_path,
        help="Also write the JSON document to this file (all or nothing).",
    ),
)


multi_worker_option = click.option(
    "--multi-worker",
    is_flag=True,
    help="With --replicas N: run eager and tf.function style as MultiWorkerMirroredStrategy, "
    "one process per worker on 127.0.0.1 (TF_CONFIG), instead of N logical CPUs in one process.",
)


variables_option = click.option(
    "--variables",
    type=click.Choice(VARIABLE_KINDS),
    default="ref",
    show_default=True,
    help="Graph style's variables: ref (RefVariables, what TF1 made) or resource (TF2's).",
)


def _plot_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.lower().endswith(".png"):
        raise click.BadParameter(f"{value!r} does not end in .png; name a PNG file", ctx, param)
    return output_path(ctx, param, value)


plot_option = click.option(
    "--plot",
    type=click.Path(dir_okay=False, writable=True),
    callback=_plot_path,
    metavar="FILE.png",
    help="Draw each model's loss curves (every style and the oracle) and each style's ULPs "
    "from graph per step, the noise floor as a band, into this PNG.",
)


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(TRAINING_OPTIONS):
        command = option(command)
    return command


def run_settings(options: dict[str, Any]) -> RunSettings:
    """How to run (not what to train), from a `train` or `compare` command's options: the one
    value every style's `train` reads. --variables exists in graph style's commands and compare
    only, --multi-worker everywhere else; a missing option is the setting's default."""
    return RunSettings(
        strict=options["strict"],
        steps_per_call=options["steps_per_call"],
        jit_compile=options["jit_compile"],
        variables=options.get("variables"),
        replicas=options["replicas"],
        multi_worker=options.get("multi_worker", False),
        ports=options["ports"],
        cluster_timeout=options["cluster_timeout"],
    )


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
        optimizer_options=OptimizerChoice(
            defaults=options["defaults"],
            momentum=options["momentum"],
            nesterov=options["nesterov"] or None,
            beta1=options["beta1"],
            beta2=options["beta2"],
            epsilon=options["epsilon"],
            rho=options["rho"],
            initial_accumulator=options["initial_accumulator"],
            lr_decay_rate=options["lr_decay_rate"],
            lr_decay_steps=options["lr_decay_steps"],
            staircase=options["staircase"],
        ),
    )
