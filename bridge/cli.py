"""The `tfbridge` command line: the catalog under tf.function, and the three-style comparison."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import click

from bridge.compare import DEFAULT_TOLERANCE_ULPS, compare_problem
from bridge.function.style import FUNCTION
from bridge.styles import REGISTRY
from tfmigration.catalog.demos import DEMOS
from tfmigration.catalog.errors import ConfigError, UserError
from tfmigration.catalog.models import MODELS
from tfmigration.catalog.problem import MAX_SEED, MAX_STEPS, prepare
from tfmigration.cli.commands import (
    add_common_commands,
    ask_for_replica_devices,
    doing,
    prepare_replicas,
    reports_user_errors,
    save_json,
)
from tfmigration.cli.grad_commands import add_differences_command, add_grad_command
from tfmigration.cli.options import (
    multi_worker_option,
    output_path,
    plot_option,
    run_settings,
    train_config,
    training_options,
    variables_option,
)
from tfmigration.devices import ensure_logical_cpus
from tfmigration.distributed import MAX_REPLICAS
from tfmigration.measure.report import (
    NOISE_FLOOR_NOTE,
    comparison_records,
    render_one_device,
    render_replication,
    render_table,
)
from tfmigration.quiet import import_tensorflow_quietly
from tfmigration.serialize import to_json


@contextlib.contextmanager
def running_user_code(file: str) -> Iterator[None]:
    """Around a run of the user's migration file: what it prints goes to standard error, so
    --json's standard output holds only the JSON; `os._exit` is refused; and an exit that
    slipped past `call_user` is still the file's contract error (exit 2), never our status 0."""
    from tfmigration.migration.contract import ContractError, exit_message, no_process_exit

    try:
        with contextlib.redirect_stdout(sys.stderr), no_process_exit():
            yield
    except SystemExit as error:
        raise ContractError(exit_message(file, "its code", error)) from None


@click.group()
def main() -> None:
    """Run the model catalog under tf.function, and compare graph, eager and tf.function."""


add_common_commands(main, FUNCTION)


def save_plot(comparisons: list, path: str) -> None:
    """Draw the comparisons into the --plot file; an unwritable file is exit 1, one line."""
    from tfmigration.measure.plot import comparison_panel

    draw(path, [comparison_panel(comparison) for comparison in comparisons])


def draw(path: str, panels: list) -> None:
    from tfmigration.measure.plot import draw_panels

    try:
        draw_panels(path, panels)
    except OSError as error:
        raise UserError(f"cannot write --plot {path}: {error.strerror or error}") from None


def tensorboard_option(command: Any) -> Any:
    return click.option(
        "--tensorboard",
        type=click.Path(file_okay=False),
        help="Also write TensorBoard event files to this directory: each style's loss and its "
        "distance from TF1 per step with the noise floor (check: and per-layer differences).",
    )(command)


def save_tensorboard(write: Any, subject: Any, directory: str) -> None:
    """Write the --tensorboard runs; a directory that cannot be written is exit 1, one line."""
    import tensorflow as tf

    try:
        write(subject, directory)
    except (OSError, tf.errors.OpError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "message", None) or error
        raise UserError(f"cannot write --tensorboard {directory}: {reason}") from None


add_grad_command(main, FUNCTION)
add_differences_command(main, tuple(REGISTRY.values()))


