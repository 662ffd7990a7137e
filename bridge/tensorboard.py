"""TensorBoard pictures of a check or a comparison: `check`/`compare --tensorboard DIR`.

One run (a subdirectory of DIR) per style: its loss per step; for a port, its distance from TF1
per step (loss ULPs, the largest variable's ULPs) beside the noise floor; and, where the ladder
located the port's layers, a run `layers` with each layer's ULPs and a histogram of port - TF1
per layer at the step they part.

Written through `tf.summary.write` with the metadata TensorBoard's own scalar and histogram
summaries carry (plugin "scalars": a float32 scalar; plugin "histograms": a [buckets, 3] tensor
of left edge, right edge, count; tensorboard/plugins/*/summary_v2.py), so the files read the same
in TensorBoard whether or not the tensorboard package is installed where they are written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from tfmigration.measure.migration_report import CheckReport

HISTOGRAM_BUCKETS = 30


def _metadata(plugin: str) -> summary_pb2.SummaryMetadata:
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )


def _scalar(tag: str, value: float, step: int) -> None:
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=_metadata("scalars"))


def _histogram(tag: str, values: np.ndarray, step: int) -> None:
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        buckets = np.zeros((0, 3))
    else:
        low, high = float(values.min()), float(values.max())
        if low == high:
            buckets = np.array([[low - 0.5, high + 0.5, values.size]], dtype=np.float64)
        else:
            counts, edges = np.histogram(values, bins=HISTOGRAM_BUCKETS)
            buckets = np.stack([edges[:-1], edges[1:], counts], axis=1).astype(np.float64)
    tf.summary.write(tag, tf.constant(buckets), step=step, metadata=_metadata("histograms"))


def _run_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _write(directory: Path, run: str, body: Any) -> None:
    writer = tf.summary.create_file_writer(str(directory / _run_name(run)))
    with writer.as_default():
        body()
    writer.flush()
    writer.close()


def write_check(report: CheckReport, directory: str | Path) -> None:
    """The check's curves, distances and per-layer differences as TensorBoard runs in
    `directory`: one run per style, and `layers` where the ladder located them."""
    directory = Path(directory)
    floor = report.noise_floor

    for result in report.results:

        def body(result: Any = result) -> None:
            for step, loss in enumerate(result.losses):
                _scalar("loss", float(loss), step)
            if result is report.results[0]:
                return
            for step, ulps in enumerate(result.loss_ulps if result.loss_ulps is not None else []):
                _scalar("distance/loss_ulps", float(ulps), step)
                if floor is not None:
                    _scalar("distance/noise_floor_loss_ulps", float(floor.loss_ulps), step)
            for step, ulps in enumerate(result.param_ulps if result.param_ulps is not None else []):
                _scalar("distance/param_ulps", float(ulps), step)
                if floor is not None:
                    _scalar("distance/noise_floor_param_ulps", float(floor.param_ulps), step)
            divergence = result.divergence
            if divergence is not None:
                _scalar(f"variables/{divergence.variable}", float(divergence.ulps), divergence.step)

        _write(directory, result.mode, body)

    located = [f for f in report.findings if f.layers]
    if located:

        def layers() -> None:
            for finding in located:
                for comparison in finding.layers:
                    # The backward walk's ULPs are of each layer's input gradient.
                    kind = "layer" if comparison.direction == "forward" else "layer_gradient"
                    if comparison.ulps is not None:
                        _scalar(f"{kind}_ulps/{comparison.layer}", comparison.ulps, finding.step)
                    if comparison.difference is not None:
                        _histogram(
                            f"{kind}_difference/{comparison.layer}",
                            comparison.difference,
                            finding.step,
                        )

        _write(directory, "layers", layers)


def write_comparisons(comparisons: Sequence[Any], directory: str | Path) -> None:
    """Catalog comparisons (`compare`) as TensorBoard runs `<model>/<style>`: each style's loss
    per step, and each port style's loss ULPs from graph style beside the noise floor."""
    from tfmigration.measure.noise_floor import loss_curve
    from tfmigration.measure.ulp import ulp_distance

    directory = Path(directory)
    for comparison in comparisons:
        reference = loss_curve(comparison.results[0].trajectory)
        floor = comparison.noise_floor
        band: Mapping[int, float] = {}
        if floor is not None:
            band = dict(enumerate(np.broadcast_to(floor.loss_ulps, reference.shape).tolist()))
        for result in comparison.results:
            curve = loss_curve(result.trajectory)

            def body(
                curve: np.ndarray = curve,
                first: bool = result is comparison.results[0],
                reference: np.ndarray = reference,
                band: Mapping[int, float] = band,
            ) -> None:
                for step, loss in enumerate(curve):
                    _scalar("loss", float(loss), step)
                if first:
                    return
                for step, ulps in enumerate(ulp_distance(curve, reference)):
                    _scalar("distance/loss_ulps", float(ulps), step)
                    if step in band:
                        _scalar("distance/noise_floor_loss_ulps", float(band[step]), step)

            _write(directory / _run_name(comparison.model), result.mode, body)
