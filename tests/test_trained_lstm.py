"""A trained TF1 `BasicLSTMCell` model (examples/trained_lstm.py) brought to Keras 3.

TF1 trains it and saves it with a Saver; `convert-checkpoint --migration` writes a
`.weights.h5`; a process that imports only Keras, TensorFlow and NumPy builds the natural port,
`load_weights` the file, and computes the loss on the batch TF1's loss was computed on. TF1's
fused kernel [inputs + units, 4 units] (gates i, j, f, o, the forget bias added at run time)
reaches Keras's kernel, recurrent kernel and bias (gates i, f, c, o, the forget bias stored)
through tfmigration/migration/layouts.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner, Result

from bridge.cli import main as tfbridge
from tfmigration.measure.ulp import max_ulp_distance

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trained_lstm.py"
PACKAGES = ("bridge", "graphmode", "eagermode", "tfmigration")


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trained_lstm_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(Saver prefix, frozen graph) of one TF1 training run of the example (5 Adam steps)."""
    return example().train_and_save(tmp_path_factory.mktemp("trained_lstm"))


@pytest.fixture(scope="module")
def trained(trained_sources: tuple[str, Path]) -> str:
    return trained_sources[0]


def tf1_loss(prefix: str, features: np.ndarray, labels: np.ndarray) -> np.float32:
    """TF1's loss at the Saver checkpoint's values, in a Session, as the author computed it."""
    module = example()
    graph = tf.Graph()
    with graph.as_default(), module.tf1_cells():
        x = tf.compat.v1.placeholder(tf.float32, (None, *features.shape[1:]))
        y = tf.compat.v1.placeholder(tf.int32, (None,))
        loss = module.tf1_loss(module.tf1_logits(x), y)
        with tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.train.Saver().restore(session, prefix)
            return session.run(loss, {x: features, y: labels})


def convert(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, ["convert-checkpoint", "--migration", *args])


def test_the_conversion_prints_each_tensor_and_how_keras_holds_it(
    trained: str, tmp_path: Path
) -> None:
    dest = tmp_path / "lstm.weights.h5"
    result = convert(str(EXAMPLE), trained, str(dest))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{trained} (TF1 Saver checkpoint) -> {dest} (Keras 3: model=Sequential):",
        "  lstm/basic_lstm_cell/kernel  ->  lstm_model/lstm/lstm_cell/kernel  [12, 32] float32 "
        "(Keras: concat(kernel, recurrent_kernel), gates i, j, f, o from Keras's i, f, c, o)",
        "  lstm/basic_lstm_cell/bias    ->  lstm_model/lstm/lstm_cell/bias  [32] float32 "
        "(Keras: gates i, j, f, o from Keras's i, f, c, o, minus forget_bias 1)",
        "  fc/kernel                    ->  lstm_model/fc/kernel  [8, 3] float32",
        "  fc/bias                      ->  lstm_model/fc/bias  [3] float32",
    ]
    assert sorted(os.listdir(tmp_path)) == ["lstm.weights.h5"]  # no temporary left behind
    # The layout, read back by hand from TF1's own file (gates i, j, f, o in TF1's columns).
    model = example().build_model()
    model.load_weights(str(dest))
    saved = tf.train.load_checkpoint(trained)
    fused, bias = (saved.get_tensor(f"lstm/basic_lstm_cell/{leaf}") for leaf in ("kernel", "bias"))
    kernel, recurrent, keras_bias = (v.numpy() for v in model.get_layer("lstm").weights)
    units = 8
    i, j, f, o = (slice(k * units, (k + 1) * units) for k in range(4))
    keras_order = np.concatenate([fused[:, i], fused[:, f], fused[:, j], fused[:, o]], axis=1)
    assert np.array_equal(kernel, keras_order[:4]) and np.array_equal(recurrent, keras_order[4:])
    tf1_bias = np.concatenate([bias[i], bias[f] + np.float32(1.0), bias[j], bias[o]])
    assert np.array_equal(keras_bias, tf1_bias)


OUTSIDE = """
import sys

import keras
import numpy as np
import tensorflow as tf

folder = sys.argv[1]
model = keras.Sequential(
    [
        keras.Input((6, 4)),
        keras.layers.LSTM(8, unit_forget_bias=True, name="lstm"),
        keras.layers.Dense(3, name="fc"),
    ],
    name="lstm_model",
)
model.load_weights(folder + "/lstm.weights.h5")
features = np.load(folder + "/features.npy")
labels = np.load(folder + "/labels.npy")
logits = model(features, training=False)
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
packages = ("bridge", "graphmode", "eagermode", "tfmigration")
ours = sorted(m for m in sys.modules if m.split(".")[0] in packages)
np.save(folder + "/keras_loss.npy", loss.numpy())
print(f"loss {float(loss.numpy())!r}; project modules imported: {ours}")
"""


SOURCES = pytest.mark.parametrize("source", [0, 1], ids=["saver", "frozen"])
KINDS = ["TF1 Saver checkpoint", "frozen GraphDef"]


