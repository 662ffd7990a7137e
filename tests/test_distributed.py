"""Data-parallel training (issue 13): loss scaling, --replicas and the split-batch reference."""

from __future__ import annotations

import numpy as np
import pytest

from tfmigration.catalog.differences import LOSS_SCALING_EVEN, LOSS_SCALING_UNEVEN
from tfmigration.training.styles import difference_observer

TAPE = ("eager", "function")


def _float32(value: float) -> str:
    return str(np.float32(value))


def _numpy_loss_scaling() -> dict[str, float]:
    """The same numbers by independent NumPy float64 arithmetic on the shards."""
    uneven = [np.array(shard) for shard in LOSS_SCALING_UNEVEN]
    even = [np.array(shard) for shard in LOSS_SCALING_EVEN]
    whole = np.concatenate(uneven)
    replicas = len(uneven)
    return {
        "mean": whole.mean(),
        "average, real batch": sum(shard.sum() / whole.size for shard in uneven),
        "average, default": sum(shard.sum() / (shard.size * replicas) for shard in uneven),
        "keras": sum(shard.mean() / replicas for shard in uneven),
        "workers averaged": sum(shard.mean() for shard in uneven) / replicas,
        "unscaled": sum(shard.mean() for shard in uneven),
        "even, default": sum(shard.sum() / (shard.size * replicas) for shard in even),
        "even, unscaled": sum(shard.mean() for shard in even),
        "even mean": np.concatenate(even).mean(),
    }


def test_loss_scaling_numbers_in_numpy_show_each_mistake() -> None:
    numbers = _numpy_loss_scaling()
    assert numbers["mean"] == numbers["average, real batch"] == 2.0
    # The short shard of an uneven batch is overweighted by the default and by Keras 3.
    assert numbers["average, default"] == numbers["keras"] == numbers["workers averaged"] == 2.25
    assert numbers["unscaled"] == 4.5
    # On an even batch the default is right and a forgotten scaling is exactly x replicas.
    assert numbers["even, default"] == numbers["even mean"] == 2.5
    assert numbers["even, unscaled"] == 2 * numbers["even mean"]


@pytest.mark.parametrize("style", TAPE)
def test_loss_scaling_under_mirrored_strategy_matches_numpy(style: str) -> None:
    numbers = _numpy_loss_scaling()
    assert difference_observer(style)("loss-scaling") == {
        "one device: mean of the whole batch": _float32(numbers["mean"]),
        "compute_average_loss, global_batch_size=3 (the batch's rows)": _float32(
            numbers["average, real batch"]
        ),
        "compute_average_loss, default global batch (shard rows x replicas)": _float32(
            numbers["average, default"]
        ),
        "Keras 3 loss: per-replica mean x 1/replicas": _float32(numbers["keras"]),
        "per-replica mean, unscaled (scaling forgotten)": _float32(numbers["unscaled"]),
        "even batch: compute_average_loss, default global batch": _float32(
            numbers["even, default"]
        ),
        "even batch: per-replica mean, unscaled (loss x replicas)": _float32(
            numbers["even, unscaled"]
        ),
    }


def test_loss_scaling_of_tf1_workers_matches_numpy() -> None:
    numbers = _numpy_loss_scaling()
    assert difference_observer("graph")("loss-scaling") == {
        "one device: mean of the whole batch": _float32(numbers["mean"]),
        "TF1 workers: each its own mean, averaged (SyncReplicasOptimizer)": _float32(
            numbers["workers averaged"]
        ),
        "per-replica mean, unscaled (scaling forgotten)": _float32(numbers["unscaled"]),
        "even batch: per-replica mean, unscaled (loss x replicas)": _float32(
            numbers["even, unscaled"]
        ),
    }