@main.command("compare")
@click.argument("models", nargs=-1, type=click.Choice([*MODELS, *DEMOS]))
@click.option(
    "--all", "all_models", is_flag=True, help="Every model with built-in data, and every demo."
)
@click.option(
    "--tolerance-ulps",
    type=click.IntRange(min=0),
    default=DEFAULT_TOLERANCE_ULPS,
    show_default=True,
    help="Largest ULP distance still called 'equivalent'.",
)
@training_options
@variables_option
@multi_worker_option
@plot_option
@tensorboard_option
@reports_user_errors
def compare(
    models: tuple[str, ...],
    all_models: bool,
    tolerance_ulps: int,
    plot: str | None,
    tensorboard: str | None,
    **options: Any,
) -> None:
    """Train MODELS in graph, eager and tf.function style and measure how far they agree.

    Graph style (the TF1 original) is the reference; it runs once more from initial values
    nudged by one ULP, to measure how far rounding alone carries it (the noise floor). A model
    is 'identical' (0 ULPs), 'equivalent' (within --tolerance-ulps or within the noise floor)
    or 'different' (beyond both, or any style beyond its bound against the float64 oracle).
    Exit status 0 when every model is 'identical' or 'equivalent', 1 otherwise.

    MODELS may also name autodiff demos (see `grad`): each demo's quantities are measured the
    same way (ULPs from graph over every quantity, oracle relative error, same verdicts). The
    training options (--steps, --lr, --batch-size, --seed, --init, --data, --loss, --optimizer)
    do not apply to demos and are ignored for them.
    """
    names = list(models)
    if all_models:
        names += [name for name, model in MODELS.items() if model.builtin_table is not None]
        names += list(DEMOS)
    names = list(dict.fromkeys(names))
    if not names:
        raise ConfigError("name one or more models or demos, or pass --all")
    config = train_config(options)
    problems = [prepare(name, config) for name in names if name in MODELS]
    for problem in problems:
        prepare_replicas(problem, options, None)
    demos = [name for name in names if name in DEMOS]
    if plot is not None and not problems:
        raise ConfigError(
            f"--plot {plot}: only training models have loss curves to draw; name a model "
            f"({', '.join(MODELS)}), not only demos"
        )
    import_tensorflow_quietly(onednn=not options["strict"])
    ask_for_replica_devices(options["replicas"])
    from bridge.grad_compare import compare_demo
    from tfmigration.measure.demo_comparison import demo_records, render_demo_table

    comparisons = []
    for problem in problems:
        if not options["as_json"]:
            click.echo(f"comparing {problem.model.name} ...", err=True)
        comparisons.append(
            compare_problem(problem, run_settings(options), tolerance_ulps=tolerance_ulps)
        )
    demo_comparisons = []
    for demo in demos:
        if not options["as_json"]:
            click.echo(f"comparing {demo} ...", err=True)
        demo_comparisons.append(
            compare_demo(demo, strict=options["strict"], tolerance_ulps=tolerance_ulps)
        )
    records = comparison_records(comparisons) + demo_records(demo_comparisons)
    if plot is not None:
        save_plot(comparisons, plot)
    if tensorboard is not None:
        from bridge.tensorboard import write_comparisons

        save_tensorboard(write_comparisons, comparisons, tensorboard)
    save_json(records, options["output"])
    if options["as_json"]:
        click.echo(to_json(records))
    else:
        mode = "strict (Grappler off)" if options["strict"] else "default (Grappler on)"
        if options["replicas"] > 1:
            click.echo(
                f"{options['replicas']} replicas, every style against the split-batch reference "
                f"(the same shards, gradients summed in replica order, one Session), {mode}:"
            )
            click.echo(render_replication(comparisons), nl=False)
        else:
            click.echo(f"eager and tf.function against graph (the TF1 original), {mode}:")
        if options["defaults"] == "each" and comparisons:
            click.echo(
                "--defaults each: graph runs TF1's optimizer with TF1's defaults, eager and "
                "tf.function Keras's with Keras's; a 'different' verdict is the finding."
            )
        if comparisons:
            click.echo(render_table(comparisons), nl=False)
            click.echo(render_one_device(comparisons), nl=False)
            if options["replicas"] == 1:
                click.echo(textwrap.fill(NOISE_FLOOR_NOTE, width=100))
        if demo_comparisons:
            click.echo(render_demo_table(demo_comparisons), nl=False)
    verdicts = {comparison.model: comparison.verdict for comparison in comparisons}
    verdicts |= {comparison.demo: comparison.verdict for comparison in demo_comparisons}
    if not options["as_json"]:
        click.echo("verdicts: " + ", ".join(f"{m} {v}" for m, v in verdicts.items()))
    sys.exit(0 if all(v in ("identical", "equivalent") for v in verdicts.values()) else 1)


