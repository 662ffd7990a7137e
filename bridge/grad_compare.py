"""The autodiff demos run in every style and in the oracle, then measured.

The measure, records and table are in `tfmigration.measure.demo_comparison`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bridge.styles import demo_runner
from tfmigration.catalog.demos import get_demo
from tfmigration.execution import STYLES
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS, REFERENCE_STYLE
from tfmigration.measure.demo_comparison import DemoComparison, Quantities, measure


def compare_demo(
    name: str,
    *,
    strict: bool = False,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
) -> DemoComparison:
    """Run demo `name` in every style (graph first) and in the oracle, and measure each."""
    from tfmigration.oracle.demos import run_demo as oracle_demo

    get_demo(name)
    runs: dict[str, tuple[Quantities, float]] = {}
    for style in (REFERENCE_STYLE, *(s for s in styles if s != REFERENCE_STYLE)):
        start = time.perf_counter()
        results = demo_runner(style)(name, strict=strict)
        runs[style] = (results, time.perf_counter() - start)
    oracle = oracle_demo(name)
    reference = runs[REFERENCE_STYLE][0]
    return DemoComparison(
        demo=name,
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(
            measure(style, results, reference, oracle, seconds)
            for style, (results, seconds) in runs.items()
        ),
        oracle=oracle,
    )
