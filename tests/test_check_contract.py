"""`tfbridge check` on migration files that break the contract: one clear error, nothing written.

Each bad file is the small, good one below with one thing changed. Contract errors exit 2; a
loss that becomes NaN exits 1 naming the style and step.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.testing import check_migration
from tfmigration.catalog.errors import UserError

GOOD = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 5


    def data():
        x = np.linspace(-1.0, 1.0, 40, dtype=np.float32).reshape(40, 1)
        return x, (3.0 * x + 1.0).astype(np.float32)


    def tf1_train(features, labels):
        w = tf.compat.v1.get_variable("line/w", [1, 1])
        b = tf.compat.v1.get_variable("line/b", [1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(features, w) + b - labels))
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


    class Line(tf.Module):
        def __init__(self):
            super().__init__(name="line")
            self.w = tf.Variable(tf.zeros([1, 1]))
            self.b = tf.Variable(tf.zeros([1]))


    def tf2_setup():
        return Line(), keras.optimizers.SGD(0.1)


    def tf2_train_step(state, features, labels):
        line, optimizer = state
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(features, line.w) + line.b - labels))
        variables = [line.w, line.b]
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss
    """
)


def write(tmp_path: Path, text: str, name: str = "port.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(tmp_path: Path, path: Path | str, *args: str) -> tuple[int, str, Path]:
    output = tmp_path / "out.json"
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--output", str(output), *args])
    return result.exit_code, result.output, output


def test_the_good_file_is_identical_and_writes_one_record_per_style(tmp_path: Path) -> None:
    code, text, output = run(tmp_path, write(tmp_path, GOOD), "--strict")
    assert code == 0, text
    assert "port: identical" in text
    assert "line/w  ->  line/w" in text
    records = json.loads(output.read_text())
    assert [r["mode"] for r in records] == ["graph", "eager", "function"]
    assert {r["verdict"] for r in records} == {"identical"}
    assert records[1]["variable_map"] == {"line/w": "line/w", "line/b": "line/b"}
    assert records[1]["first_divergent_step"] is None


BAD_FILES = {
    "missing names": (
        lambda good: good.replace("def tf2_train_step(", "def train_step("),
        "the migration file defines no tf2_train_step(); it must define data(), tf1_train(), "
        "tf2_setup(), tf2_train_step()",
    ),
    "tf1_train returns one thing": (
        lambda good: good.replace(
            "return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)",
            "return loss",
        ),
        "tf1_train() must return (loss, train_op); it returned a single tensor",
    ),
    "non-scalar loss": (
        lambda good: good.replace(
            "loss = tf.reduce_mean(tf.square(tf.matmul(features, w) + b - labels))",
            "loss = tf.square(tf.matmul(features, w) + b - labels)",
        ),
        "tf1_train()'s loss must be a scalar; it has shape [None, 1]",
    ),
    "tf2_train_step returns nothing": (
        lambda good: good[: good.rindex("    return loss\n")] + "    return None\n",
        "tf2_train_step() returned nothing; it must return the loss computed before this step's "
        "update",
    ),
    "unequal data": (
        lambda good: good.replace("return x, (3.0 * x", "return x[:30], (3.0 * x"),
        "data() returned 30 feature rows but 40 labels; they must be of equal length",
    ),
    "data not a pair": (
        lambda good: good.replace("return x, (3.0 * x + 1.0).astype(np.float32)", "return x"),
        "data() must return (features, labels): features a numeric NumPy array, a dict of "
        "name -> array, or a tuple of arrays, labels a numeric array; it returned ndarray",
    ),
    "port too narrow": (
        lambda good: good.replace(
            "self.w = tf.Variable(tf.zeros([1, 1]))", "self.w = tf.Variable(tf.zeros([1, 2]))"
        ),
        "'line/w' [1, 1] is paired (name) with 'line/w' [1, 2]: the shapes differ",
    ),
    "setup returns no variables": (
        lambda good: good.replace("return Line(), keras.optimizers.SGD(0.1)", "return None"),
        "tf2_setup() returned no model variables (found NoneType)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_broken_contract_is_one_line_naming_the_file_exit_2(tmp_path: Path, case: str) -> None:
    change, expected = BAD_FILES[case]
    path = write(tmp_path, change(GOOD))
    assert change(GOOD) != GOOD
    code, text, output = run(tmp_path, path)
    assert code == 2, text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"Error: {path}")
    assert expected in text
    assert "Traceback" not in text
    assert not output.exists()
    with pytest.raises(UserError) as raised:
        check_migration(path)
    assert expected in str(raised.value)


def test_a_missing_file_and_a_file_that_is_not_python(tmp_path: Path) -> None:
    code, text, output = run(tmp_path, tmp_path / "nowhere.py")
    assert code == 2
    assert (
        f"Error: migration file '{tmp_path / 'nowhere.py'}' does not exist or is not a file" in text
    )
    notes = write(tmp_path, "just words", "notes.txt")
    code, text, _ = run(tmp_path, notes)
    assert code == 2
    assert "is not a Python file (.py)" in text
    broken = write(tmp_path, "def data(:\n", "broken.py")
    code, text, _ = run(tmp_path, broken)
    assert code == 2
    assert f"Error: {broken}: not valid Python" in text
    assert not output.exists()


def test_the_users_own_exception_shows_their_lines_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD.replace(
            "def tf2_setup():\n", "def tf2_setup():\n    raise RuntimeError('no GPU here')\n"
        ),
    )
    code, text, _ = run(tmp_path, path)
    assert code == 2
    assert f"Error: {path}: tf2_setup() raised RuntimeError: no GPU here" in text
    assert "port.py, line" in text
    assert "raise RuntimeError('no GPU here')" in text
    assert "bridge/" not in text and "site-packages" not in text


def test_a_nan_loss_is_named_by_style_and_step_exit_1(tmp_path: Path) -> None:
    # A learning rate that blows up: TF1 is the reference, so graph style meets it first.
    path = write(
        tmp_path, GOOD.replace("GradientDescentOptimizer(0.1)", "GradientDescentOptimizer(1e30)")
    )
    code, text, output = run(tmp_path, path)
    assert code == 1
    assert "Error: graph style: the loss is " in text
    assert " at step " in text
    assert not output.exists()


def test_the_port_alone_diverging_is_named_as_the_port(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("keras.optimizers.SGD(0.1)", "keras.optimizers.SGD(1e30)"))
    code, text, _ = run(tmp_path, path)
    assert code == 1
    assert "Error: eager style: " in text
    assert "step" in text


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    for args, expected in (
        (["--steps", "0"], "Invalid value for '--steps'"),
        (["--batch-size", "0"], "Invalid value for '--batch-size'"),
        (["--batch-size", "41"], "--batch-size 41 is larger than the data (40 rows)"),
        (["--output", str(tmp_path / "missing" / "x.json")], "does not exist"),
    ):
        result = CliRunner().invoke(tfbridge, ["check", str(path), *args])
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output
