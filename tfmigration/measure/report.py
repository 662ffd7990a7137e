"""Presenting comparisons: JSON records and a table for people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tfmigration.measure.comparison import Comparison
from tfmigration.serialize import exact


def comparison_records(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    """One record per model and style, each carrying its model's verdict."""
    records = []
    for comparison in comparisons:
        verdict = comparison.full_verdict
        floor = comparison.noise_floor
        for result in comparison.results:
            records.append(
                {
                    "model": comparison.model,
                    "mode": result.mode,
                    "optimizer": comparison.optimizer,
                    "defaults": comparison.defaults,
                    "final_loss": exact(result.trajectory.final_loss),
                    "params": exact(result.trajectory.final_params),
                    "max_loss_ulps": result.max_loss_ulps,
                    "max_param_ulps": result.max_param_ulps,
                    "max_slot_ulps": result.max_slot_ulps,
                    "first_divergent_step": result.first_divergent_step,
                    "noise_floor_ulps": None if floor is None else floor.max_loss_ulps,
                    "noise_floor_param_ulps": None if floor is None else floor.param_ulps,
                    "noise_floor_slot_ulps": None if floor is None else floor.slot_ulps,
                    "oracle_rel_error": result.oracle.relative_error,
                    "oracle_bound": result.oracle.bound,
                    "oracle_worst": result.oracle.where,
                    "seconds": result.trajectory.seconds,
                    "strict": comparison.strict,
                    "steps_per_call": comparison.steps_per_call,
                    "jit_compile": comparison.jit_compile,
                    "variables": comparison.variables,
                    "tolerance_ulps": comparison.tolerance_ulps,
                    "style_verdict": str(comparison.style_verdict(result)),
                    "verdict": verdict.verdict,
                    "verdict_basis": verdict.basis,
                    "replicas": comparison.replicas,
                }
            )
            if comparison.replicas > 1:
                one_floor = comparison.one_device_floor
                records[-1] |= {
                    "reference": "split-batch",
                    "replication": comparison.replication.get(result.mode),
                    "one_device_loss_ulps": result.one_device_loss_ulps,
                    "one_device_param_ulps": result.one_device_param_ulps,
                    "one_device_noise_floor_ulps": (
                        None if one_floor is None else one_floor.max_loss_ulps
                    ),
                    "one_device_noise_floor_param_ulps": (
                        None if one_floor is None else one_floor.param_ulps
                    ),
                    "one_device_verdict": comparison.one_device_verdict(result).verdict,
                    "one_device_within_noise_floor": comparison.within_one_device_floor(result),
                    "one_device_judgement": comparison.one_device_judgement(result),
                }
    return records


def render_one_device(comparisons: Sequence[Comparison]) -> str:
    """For replicated comparisons: each style's distance to one device on the whole batch."""
    lines = []
    for comparison in comparisons:
        if comparison.replicas > 1:
            floor = comparison.one_device_floor
            nudge = (
                ""
                if floor is None
                else f" (its noise floor: loss {floor.max_loss_ulps} ULPs, params "
                f"{floor.param_ulps} ULPs)"
            )
            lines.append(f"{comparison.model} against one device on the whole batch{nudge}:")
            lines.extend(
                f"  {result.mode}: loss {result.one_device_loss_ulps} ULPs, "
                f"params {result.one_device_param_ulps} ULPs, "
                f"{comparison.one_device_judgement(result)}"
                for result in comparison.results
            )
    return "".join(line + "\n" for line in lines)


def render_replication(comparisons: Sequence[Comparison]) -> str:
    """For replicated comparisons: how each style replicated and scaled its loss."""
    notes: dict[str, str] = {}
    for comparison in comparisons:
        notes |= comparison.replication
    return "".join(f"  {mode}: {note}\n" for mode, note in notes.items())


def render_grouped_table(
    columns: Sequence[tuple[str, str]],
    groups: Iterable[Sequence[Sequence[str]]],
    *,
    width: int | None = None,
) -> str:
    """A text table of (header, justify) columns, one section per group of rows."""
    from rich.table import Table

    table = Table(title=None, show_lines=False)
    for header, justify in columns:
        table.add_column(header, justify=justify, no_wrap=True)
    for rows in groups:
        for row in rows:
            table.add_row(*row)
        table.add_section()
    return render_text(table, width=width)


def render_table(comparisons: Sequence[Comparison], *, width: int | None = None) -> str:
    """The comparison as a text table, eager and tf.function measured against graph."""
    columns = [
        ("model", "left"),
        ("style", "left"),
        ("final loss", "right"),
        ("loss ULPs", "right"),
        ("param ULPs", "right"),
        ("slot ULPs", "right"),
        ("first diff step", "right"),
        ("oracle rel err", "right"),
        ("bound", "right"),
        ("seconds", "right"),
        ("verdict", "left"),
    ]
    return render_grouped_table(columns, [_rows(c) for c in comparisons], width=width)


def _rows(comparison: Comparison) -> list[tuple[str, ...]]:
    """One row per style, then the noise floor's (the reference nudged by one ULP)."""
    rows = [
        (
            comparison.model if index == 0 else "",
            result.mode,
            str(result.trajectory.final_loss),
            str(result.max_loss_ulps),
            str(result.max_param_ulps),
            str(result.max_slot_ulps),
            "none" if result.first_divergent_step is None else str(result.first_divergent_step),
            f"{result.oracle.relative_error:.2e}",
            f"{result.oracle.bound:.1e}",
            f"{result.trajectory.seconds:.2f}",
            str(comparison.full_verdict) if index == 0 else "",
        )
        for index, result in enumerate(comparison.results)
    ]
    floor = comparison.noise_floor
    if floor is not None:
        rows.append(
            (
                "",
                "noise floor",
                "",
                str(floor.max_loss_ulps),
                str(floor.param_ulps),
                str(floor.slot_ulps),
                "",
                "",
                "",
                "",
                "",
            )
        )
    return rows


NOISE_FLOOR_NOTE = (
    "noise floor: graph style rerun from its initial values nudged by one ULP; a style no "
    "further from graph than that is 'equivalent (within noise floor)': the run amplifies "
    "rounding, and no port can be held closer. Oracle: each loss and parameter element's "
    "relative error from the float64 oracle, within the bound shown (scaled by the noise floor "
    "where the run is sensitive), or the verdict is 'different'."
)


def render_text(renderable: Any, *, width: int | None = None) -> str:
    """A rich renderable as plain text, `width` columns wide (220 by default)."""
    from rich.console import Console

    console = Console(width=width or 220, record=True, file=_Discard(), color_system=None)
    console.print(renderable)
    return console.export_text()


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
