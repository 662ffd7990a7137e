"""The `graphmode` command line: the catalog in graph style."""

from __future__ import annotations

import click

from graphmode.style import GRAPH
from tfmigration.cli.commands import add_common_commands
from tfmigration.cli.grad_commands import add_grad_command


@click.group()
def main() -> None:
    """Run the model catalog the TF1 way: placeholders, tf.gradients, assign ops, Session.run."""


# Only this style: graphmode's command line cannot reach another style's engine.
add_common_commands(main, GRAPH)
add_grad_command(main, GRAPH)
