"""`train --save-to DIR [--save-every N] [--keep K]` and `--resume-from PATH`, checked before
TensorFlow is imported, and the command line that resumes an interrupted run."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from click.core import ParameterSource

from tfmigration.catalog.errors import ConfigError
from tfmigration.catalog.problem import Problem
from tfmigration.checkpoint.files import check_save_directory, make_save_directory
from tfmigration.checkpoint.state import DEFAULT_KEEP, SaveOptions, settings_text

FORMATS = {
    "graph": "TF1 Saver checkpoints (DIR/model.ckpt-STEP)",
    "eager": "TF2 tf.train.Checkpoints (DIR/ckpt-STEP)",
    "function": "TF2 tf.train.Checkpoints (DIR/ckpt-STEP)",
}


def checkpoint_options(style: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(command: Callable[..., Any]) -> Callable[..., Any]:
        options = (
            click.option(
                "--save-to",
                metavar="DIR",
                help=f"Save {FORMATS[style]} holding everything needed to continue exactly: "
                "parameters, optimizer slots and counters, the step, the run's settings. "
                "At the end, every --save-every steps, and on Ctrl-C.",
            ),
            click.option(
                "--save-every",
                type=click.IntRange(min=1),
                help="With --save-to: also save after every N steps.",
            ),
            click.option(
                "--keep",
                type=click.IntRange(min=1),
                help=f"With --save-to: keep the K latest checkpoints (default {DEFAULT_KEEP}, "
                "TF1 Saver's max_to_keep).",
            ),
            click.option(
                "--resume-from",
                metavar="PATH",
                help="Continue from a checkpoint of either format (a prefix, or a directory "
                "meaning its latest) to --steps in total; the run's settings must match.",
            ),
        )
        for option in reversed(options):
            command = option(command)
        return command

    return add


@dataclass(frozen=True)
class CheckpointPlan:
    save: SaveOptions | None
    resume_from: str | None

    def prepare_directory(self, resumed_step: int | None) -> None:
        """Refuse a --save-to this run would overwrite or cannot write; then create it."""
        if self.save is not None:
            check_save_directory(
                self.save.directory,
                resumed_step=resumed_step,
                resuming=self.resume_from is not None,
            )
            make_save_directory(self.save.directory)


def plan_checkpoints(options: dict[str, Any], problem: Problem) -> CheckpointPlan:
    """The checkpoint options, validated (exit 2): --save-every and --keep need --save-to."""
    directory = options["save_to"]
    for name in ("save_every", "keep"):
        if options[name] is not None and directory is None:
            raise ConfigError(f"--{name.replace('_', '-')} needs --save-to DIR")
    if directory == "" or options["resume_from"] == "":
        raise ConfigError("empty path; name a directory for --save-to and --resume-from")
    save = None
    if directory is not None:
        # Checked now, before any training, and again with the resumed step once it is known.
        check_save_directory(
            directory, resumed_step=None, resuming=options["resume_from"] is not None
        )
        save = SaveOptions(
            directory=directory,
            settings=settings_text(problem),
            every=options["save_every"] or 0,
            keep=options["keep"] or DEFAULT_KEEP,
        )
    return CheckpointPlan(save=save, resume_from=options["resume_from"])


def resume_command(context: click.Context, directory: str) -> str:
    """The command line that continues this run from `directory`: the options given, as given
    (they must match the checkpoint's settings), and --resume-from."""
    words = context.command_path.split()
    for parameter in context.command.params:
        name = parameter.name
        if name is None or name == "resume_from":
            continue
        if context.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            continue
        value = context.params[name]
        if isinstance(parameter, click.Argument):
            words.append(str(value))
        elif isinstance(parameter, click.Option):
            flag = parameter.opts[0]
            if parameter.is_flag:
                if value:
                    words.append(flag)
            elif isinstance(value, dict):  # --init, parsed into {name: values}
                for key, numbers in value.items():
                    words += [flag, f"{key}={','.join(repr(n) for n in numbers)}"]
            elif isinstance(value, list | tuple):
                for item in value:
                    words += [flag, str(item)]
            elif value is not None:
                words += [flag, str(value)]
    words += ["--resume-from", directory]
    return shlex.join(words)
