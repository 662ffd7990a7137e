"""`tfbridge check` and `check_migration` on migration files written as users write them.

tests/migrations/ holds files written outside the product's own conventions (tf.Module ports,
TF1 scope names unlike Keras's, tf.compat.v1.layers); examples/ the ones users copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.testing import MigrationMismatch, assert_migration, check_migration

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "tests" / "migrations"
EXAMPLES = ROOT / "examples"
QUIET = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_a_tf1_layers_model_and_its_keras_port_are_identical_in_strict_mode() -> None:
    report = check_migration(MIGRATIONS / "layers_model.py", strict=True)
    assert report.verdict == "identical", report.explain()
    assert report.first_divergent_step is None
    assert report.first_divergent_variable is None
    assert [r.mode for r in report.results] == ["graph", "eager", "function"]


def test_a_faithful_adam_port_is_equivalent_and_the_ladder_says_why_not_identical() -> None:
    # Stock Keras Adam rounds 1 - beta from float64; TF1's kernel subtracts in float32. At equal
    # parameters only that arithmetic differs, so the port is faithful, though not bit-equal.
    report = check_migration(MIGRATIONS / "faithful.py", strict=True)
    assert report.verdict == "equivalent", report.explain()
    assert report.findings
    assert all(f.basis in ("measured", "arithmetic") for f in report.findings)
    update = next(f for f in report.findings if f.rung == "update")
    assert "same hyperparameters" in update.message
    assert "TF1Adam" in update.message


def test_one_wrong_hyperparameter_is_different_at_the_first_step_it_can_show() -> None:
    report = check_migration(MIGRATIONS / "wrong_hyperparameter.py", strict=True)
    assert report.verdict == "different"
    # Step 0's loss is computed before any update; its update already moves the variables
    # apart, so step 0 is the first at which anything differs.
    assert report.first_divergent_step == 0
    assert report.first_divergent_variable is not None
    # The setting is named before any step runs, whatever the updates do.
    start = next(f for f in report.findings if f.rung == "start")
    assert "beta_2 0.99 in the port, 0.999 in TF1" in start.message
    update = next(f for f in report.findings if f.rung == "update")
    assert update.basis == "setting"
    assert "(port vs TF1)" in update.message
    with pytest.raises(MigrationMismatch) as raised:
        assert_migration(MIGRATIONS / "wrong_hyperparameter.py", strict=True)
    assert raised.value.report.verdict == "different"
    assert str(raised.value).startswith("wrong_hyperparameter: different")


def test_a_layer_of_the_wrong_width_is_refused_naming_both_shapes() -> None:
    result = CliRunner().invoke(tfbridge, ["check", str(MIGRATIONS / "wrong_width.py")])
    assert result.exit_code == 2
    assert "cannot be paired one to one" in result.output
    assert "[6, 32]" in result.output and "[6, 30]" in result.output
    assert "the shapes differ" in result.output


def test_the_cli_and_the_python_api_say_the_same(tmp_path: Path) -> None:
    output = tmp_path / "check.json"
    path = MIGRATIONS / "wrong_hyperparameter.py"
    result = CliRunner().invoke(
        tfbridge, ["check", str(path), "--strict", "--json", "--output", str(output)]
    )
    assert result.exit_code == 1
    records = json.loads(result.output)
    assert json.loads(output.read_text()) == records
    report = check_migration(path, strict=True)
    assert [r["mode"] for r in records] == ["graph", "eager", "function"]
    for record in records:
        assert record["model"] == "wrong_hyperparameter"
        assert record["verdict"] == report.verdict == "different"
        for key in ("max_loss_ulps", "max_param_ulps", "first_divergent_step", "variable_map"):
            assert key in record
    eager = records[1]
    assert eager["first_divergent_step"] == report.first_divergent_step
    assert eager["first_divergent_variable"] == report.first_divergent_variable
    assert eager["losses"] == [float(str(x)) for x in report.results[1].losses]


@pytest.mark.slow
def test_examples_behave_as_the_readme_says() -> None:
    faithful = check_migration(EXAMPLES / "digits_mlp.py", strict=True)
    assert faithful.verdict in ("identical", "equivalent"), faithful.explain()
    naive = check_migration(EXAMPLES / "digits_mlp_naive_port.py", strict=True)
    assert naive.verdict == "different"
    messages = " | ".join(f.message for f in naive.findings)
    assert "lacks TF1's regularization" in messages
    assert "epsilon 1e-07 vs 1e-08" in messages
    assert "BatchNormalization's momentum" in messages
    layers = check_migration(EXAMPLES / "layers_mlp.py", strict=True)
    assert layers.verdict == "identical", layers.explain()


DROPOUT = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 6
    BATCH_SIZE = 16


    def data():
        rng = np.random.default_rng(3)
        x = rng.normal(size=(64, 5)).astype(np.float32)
        positive = (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)
        # Two outputs: Keras 3 adds a width-1 bias with tf.add, wider ones with tf.nn.bias_add
        # (as tf.compat.v1.layers always does), whose gradients sum in another order.
        return x, np.concatenate([positive, 1 - positive], axis=1)


    def tf1_train(features, labels):
        hidden = tf.compat.v1.layers.dense(features, 8, activation=tf.nn.relu, name="hidden")
        hidden = tf.compat.v1.nn.dropout(hidden, rate=0.5)
        logits = tf.compat.v1.layers.dense(hidden, 2, name="out")
        loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        )
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(loss)


    def tf2_setup():
        model = keras.Sequential(
            [
                keras.Input((5,)),
                keras.layers.Dense(8, activation="relu", name="hidden"),
                keras.layers.Dropout(0.5),
                keras.layers.Dense(2, name="out"),
            ]
        )
        return model, keras.optimizers.SGD(0.5)


    def tf2_train_step(state, features, labels):
        model, optimizer = state
        with tf.GradientTape() as tape:
            logits = model(features, training=True)
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
            )
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    """
)


