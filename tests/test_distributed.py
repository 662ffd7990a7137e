"""Data-parallel training (issue 13): loss scaling, --replicas and the split-batch reference."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.styles import difference_observer, runner, split_batch_reference
from eagermode.cli import main as eagermode
from graphmode.cli import main as graphmode
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.catalog.differences import LOSS_SCALING_EVEN, LOSS_SCALING_UNEVEN
from tfmigration.catalog.losses import replica_squared_error
from tfmigration.catalog.optimizers import OptimizerChoice
from tfmigration.distributed import shard_bounds
from tfmigration.execution import RunSettings
from tfmigration.measure.ulp import max_ulp_distance
from tfmigration.oracle.distributed import train as train_split_oracle
from tfmigration.oracle.engine import train as train_oracle

pytestmark = pytest.mark.slow  # replicated and multi-worker runs, real clusters among them

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


# --- --replicas: MirroredStrategy against the split-batch reference --------------------------


CLIS = {"graph": graphmode, "eager": eagermode, "function": tfbridge}
ROOT = Path(__file__).resolve().parent.parent


def _assert_same_run(run, reference) -> None:
    np.testing.assert_array_equal(run.losses, reference.losses)
    assert run.final_loss == reference.final_loss
    for name, value in reference.final_params.items():
        np.testing.assert_array_equal(run.final_params[name], value, err_msg=name)
    assert run.final_slots.keys() == reference.final_slots.keys()
    for name, value in reference.final_slots.items():
        np.testing.assert_array_equal(run.final_slots[name], value, err_msg=name)


def test_shards_follow_array_split_replica_0_first() -> None:
    for rows, replicas in ((16, 3), (1000, 4), (5, 5), (7, 2)):
        expected = [(part[0], part[-1] + 1) for part in np.array_split(np.arange(rows), replicas)]
        assert list(shard_bounds(rows, replicas)) == expected


def test_replica_loss_share_is_compute_average_loss_bit_for_bit() -> None:
    rng = np.random.default_rng(13)
    targets = rng.normal(size=(7, 1)).astype(np.float32)
    predictions = rng.normal(size=(7, 1)).astype(np.float32)
    share = replica_squared_error("mean", targets, predictions, 20)
    expected = tf.nn.compute_average_loss(tf.square(targets - predictions), global_batch_size=20)
    assert share.numpy() == expected.numpy()


@pytest.mark.parametrize(
    ("model", "optimizer", "replicas", "batch_size"),
    [
        ("quadratic", None, 2, None),
        ("quadratic", "adam", 4, None),
        ("house", "momentum", 3, None),  # 16 rows: uneven shards of 6, 5, 5
        ("noisy-line", None, 4, 10),
        ("house-multi", None, 2, None),  # float64
    ],
    ids=[
        "quadratic-gd-2",
        "quadratic-adam-4",
        "house-momentum-3-uneven",
        "noisy-line-sgd-4",
        "house-multi-gd-2",
    ],
)
@pytest.mark.parametrize("style", TAPE)
def test_mirrored_strategy_is_bit_identical_to_the_split_batch_reference(
    style: str, model: str, optimizer: str | None, replicas: int, batch_size: int | None
) -> None:
    problem = prepare(
        model, TrainConfig(steps=30, optimizer=optimizer, batch_size=batch_size, seed=1)
    )
    reference = split_batch_reference(problem, replicas, strict=True)
    _assert_same_run(runner(style)(problem, RunSettings(strict=True, replicas=replicas)), reference)


def test_function_style_traces_the_replicated_step_once() -> None:
    from bridge.function.distributed import MirroredFunctionEngine
    from bridge.function.train import run_engine

    problem = prepare("quadratic", TrainConfig(steps=5))
    engine = MirroredFunctionEngine(problem, 2)
    run_engine(problem, engine)
    assert engine.tracing_count == 1
    assert engine.strategy.num_replicas_in_sync == 2


def test_split_batch_reference_is_not_one_device_but_near_it() -> None:
    # Summing shard gradients rounds differently from one gradient over the whole batch: the
    # reference must be the split one, and one device stays a few ULPs away.
    problem = prepare("quadratic", TrainConfig(steps=200))
    split = split_batch_reference(problem, 4, strict=True)
    one_device = runner("graph")(problem, RunSettings(strict=True))
    ulps = max_ulp_distance(split.losses, one_device.losses)
    assert 0 < ulps <= 64


def test_split_batch_oracle_sums_the_shards_to_the_whole_batch_gradient() -> None:
    problem = prepare("house", TrainConfig(steps=50, optimizer="adam"))
    split = train_split_oracle(problem, 3)
    whole = train_oracle(problem)
    np.testing.assert_allclose(split.losses, whole.losses, rtol=1e-12)
    for name, value in whole.final_params.items():
        np.testing.assert_allclose(split.final_params[name], value, rtol=1e-12)
    reference = split_batch_reference(problem, 3, strict=True)
    np.testing.assert_allclose(reference.losses, split.losses, rtol=1e-5)


def test_compare_replicas_strict_json_is_identical_to_the_split_batch_reference() -> None:
    result = CliRunner().invoke(
        tfbridge,
        ["compare", "quadratic", "house", "--replicas", "2", "--strict", "--json", "--steps", "40"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["model"], r["mode"]) for r in records] == [
        (model, mode) for model in ("quadratic", "house") for mode in ("graph", "eager", "function")
    ]
    for record in records:
        assert record["replicas"] == 2 and record["reference"] == "split-batch"
        assert record["verdict"] == "identical"
        assert record["max_loss_ulps"] == record["max_param_ulps"] == 0
        assert isinstance(record["one_device_loss_ulps"], int)
        assert isinstance(record["one_device_param_ulps"], int)
        # A few ULPs from one device: equivalent, and said against its noise floor.
        assert record["one_device_verdict"] in ("identical", "equivalent")
        floor_ulps = (
            record["one_device_noise_floor_ulps"],
            record["one_device_noise_floor_param_ulps"],
        )
        distance = record["one_device_loss_ulps"], record["one_device_param_ulps"]
        within = all(d <= f for d, f in zip(distance, floor_ulps, strict=True))
        assert record["one_device_within_noise_floor"] is within
        if record["one_device_verdict"] == "equivalent":
            assert record["one_device_judgement"] == (
                "equivalent to one device (within tolerance, "
                f"{'within' if within else 'beyond'} its noise floor)"
            )
        assert record["oracle_rel_error"] < 1e-5
    modes = {record["mode"]: record["replication"] for record in records}
    assert modes["graph"].startswith("TF1 between-graph: 1 parameter server + 2 worker processes")
    assert modes["eager"].startswith("MirroredStrategy over 2 logical CPUs")
    assert "tf.nn.compute_average_loss" in modes["function"]


def test_compare_replicas_text_reports_the_distance_to_one_device() -> None:
    result = CliRunner().invoke(
        tfbridge, ["compare", "house", "--replicas", "4", "--steps", "10"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "4 replicas, every style against the split-batch reference" in result.output
    assert "house against one device on the whole batch (its noise floor: loss" in result.output
    for style in ("graph", "eager", "function"):
        assert re.search(rf"\n  {style}: loss \d+ ULPs, params \d+ ULPs, ", result.output)


def test_train_replicas_json_carries_replicas_and_the_reference_losses(style: str) -> None:
    result = CliRunner().invoke(
        CLIS[style],
        ["train", "house", "--replicas", "2", "--steps", "5", "--json", "--strict"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["replicas"] == 2 and record["mode"] == style
    reference = split_batch_reference(prepare("house", TrainConfig(steps=5)), 2, strict=True)
    np.testing.assert_array_equal(np.array(record["losses"], np.float32), reference.losses)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "house", "--replicas", "0"], "'--replicas': 0 is not in the range 1<=x<=64"),
        (
            ["compare", "house", "--replicas", "17"],
            "--replicas 17: a batch of 16 rows cannot be split into 17 shards",
        ),
        (
            ["train", "noisy-line", "--batch-size", "3", "--replicas", "4"],
            "--replicas 4: a batch of 3 rows cannot be split into 4 shards",
        ),
        (
            ["compare", "house", "--replicas", "2", "--steps-per-call", "10"],
            "--replicas 2 with --steps-per-call 10: replicated runs take one step per call",
        ),
        (
            ["train", "house", "--replicas", "2", "--jit-compile"],
            "--replicas 2 with --jit-compile: replicated runs are not compiled with XLA",
        ),
        (
            ["compare", "house", "--replicas", "3"],
            "--replicas 3: TF1 between-graph replication (graph style) gives every worker a "
            "batch of the same size, and a batch of 16 rows does not split into 3 equal shards",
        ),
        (
            ["train", "house", "--multi-worker"],
            "--multi-worker runs one process per replica: give --replicas 2 or more",
        ),
        (
            ["compare", "house", "--ports", "5000,5001"],
            "--ports names the ports of a local cluster's processes, and this run starts none",
        ),
        (
            ["train", "house", "--replicas", "2", "--ports", "5000"],
            "--ports names the ports of a local cluster's processes, and this run starts none",
        ),
        (
            ["compare", "house", "--replicas", "2", "--ports", "5000,x"],
            "'5000,x' is not a comma-separated list of port numbers",
        ),
        (
            ["compare", "house", "--replicas", "2", "--ports", "0,1,2"],
            "--ports: 0 is not a TCP port (1 to 65535)",
        ),
        (
            ["compare", "house", "--replicas", "2", "--ports", "7001,7001,7002"],
            "--ports 7001,7001,7002: each task needs its own port",
        ),
        (
            ["compare", "house", "--replicas", "2", "--asynchronous"],
            "--asynchronous: asynchronous training (TF2's ParameterServerStrategy, TF1 "
            "between-graph replication without SyncReplicasOptimizer) is not reproducible step "
            "by step",
        ),
    ],
)
def test_bad_replicas_are_one_line_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    output = tmp_path / "out.json"
    result = CliRunner().invoke(tfbridge, [*args, "--output", str(output)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_replicas_refused_in_one_line_once_tensorflow_set_up_fewer_devices() -> None:
    script = (
        "from tfmigration.quiet import import_tensorflow_quietly\n"
        "import_tensorflow_quietly()\n"
        "import tensorflow as tf\n"
        "tf.constant(1.0) + 1.0\n"  # the first op sets up one CPU device
        "from tfmigration.devices import ensure_logical_cpus\n"
        "from tfmigration.catalog.errors import ConfigError\n"
        "try:\n"
        "    ensure_logical_cpus(2)\n"
        "except ConfigError as error:\n"
        "    print(error.exit_code, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == (
        "2 --replicas 2: TensorFlow set up its devices in this process before the replicas were "
        "asked for (1 CPU device); ask for them before the first TensorFlow op "
        "(tfmigration.devices.ensure_logical_cpus)"
    )


def test_variables_created_in_the_strategy_scope_are_mirrored_on_every_replica() -> None:
    # TF1 placed variables on the parameter server with replica_device_setter; under
    # MirroredStrategy each replica holds a copy, updated together.
    from eagermode.distributed import MirroredEngine

    engine = MirroredEngine(prepare("quadratic", TrainConfig(steps=1)), 2)
    for variable in engine.variables.values():
        copies = engine.strategy.experimental_local_results(variable)
        assert [copy.device.lower()[-5:] for copy in copies] == ["cpu:0", "cpu:1"]


def test_checkpoint_manager_resumes_a_replicated_run_bit_for_bit(tmp_path: Path) -> None:
    # MonitoredTrainingSession's checkpoints, the TF2 way: tf.train.Checkpoint of the mirrored
    # variables and the optimizer (slots, iterations), saved by a CheckpointManager.
    from eagermode.distributed import MirroredEngine

    problem = prepare("quadratic", TrainConfig(steps=20, optimizer="adam"))
    whole = MirroredEngine(problem, 2)
    expected = [whole.step(*problem.batch(step)) for step in range(20)]

    def checkpoint(engine: MirroredEngine) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(optimizer=engine.optimizer, **engine.variables)

    first = MirroredEngine(problem, 2)
    losses = [first.step(*problem.batch(step)) for step in range(10)]
    manager = tf.train.CheckpointManager(checkpoint(first), tmp_path, max_to_keep=1)
    manager.save()
    resumed = MirroredEngine(problem, 2)
    checkpoint(resumed).restore(manager.latest_checkpoint).assert_consumed()
    losses += [resumed.step(*problem.batch(step)) for step in range(10, 20)]
    np.testing.assert_array_equal(losses, expected)
    for name, value in whole.params().items():
        np.testing.assert_array_equal(resumed.params()[name], value)


def test_keras_3_fit_under_mirrored_strategy_trains_on_logical_cpus() -> None:
    import keras

    from eagermode.distributed import mirrored_strategy

    strategy = mirrored_strategy(2)
    features = np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(-1, 1)
    targets = 3.0 * features + 2.0
    with strategy.scope():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(features, targets, batch_size=8, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    # A Keras 3 Variable wraps the TensorFlow one, here a MirroredVariable with a copy per replica.
    assert len(strategy.experimental_local_results(model.weights[0].value)) == 2


def test_replicated_runs_refuse_checkpoints_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from eagermode.cli import main as eagermode_cli

    result = CliRunner().invoke(
        eagermode_cli,
        ["train", "quadratic", "--replicas", "2", "--steps", "2", "--save-to", str(tmp_path / "d")],
    )
    assert result.exit_code == 2
    assert "replicated runs do not checkpoint yet" in result.output
    assert not (tmp_path / "d").exists()


# --- real clusters on 127.0.0.1: TF1 between-graph replication, MultiWorkerMirroredStrategy ---


@pytest.mark.parametrize(
    ("model", "optimizer", "variables"),
    [("quadratic", "adam", "ref"), ("noisy-line", None, "resource")],
    ids=["quadratic-adam-ref", "noisy-line-sgd-resource"],
)
def test_tf1_between_graph_replication_is_bit_identical_to_the_split_batch_reference(
    model: str, optimizer: str | None, variables: str
) -> None:
    # 1 ps + 2 worker processes, replica_device_setter, SyncReplicasOptimizer,
    # MonitoredTrainingSession: two gradients summed in either order give the same bits.
    problem = prepare(model, TrainConfig(steps=60, optimizer=optimizer, seed=1))
    run = runner("graph")(problem, RunSettings(strict=True, replicas=2, variables=variables))
    assert run.mode == "graph"
    _assert_same_run(run, split_batch_reference(problem, 2, strict=True))


def test_tf1_between_graph_decays_the_learning_rate_as_the_split_batch_reference() -> None:
    # The decayed rate is read where SyncReplicasOptimizer applies the update (on the parameter
    # server's global step), in the one-Session engines inside each update: the same steps.
    choice = OptimizerChoice(lr_decay_rate=0.5, lr_decay_steps=5, staircase=True)
    problem = prepare(
        "quadratic", TrainConfig(steps=30, optimizer="adam", seed=1, optimizer_options=choice)
    )
    settings = RunSettings(strict=True, replicas=2)
    run = runner("graph")(problem, settings)
    constant = runner("graph")(
        prepare("quadratic", TrainConfig(steps=30, optimizer="adam", seed=1)), settings
    )
    assert not np.array_equal(run.losses, constant.losses)  # the decay did something
    _assert_same_run(run, split_batch_reference(problem, 2, strict=True))


def test_tf1_between_graph_with_4_workers_is_equivalent_to_the_split_batch_reference() -> None:
    # The accumulator sums 4 gradients in the order they arrive, which changes from run to run:
    # the last bits may move, the run stays within tolerance and near the oracle.
    problem = prepare("quadratic", TrainConfig(steps=100, optimizer="momentum"))
    run = runner("graph")(problem, RunSettings(strict=True, replicas=4))
    reference = split_batch_reference(problem, 4, strict=True)
    assert max_ulp_distance(run.losses, reference.losses) <= 64
    for name, value in reference.final_params.items():
        assert max_ulp_distance(run.final_params[name], value) <= 64
    for name, value in reference.final_slots.items():
        assert max_ulp_distance(run.final_slots[name], value) <= 64


@pytest.mark.parametrize("style", TAPE)
def test_multi_worker_mirrored_strategy_is_bit_identical_to_the_split_batch_reference(
    style: str,
) -> None:
    problem = prepare("quadratic", TrainConfig(steps=40, optimizer="adam"))
    run = runner(style)(problem, RunSettings(strict=True, replicas=2, multi_worker=True))
    assert run.mode == style
    _assert_same_run(run, split_batch_reference(problem, 2, strict=True))


MULTI_WORKER_COMPARE = ["compare", "quadratic", "--replicas", "2", "--multi-worker", "--strict"]
MULTI_WORKER_COMPARE += ["--json"]
PORTS_TRAIN = ["train", "quadratic", "--replicas", "2", "--ports"]


def test_compare_multi_worker_strict_json_is_identical_to_the_split_batch_reference() -> None:
    result = CliRunner().invoke(
        tfbridge,
        [*MULTI_WORKER_COMPARE, "--steps", "30"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [record["mode"] for record in records] == ["graph", "eager", "function"]
    for record in records:
        assert record["replicas"] == 2 and record["verdict"] == "identical"
        assert record["max_loss_ulps"] == record["max_param_ulps"] == 0
    assert records[1]["replication"].startswith(
        "MultiWorkerMirroredStrategy, 2 worker processes (RING all-reduce)"
    )


def test_a_port_that_cannot_be_bound_is_one_line_exit_2_and_starts_nothing(
    tmp_path: Path,
) -> None:
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    try:
        output = tmp_path / "out.json"
        result = CliRunner().invoke(
            graphmode,
            [*PORTS_TRAIN, f"{port},1,2", "--output", str(output)],
        )
    finally:
        held.close()
    assert result.exit_code == 2, result.output
    assert f"--ports: port {port} on 127.0.0.1 cannot be bound (Address already in use)" in (
        " ".join(result.output.split())
    )
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_graph_style_has_no_multi_worker_option() -> None:
    # Graph style's replicated run is already a process per task.
    result = CliRunner().invoke(
        graphmode, ["train", "quadratic", "--replicas", "2", "--multi-worker"]
    )
    assert result.exit_code == 2
    assert "No such option '--multi-worker'" in result.output


def test_asynchronous_training_is_refused_with_the_reason(tmp_path: Path) -> None:
    output = tmp_path / "out.json"
    for cli, command in ((tfbridge, "compare"), (graphmode, "train"), (eagermode, "train")):
        result = CliRunner().invoke(
            cli,
            [command, "quadratic", "--replicas", "2", "--asynchronous", "--output", str(output)],
        )
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert "is not reproducible step by step" in text
        assert "computed from whatever parameters that worker last read" in text
        assert "no reference can say what step k should give" in text
    assert list(tmp_path.iterdir()) == []


_FIT_UNDER_MULTI_WORKER = """
import json, os, sys
os.environ["TF_CONFIG"] = json.dumps(
    {"cluster": {"worker": sys.argv[2].split(",")},
     "task": {"type": "worker", "index": int(sys.argv[1])}})
from tfmigration.quiet import import_tensorflow_quietly
import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()
features = np.linspace(-1.0, 1.0, 32, dtype=np.float32).reshape(-1, 1)
with strategy.scope():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
try:
    model.fit(features, 3.0 * features + 2.0, batch_size=8, epochs=1, verbose=0)
    print("trained")
except ValueError as error:
    print("ValueError", str(error).splitlines()[0])
"""


def test_keras_3_fit_under_multi_worker_mirrored_strategy_fails_in_tf_2_21() -> None:
    # keras-team/keras#20585: Keras 3's fit hands MultiWorkerMirroredStrategy's per-replica
    # values to an op that wants a tensor; the custom loop (--multi-worker) is the way.
    from tfmigration.cluster import free_ports

    addresses = ",".join(f"127.0.0.1:{port}" for port in free_ports(2))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _FIT_UNDER_MULTI_WORKER, str(index), addresses],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for index in range(2)
    ]
    try:
        outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    for output in outputs:
        assert output.strip().startswith("ValueError Attempt to convert a value (PerReplica:")
