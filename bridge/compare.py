"""Run one problem in every execution style and measure how far each lands from the TF1 original.

Graph style is the reference (it is the code being migrated); eager and tf.function are measured
against it in ULPs, step by step, and every style against the NumPy float64 oracle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import replace

from bridge.styles import runner, split_batch_reference
from tfmigration.catalog.problem import Problem
from tfmigration.execution import STYLES, RunSettings
from tfmigration.measure.comparison import (
    DEFAULT_TOLERANCE_ULPS,
    REFERENCE_STYLE,
    Comparison,
    measure,
)
from tfmigration.measure.noise_floor import measure_noise_floor, nudge_one_ulp
from tfmigration.measure.oracle_check import problem_bound


def for_style(settings: RunSettings, style: str) -> RunSettings:
    """The settings `style` runs with in a comparison, the others left at their defaults:
    `steps_per_call` fuses graph and tf.function (eager always runs step by step),
    `jit_compile` is tf.function style's alone, `variables` graph style's, `multi_worker` the
    TF2 styles', `ports` those of the styles that start processes (graph's between-graph
    cluster, the TF2 styles' workers under `multi_worker`); a comparison writes and reads no
    checkpoints."""
    starts_processes = style == "graph" or settings.multi_worker
    return RunSettings(
        strict=settings.strict,
        steps_per_call=settings.steps_per_call if style != "eager" else 1,
        jit_compile=settings.jit_compile and style == "function",
        variables=settings.variables if style == "graph" else None,
        replicas=settings.replicas,
        multi_worker=settings.multi_worker and style != "graph",
        ports=settings.ports if starts_processes else None,
        cluster_timeout=settings.cluster_timeout,
    )


def compare_problem(
    problem: Problem,
    settings: RunSettings = RunSettings(),
    *,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
    on_style: Callable[[str], None] | None = None,
) -> Comparison:
    """Train `problem` in every style (graph first) and in the oracle, and measure each; each
    style reads of `settings` what applies to it (`for_style`).

    The reference style runs once more, from initial values nudged by one ULP, to measure its
    noise floor: how far rounding alone carries it (`tfmigration/measure/noise_floor.py`).

    The oracle follows TF1's equations (the code being migrated), so under --defaults each the
    Keras styles' oracle error is how far renaming the class lands from the TF1 result.

    With `settings.replicas` > 1 the styles run data-parallel, measured against the split-batch
    reference (compare_replicated).
    """
    if settings.replicas > 1:
        return compare_replicated(
            problem, settings, tolerance_ulps=tolerance_ulps, styles=styles, on_style=on_style
        )
    from tfmigration.oracle.engine import train as train_oracle

    trajectories = {}
    for style in (REFERENCE_STYLE, *(s for s in styles if s != REFERENCE_STYLE)):
        if on_style is not None:
            on_style(style)
        trajectories[style] = runner(style)(problem, for_style(settings, style))
    if on_style is not None:
        on_style("noise floor")
    nudged = dataclasses.replace(problem, initial_params=nudge_one_ulp(problem.initial_params))
    reference = trajectories[REFERENCE_STYLE]
    floor = measure_noise_floor(
        reference,
        runner(REFERENCE_STYLE)(nudged, for_style(settings, REFERENCE_STYLE)),
    )
    oracle = train_oracle(problem)
    bound = problem_bound(problem)
    return Comparison(
        model=problem.model.name,
        strict=settings.strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(
            measure(t, reference, oracle, noise_floor=floor, oracle_bound=bound)
            for t in trajectories.values()
        ),
        oracle=oracle,
        optimizer=problem.optimizer,
        defaults=problem.defaults,
        steps_per_call=settings.steps_per_call,
        jit_compile=settings.jit_compile,
        noise_floor=floor,
        variables=settings.variables or "ref",
    )


def replication_notes(replicas: int, *, multi_worker: bool = False) -> dict[str, str]:
    """How each style replicates and scales its loss, for the report."""
    tf2 = (
        f"MultiWorkerMirroredStrategy, {replicas} worker processes (RING all-reduce)"
        if multi_worker
        else f"MirroredStrategy over {replicas} logical CPUs (ReductionToOneDevice)"
    )
    scaling = "each replica's loss scaled as tf.nn.compute_average_loss(global_batch_size)"
    return {
        "graph": f"TF1 between-graph: 1 parameter server + {replicas} worker processes, "
        "SyncReplicasOptimizer, MonitoredTrainingSession; each worker's loss the mean of its "
        "shard, the gradients averaged",
        "eager": f"{tf2}; {scaling}",
        "function": f"{tf2} under tf.function; {scaling}",
    }


def compare_replicated(
    problem: Problem,
    settings: RunSettings,
    *,
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS,
    styles: Sequence[str] = STYLES,
    on_style: Callable[[str], None] | None = None,
) -> Comparison:
    """Train `problem` data-parallel over `settings.replicas` and measure it against two references.

    Graph style runs TF1 between-graph replication (processes on 127.0.0.1), eager and
    tf.function style MirroredStrategy (or, `settings.multi_worker`, MultiWorkerMirroredStrategy
    with a process per worker). The split-batch reference (the same shards, gradients summed
    in replica order, in one Session; in the oracle, the same in NumPy float64) is what every
    replicated style must reproduce, bit for bit in strict mode. One device on the whole batch
    answers whether the port kept the model; each style's distance to it is reported beside,
    judged by one device's own noise floor.
    """
    from tfmigration.distributed import check_equal_shards, check_replicas
    from tfmigration.oracle.distributed import train as train_split_oracle

    replicas, strict = settings.replicas, settings.strict
    check_replicas(
        replicas,
        problem.batch_rows,
        steps_per_call=settings.steps_per_call,
        jit_compile=settings.jit_compile,
    )
    if "graph" in styles:
        check_equal_shards(replicas, problem.batch_rows)
    if on_style is not None:
        on_style("split-batch reference")
    reference = split_batch_reference(problem, replicas, strict=strict)
    trajectories = {}
    for style in styles:
        if on_style is not None:
            on_style(style)
        trajectories[style] = runner(style)(problem, for_style(settings, style))
    if on_style is not None:
        on_style("one device")
    one_device_settings = RunSettings(strict=strict)
    one_device = runner(REFERENCE_STYLE)(problem, one_device_settings)
    nudged = dataclasses.replace(problem, initial_params=nudge_one_ulp(problem.initial_params))
    one_device_floor = measure_noise_floor(
        one_device, runner(REFERENCE_STYLE)(nudged, one_device_settings)
    )
    oracle = train_split_oracle(problem, replicas)
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
    notes = replication_notes(replicas, multi_worker=settings.multi_worker)
    return Comparison(
        model=problem.model.name,
        strict=strict,
        tolerance_ulps=tolerance_ulps,
        results=tuple(results),
        oracle=oracle,
        optimizer=problem.optimizer,
        defaults=problem.defaults,
        variables=settings.variables or "ref",
        replicas=replicas,
        replication={style: notes[style] for style in trajectories},
        one_device_floor=one_device_floor,
    )
