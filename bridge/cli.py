"""The `tfbridge` command line: the catalog under tf.function, and the three-style comparison."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import click

from bridge.compare import DEFAULT_TOLERANCE_ULPS, compare_problem
from tfmigration.catalog.demos import DEMOS
from tfmigration.catalog.errors import ConfigError, UserError
from tfmigration.catalog.models import MODELS
from tfmigration.catalog.problem import prepare
from tfmigration.cli.commands import add_common_commands, reports_user_errors, save_json
from tfmigration.cli.grad_commands import add_differences_command, add_grad_command
from tfmigration.cli.options import (
    execution_options,
    plot_option,
    train_config,
    training_options,
    variables_option,
)
from tfmigration.cli.quiet import import_tensorflow_quietly
from tfmigration.measure.report import NOISE_FLOOR_NOTE, comparison_records, render_table
from tfmigration.serialize import to_json


@click.group()
def main() -> None:
    """Run the model catalog under tf.function, and compare graph, eager and tf.function."""


add_common_commands(main, "function")


def save_plot(comparisons: list, path: str) -> None:
    """Draw the comparisons into the --plot file; an unwritable file is exit 1, one line."""
    from tfmigration.measure.plot import comparison_panel, draw_panels

    try:
        draw_panels(path, [comparison_panel(comparison) for comparison in comparisons])
    except OSError as error:
        raise UserError(f"cannot write --plot {path}: {error.strerror or error}") from None


add_grad_command(main, "function")
add_differences_command(main)


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
@plot_option
@reports_user_errors
def compare(
    models: tuple[str, ...],
    all_models: bool,
    tolerance_ulps: int,
    plot: str | None,
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
    demos = [name for name in names if name in DEMOS]
    if plot is not None and not problems:
        raise ConfigError(
            f"--plot {plot}: only training models have loss curves to draw; name a model "
            f"({', '.join(MODELS)}), not only demos"
        )
    import_tensorflow_quietly(onednn=not options["strict"])
    from bridge.grad_compare import compare_demo
    from tfmigration.measure.demo_comparison import demo_records, render_demo_table

    comparisons = []
    for problem in problems:
        if not options["as_json"]:
            click.echo(f"comparing {problem.model.name} ...", err=True)
        comparisons.append(
            compare_problem(problem, tolerance_ulps=tolerance_ulps, **execution_options(options))
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
    save_json(records, options["output"])
    if options["as_json"]:
        click.echo(to_json(records))
    else:
        mode = "strict (Grappler off)" if options["strict"] else "default (Grappler on)"
        click.echo(f"eager and tf.function against graph (the TF1 original), {mode}:")
        if options["defaults"] == "each" and comparisons:
            click.echo(
                "--defaults each: graph runs TF1's optimizer with TF1's defaults, eager and "
                "tf.function Keras's with Keras's; a 'different' verdict is the finding."
            )
        if comparisons:
            click.echo(render_table(comparisons), nl=False)
            click.echo(textwrap.fill(NOISE_FLOOR_NOTE, width=100))
        if demo_comparisons:
            click.echo(render_demo_table(demo_comparisons), nl=False)
    verdicts = {comparison.model: comparison.verdict for comparison in comparisons}
    verdicts |= {comparison.demo: comparison.verdict for comparison in demo_comparisons}
    if not options["as_json"]:
        click.echo("verdicts: " + ", ".join(f"{m} {v}" for m, v in verdicts.items()))
    sys.exit(0 if all(v in ("identical", "equivalent") for v in verdicts.values()) else 1)
