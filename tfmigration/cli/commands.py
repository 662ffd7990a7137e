"""The commands each style's CLI shares (`list`, `train`), built for one style at a time.

Commands parse and print; the maths lives in the engines. TensorFlow is imported only by commands
that run something, so `--help` and `list` start fast.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from tfmigration.catalog.errors import (
    DEBUG_VARIABLE,
    INTERNAL_ERROR_EXIT,
    INTERRUPTED_EXIT,
    ConfigError,
    UserError,
)
from tfmigration.catalog.models import MODELS
from tfmigration.catalog.problem import Problem, prepare
from tfmigration.cli.checkpoint_options import (
    checkpoint_options,
    plan_checkpoints,
    resume_command,
)
from tfmigration.cli.options import (
    multi_worker_option,
    run_settings,
    train_config,
    training_options,
    variables_option,
)
from tfmigration.cli.output import format_params
from tfmigration.execution import Style, check_execution
from tfmigration.quiet import import_tensorflow_quietly
from tfmigration.serialize import to_json, trajectory_record, write_atomically
from tfmigration.training.driver import TrainingInterrupted

MODEL_CHOICE = click.Choice(list(MODELS))


_ACTIVITY = "tfmigration.activity"


def doing(what: str, *, if_interrupted: str = "") -> None:
    """Say what the running command is doing (`checking port.py`), for the one line an internal
    error or Ctrl-C prints; `if_interrupted` adds what the user can rely on after Ctrl-C."""
    click.get_current_context().meta[_ACTIVITY] = (what, if_interrupted)


def reports_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `UserError` into one line on standard error and its exit status: no traceback.

    Anything else that escapes is a bug of ours, and must never read as a verdict: it is one
    line naming what was being done, with exit status 3 (the traceback under TFBRIDGE_DEBUG=1).
    Ctrl-C is one line and 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        context = click.get_current_context()
        context.meta.setdefault(_ACTIVITY, (f"running {context.info_name}", ""))
        try:
            return command(*args, **kwargs)
        except UserError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            what, after = context.meta[_ACTIVITY]
            click.echo(f"interrupted while {what}" + (f": {after}" if after else ""), err=True)
            sys.exit(INTERRUPTED_EXIT)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own ways to end a command; it prints and exits for them
        except Exception as error:
            if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
                traceback.print_exc()
            what, _ = context.meta[_ACTIVITY]
            detail = str(error).strip().splitlines()
            click.echo(
                f"internal error while {what}: {type(error).__name__}: "
                f"{detail[0] if detail else '(no message)'}"
                f"{' ...' if len(detail) > 1 else ''} -- a bug in tf-migration-bridge, not in "
                f"your input; please report it with the command that caused it "
                f"({DEBUG_VARIABLE}=1 prints the traceback)",
                err=True,
            )
            sys.exit(INTERNAL_ERROR_EXIT)

    return wrapper


def save_json(document: Any, output: str | None) -> None:
    """Write `document` to the --output file, if one was named."""
    if output is not None:
        try:
            write_atomically(output, to_json(document) + "\n")
        except OSError as error:
            raise UserError(f"cannot write --output {output}: {error.strerror or error}") from None


class ConsoleObserver:
    """Tutorial-style log lines every `log_every` steps, and a progress bar on a terminal."""

    progress_threshold = 1000

    def __init__(self, problem: Problem, log_every: int, *, bar: bool) -> None:
        self.log_every = log_every
        self._progress = None
        if bar and problem.steps >= self.progress_threshold:
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._task = self._progress.add_task(problem.model.name, total=problem.steps)

    def __enter__(self) -> ConsoleObserver:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_step(self, step: int, loss: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step + 1)

    def on_log(self, step: int, loss: float, params: dict) -> None:
        line = f"step {step:>6}  loss {loss:<14.8g}  {format_params(params)}"
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe(problem: Problem, style: str = "graph") -> str:
    batches = f"batches of {problem.batch_size}" if problem.batch_size else "full batch"
    # Under --defaults each the Keras styles run other hyperparameters than graph does.
    spec = problem.optimizer_spec if style == "graph" else problem.keras_optimizer_spec
    return (
        f"{problem.model.name}: {plural(problem.steps, 'step')}, lr {problem.learning_rate:g}, "
        f"{spec.describe()}, {problem.loss} squared error, {batches}, "
        f"{len(problem.features)} rows"
    )


def add_common_commands(group: click.Group, style: Style) -> None:
    """Add `list` and `train` running in `style` to `group`: the caller names the one style its
    command line runs, so this module reaches no other."""

    @group.command("list")
    def list_models() -> None:
        """List the catalog, one model a line."""
        width = max(len(name) for name in MODELS)
        for name, model in MODELS.items():
            click.echo(f"{name:<{width}}  {model.summary}")

    def graph_only(command: Callable[..., Any]) -> Callable[..., Any]:
        if style.name == "graph":
            return variables_option(command)
        return multi_worker_option(command)

    @group.command("train")
    @click.argument("model", type=MODEL_CHOICE)
    @training_options
    @graph_only
    @click.option(
        "--log-every",
        type=click.IntRange(min=0),
        help="Print step, loss and parameters every N steps (model's default; 0: never).",
    )
    @checkpoint_options(style.name)
    @reports_user_errors
    def train(model: str, log_every: int | None, **options: Any) -> None:
        """Train MODEL and print its losses and parameters."""
        problem = prepare(model, train_config(options))
        settings = run_settings(options)
        check_execution(style.name, settings)
        prepare_replicas(problem, options, style.name)
        plan = plan_checkpoints(options, problem)
        if options["replicas"] > 1 and (plan.save is not None or plan.resume_from is not None):
            raise ConfigError(
                f"--replicas {options['replicas']} with --save-to or --resume-from: replicated "
                "runs do not checkpoint yet; drop one of them"
            )
        import_tensorflow_quietly(onednn=not options["strict"])
        # Importing the style's engine refuses an unsupported Keras in one line before anything
        # is printed (eagermode/keras_internals.py checks at import).
        style.engine_class()
        ask_for_replica_devices(options["replicas"])
        resumption = None
        if plan.resume_from is not None:
            from tfmigration.checkpoint.resume import load_for_resume

            resumption = load_for_resume(plan.resume_from, problem, style.read_checkpoint)
            settings = replace(settings, resume=resumption.state)
        if plan.save is not None:
            plan.prepare_directory(resumption.state.step if resumption else None)
            settings = replace(settings, save=plan.save)
        if resumption is not None:
            click.echo(resumption.describe(style.name), err=options["as_json"])
        try:
            if options["as_json"]:
                trajectory = style.train(problem, settings)
                record = replicated_record(trajectory_record(trajectory), options["replicas"])
                save_json(record, options["output"])
                click.echo(to_json(record))
                return
            replicas = options["replicas"]
            spread = f", {replicas} replicas" if replicas > 1 else ""
            click.echo(f"{describe(problem, style.name)}, {style.name} style{spread}")
            every = problem.model.log_every if log_every is None else log_every
            bar = sys.stdout.isatty()
            with ConsoleObserver(problem, every, bar=bar) as observer:
                trajectory = style.train(problem, settings, observer)
        except TrainingInterrupted as interrupted:
            click.echo(
                f"interrupted: step {interrupted.step} of {problem.steps} done and saved to "
                f"{interrupted.path}; resume with:\n  "
                + resume_command(click.get_current_context(), plan.save.directory),
                err=True,
            )
            sys.exit(INTERRUPTED_EXIT)
        if plan.save is not None and not options["as_json"]:
            click.echo(f"saved {plan.save.directory} (step {problem.steps})")
        click.echo(
            f"final  loss {trajectory.final_loss:<14.8g}  {format_params(trajectory.final_params)}"
        )
        ran = plural(trajectory.steps - trajectory.first_step, "step")
        if trajectory.first_step:
            ran += f" (steps {trajectory.first_step} to {trajectory.steps - 1})"
        click.echo(f"{ran} in {trajectory.seconds:.2f} s")
        save_json(
            replicated_record(trajectory_record(trajectory), options["replicas"]), options["output"]
        )


def prepare_replicas(problem: Problem, options: dict[str, Any], style: str | None) -> None:
    """Refuse a --replicas the batch or the other options cannot honour (before importing TF).
    `style` None: every style runs (compare)."""
    from tfmigration.distributed import check_cluster_options, check_equal_shards, check_replicas

    replicas = options["replicas"]
    multi_worker = options.get("multi_worker", False)
    check_cluster_options(
        (style,) if style is not None else ("graph", "eager", "function"),
        replicas,
        multi_worker=multi_worker,
        ports=options["ports"],
        asynchronous=options["asynchronous"],
    )
    check_replicas(
        replicas,
        problem.batch_rows,
        steps_per_call=options["steps_per_call"],
        jit_compile=options["jit_compile"],
    )
    if style in (None, "graph"):
        check_equal_shards(replicas, problem.batch_rows)


def ask_for_replica_devices(replicas: int) -> None:
    """Split the CPU into `replicas` logical devices, before TensorFlow's first op."""
    if replicas > 1:
        from tfmigration.devices import ensure_logical_cpus

        ensure_logical_cpus(replicas)


def replicated_record(record: dict[str, Any], replicas: int) -> dict[str, Any]:
    """A train record, with `replicas` when the run was replicated (unchanged otherwise)."""
    return record | {"replicas": replicas} if replicas > 1 else record
