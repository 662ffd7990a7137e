"""A picture of a comparison: loss curves, and each style's ULPs with the noise floor as a band.

`draw_panels` takes style-free inputs (curves and ULP series by name), so `check` can draw its
own runs; `comparison_panel` builds one from a catalog `Comparison`. matplotlib is imported only
when drawing, with the Agg backend (no display needed), so the CLIs' `--help` stays fast.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfmigration.measure.comparison import Comparison
from tfmigration.measure.noise_floor import loss_curve
from tfmigration.measure.ulp import ulp_distance
from tfmigration.serialize import write_atomically


@dataclass(frozen=True)
class PlotPanel:
    """One model's row of the figure.

    `loss_curves`: each run's losses (every step, then the final loss) by name; `oracle_curve`
    the oracle's, drawn dashed; `ulps`: each run's ULP distance from `reference` per entry of the
    loss curve; `noise_band`: the reference's noise floor per entry, drawn as a shaded band.
    """

    title: str
    loss_curves: Mapping[str, np.ndarray]
    ulps: Mapping[str, np.ndarray]
    oracle_curve: np.ndarray | None = None
    noise_band: np.ndarray | None = None
    tolerance_ulps: int | None = None
    reference: str = "graph"
    # Each port layer's ULPs from its TF1 tensor at `layers_step` (check's localisation), in the
    # port's order; `named_layer` the first that differs fed TF1's own input.
    layers: Mapping[str, int] | None = None
    layers_step: int | None = None
    named_layer: str | None = None
    # "backward": the ULPs are of each layer's input gradient, in the walk's order (from the loss).
    layers_direction: str = "forward"


def comparison_panel(comparison: Comparison) -> PlotPanel:
    """The panel of a catalog comparison, every style measured against the first (graph)."""
    reference = comparison.results[0].trajectory
    reference_curve = loss_curve(reference)
    return PlotPanel(
        title=f"{comparison.model}: {comparison.optimizer}, {comparison.full_verdict!s}",
        loss_curves={r.mode: loss_curve(r.trajectory) for r in comparison.results},
        ulps={
            r.mode: ulp_distance(loss_curve(r.trajectory), reference_curve)
            for r in comparison.results[1:]
        },
        oracle_curve=loss_curve(comparison.oracle),
        noise_band=None if comparison.noise_floor is None else comparison.noise_floor.loss_ulps,
        tolerance_ulps=comparison.tolerance_ulps,
        reference=reference.mode,
    )


def draw_panels(path: str | Path, panels: Sequence[PlotPanel]) -> Any:
    """Write the panels, one row each (losses left, ULPs right, and the layers where a panel
    has them), to the PNG `path`, atomically; returns the matplotlib Figure drawn."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A Figure of its own, not pyplot's global state: nothing leaks between calls.
    columns = 3 if any(panel.layers for panel in panels) else 2
    figure = Figure(figsize=(6.5 * columns, 3.6 * max(len(panels), 1)), layout="constrained")
    axes = figure.subplots(max(len(panels), 1), columns, squeeze=False)
    for row, panel in zip(axes, panels, strict=False):
        _draw_losses(row[0], panel)
        _draw_ulps(row[1], panel)
        if columns == 3:
            _draw_layers(row[2], panel)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_atomically(path, buffer.getvalue())
    return figure


def _steps(curve: np.ndarray) -> np.ndarray:
    # The last entry is the final loss, one forward pass after the last step.
    return np.arange(len(curve))


def _draw_losses(axis: object, panel: PlotPanel) -> None:
    styles = ("-", "--", ":", "-.")
    for index, (name, curve) in enumerate(panel.loss_curves.items()):
        curve = np.asarray(curve, dtype=np.float64)
        axis.plot(_steps(curve), curve, styles[index % len(styles)], label=name, linewidth=1.2)
    if panel.oracle_curve is not None:
        oracle = np.asarray(panel.oracle_curve, dtype=np.float64)
        axis.plot(_steps(oracle), oracle, color="black", linewidth=0.8, alpha=0.6, label="oracle")
    curves = [np.asarray(c) for c in panel.loss_curves.values()]
    if curves and all(np.all(c > 0) for c in curves):
        axis.set_yscale("log")
    axis.set_title(f"{panel.title}: loss", fontsize=9)
    axis.set_xlabel("step (last: final loss)")
    axis.set_ylabel("loss")
    axis.legend(fontsize=8)


def _draw_ulps(axis: object, panel: PlotPanel) -> None:
    if panel.noise_band is not None:
        band = np.asarray(panel.noise_band, dtype=np.float64)
        axis.fill_between(
            _steps(band), 0, band, color="tab:gray", alpha=0.35, step="mid", label="noise floor"
        )
    for name, ulps in panel.ulps.items():
        ulps = np.asarray(ulps, dtype=np.float64)
        axis.plot(_steps(ulps), ulps, drawstyle="steps-mid", linewidth=1.0, label=name)
    if panel.tolerance_ulps is not None:
        axis.axhline(
            panel.tolerance_ulps, color="tab:red", linestyle="--", linewidth=0.8, label="tolerance"
        )
    # ULPs span 0 to 10^6 and more: linear near zero, logarithmic beyond.
    axis.set_yscale("symlog", linthresh=1.0)
    axis.set_ylim(bottom=0)
    axis.set_title(f"ULPs from {panel.reference} per step", fontsize=9)
    axis.set_xlabel("step (last: final loss)")
    axis.set_ylabel("ULPs")
    axis.legend(fontsize=8)


def _draw_layers(axis: object, panel: PlotPanel) -> None:
    """Each port layer's ULPs from its TF1 tensor where the runs part, the named one in red."""
    layers = dict(panel.layers or {})
    if not layers:
        axis.set_axis_off()
        return
    names = list(layers)
    colors = ["tab:red" if name == panel.named_layer else "tab:blue" for name in names]
    axis.barh(range(len(names)), [float(layers[n]) for n in names], color=colors)
    axis.set_yticks(range(len(names)), names, fontsize=7)
    axis.invert_yaxis()  # the port's first layer on top
    axis.set_xscale("symlog", linthresh=1.0)
    axis.set_xlim(left=0)
    what = "input gradients" if panel.layers_direction == "backward" else "layers"
    axis.set_title(f"{what} at step {panel.layers_step}: ULPs from TF1", fontsize=9)
    axis.set_xlabel("ULPs (normwise)")
