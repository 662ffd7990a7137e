"""Data-parallel training, style-free: how a batch is split among replicas, and what is refused.

Every replicated run (MirroredStrategy in eager and tf.function style, the split-batch reference
in graph style and in the oracle) splits each batch into the same contiguous shards, replica 0
first, and sums the replicas' gradients in replica order. Nothing here imports TensorFlow.
"""

from __future__ import annotations

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