def test_dropout_in_tf1_and_keras_draws_the_same_masks(tmp_path: Path) -> None:
    path = tmp_path / "dropout.py"
    path.write_text(DROPOUT)
    report = check_migration(path, strict=True)
    assert report.verdict == "identical", report.explain()
    # The masks really change from step to step: losses are not those of a fixed mask.
    assert len(set(report.results[0].losses.tolist())) == len(report.results[0].losses)


def test_random_ops_that_cannot_be_aligned_are_named(tmp_path: Path) -> None:
    path = tmp_path / "noise.py"
    path.write_text(
        DROPOUT.replace(
            "hidden = tf.compat.v1.nn.dropout(hidden, rate=0.5)",
            "hidden = hidden + tf.random.normal(tf.shape(hidden), stddev=0.1)",
        )
    )
    report = check_migration(path, strict=True)
    assert report.verdict != "identical"
    assert any("random numbers the checker cannot align" in f.message for f in report.findings)
    assert any("random_normal" in note for note in report.notes)


def test_the_function_style_traces_the_users_step_once() -> None:
    from bridge.function.migration import FunctionPort
    from tfmigration.migration.contract import load

    migration = load(MIGRATIONS / "layers_model.py")
    port = FunctionPort(migration)
    for step in range(4):
        port.step(migration.features[:16], migration.labels[:16], step)
    assert port.tracing_count == 1


@pytest.mark.parametrize("style", ["eager", "function"])
def test_a_ports_values_are_views_that_keep_their_values_when_it_steps(style: str) -> None:
    """The ladder reads a port's variables and slots as views of their buffers, not copies
    (`value_view`): a view read before a step must still hold the values it read after the
    step writes the variables, or a rung would compare values the port no longer had."""
    from bridge.function.migration import FunctionPort
    from eagermode.migration import TF2Port, value_view
    from tfmigration.migration.contract import load

    migration = load(MIGRATIONS / "faithful.py")
    port = TF2Port(migration) if style == "eager" else FunctionPort(migration)
    features, labels = migration.features[:16], migration.labels[:16]
    port.step(features, labels, 0)  # the optimizer's slots exist from here
    views = port.values()
    slots = [value_view(variable) for variable in port.slot_variables().values()]
    assert slots
    copies = {name: value.copy() for name, value in views.items()}
    slot_copies = [slot.copy() for slot in slots]
    name = next(iter(views))
    assert np.shares_memory(views[name], value_view(port.variables[name]))  # not a copy
    port.step(features, labels, 1)
    assert not all(np.array_equal(copies[n], port.values()[n]) for n in copies)  # it moved
    for n, value in views.items():
        assert np.array_equal(value, copies[n]), n
    for slot, copy in zip(slots, slot_copies, strict=True):
        assert np.array_equal(slot, copy)