@main.command("check")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option(
    "--steps",
    type=click.IntRange(min=1, max=MAX_STEPS),
    help="Training steps (the file's STEPS, else 20).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    help="Minibatch size, drawn with replacement from --seed (the file's BATCH_SIZE, else the "
    "whole data set every step).",
)
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Seed of the batch order.")
@click.option("--strict", is_flag=True, help="Turn Grappler's rewrites off (graph, tf.function).")
@click.option(
    "--tolerance-ulps",
    type=click.IntRange(min=0),
    default=DEFAULT_TOLERANCE_ULPS,
    show_default=True,
    help="Largest ULP distance still called 'equivalent'.",
)
@click.option(
    "--against",
    type=click.Path(),
    help="A recording of the TF1 run (tfbridge record): check the port against it; FILE then "
    "needs no tf1_train.",
)
@click.option(
    "--tf1-checkpoint",
    type=click.Path(),
    help="A TF1 Saver checkpoint of FILE's model (a prefix, or a directory's latest): start "
    "TF1 and, through the variable pairing, the port from it (slots and step count too).",
)
@click.option(
    "--replicas",
    type=int,
    default=1,
    show_default=True,
    help="Run the port data-parallel, MirroredStrategy over N logical CPUs, against TF1 on one "
    "device (files that declare REPLICAS = True: each replica returns its share of the loss).",
)
@click.option(
    "--inference",
    metavar="SRC",
    type=click.Path(),
    help="No training: FILE's trained TF1 model (a Saver checkpoint, frozen GraphDef .pb or TF1 "
    "SavedModel) against the port given its values, TF1_OUTPUT against tf2_predict() (else the "
    "loss against tf2_loss()) on FILE's data batch by batch, then the port's serving export.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON record per style.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    callback=output_path,
    help="Also write the JSON records to this file (all or nothing).",
)
@plot_option
@tensorboard_option
@reports_user_errors
def check(
    file: str,
    steps: int | None,
    batch_size: int | None,
    seed: int | None,
    strict: bool,
    tolerance_ulps: int,
    against: str | None,
    tf1_checkpoint: str | None,
    replicas: int,
    inference: str | None,
    as_json: bool,
    output: str | None,
    plot: str | None,
    tensorboard: str | None,
) -> None:
    """Check your migration: FILE's TF1 code against its TF2 port, in all three styles.

    FILE defines data(), tf1_train(features, labels) -> (loss, train_op), tf2_setup() -> state
    and tf2_train_step(state, features, labels) -> loss, and optionally VARIABLE_MAP (see
    docs/checking.md). TF1 runs in a Session; the port eagerly and under tf.function, from TF1's
    initial values on the same batches. Exit status 0 when 'identical' or 'equivalent', 1 when
    'different' or a loss becomes NaN, 2 when the file breaks the contract. --plot draws the
    styles' losses and the ports' ULPs from TF1 per step, the noise floor as a band.
    """
    if inference is not None:
        given = {"--steps": steps, "--seed": seed, "--against": against}
        given |= {"--tf1-checkpoint": tf1_checkpoint, "--plot": plot}
        given["--replicas"] = replicas if replicas != 1 else None
        check_inference_command(
            file,
            inference,
            batch_size,
            strict,
            tolerance_ulps,
            as_json,
            output,
            [name for name, value in given.items() if value is not None],
        )
        return
    import_tensorflow_quietly(onednn=not strict)
    if 1 < replicas <= MAX_REPLICAS:
        # Before TensorFlow's first op; check_migration refuses other counts, naming the batch.
        ensure_logical_cpus(replicas)
    from bridge.check import check_migration

    unfinished = "no verdict, nothing written"
    doing(f"checking {file}", if_interrupted=unfinished)

    def announce(stage: str) -> None:
        doing(f"checking {file} ({stage})", if_interrupted=unfinished)
        if not as_json:
            click.echo(f"running {stage} ...", err=True)

    with running_user_code(file):
        report = check_migration(
            file,
            steps=steps,
            strict=strict,
            batch_size=batch_size,
            seed=seed,
            tolerance_ulps=tolerance_ulps,
            against=against,
            tf1_checkpoint=tf1_checkpoint,
            on_style=announce,
            replicas=replicas,
        )
    doing(f"reporting on {file}", if_interrupted=unfinished)
    records = report.records()
    save_json(records, output)
    if plot is not None:
        from tfmigration.measure.migration_report import migration_panel

        draw(plot, [migration_panel(report)])
    if tensorboard is not None:
        from bridge.tensorboard import write_check

        save_tensorboard(write_check, report, tensorboard)
    if as_json:
        click.echo(to_json(records))
    else:
        mode = "strict (Grappler off)" if strict else "default (Grappler on)"
        click.echo(f"variables, TF1 -> TF2 ({len(report.variable_map)} mapped):")
        click.echo(report.mapping_text())
        click.echo(f"{report.steps} steps, {mode}:")
        click.echo(report.explain())
    sys.exit(0 if report.verdict in ("identical", "equivalent") else 1)


def check_inference_command(
    file: str,
    source: str,
    batch_size: int | None,
    strict: bool,
    tolerance_ulps: int,
    as_json: bool,
    output: str | None,
    refused: list[str],
) -> None:
    """`check FILE --inference SRC`: predictions, no training (bridge/inference.py)."""
    if refused:
        raise ConfigError(
            f"--inference trains nothing, so it takes no {', '.join(refused)}; it takes "
            "--batch-size, --strict, --tolerance-ulps, --json and --output"
        )
    import_tensorflow_quietly(onednn=not strict)
    from bridge.inference import check_inference

    doing(f"checking {file} --inference {source}", if_interrupted="no verdict, nothing written")

    def announce(style: str) -> None:
        if not as_json:
            click.echo(f"running {style} ...", err=True)

    with running_user_code(file):
        report = check_inference(
            file,
            source,
            batch_size=batch_size,
            tolerance_ulps=tolerance_ulps,
            strict=strict,
            on_style=announce,
        )
    records = report.records()
    save_json(records, output)
    if as_json:
        click.echo(to_json(records))
    else:
        mode = "strict (Grappler off)" if strict else "default (Grappler on)"
        click.echo(f"variables, TF1 -> TF2 ({len(report.variable_map)} mapped), {mode}:")
        click.echo(report.mapping_text())
        click.echo(report.explain())
    sys.exit(0 if report.verdict in ("identical", "equivalent") else 1)


@main.command("record")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option(
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="The recording's directory: new, empty, or a recording (and nothing else) to replace; "
    "written all or nothing.",
)
@click.option("--steps", type=click.IntRange(min=1, max=MAX_STEPS), help="Training steps.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Minibatch size (see check).")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), help="Seed of the batch order.")
@click.option("--strict", is_flag=True, help="Turn Grappler's rewrites off.")
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help=(
        "Keep the variables every N steps (the first, the last and the one before it always); "
        "losses every step."
    ),
)
@reports_user_errors
def record(
    file: str,
    output: str,
    steps: int | None,
    batch_size: int | None,
    seed: int | None,
    strict: bool,
    every: int,
) -> None:
    """Record FILE's TF1 run as a golden trajectory, to check the port against it later.

    Runs tf1_train as `check` does and writes DIR/manifest.json and DIR/trajectory.npz (NumPy
    arrays, no pickle): the data's fingerprint, the batch order, every variable before step 0
    and after every N-th update, every step's loss, the noise floor, the settings and the
    versions that produced it. `tfbridge check FILE --against DIR` then needs no TF1 code.
    """
    import_tensorflow_quietly(onednn=not strict)
    from bridge.record import record_migration

    doing(f"recording {file}", if_interrupted=f"nothing written to {output}")
    with running_user_code(file):
        manifest = record_migration(
            file, output, steps=steps, strict=strict, batch_size=batch_size, seed=seed, every=every
        )
    settings = manifest["settings"]
    click.echo(
        f"recorded {manifest['model']}: {settings['steps']} steps, "
        f"{len(manifest['variables'])} variables kept at {len(manifest['recorded_steps'])} "
        f"steps, into {output}"
    )


