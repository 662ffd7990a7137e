"""`convert-checkpoint --migration FILE SRC DEST` into Keras 3 files, from the three TF1 sources.

The trained model is examples/trained_cnn.py's, trained by its own TF1 code and saved with a
Saver and as a frozen graph; what Keras loads is compared with what TF1 computes from the saved
model, in plain TensorFlow written here (and, once, in a process that imports nothing of ours).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner, Result

from bridge.cli import main as tfbridge
from bridge.compare import DEFAULT_TOLERANCE_ULPS
from tfmigration.measure.ulp import max_ulp_distance

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trained_cnn.py"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trained_cnn_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """(Saver prefix, frozen graph, TF1 SavedModel directory) of one TF1 training run."""
    work = tmp_path_factory.mktemp("trained")
    prefix, frozen = example().train_and_save(work)
    return prefix, frozen, tf1_saved_model(prefix, work / "saved_model")


def tf1_saved_model(prefix: str, directory: Path) -> Path:
    """The Saver checkpoint's model as a TF1 SavedModel (simple_save), as TF1 serving kept it."""
    module = example()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, 8, 8, 1))
        logits = module.tf1_logits(x)
        with tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.train.Saver().restore(session, prefix)
            tf.compat.v1.saved_model.simple_save(
                session, str(directory), {"features": x}, {"logits": logits}
            )
    return directory


def tf1_logits(prefix: str, features: np.ndarray) -> np.ndarray:
    """TF1's logits at the Saver checkpoint's values, Grappler off, as the author ran them."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, *features.shape[1:]))
        logits = example().tf1_logits(x)
        config = tf.compat.v1.ConfigProto()
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            tf.compat.v1.train.Saver().restore(session, prefix)
            return session.run(logits, {x: features})


def tf1_loss(prefix: str, features: np.ndarray, labels: np.ndarray) -> np.float32:
    """TF1's training loss tensor at the Saver checkpoint's values, Grappler off."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, *features.shape[1:]))
        y = tf.compat.v1.placeholder(tf.int32, (None,))
        loss, _ = example().tf1_train(x, y)
        config = tf.compat.v1.ConfigProto()
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            tf.compat.v1.train.Saver().restore(session, prefix)
            return session.run(loss, {x: features, y: labels})


def convert(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, ["convert-checkpoint", "--migration", *args])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(("Error:", "internal"))]


def refused(result: Result, expected: str, code: int) -> None:
    assert result.exit_code == code, result.output
    assert error_lines(result) == [expected], result.output
    assert "Traceback" not in result.output


ROWS = [
    "  conv1/kernel  ->  cnn/conv1/kernel  [3, 3, 1, 4] float32",
    "  conv1/bias    ->  cnn/conv1/bias  [4] float32",
    "  fc/kernel     ->  cnn/fc/kernel  [144, 3] float32",
    "  fc/bias       ->  cnn/fc/bias  [3] float32",
]


@pytest.mark.parametrize("source", [0, 1, 2], ids=["saver", "frozen", "saved_model"])
def test_weights_h5_loads_into_the_port_and_predicts_as_tf1(
    trained: tuple, tmp_path: Path, source: int
) -> None:
    prefix, src = trained[0], str(trained[source])
    dest = tmp_path / "cnn.weights.h5"
    result = convert(str(EXAMPLE), src, str(dest))
    assert result.exit_code == 0, result.output
    kind = ["TF1 Saver checkpoint", "frozen GraphDef", "TF1 SavedModel"][source]
    assert result.stdout.splitlines() == [
        f"{src} ({kind}) -> {dest} (Keras 3: model=Sequential):",
        *ROWS,
    ]
    assert sorted(os.listdir(tmp_path)) == ["cnn.weights.h5"]  # no temporary left behind
    model = example().build_model()
    model.load_weights(str(dest))
    features, _ = example().data()
    saved = tf.train.load_checkpoint(prefix)
    assert np.array_equal(model.get_layer("fc").kernel.numpy(), saved.get_tensor("fc/kernel"))
    ulps = max_ulp_distance(tf1_logits(prefix, features), model.predict(features, verbose=0))
    assert ulps <= DEFAULT_TOLERANCE_ULPS


def test_dot_keras_opens_with_load_model_and_predicts_as_tf1(
    trained: tuple, tmp_path: Path
) -> None:
    prefix = trained[0]
    dest = tmp_path / "cnn.keras"
    result = convert(str(EXAMPLE), prefix, str(dest))
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.splitlines()[0]
        == f"{prefix} (TF1 Saver checkpoint) -> {dest} (Keras 3: model=Sequential):"
    )
    model = keras.saving.load_model(str(dest))
    features, _ = example().data()
    ulps = max_ulp_distance(tf1_logits(prefix, features), model.predict(features, verbose=0))
    assert ulps <= DEFAULT_TOLERANCE_ULPS


