"""The `graphmode` command line: the catalog in graph style."""

from __future__ import annotations

import click

from tfmigration.cli.commands import add_common_commands
from tfmigration.cli.grad_commands import add_grad_command


@click.group()
def main() -> None:
    """Run the model catalog the TF1 way: placeholders, tf.gradients, assign ops, Session.run."""


add_common_commands(main, "graph")
add_grad_command(main, "graph")
