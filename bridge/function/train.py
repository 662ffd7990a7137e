"""tf.function style's runner: one device, or MirroredStrategy's (or MultiWorkerMirrored's)
custom loop, traced.

Above the engines it picks from (`bridge/function/engine.py`, `bridge/function/distributed.py`,
`bridge/function/multi_worker.py`), so none of them imports this back.
"""

from __future__ import annotations

from bridge.function import multi_worker as workers
from bridge.function.distributed import MirroredFunctionEngine
from bridge.function.engine import FunctionEngine
from bridge.function.grappler import grappler_disabled
from eagermode.multi_worker import train as train_workers
from eagermode.train import run_resumable
from tfmigration.catalog.problem import Problem
from tfmigration.distributed import check_replicas
from tfmigration.execution import RunSettings, check_execution
from tfmigration.training.driver import Observer, Trajectory, run


def train(
    problem: Problem, settings: RunSettings = RunSettings(), observer: Observer | None = None
) -> Trajectory:
    """Train `problem` with the eager step under tf.function; `strict` turns Grappler off.
    From the checkpointed state `resume` if given, saving TF2 checkpoints as `save` asks.

    With `replicas` > 1: MirroredStrategy's custom loop, traced (`bridge/function/distributed.py`),
    or with `multi_worker` MultiWorkerMirroredStrategy's, one process per worker
    (`bridge/function/multi_worker.py`).
    """
    check_execution("function", settings)
    if settings.replicas <= 1:
        engine = FunctionEngine(
            problem, steps_per_call=settings.steps_per_call, jit_compile=settings.jit_compile
        )
        return run_engine(problem, engine, settings, observer)
    check_replicas(
        settings.replicas,
        problem.batch_rows,
        steps_per_call=settings.steps_per_call,
        jit_compile=settings.jit_compile,
    )
    if settings.multi_worker:
        return train_workers(
            problem,
            settings.replicas,
            strict=settings.strict,
            observer=observer,
            ports=settings.ports,
            timeout=settings.cluster_timeout,
            module=workers.MODULE,
        )
    return run_engine(
        problem, MirroredFunctionEngine(problem, settings.replicas), settings, observer
    )


def run_engine(
    problem: Problem,
    engine: FunctionEngine,
    settings: RunSettings = RunSettings(),
    observer: Observer | None = None,
) -> Trajectory:
    """Run an engine built by the caller (to read its tracing count afterwards) as `train`
    would: Grappler off under `strict`, its own steps per call, checkpoints as `settings` ask.
    The engine is already replicated or not; `settings.replicas` is not read here."""
    with grappler_disabled(settings.strict):
        if settings.save is None and settings.resume is None:
            return run(problem, engine, observer, steps_per_call=engine.steps_per_call)
        return run_resumable(
            problem,
            engine,
            observer,
            steps_per_call=engine.steps_per_call,
            save=settings.save,
            resume=settings.resume,
        )