OUTSIDE = """
import sys

import keras
import numpy as np
import tensorflow as tf

folder = sys.argv[1]
model = keras.Sequential(
    [
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, name="fc"),
    ],
    name="cnn",
)
model.load_weights(folder + "/cnn.weights.h5")
tf1 = np.load(folder + "/tf1_logits.npy")
keras_logits = np.asarray(model(np.load(folder + "/features.npy"), training=False))
labels = np.load(folder + "/labels.npy")
loss = tf.reduce_mean(
    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=keras_logits)
)
np.save(folder + "/keras_loss.npy", loss.numpy())
# ULPs by the float32 bit patterns, ordered so that -0.0 and +0.0 are one apart at most.
def ordered(values):
    bits = values.astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)
ulps = int(np.abs(ordered(tf1) - ordered(keras_logits)).max())
packages = ("bridge", "graphmode", "eagermode", "tfmigration")
ours = sorted(m for m in sys.modules if m.split(".")[0] in packages)
print(f"max ULPs {ulps}; project modules imported: {ours}")
"""


def test_weights_h5_checked_with_keras_and_tensorflow_alone(trained: tuple, tmp_path: Path) -> None:
    prefix = trained[0]
    result = convert(str(EXAMPLE), prefix, str(tmp_path / "cnn.weights.h5"))
    assert result.exit_code == 0, result.output
    features, labels = example().data()
    np.save(tmp_path / "features.npy", features)
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "tf1_logits.npy", tf1_logits(prefix, features))
    script = tmp_path / "outside.py"
    script.write_text(OUTSIDE)
    for package in ("bridge", "graphmode", "eagermode", "tfmigration"):
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
    assert int(line.split()[2].rstrip(";")) <= DEFAULT_TOLERANCE_ULPS, line
    # TF1's own loss on the same batch, from its training graph: measured 0 ULPs apart.
    expected, loss = tf1_loss(prefix, features, labels), np.load(tmp_path / "keras_loss.npy")
    ulps = max_ulp_distance(expected, loss)
    assert ulps == 0, f"Keras's loss {loss!r}, TF1's {expected!r}: {ulps} ULPs apart"


def test_a_frozen_graph_without_the_needed_tensors_is_refused(tmp_path: Path) -> None:
    module = example()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, 8, 8, 1))
        module.tf1_logits(x)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            # Frozen for the convolution's output only: fc's variables never became constants.
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), ["conv1/Relu"]
            )
    source = tmp_path / "conv_only.pb"
    source.write_bytes(frozen.SerializeToString())
    result = convert(str(EXAMPLE), str(source), str(tmp_path / "cnn.weights.h5"))
    refused(
        result,
        f"Error: SRC {source} is not a frozen GraphDef of this model: lacks fc/kernel, fc/bias",
        1,
    )
    assert sorted(os.listdir(tmp_path)) == ["conv_only.pb"]


def test_a_source_of_another_model_names_what_is_missing_and_extra(
    trained: tuple, tmp_path: Path
) -> None:
    result = convert(
        str(MIGRATIONS / "faithful.py"), str(trained[1]), str(tmp_path / "m.weights.h5")
    )
    refused(
        result,
        f"Error: SRC {trained[1]} is not a frozen GraphDef of this model: lacks "
        "classifier/fc1/weights, classifier/fc1/biases, classifier/fc2/weights, "
        "classifier/fc2/biases; holds conv1/bias, conv1/kernel, fc/bias, fc/kernel, which this "
        "model does not have",
        1,
    )
    assert os.listdir(tmp_path) == []


