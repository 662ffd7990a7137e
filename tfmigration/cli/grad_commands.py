"""The `grad` command (each style's CLI) and `differences` (tfbridge): parse and print only.

The demos' maths lives in each style's `grad` module, the differences in its `differences`
module; TensorFlow is imported only once a command runs, so `--help` starts fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
import numpy as np

from tfmigration.catalog.demos import DEMOS, get_demo
from tfmigration.catalog.differences import DIFFERENCES, get_difference, show
from tfmigration.catalog.errors import ConfigError
from tfmigration.cli.commands import reports_user_errors
from tfmigration.execution import Style
from tfmigration.quiet import import_tensorflow_quietly
from tfmigration.serialize import exact, to_json

DEMO_CHOICE = click.Choice(list(DEMOS))
DIFFERENCE_CHOICE = click.Choice(list(DIFFERENCES))
NOT_APPLICABLE = "—"


def chosen(names: Sequence[str], everything: bool, registry: Sequence[str], what: str) -> list[str]:
    """The names asked for, in order, once each; `--all` adds the whole registry."""
    picked = list(dict.fromkeys([*names, *(registry if everything else ())]))
    if not picked:
        raise ConfigError(f"name one or more {what} ({', '.join(registry)}), or pass --all")
    return picked


def demo_record(name: str, mode: str, results: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"demo": name, "mode": mode, "results": exact(results)}


def format_demo(name: str, mode: str, results: dict[str, np.ndarray]) -> str:
    """A demo's quantities, one a line, each with its name; a matrix one row a line."""
    lines = [f"{name} ({mode} style): {get_demo(name).summary}"]
    width = max(len(quantity) for quantity in results)
    for quantity, value in results.items():
        rows = [value] if value.ndim < 2 else list(value)
        lines.append(f"  {quantity:<{width}}  {show(rows[0])}")
        lines += [f"  {'':<{width}}  {show(row)}" for row in rows[1:]]
    return "\n".join(lines)


def add_grad_command(group: click.Group, style: Style) -> None:
    """Add `grad`, running the autodiff demos in `style` (the caller's own), to `group`."""

    @group.command("grad")
    @click.argument("demos", nargs=-1, type=DEMO_CHOICE)
    @click.option("--all", "all_demos", is_flag=True, help="Every autodiff demo.")
    @click.option(
        "--strict", is_flag=True, help="Turn Grappler's rewrites off (graph and tf.function)."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON list, a record per demo.")
    @reports_user_errors
    def grad(demos: tuple[str, ...], all_demos: bool, strict: bool, as_json: bool) -> None:
        """Compute the autodiff DEMOS of the catalog and print each quantity by name.

        JSON records are {"demo", "mode", "results": {quantity: number or nested list}}.
        """
        names = chosen(demos, all_demos, list(DEMOS), "demos")
        import_tensorflow_quietly(onednn=not strict)
        runs = [(name, style.run_demo(name, strict=strict)) for name in names]
        mode = style.name
        if as_json:
            click.echo(to_json([demo_record(name, mode, results) for name, results in runs]))
            return
        click.echo("\n\n".join(format_demo(name, mode, results) for name, results in runs))


def difference_table(name: str, observations: dict[str, dict[str, str]]) -> Any:
    """One difference as a rich table: a row per case, a column per style."""
    from rich.markup import escape
    from rich.table import Table

    difference = get_difference(name)
    # Cases and values hold brackets ("[x0*x1, x0+x1]") that rich would read as markup.
    table = Table(
        title=escape(f"{name}: {difference.title}"),
        caption=escape(difference.lesson),
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("case", overflow="fold")
    for style in observations:
        table.add_column(style, overflow="fold")
    for case in difference.cases:
        cells = (seen.get(case, NOT_APPLICABLE) for seen in observations.values())
        table.add_row(escape(case), *(escape(cell) for cell in cells))
    return table


def add_differences_command(group: click.Group, styles: Sequence[Style]) -> None:
    """Add `differences`, showing the behaviour of every one of `styles` side by side (the
    caller's registry: graph, eager and tf.function), to `group`."""

    @group.command("differences")
    @click.argument("names", nargs=-1, type=DIFFERENCE_CHOICE)
    @click.option("--all", "all_names", is_flag=True, help="Every difference.")
    @click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON list, a record per difference."
    )
    @reports_user_errors
    def differences(names: tuple[str, ...], all_names: bool, as_json: bool) -> None:
        """Show what TF1 (graph) and TF2 (eager, tf.function) autodiff do differently.

        Each case runs in every style where it exists; a cell is the value, None, or the error
        TensorFlow raised, and '—' where the case does not exist in that style (graph mode has
        no tape to watch).

        JSON records are {"difference", "title", "lesson", "observations": {style: {case:
        what happened}}}.
        """
        picked = chosen(names, all_names, list(DIFFERENCES), "differences")
        import_tensorflow_quietly()
        if "loss-scaling" in picked:
            from tfmigration.devices import ensure_logical_cpus

            ensure_logical_cpus(2)  # before the first TensorFlow op sets up the devices
        from tfmigration.measure.report import render_text

        records = []
        for name in picked:
            difference = get_difference(name)
            observations = {style.name: style.observe_differences(name) for style in styles}
            records.append(
                {
                    "difference": name,
                    "title": difference.title,
                    "lesson": difference.lesson,
                    "observations": observations,
                }
            )
            if not as_json:
                click.echo(render_text(difference_table(name, observations)))
        if as_json:
            click.echo(to_json(records))