@main.command("convert-checkpoint")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DEST")
@click.option(
    "--to",
    "to",
    type=click.Choice(["tf1", "tf2"]),
    help="tf1: a tf.compat.v1.train.Saver checkpoint (DEST/model.ckpt-STEP); tf2: a "
    "tf.train.Checkpoint (DEST/ckpt-STEP). Required unless --migration.",
)
@click.option(
    "--migration",
    "migration_file",
    type=click.Path(dir_okay=False),
    help="A migration file: SRC is its trained TF1 model (a Saver checkpoint, a frozen GraphDef "
    ".pb or a TF1 SavedModel directory); DEST is a .weights.h5 file (model.load_weights), a "
    ".keras file (keras.saving.load_model) or a directory (the TF2 checkpoint its port restores "
    "with tf.train.Checkpoint(model=..., optimizer=...)).",
)
@click.option(
    "--force", is_flag=True, help="Replace a DEST .weights.h5 or .keras file that exists."
)
@reports_user_errors
def convert_checkpoint(
    source: str, destination: str, to: str | None, migration_file: str | None, force: bool
) -> None:
    """Convert the checkpoint SRC (a prefix, or a directory's latest) into directory DEST.

    Parameters, every optimizer slot and counter, the step and the run's settings; prints each
    tensor's source name, destination name, shape, dtype and what was derived. A conversion
    that would lose or round a value is refused with the reason (exit 1), as is a DEST that
    already holds checkpoints (exit 2). With --migration, SRC is a TF1 checkpoint of that file's
    model, carried into its port through check's variable pairing.
    """
    if migration_file is not None:
        if to not in (None, "tf2"):
            raise ConfigError("--migration writes the port's TF2 checkpoint: drop --to tf1")
        import_tensorflow_quietly()
        from bridge.convert_migration import convert_migration_checkpoint

        doing(f"converting {source} through {migration_file}")
        with running_user_code(migration_file):
            done = convert_migration_checkpoint(migration_file, source, destination, force=force)
        click.echo(
            f"{done.source} ({done.source_kind}) -> {done.destination} ("
            + ("the port's objects" if done.destination_kind == "directory" else "Keras 3")
            + ": "
            + ", ".join(f"{name}={kind}" for name, kind in done.objects.items())
            + "):"
        )
        width = max((len(row[0]) for row in done.rows), default=0)
        for tf1_name, tf2_name, shape, dtype, layout in done.rows:
            held = f" (Keras: {layout})" if layout else ""
            click.echo(f"  {tf1_name:<{width}}  ->  {tf2_name}  {list(shape)} {dtype}{held}")
        return
    if force:
        raise ConfigError("--force replaces a Keras file DEST, which only --migration writes")
    if to is None:
        raise ConfigError("convert-checkpoint needs --to tf1|tf2 (or --migration FILE)")
    import_tensorflow_quietly()
    from bridge.convert import convert_checkpoint as convert
    from tfmigration.checkpoint.names import render_rows
    from tfmigration.checkpoint.resume import FORMAT_NAMES

    doing(f"converting {source} to {to}")
    conversion = convert(source, destination, to)
    click.echo(
        f"{conversion.source} ({FORMAT_NAMES[conversion.source_format]}) -> "
        f"{conversion.destination} ({FORMAT_NAMES[to]}):"
    )
    click.echo(render_rows(conversion.rows), nl=False)
