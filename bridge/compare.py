"""Run one problem in every execution style and measure how far each lands from the TF1 original.

Graph style is the reference (it is the code being migrated); eager and tf.function are measured
against it in ULPs, step by step, and every style against the NumPy float64 oracle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import replace

from tfmigration.catalog.problem import Problem
from tfmigration.measure.comparison import (
    DEFAULT_TOLERANCE_ULPS,
    REFERENCE_STYLE,
    Comparison,
    measure,
)
from tfmigration.measure.noise_floor import measure_noise_floor, nudge_one_ulp
from tfmigration.measure.oracle_check import problem_bound
from tfmigration.training.styles import STYLES, runner


def compare_problem(
    problem: Problem,
    *,
    strict: bool = False,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
    on_style: Callable[[str], None] | None = None,
    steps_per_call: int = 1,
    jit_compile: bool = False,
    variables: str = "ref",
    replicas: int = 1,
) -> Comparison:
    """Train `problem` in every style (graph first) and in the oracle, and measure each.

    `steps_per_call` fuses the graph and tf.function loops (eager always runs step by step);
    `jit_compile` applies to tf.function style alone, `variables` ("ref", TF1's RefVariables,
    or "resource") to graph style alone.

    The reference style runs once more, from initial values nudged by one ULP, to measure its
    noise floor: how far rounding alone carries it (tfmigration/measure/noise_floor.py).

    The oracle follows TF1's equations (the code being migrated), so under --defaults each the
    Keras styles' oracle error is how far renaming the class lands from the TF1 result.

    With `replicas` > 1 the styles run data-parallel and graph style is the split-batch
    reference (compare_replicated).
    """
    if replicas > 1:
        return compare_replicated(
            problem,
            replicas,
            strict=strict,
            tolerance_ulps=tolerance_ulps,
            styles=styles,
            on_style=on_style,
            steps_per_call=steps_per_call,
            jit_compile=jit_compile,
        )
    from tfmigration.oracle.engine import train as train_oracle

    execution = {
        "graph": {"steps_per_call": steps_per_call, "variables": variables},
        "eager": {},
        "function": {"steps_per_call": steps_per_call, "jit_compile": jit_compile},
    }
    trajectories = {}
    for style in (REFERENCE_STYLE, *(s for s in styles if s != REFERENCE_STYLE)):
        if on_style is not None:
            on_style(style)
        trajectories[style] = runner(style)(problem, strict=strict, **execution[style])
    if on_style is not None:
        on_style("noise floor")
    nudged = dataclasses.replace(problem, initial_params=nudge_one_ulp(problem.initial_params))
    reference = trajectories[REFERENCE_STYLE]
    floor = measure_noise_floor(
        reference,
        runner(REFERENCE_STYLE)(nudged, strict=strict, **execution[REFERENCE_STYLE]),
    )
    oracle = train_oracle(problem)
    bound = problem_bound(problem)
    return Comparison(
        model=problem.model.name,
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(
            measure(t, reference, oracle, noise_floor=floor, oracle_bound=bound)
            for t in trajectories.values()
        ),
        oracle=oracle,
        optimizer=problem.optimizer,
        defaults=problem.defaults,
        steps_per_call=steps_per_call,
        jit_compile=jit_compile,
        noise_floor=floor,
        variables=variables,
    )


def compare_replicated(
    problem: Problem,
    replicas: int,
    *,
    strict: bool = False,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
    on_style: Callable[[str], None] | None = None,
    steps_per_call: int = 1,
    jit_compile: bool = False,
) -> Comparison:
    """Train `problem` data-parallel over `replicas` and measure it against two references.

    The split-batch reference (graph style: the same shards, gradients summed in replica order,
    in one Session; in the oracle, the same in NumPy float64) is what every replicated style
    must reproduce, bit for bit in strict mode. One device on the whole batch (graph style,
    unreplicated) answers whether the port kept the model; its distance is reported beside.
    """
    from tfmigration.distributed import check_replicas
    from tfmigration.oracle.distributed import train as train_split_oracle

    check_replicas(
        replicas, problem.batch_rows, steps_per_call=steps_per_call, jit_compile=jit_compile
    )
    trajectories = {}
    for style in (REFERENCE_STYLE, *(s for s in styles if s != REFERENCE_STYLE)):
        if on_style is not None:
            on_style(style)
        trajectories[style] = runner(style)(problem, strict=strict, replicas=replicas)
    one_device = runner(REFERENCE_STYLE)(problem, strict=strict)
    oracle = train_split_oracle(problem, replicas)
    reference = trajectories[REFERENCE_STYLE]
    results = []
    for trajectory in trajectories.values():
        against_one_device = measure(trajectory, one_device, oracle)
        results.append(
            replace(
                measure(trajectory, reference, oracle, oracle_bound=problem_bound(problem)),
                one_device_loss_ulps=against_one_device.max_loss_ulps,
                one_device_param_ulps=against_one_device.max_param_ulps,
            )
        )
    return Comparison(
        model=problem.model.name,
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(results),
        oracle=oracle,
        optimizer=problem.optimizer,
        defaults=problem.defaults,
        replicas=replicas,
    )
