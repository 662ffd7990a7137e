"""The `eagermode` command line: the catalog in eager style."""

from __future__ import annotations

import click

from eagermode.style import EAGER
from tfmigration.cli.commands import add_common_commands
from tfmigration.cli.grad_commands import add_grad_command


@click.group()
def main() -> None:
    """Run the model catalog the TF2 way: eager GradientTape, assign_sub, Keras optimizers."""


# Only this style: eagermode's command line cannot reach another style's engine.
add_common_commands(main, EAGER)
add_grad_command(main, EAGER)
