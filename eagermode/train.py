"""Eager style's runner: one device, MirroredStrategy, or MultiWorkerMirroredStrategy.

Above the engines it picks from (`eagermode/engine.py`, `eagermode/checkpoints.py`,
`eagermode/distributed.py`, `eagermode/multi_worker.py`), so none of them imports this back.
"""

from __future__ import annotations

from eagermode import multi_worker as workers
from eagermode.checkpoints import EagerCheckpoints, load_state
from eagermode.distributed import MirroredEngine
from eagermode.engine import EagerEngine
from tfmigration.catalog.problem import Problem
from tfmigration.checkpoint.state import SaveOptions, TrainingState
from tfmigration.distributed import check_replicas
from tfmigration.execution import RunSettings, check_execution
from tfmigration.training.driver import Observer, Trajectory, run


def train(
    problem: Problem, settings: RunSettings = RunSettings(), observer: Observer | None = None
) -> Trajectory:
    """Train `problem` eagerly, from the checkpointed state `resume` if given, saving TF2
    checkpoints as `save` asks. `strict` changes nothing here: eager ops are never rewritten.

    With `replicas` > 1: MirroredStrategy over that many logical CPUs (`eagermode/distributed.py`),
    or with `multi_worker` MultiWorkerMirroredStrategy over that many processes on 127.0.0.1
    (`ports`, else free ones; stopped after `cluster_timeout` s at the latest).
    """
    check_execution("eager", settings)
    if settings.replicas > 1:
        check_replicas(settings.replicas, problem.batch_rows)
        if settings.multi_worker:
            return workers.train(
                problem,
                settings.replicas,
                strict=settings.strict,
                observer=observer,
                ports=settings.ports,
                timeout=settings.cluster_timeout,
            )
        return run(problem, MirroredEngine(problem, settings.replicas), observer)
    return run_resumable(
        problem, EagerEngine(problem), observer, save=settings.save, resume=settings.resume
    )


def run_resumable(
    problem: Problem,
    engine: EagerEngine,
    observer: Observer | None = None,
    *,
    steps_per_call: int = 1,
    save: SaveOptions | None = None,
    resume: TrainingState | None = None,
) -> Trajectory:
    """`driver.run` for an eager or tf.function engine, loading and saving checkpoints."""
    if resume is not None:
        load_state(engine, resume)
    return run(
        problem,
        engine,
        observer,
        steps_per_call=steps_per_call,
        start=resume.step if resume is not None else 0,
        checkpoints=EagerCheckpoints(engine, save) if save is not None else None,
    )
