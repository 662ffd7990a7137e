"""What `tfbridge check FILE --inference SRC` found: the trained TF1 model's outputs against the
port's, batch by batch, called directly and through its serving export.

Style-free, like migration_report.py, whose types and verdict rule it reuses: each style is a
`StyleCheck` whose loss ULPs are the outputs' normwise ULPs (no variables or slots are compared,
the weights being TF1's by construction), each batch beyond the tolerance a measured `Finding`,
and the verdict is `judge`'s over them, with no noise floor (nothing trains, so nothing
amplifies).

Outputs are held to the tolerance normwise (`normwise_ulp_distance`: the largest difference in
ULPs of the batch's largest output), as the ladder holds gradients: an output near zero (a logit
of 0.0014, whose ULP is 1.2e-10) reads as hundreds of ULPs elementwise for the rounding of the
sums that made it, as a Keras LSTM's `x @ W + h @ U` against TF1's one product over
`concat([x, h])` does. Elementwise ULPs are reported beside them; `identical` still means every
output equal bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tfmigration.measure.layer_report import layers_text
from tfmigration.measure.migration_report import (
    CheckReport,
    Divergence,
    Finding,
    StyleCheck,
    first_difference,
    judge,
)
from tfmigration.measure.ulp import max_ulp_distance, normwise_ulp_distance, relative_error


@dataclass(frozen=True)
class OutputComparison:
    """One style's outputs against TF1's, batch by batch."""

    mode: str  # "eager" (tf2_predict called on the port) or "serving" (the reloaded export)
    batch_ulps: tuple[int, ...]  # elementwise
    batch_relative: tuple[float, ...]
    batch_normwise: tuple[int, ...]  # what the tolerance holds
    divergence: Divergence | None  # the first batch that differs: `step` is the batch's index
    seconds: float

    @property
    def max_ulps(self) -> int:
        return max(self.batch_ulps, default=0)

    @property
    def max_normwise(self) -> int:
        return max(self.batch_normwise, default=0)

    @property
    def relative(self) -> float:
        return max(self.batch_relative, default=0.0)

    def style_check(self) -> StyleCheck:
        return StyleCheck(
            mode=self.mode,
            losses=np.empty(0, np.float32),
            max_loss_ulps=self.max_normwise if self.max_ulps else 0,
            max_param_ulps=0,
            max_slot_ulps=0,
            first_divergent_step=None if self.divergence is None else self.divergence.step,
            first_divergent_variable=None,
            divergence=self.divergence,
            seconds=self.seconds,
            loss_relative=self.relative,
        )

    def findings(self, output: str) -> list[Finding]:
        return [
            Finding(
                rung="output",
                variable=output,
                message=f"batch {batch}: {output} {normwise} ULPs apart normwise ({ulps} "
                f"elementwise, {relative:.2g} relative)",
                ulps=normwise,
                step=batch,
                relative=relative,
            )
            for batch, (ulps, normwise, relative) in enumerate(
                zip(self.batch_ulps, self.batch_normwise, self.batch_relative, strict=True)
            )
            if ulps
        ]


def compare_outputs(
    mode: str,
    tf1_outputs: list[np.ndarray],
    port_outputs: list[np.ndarray],
    names: tuple[str, str],
    seconds: float,
) -> OutputComparison:
    """`mode`'s outputs against TF1's, batch by batch (`names`: TF1's tensor, the port's)."""
    divergence = None
    for batch, (tf1, port) in enumerate(zip(tf1_outputs, port_outputs, strict=True)):
        divergence = first_difference([(names[0], names[1], tf1, port)], batch)
        if divergence is not None:
            break
    return OutputComparison(
        mode=mode,
        batch_ulps=tuple(
            max_ulp_distance(tf1, port) for tf1, port in zip(tf1_outputs, port_outputs, strict=True)
        ),
        batch_relative=tuple(
            relative_error(port, tf1) for tf1, port in zip(tf1_outputs, port_outputs, strict=True)
        ),
        batch_normwise=tuple(
            normwise_ulp_distance(port, tf1)
            for tf1, port in zip(tf1_outputs, port_outputs, strict=True)
        ),
        divergence=divergence,
        seconds=seconds,
    )


@dataclass(frozen=True)
class InferenceReport:
    model: str
    path: str
    source: str
    source_kind: str
    tf1_output: str  # the TF1 tensor's name
    port_output: str  # "tf2_predict()" or "tf2_loss()"
    batch_size: int | None  # None: the whole data set in one batch
    batch_rows: tuple[int, ...]
    tolerance_ulps: int
    strict: bool
    results: tuple[OutputComparison, ...]  # eager first, then serving
    variable_map: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = ()
    # Where the port's outputs first differ beyond the tolerance: check's first-differing-layer
    # report (bridge/checking/layers.py `localise`) on that batch, called directly; else None.
    layer: Finding | None = None

    # The same text as check's: it reads only `variable_map`.
    mapping_text = CheckReport.mapping_text

    def _judged(self, results: tuple[OutputComparison, ...]) -> str:
        reference = StyleCheck(
            mode="graph",
            losses=np.empty(0, np.float32),
            max_loss_ulps=0,
            max_param_ulps=0,
            max_slot_ulps=0,
            first_divergent_step=None,
            first_divergent_variable=None,
            divergence=None,
            seconds=0.0,
        )
        findings = [f for result in results for f in result.findings(self.tf1_output)]
        checks = [reference, *(result.style_check() for result in results)]
        return judge(checks, findings, None, self.tolerance_ulps, ())[0]

    @property
    def verdict(self) -> str:
        """`identical`, `equivalent` or `different`, by `judge` over every style."""
        return self._judged(self.results)

    def style_verdict(self, mode: str) -> str:
        return self._judged(tuple(r for r in self.results if r.mode == mode))

    def records(self) -> list[dict[str, Any]]:
        """One JSON record per style compared batch by batch (eager, serving)."""
        return [
            {
                "model": self.model,
                "mode": result.mode,
                "source": self.source,
                "source_kind": self.source_kind,
                "tf1_output": self.tf1_output,
                "port_output": self.port_output,
                "batch_size": self.batch_size,
                "batch_rows": list(self.batch_rows),
                "batch_ulps": list(result.batch_ulps),
                "batch_relative_distance": list(result.batch_relative),
                "max_ulps": result.max_ulps,
                "batch_normwise_ulps": list(result.batch_normwise),
                "max_normwise_ulps": result.max_normwise,
                "relative_distance": result.relative,
                "first_difference": None
                if result.divergence is None
                else {
                    "batch": result.divergence.step,
                    "index": list(result.divergence.index),
                    "tf1_value": result.divergence.tf1_value,
                    "port_value": result.divergence.port_value,
                    "ulps": result.divergence.ulps,
                },
                "variable_map": {tf1: tf2 for tf1, tf2, _ in self.variable_map},
                "tolerance_ulps": self.tolerance_ulps,
                "strict": self.strict,
                "seconds": result.seconds,
                "verdict": self.verdict,
                "style_verdict": self.style_verdict(result.mode),
                "layer": self._layer_record(),
            }
            for result in self.results
        ]

    def _layer_record(self) -> dict[str, Any] | None:
        if self.layer is None:
            return None
        return {
            "batch": self.layer.step,
            "layer": self.layer.variable,
            "message": self.layer.message,
            "layers": [c.record() for c in self.layer.layers],
        }

    def explain(self) -> str:
        """The verdict first, then where the outputs first part, then a row per style."""
        rows = sum(self.batch_rows)
        lines = [
            f"{self.model}: {self.verdict} ({self._reason()})",
            f"{self.tf1_output} (TF1, from the {self.source_kind} {self.source}) against "
            f"{self.port_output} (the port, TF1's values through the pairing), {rows} rows in "
            f"{len(self.batch_rows)} batch{'es' if len(self.batch_rows) != 1 else ''}:",
        ]
        for result in self.results:
            if result.divergence is not None:
                d = result.divergence
                index = "".join(f"[{i}]" for i in d.index)
                lines.append(
                    f"  {result.mode}: first differs at batch {d.step}, {self.tf1_output}{index} "
                    f"{d.tf1_value!r} in TF1, {d.port_value!r} in the port ({d.ulps} ULPs)"
                )
        if self.layer is not None:
            lines.append(f"  layers, batch {self.layer.step}: {self.layer.message}")
            if self.layer.layers:
                lines += ["    layers, port -> TF1:", layers_text(self.layer.layers)]
        lines += [f"note: {note}" for note in self.notes]
        lines.append(
            f"{'style':<9} {'max ULPs':>9} {'normwise':>9} {'relative':>10} {'verdict':>11}"
        )
        for result in self.results:
            lines.append(
                f"{result.mode:<9} {result.max_ulps:>9} {result.max_normwise:>9} "
                f"{result.relative:>10.2g} {self.style_verdict(result.mode):>11}"
            )
        return "\n".join(lines)

    def _reason(self) -> str:
        worst = max(result.max_ulps for result in self.results)
        normwise = max(result.max_normwise for result in self.results)
        relative = max(result.relative for result in self.results)
        if worst == 0:
            return "every output equal bit for bit, called directly and served"
        within = "within" if normwise <= self.tolerance_ulps else "beyond"
        return (
            f"outputs at most {normwise} ULPs apart normwise ({worst} elementwise, "
            f"{relative:.2g} relative), {within} --tolerance-ulps {self.tolerance_ulps}"
        )
