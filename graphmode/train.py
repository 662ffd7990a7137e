"""Graph style's runner: one Session on one device, or TF1 between-graph replication.

Above the engines it picks from (`graphmode/engine.py`, `graphmode/checkpoints.py`,
`graphmode/between_graph.py`), so none of them imports this back.
"""

from __future__ import annotations

from graphmode import between_graph
from graphmode.checkpoints import GraphCheckpoints, load_state
from graphmode.engine import GraphEngine
from tfmigration.catalog.problem import Problem
from tfmigration.distributed import check_replicas
from tfmigration.execution import RunSettings, check_execution
from tfmigration.training.driver import Observer, Trajectory, run


def train(
    problem: Problem, settings: RunSettings = RunSettings(), observer: Observer | None = None
) -> Trajectory:
    """Train `problem` the TF1 way: one `Session.run` per step, or per `steps_per_call` steps;
    from the checkpointed state `resume` if given, saving TF1 checkpoints as `save` asks;
    `variables` "ref" (TF1's RefVariables, the default) or "resource" (TF2's).

    With `replicas` > 1: TF1 between-graph replication, a parameter server and `replicas`
    worker processes on 127.0.0.1 (`ports`, else free ones), stopped after `cluster_timeout`
    seconds at the latest (`graphmode/between_graph.py`).
    """
    check_execution("graph", settings)
    variables = settings.variables or "ref"
    if settings.replicas > 1:
        check_replicas(
            settings.replicas, problem.batch_rows, steps_per_call=settings.steps_per_call
        )
        return between_graph.train(
            problem,
            settings.replicas,
            strict=settings.strict,
            variables=variables,
            observer=observer,
            ports=settings.ports,
            timeout=settings.cluster_timeout,
        )
    save, resume = settings.save, settings.resume
    engine = GraphEngine(
        problem,
        strict=settings.strict,
        steps_per_call=settings.steps_per_call,
        counts_steps=save is not None or resume is not None,
        variables=variables,
    )
    try:
        if resume is not None:
            load_state(engine, resume)
        checkpoints = GraphCheckpoints(engine, save) if save is not None else None
        return run(
            problem,
            engine,
            observer,
            steps_per_call=engine.steps_per_call,
            start=resume.step if resume is not None else 0,
            checkpoints=checkpoints,
        )
    finally:
        engine.close()
