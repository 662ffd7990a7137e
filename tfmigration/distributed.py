"""Data-parallel training, style-free: how a batch is split among replicas, and what is refused.

Every replicated run (MirroredStrategy in eager and tf.function style, the split-batch reference
in graph style and in the oracle) splits each batch into the same contiguous shards, replica 0
first, and sums the replicas' gradients in replica order. Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

from tfmigration.catalog.errors import ConfigError

MAX_REPLICAS = 64
"""Logical CPU devices are cheap but not free: each is a TensorFlow device with its own
executor; beyond a few dozen a replicated run on this kind of machine is all overhead."""


def shard_bounds(rows: int, replicas: int) -> tuple[tuple[int, int], ...]:
    """(start, stop) of each replica's rows: `numpy.array_split`'s rule, the first `rows %
    replicas` shards one row longer, so that a batch that does not divide evenly still runs."""
    size, extra = divmod(rows, replicas)
    bounds = []
    start = 0
    for replica in range(replicas):
        stop = start + size + (1 if replica < extra else 0)
        bounds.append((start, stop))
        start = stop
    return tuple(bounds)


def check_replicas(
    replicas: int, batch_rows: int, *, steps_per_call: int = 1, jit_compile: bool = False
) -> None:
    """Refuse, in one line, a replica count the batch or the other options cannot honour."""
    if replicas < 1:
        raise ConfigError(f"--replicas {replicas}: at least 1 replica is needed")
    if replicas > MAX_REPLICAS:
        raise ConfigError(f"--replicas {replicas}: at most {MAX_REPLICAS} replicas are supported")
    if replicas == 1:
        return
    if replicas > batch_rows:
        raise ConfigError(
            f"--replicas {replicas}: a batch of {batch_rows} rows cannot be split into "
            f"{replicas} shards of at least one row; use at most {batch_rows} replicas "
            "or a larger --batch-size"
        )
    if steps_per_call != 1:
        raise ConfigError(
            f"--replicas {replicas} with --steps-per-call {steps_per_call}: replicated runs "
            "take one step per call; drop --steps-per-call"
        )
    if jit_compile:
        raise ConfigError(
            f"--replicas {replicas} with --jit-compile: replicated runs are not compiled with "
            "XLA; drop --jit-compile"
        )


ASYNCHRONOUS_REFUSAL = (
    "asynchronous training (TF2's ParameterServerStrategy, TF1 between-graph replication "
    "without SyncReplicasOptimizer) is not reproducible step by step: each worker's gradient is "
    "applied when it arrives, computed from whatever parameters that worker last read, so the "
    "order of the updates, and the parameters after them, change from run to run, and no "
    "reference can say what step k should give; compare and check measure synchronous "
    "replication only (--replicas N)"
)


def check_cluster_options(
    styles: Sequence[str],
    replicas: int,
    *,
    multi_worker: bool = False,
    ports: tuple[int, ...] | None = None,
    asynchronous: bool = False,
) -> None:
    """Refuse, in one line, cluster options a run of `styles` cannot honour (before importing
    TF). Graph style with --replicas runs TF1 between-graph replication, a process per task (a
    parameter server and the workers); eager and tf.function style do with --multi-worker
    (the workers). --ports names those processes' ports, on 127.0.0.1.
    """
    from tfmigration.cluster import check_ports

    if asynchronous:
        raise ConfigError(f"--asynchronous: {ASYNCHRONOUS_REFUSAL}")
    if multi_worker and replicas < 2:
        raise ConfigError("--multi-worker runs one process per replica: give --replicas 2 or more")
    if multi_worker and set(styles) == {"graph"}:
        raise ConfigError(
            "--multi-worker: graph style with --replicas already runs a process per task "
            "(TF1 between-graph replication); --multi-worker is for eager and tf.function style"
        )
    if ports is None:
        return
    needed = 0
    if replicas > 1:
        if "graph" in styles:
            needed = replicas + 1
        elif multi_worker:
            needed = replicas
    if not needed:
        raise ConfigError(
            "--ports names the ports of a local cluster's processes, and this run starts "
            "none: use it with --replicas 2 or more in graph style, or with --multi-worker"
        )
    if len(ports) < needed:
        raise ConfigError(
            f"--ports: {len(ports)} port{'' if len(ports) == 1 else 's'} given, and this run "
            f"starts {needed} processes"
            + (" (a parameter server and the workers)" if "graph" in styles else "")
        )
    check_ports(ports)


def check_equal_shards(replicas: int, batch_rows: int) -> None:
    """Refuse what TF1 between-graph replication cannot do: workers of unequal batches."""
    if replicas > 1 and batch_rows % replicas:
        raise ConfigError(
            f"--replicas {replicas}: TF1 between-graph replication (graph style) gives every "
            f"worker a batch of the same size, and a batch of {batch_rows} rows does not split "
            f"into {replicas} equal shards; use a --batch-size divisible by {replicas}, or "
            "leave graph style out"
        )
