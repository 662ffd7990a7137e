"""TF1 between-graph replication, for real: one parameter server and N workers on 127.0.0.1.

Each task is a process of its own (tfmigration.cluster) running a `tf.distribute.Server`.
Every worker builds its own graph as TF1 programs did: variables placed on the parameter server
by `tf.compat.v1.train.replica_device_setter`, its loss the mean over its own shard of the batch,
the TF1 optimizer wrapped in `SyncReplicasOptimizer(replicas_to_aggregate=N)`, and a
`MonitoredTrainingSession` (worker 0 the chief) running one step per batch.

SyncReplicasOptimizer averages the N workers' gradients in a ConditionalAccumulator on the
parameter server, in the order they arrive. With 2 workers the order cannot show (a + b == b + a
in IEEE arithmetic) and the run is the split-batch reference bit for bit; with more, the sum's
order changes from run to run and so may its last bits. The hook gets no initial tokens
(`num_tokens=0`): each worker waits for every update before its next step, so no worker can
contribute twice to one update, as it can with TF1's default of N initial tokens.

Two snags of running this on one machine are avoided, not waited out: a non-chief worker whose
session comes up before the chief's has initialised the variables sleeps `recovery_wait_secs`
(30 s, not settable through MonitoredTrainingSession) before it looks again, so non-chiefs start
their session only once the chief's is up; and closing the chief's session waits for its queue
runner, which blocks for gradients that never come, up to `stop_grace_period_secs` (120 s by
default): it is given 1 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

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
from tfmigration.distributed import check_equal_shards, shard_bounds
from tfmigration.training.driver import Observer, Trajectory

MODULE = "graphmode.between_graph"
_STOP_GRACE_PERIOD_SECS = 1


def train(
    problem: Problem,
    replicas: int,
    *,
    strict: bool = False,
    variables: str = "ref",
    observer: Observer | None = None,
    ports: tuple[int, ...] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Trajectory:
    """Train `problem` on a local cluster of 1 parameter server and `replicas` workers.

    The trajectory's losses are the workers' shares of the whole batch's loss (each computed by
    its worker before the step's update, `tf.nn.compute_average_loss`'s arithmetic), summed in
    worker order; parameters and slots are the chief's reads from the parameter server.
    `observer` hears of the steps once the run is over: the workers run on their own. The
    trajectory's seconds are the chief's training loop, as a one-process run times its loop;
    starting the processes and their servers (seconds more) is not counted.
    """
    check_equal_shards(replicas, problem.batch_rows)
    payload = {"problem": problem, "replicas": replicas, "strict": strict, "variables": variables}
    with LocalCluster(
        MODULE, {"ps": 1, "worker": replicas}, payload, ports=ports, timeout=timeout
    ) as cluster:
        workers = [Task("worker", index) for index in range(replicas)]
        results = cluster.collect(workers)
    shares = [results[task]["shares"] for task in workers]
    losses = shares[0].copy()
    for share in shares[1:]:
        losses += share  # float32 (or 64) addition in worker order, as add_n sums
    chief = results[workers[0]]
    if observer is not None:
        for step, loss in enumerate(losses):
            observer.on_step(step, float(loss))
    return Trajectory(
        model=problem.model.name,
        mode="graph",
        losses=losses,
        final_loss=chief["final_loss"],
        final_params=chief["params"],
        seconds=chief["seconds"],
        final_slots=chief["slots"],
    )


# The task side: runs in each cluster process ---------------------------------------------------


def _run_task(spec: TaskSpec) -> None:
    from tfmigration.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    from graphmode.engine import session_config

    payload: dict[str, Any] = load_payload(spec)
    cluster = tf.train.ClusterSpec(spec.cluster)
    config = session_config(strict=payload["strict"])
    if spec.task.job == "ps":
        config.device_filters.extend(["/job:ps", "/job:worker"])
        tf.distribute.Server(cluster, job_name="ps", task_index=spec.task.index, config=config)
        while True:  # serves until stopped by the run, or by its own guard
            time.sleep(1)
    index = spec.task.index
    # A worker talks to the parameter server and to itself only, as TF1 setups filtered.
    config.device_filters.extend(["/job:ps", f"/job:worker/task:{index}"])
    server = tf.distribute.Server(cluster, job_name="worker", task_index=index, config=config)
    _train_worker(spec, payload, cluster, server, config)


def _train_worker(
    spec: TaskSpec,
    payload: dict[str, Any],
    cluster: Any,
    server: Any,
    config: Any,
) -> dict[str, Any]:
    import tensorflow as tf

    from graphmode import step as tf1_step
    from tfmigration.catalog.losses import replica_squared_error, squared_error

    problem: Problem = payload["problem"]
    replicas: int = payload["replicas"]
    index = spec.task.index
    is_chief = index == 0
    start, stop = shard_bounds(problem.batch_rows, replicas)[index]
    global_count = problem.batch_rows * int(np.prod(problem.targets.shape[1:], dtype=np.int64))
    spec_opt = problem.optimizer_spec
    graph = tf.Graph()
    with graph.as_default():
        setter = tf.compat.v1.train.replica_device_setter(
            worker_device=f"/job:worker/task:{index}", cluster=cluster
        )
        with tf.compat.v1.device(setter):
            x = tf.compat.v1.placeholder(problem.model.dtype, (None, *problem.features.shape[1:]))
            y = tf.compat.v1.placeholder(problem.model.dtype, (None, *problem.targets.shape[1:]))
            variables = {
                name: tf.compat.v1.Variable(
                    value, name=name, use_resource=payload["variables"] == "resource"
                )
                for name, value in problem.initial_params.items()
            }
            global_step = tf.compat.v1.train.get_or_create_global_step()
            predictions = problem.model.predict(variables, x)
            loss = squared_error(problem.loss, y, predictions)  # this worker's own mean
            share = replica_squared_error(problem.loss, y, predictions, global_count)
            optimizer = tf1_step.build_optimizer(
                spec_opt, problem.learning_rate, global_step, written_gd=False
            )
            sync = tf.compat.v1.train.SyncReplicasOptimizer(
                optimizer, replicas_to_aggregate=replicas, total_num_replicas=replicas
            )
            # No control dependency on the loss here: the optimizer's variables (accumulators,
            # local step, slots) would inherit it and their initialisers need a feed. The loss
            # and the share are values of the forward pass whose gradient this worker sends,
            # so they are computed before the update, which waits for every worker's gradient.
            train_op = tf1_step.minimize(
                sync, loss, list(variables.values()), problem.learning_rate, global_step
            )
            slots = tf1_step.slot_variables(sync, spec_opt.name, variables)
        hook = sync.make_session_run_hook(is_chief, num_tokens=0)
        ready = Path(spec.result_path).with_name("chief-session-ready")
        if not is_chief:
            _wait_for(ready, spec)
        shares = np.empty(problem.steps, dtype=problem.dtype)
        with tf.compat.v1.train.MonitoredTrainingSession(
            master=server.target,
            is_chief=is_chief,
            hooks=[hook],
            config=config,
            stop_grace_period_secs=_STOP_GRACE_PERIOD_SECS,
            save_checkpoint_secs=None,
            save_checkpoint_steps=None,
            save_summaries_steps=None,
            save_summaries_secs=None,
            log_step_count_steps=None,
        ) as session:
            if is_chief:
                ready.touch()
            begun = time.perf_counter()
            for step in range(problem.steps):
                features, targets = problem.batch(step)
                shares[step], _ = session.run(
                    [share, train_op],
                    feed_dict={x: features[start:stop], y: targets[start:stop]},
                )
            result: dict[str, Any] = {"shares": shares, "seconds": time.perf_counter() - begun}
            if is_chief:
                # The whole data's loss at the final parameters, as every style ends its run.
                result["final_loss"] = session.run(
                    loss, feed_dict={x: problem.features, y: problem.targets}
                )
                result["params"] = session.run(variables)
                result["slots"] = session.run(slots) if slots else {}
            # Written before the session closes: nothing the run produced waits on the close.
            write_result(spec, result)
    return result


def _wait_for(path: Path, spec: TaskSpec) -> None:
    while not path.exists():
        if time.time() > spec.deadline:
            raise TimeoutError(f"{spec.task.name}: the chief's session never came up")
        time.sleep(0.05)


def main(argv: list[str]) -> None:
    with task_main(argv[0]) as spec:
        _run_task(spec)


if __name__ == "__main__":
    main(sys.argv[1:])