@pytest.mark.slow
@SOURCES
def test_the_weights_file_reproduces_tf1s_loss_with_keras_and_tensorflow_alone(
    trained_sources: tuple[str, Path], tmp_path: Path, source: int
) -> None:
    trained, src = trained_sources[0], str(trained_sources[source])
    result = convert(str(EXAMPLE), src, str(tmp_path / "lstm.weights.h5"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{src} ({KINDS[source]}) -> "), result.stdout
    features, labels = example().data()
    np.save(tmp_path / "features.npy", features)
    np.save(tmp_path / "labels.npy", labels)
    expected = tf1_loss(trained, features, labels)
    script = tmp_path / "outside.py"
    script.write_text(OUTSIDE)
    for package in PACKAGES:
        assert f"import {package}" not in OUTSIDE and f"from {package}" not in OUTSIDE
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        cwd=tmp_path,  # not the checkout: nothing of ours on the path but what is installed
        env={**environment, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.endswith("; project modules imported: []"), line
    loss = np.load(tmp_path / "keras_loss.npy")
    # Measured: 0 ULPs on this batch (the logits differ by a few ULPs of rounding, TF1's one
    # matmul over concat([x, h]) against Keras's x @ W + h @ U, which the mean absorbs here).
    ulps = max_ulp_distance(expected, loss)
    assert ulps == 0, f"Keras's loss {loss!r}, TF1's {expected!r}: {ulps} ULPs apart"


def check(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, ["check", *args])


# TF1's cell computes concat([x, h]) @ kernel in one matmul, Keras's LSTM x @ W + h @ U: the
# same sums in another order. Measured on three trainings of this model (--strict, 3 batches
# of 64; each checkpoint gives the same numbers on every run): the logits 1.5e-7 to 3.6e-7
# apart normwise (a few float32 epsilons; the LSTM layer alone 2 ULPs normwise), and at most
# 128, 256 and 576 ULPs elementwise, at logits near 0.0014 where an ULP is 1.2e-10: rounding.
# --inference holds the outputs to the tolerance normwise, so the default 64 ULPs suffices.


@SOURCES
def test_check_inference_finds_the_port_equivalent_from_its_saver_and_frozen_files(
    trained_sources: tuple[str, Path], source: int
) -> None:
    result = check(str(EXAMPLE), "--inference", str(trained_sources[source]), "--strict", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [record["mode"] for record in records] == ["eager", "serving"]
    for record in records:
        assert record["verdict"] == "equivalent", record
        assert record["source_kind"] == KINDS[source]
        assert record["tf1_output"] == "logits:0"
        assert record["batch_rows"] == [64, 64, 64]
        assert record["variable_map"]["lstm/basic_lstm_cell/kernel"] == (
            "lstm_model/lstm/lstm_cell/kernel"
        )
        # Beyond the tolerance elementwise (near-zero logits), within it normwise.
        assert 0 < record["max_normwise_ulps"] <= record["tolerance_ulps"] == 64, record
        assert record["max_ulps"] > record["max_normwise_ulps"], record["batch_ulps"]
        assert record["relative_distance"] < 1e-6, record["batch_relative_distance"]


def test_an_output_scaled_by_one_part_in_ten_thousand_is_not_rounding(
    trained_sources: tuple[str, Path], tmp_path: Path
) -> None:
    # Earns the normwise rule: a port whose logits are all 1e-4 off (a temperature of 1.0001)
    # is a few hundred ULPs apart normwise, beyond the tolerance, and must not pass.
    path = variant(
        tmp_path,
        "    return model(features, training=False)\n",
        "    return model(features, training=False) * 1.0001\n",
    )
    result = check(str(path), "--inference", str(trained_sources[0]), "--strict", "--json")
    assert result.exit_code == 1, result.output
    for record in json.loads(result.stdout):
        assert record["verdict"] == "different", record
        assert record["max_normwise_ulps"] > 64, record


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "port.py"
    path.write_text(text.replace(old, new))
    return path


LSTM_LAYER = 'keras.layers.LSTM(UNITS, unit_forget_bias=True, name="lstm")'


def test_a_port_whose_lstm_gates_otherwise_is_different_and_the_lstm_is_named(
    trained: str, tmp_path: Path
) -> None:
    # Keras 2.0's LSTM defaulted to recurrent_activation="hard_sigmoid"; TF1's cell uses sigmoid.
    path = variant(
        tmp_path,
        LSTM_LAYER,
        'keras.layers.LSTM(UNITS, unit_forget_bias=True, recurrent_activation="hard_sigmoid", '
        'name="lstm")',
    )
    named = (
        "the first layer that differs fed TF1's own input is lstm_model/lstm (LSTM, TF1's "
        "strided_slice:0)"
    )
    result = check(str(path), "--inference", trained, "--strict")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[-3].split()[-1] == "verdict"
    assert [line.split()[-1] for line in lines[-2:]] == ["different", "different"]
    layer_line = next(line for line in lines if line.startswith("  layers, batch "))
    assert layer_line.startswith(f"  layers, batch 0: {named}: "), layer_line
    assert any(
        line.split()[:3] == ["lstm_model/lstm", "->", "strided_slice:0"]
        and line.endswith("<- first that differs")
        for line in lines
    ), result.stdout

    result = check(str(path), "--inference", trained, "--strict", "--json")
    assert result.exit_code == 1, result.output
    records = json.loads(result.stdout)
    assert [record["style_verdict"] for record in records] == ["different", "different"]
    layer = records[0]["layer"]
    assert layer["batch"] == 0 and layer["layer"] == "lstm_model/lstm"
    assert layer["message"].startswith(named), layer["message"]
    assert [entry["layer"] for entry in layer["layers"]] == ["lstm_model/lstm", "lstm_model/fc"]


def test_unit_forget_bias_only_initialises_so_the_converted_port_predicts_the_same(
    trained: str, tmp_path: Path
) -> None:
    # Keras's LSTM stores the forget bias in its bias (unit_forget_bias=True only starts it at
    # 1): TF1's forget_bias arrives folded into the converted bias either way.
    path = variant(tmp_path, LSTM_LAYER, LSTM_LAYER.replace("=True", "=False"))
    result = check(
        str(path), "--inference", trained, "--strict",  "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [record["verdict"] for record in records] == ["equivalent", "equivalent"]
    assert all(record["layer"] is None for record in records)
