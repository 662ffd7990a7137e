"""Measuring the autodiff demos: each style's quantities against graph style and the oracle.

The same measure as training comparisons (bridge.compare): ULP distance from graph style (the
TF1 original), over every quantity of the demo, and the relative error from the float64 oracle;
the same verdict rule. The catalog's demos are exact in float32, so all must be `identical`.

A JSON record, one per demo and style (`demo_records`): its fields are declared, with what each
means, in `record_fields.COMPARE_DEMO` (docs/json.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfmigration.catalog.spec import DEFAULT_ORACLE_BUDGET_EPS
from tfmigration.measure.noise_floor import elementwise_relative_error
from tfmigration.measure.oracle_check import base_bound
from tfmigration.measure.report import render_grouped_table
from tfmigration.measure.ulp import max_ulp_distance
from tfmigration.measure.verdict import BEYOND_ORACLE, decide
from tfmigration.serialize import exact

# The demos compute in float32 (small exact integers, so every style is exact in practice).
ORACLE_BOUND = base_bound(DEFAULT_ORACLE_BUDGET_EPS, "float32", float32_hyperparameters=False)

Quantities = dict[str, np.ndarray]


@dataclass(frozen=True)
class DemoStyleResult:
    """One style's quantities, measured against graph style and against the oracle."""

    mode: str
    results: Quantities
    max_ulps: int
    first_divergent_quantity: str | None
    oracle_relative_error: float
    seconds: float


@dataclass(frozen=True)
class DemoComparison:
    demo: str
    strict: bool
    tolerance_ulps: int
    results: tuple[DemoStyleResult, ...]
    oracle: Quantities

    @property
    def verdict(self) -> str:
        """The rule of tfmigration/measure/verdict.py over the worst quantity, no floor measured."""
        beyond = any(result.oracle_relative_error > ORACLE_BOUND for result in self.results)
        return decide(
            (max(result.max_ulps for result in self.results),),
            tolerance_ulps=self.tolerance_ulps,
            against=[BEYOND_ORACLE] if beyond else [],
        ).verdict


def measure(
    mode: str, results: Quantities, reference: Quantities, oracle: Quantities, seconds: float
) -> DemoStyleResult:
    """How far one style's `results` lie from graph style's (ULPs) and the oracle's."""
    ulps = {name: max_ulp_distance(results[name], reference[name]) for name in reference}
    divergent = [name for name, distance in ulps.items() if distance]
    return DemoStyleResult(
        mode=mode,
        results=results,
        max_ulps=max(ulps.values(), default=0),
        first_divergent_quantity=divergent[0] if divergent else None,
        oracle_relative_error=max(
            (
                float(np.max(elementwise_relative_error(results[name], oracle[name]), initial=0.0))
                for name in oracle
            ),
            default=0.0,
        ),
        seconds=seconds,
    )


def demo_records(comparisons: Sequence[DemoComparison]) -> list[dict[str, Any]]:
    """One record per demo and style; the keys are `record_fields.COMPARE_DEMO`'s."""
    return [
        {
            "model": comparison.demo,
            "kind": "demo",
            "mode": result.mode,
            "results": exact(result.results),
            "max_ulps": result.max_ulps,
            "first_divergent_quantity": result.first_divergent_quantity,
            "oracle_rel_error": result.oracle_relative_error,
            "seconds": result.seconds,
            "strict": comparison.strict,
            "tolerance_ulps": comparison.tolerance_ulps,
            "verdict": comparison.verdict,
        }
        for comparison in comparisons
        for result in comparison.results
    ]


def render_demo_table(comparisons: Sequence[DemoComparison], *, width: int | None = None) -> str:
    """The demo comparisons as a text table, eager and tf.function measured against graph."""
    columns = [
        ("demo", "left"),
        ("style", "left"),
        ("max ULPs", "right"),
        ("first diff quantity", "left"),
        ("oracle rel err", "right"),
        ("seconds", "right"),
        ("verdict", "left"),
    ]
    groups = [
        [
            (
                comparison.demo if index == 0 else "",
                result.mode,
                str(result.max_ulps),
                result.first_divergent_quantity or "none",
                f"{result.oracle_relative_error:.2e}",
                f"{result.seconds:.2f}",
                comparison.verdict if index == 0 else "",
            )
            for index, result in enumerate(comparison.results)
        ]
        for comparison in comparisons
    ]
    return render_grouped_table(columns, groups, width=width)
