"""MultiWorkerMirroredStrategy: the replicated custom loop, one process per worker.

Each worker is a process of its own on 127.0.0.1 (tfmigration.cluster) with `TF_CONFIG` naming
the cluster and its task, one replica each; the loop is MirroredEngine's (eagermode.distributed):
every worker reads the whole batch and keeps its own shard (replica `i` is worker `i`), and the
replicas' losses and gradients are summed by a collective all-reduce across the processes.
With 2 workers the sum is one addition and the run is the split-batch reference bit for bit;
with more, RING all-reduce sums in ring order, not replica order, and may differ in the last bits.

The chief (worker 0) returns the trajectory; every other worker returns its final parameters,
which must equal the chief's bit for bit: mirrored variables that drifted apart are an error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from tfmigration.catalog.errors import UserError
from tfmigration.catalog.problem import Problem
from tfmigration.cluster import (
    DEFAULT_TIMEOUT_SECONDS,
    LocalCluster,
    Task,
    TaskSpec,
    load_payload,
    task_main,
    write_result,
)
from tfmigration.training.driver import Observer, Trajectory

MODULE = "eagermode.multi_worker"


def train(
    problem: Problem,
    replicas: int,
    *,
    strict: bool = False,
    observer: Observer | None = None,
    ports: tuple[int, ...] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    module: str = MODULE,
) -> Trajectory:
    """Train `problem` with MultiWorkerMirroredStrategy over `replicas` worker processes.

    `module` is the task program each worker runs: this module's, or tf.function style's
    (bridge.function.multi_worker), which builds its own engine.
    `observer` hears of the steps once the run is over: the workers run on their own. The
    trajectory's seconds are the chief's training loop; starting the processes is not counted.
    """
    payload = {"problem": problem, "replicas": replicas, "strict": strict}
    with LocalCluster(
        module, {"worker": replicas}, payload, ports=ports, timeout=timeout
    ) as cluster:
        tasks = [Task("worker", index) for index in range(replicas)]
        results = cluster.collect(tasks)
    trajectory: Trajectory = results[tasks[0]]["trajectory"]
    for task in tasks[1:]:
        for name, value in results[task]["params"].items():
            if not np.array_equal(value, trajectory.final_params[name]):
                raise UserError(
                    f"{task.name}'s copy of {name} differs from the chief's after the run: "
                    "the mirrored variables drifted apart"
                )
    if observer is not None:
        for step, loss in enumerate(trajectory.losses):
            observer.on_step(step, float(loss))
    return trajectory


def run_worker(spec: TaskSpec, engine_class: Callable[..., Any]) -> None:
    """The task program: TF_CONFIG from the spec, the strategy, the loop, the result.
    `engine_class(problem, replicas, strategy)` builds the replicated engine."""
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": spec.cluster, "task": {"type": spec.task.job, "index": spec.task.index}}
    )
    from tfmigration.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    from tfmigration.training.driver import run

    payload: dict[str, Any] = load_payload(spec)
    problem: Problem = payload["problem"]
    if payload["strict"]:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    communication = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication)
    engine = engine_class(problem, payload["replicas"], strategy)
    trajectory = run(problem, engine)
    if spec.task.index == 0:
        write_result(spec, {"trajectory": trajectory})
    else:
        write_result(spec, {"params": trajectory.final_params})


def main(argv: list[str]) -> None:
    with task_main(argv[0]) as spec:
        from eagermode.distributed import MirroredEngine

        run_worker(spec, MirroredEngine)


if __name__ == "__main__":
    main(sys.argv[1:])