def test_the_aligned_sampler_is_restored_after_a_check(tmp_path: Path) -> None:
    from tensorflow.python.ops import nn_ops

    before = nn_ops._dropout
    path = tmp_path / "dropout.py"
    path.write_text(DROPOUT)
    check_migration(path, steps=2)
    assert nn_ops._dropout is before
    # and TensorFlow's own dropout is random again outside a check
    x = tf.ones([1000])
    assert not np.array_equal(tf.nn.dropout(x, 0.5).numpy(), tf.nn.dropout(x, 0.5).numpy())


@pytest.mark.slow
def test_the_pytest_plugin_makes_a_users_test_one_line(tmp_path: Path) -> None:
    (tmp_path / "test_port.py").write_text(
        "def test_layers(check_migration):\n"
        f"    check_migration({str(MIGRATIONS / 'layers_model.py')!r}, strict=True)\n\n"
        "def test_wrong(check_migration):\n"
        f"    check_migration({str(MIGRATIONS / 'wrong_hyperparameter.py')!r}, strict=True)\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_port.py"),
        ],
        cwd=tmp_path,
        env=QUIET,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    assert "During handling" not in done.stdout
    assert "wrong_hyperparameter: different" in done.stdout
    assert "where they part at step 0" in done.stdout
    assert "Traceback" not in done.stdout


@pytest.mark.slow
def test_tf1_layers_code_without_the_legacy_extra_says_how_to_install_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['tf_keras'] = None  # as if the legacy extra were not installed\n"
        "from bridge.cli import main\n"
        f"main(['check', {str(MIGRATIONS / 'layers_model.py')!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=QUIET, capture_output=True, text=True
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "pip install '.[legacy]'" in errors[0]
    assert "tf1_train()" in errors[0]


INTERMEDIATES = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 3
    TF1_INTERMEDIATES = {"hidden": "hidden/Relu:0", "logits": "out/BiasAdd:0"}


    def data():
        rng = np.random.default_rng(5)
        x = rng.normal(size=(32, 4)).astype(np.float32)
        return x, rng.normal(size=(32, 2)).astype(np.float32)


    def tf1_train(features, labels):
        hidden = tf.compat.v1.layers.dense(features, 6, activation=tf.nn.relu, name="hidden")
        logits = tf.compat.v1.layers.dense(hidden, 2, name="out")
        loss = tf.reduce_mean(tf.square(logits - labels))
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


    def tf2_setup():
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(6, activation="ACTIVATION", name="hidden"),
                keras.layers.Dense(2, name="out"),
            ]
        )
        return model, keras.optimizers.SGD(0.1)


    def tf2_intermediates(state, features, labels):
        model, _ = state
        hidden = model.layers[0](features)
        return {"hidden": hidden, "logits": model.layers[1](hidden)}


    def tf2_train_step(state, features, labels):
        model, optimizer = state
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(features, training=True) - labels))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    """
)


def test_named_intermediates_say_which_layer_parts_first(tmp_path: Path) -> None:
    path = tmp_path / "activation.py"
    path.write_text(INTERMEDIATES.replace("ACTIVATION", "elu"))
    report = check_migration(path, strict=True)
    assert report.verdict == "different"
    forward = next(f for f in report.findings if f.rung == "forward pass")
    assert "the first intermediate that differs is 'hidden'" in forward.message
    path.write_text(INTERMEDIATES.replace("ACTIVATION", "relu"))
    assert check_migration(path, strict=True).verdict == "identical"


def test_check_plot_writes_a_png_and_refuses_other_names(tmp_path: Path) -> None:
    picture = tmp_path / "check.png"
    path = str(MIGRATIONS / "layers_model.py")
    result = CliRunner().invoke(tfbridge, ["check", path, "--strict", "--plot", str(picture)])
    assert result.exit_code == 0, result.output
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = CliRunner().invoke(tfbridge, ["check", path, "--plot", str(tmp_path / "c.jpg")])
    assert result.exit_code == 2 and "does not end in .png" in result.output
    assert not (tmp_path / "c.jpg").exists()