def test_an_existing_dest_is_refused_unless_forced(trained: tuple, tmp_path: Path) -> None:
    dest = tmp_path / "cnn.weights.h5"
    dest.write_bytes(b"the user's own file")
    result = convert(str(EXAMPLE), trained[0], str(dest))
    refused(
        result,
        f"Error: DEST {dest} already exists: pass --force to replace it, or name a new file",
        2,
    )
    assert dest.read_bytes() == b"the user's own file"
    result = convert(str(EXAMPLE), trained[0], str(dest), "--force")
    assert result.exit_code == 0, result.output
    model = example().build_model()
    model.load_weights(str(dest))
    assert sorted(os.listdir(tmp_path)) == ["cnn.weights.h5"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "cnn.h5",
            "Error: DEST {dest}: convert-checkpoint writes no '.h5' file; name a .weights.h5 "
            "file (Keras 3 weights), a .keras file (a whole Keras model) or a directory (a TF "
            "checkpoint)",
        ),
        ("missing/cnn.weights.h5", "Error: DEST {dest}: its folder {folder} does not exist"),
        ("afile/cnn.keras", "Error: DEST {dest}: {folder} is not a folder"),
    ],
    ids=["unknown-extension", "no-folder", "folder-is-a-file"],
)
def test_a_dest_that_cannot_be_written_is_refused_before_anything_runs(
    tmp_path: Path, name: str, expected: str
) -> None:
    (tmp_path / "afile").write_text("")
    dest = tmp_path / name
    # SRC need not even exist: DEST is judged first.
    result = convert(str(EXAMPLE), str(tmp_path / "nothing"), str(dest))
    refused(result, expected.format(dest=dest, folder=dest.parent), 2)
    assert sorted(os.listdir(tmp_path)) == ["afile"]


def test_an_unwritable_dest_leaves_nothing(trained: tuple) -> None:
    # /proc takes no new files, for root too (which file permissions would not stop).
    result = convert(str(EXAMPLE), trained[0], "/proc/cnn.weights.h5")
    refused(
        result,
        "Error: DEST /proc/cnn.weights.h5 cannot be written: Unable to synchronously create file",
        2,
    )


SUBCLASSED = """
import keras
import numpy as np
import tensorflow as tf


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)


def tf1_train(features, labels):
    with tf.compat.v1.variable_scope("dense"):
        w = tf.compat.v1.get_variable("kernel", [3, 2])
        b = tf.compat.v1.get_variable("bias", [2], initializer=tf.compat.v1.zeros_initializer())
    loss = tf.reduce_mean(tf.square(tf.matmul(features, w) + b - labels))
    return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


class Regressor(keras.Model):
    def __init__(self, width):
        super().__init__(name="regressor")
        self.dense = keras.layers.Dense(width, name="dense")

    def call(self, x):
        return self.dense(x)


def tf2_setup():
    model = Regressor(2)
    model(np.zeros((1, 3), np.float32))
    return model, keras.optimizers.SGD(0.1)


def tf2_train_step(state, features, labels):
    model, optimizer = state
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(features) - labels))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
"""


def saver_checkpoint_of(path: Path, folder: Path) -> str:
    spec = importlib.util.spec_from_file_location(f"saved_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    features, labels = module.data()
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, *features.shape[1:]))
        y = tf.compat.v1.placeholder(labels.dtype, (None, *labels.shape[1:]))
        _, train_op = module.tf1_train(x, y)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(train_op, {x: features, y: labels})
            folder.mkdir()
            return tf.compat.v1.train.Saver().save(session, str(folder / "model.ckpt"))


def test_a_subclassed_model_without_get_config_is_not_written_as_dot_keras(tmp_path: Path) -> None:
    path = tmp_path / "subclassed.py"
    path.write_text(SUBCLASSED)
    prefix = saver_checkpoint_of(path, tmp_path / "tf1")
    result = convert(str(path), prefix, str(tmp_path / "out.keras"))
    refused(
        result,
        f"Error: DEST {tmp_path / 'out.keras'}: Regressor is a subclassed Keras model without "
        "get_config(), which keras.saving.load_model cannot rebuild; name a .weights.h5 DEST "
        "and load it into your model with model.load_weights",
        2,
    )
    assert not (tmp_path / "out.keras").exists()
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]
    # The weights file it points to works for that very model.
    result = convert(str(path), prefix, str(tmp_path / "out.weights.h5"))
    assert result.exit_code == 0, result.output
    spec = importlib.util.spec_from_file_location("subclassed_port", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model, _ = module.tf2_setup()
    model.load_weights(str(tmp_path / "out.weights.h5"))
    saved = tf.train.load_checkpoint(prefix)
    assert np.array_equal(model.dense.kernel.numpy(), saved.get_tensor("dense/kernel"))


def test_a_port_without_a_keras_model_is_pointed_to_a_directory(tmp_path: Path) -> None:
    prefix = saver_checkpoint_of(MIGRATIONS / "faithful.py", tmp_path / "tf1")
    dest = tmp_path / "m.weights.h5"
    result = convert(str(MIGRATIONS / "faithful.py"), prefix, str(dest))
    refused(
        result,
        f"Error: DEST {dest}: a Keras file needs a Keras model, and "
        f"{MIGRATIONS / 'faithful.py'}'s tf2_setup() returns none (it holds Classifier); name a "
        "directory DEST for a TF checkpoint",
        2,
    )
    assert sorted(os.listdir(tmp_path)) == ["tf1"]
