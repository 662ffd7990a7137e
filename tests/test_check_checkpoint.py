"""`check --tf1-checkpoint`: start TF1 and the port from a real TF1 Saver checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.testing import check_migration
from tfmigration.migration.contract import batch_indices

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def saved_by_tf1(path: Path, folder: Path, steps: int = 4) -> str:
    """Train the file's TF1 code as its author did, in a Session, and save with a Saver."""
    spec = importlib.util.spec_from_file_location(f"user_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    features, labels = module.data()
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(7)
        x = tf.compat.v1.placeholder(features.dtype, (None, *features.shape[1:]))
        y = tf.compat.v1.placeholder(labels.dtype, (None, *labels.shape[1:]))
        _, train_op = module.tf1_train(x, y)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for _ in range(steps):
                session.run(train_op, {x: features, y: labels})
            folder.mkdir(parents=True, exist_ok=True)
            return saver.save(session, str(folder / "model.ckpt"), global_step=steps)


def saved_loss(path: Path, prefix: str) -> np.float32:
    """The file's TF1 loss on the check's first batch, at the checkpoint's values."""
    spec = importlib.util.spec_from_file_location(f"again_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    features, labels = module.data()
    rows = batch_indices(len(features), module.STEPS, getattr(module, "BATCH_SIZE", None), 0)
    if rows is not None:
        features, labels = features[rows[0]], labels[rows[0]]
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(features.dtype, (None, *features.shape[1:]))
        y = tf.compat.v1.placeholder(labels.dtype, (None, *labels.shape[1:]))
        loss, _ = module.tf1_train(x, y)
        saver = tf.compat.v1.train.Saver()
        config = tf.compat.v1.ConfigProto()
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            saver.restore(session, prefix)
            return session.run(loss, {x: features, y: labels})


def test_a_faithful_port_continues_from_the_tf1_checkpoint(tmp_path: Path) -> None:
    prefix = saved_by_tf1(MIGRATIONS / "faithful.py", tmp_path)
    report = check_migration(MIGRATIONS / "faithful.py", strict=True, tf1_checkpoint=prefix)
    assert report.verdict in ("identical", "equivalent"), report.explain()
    assert any(
        "started from the TF1 checkpoint" in note and "(global step 4)" in note
        for note in report.notes
    )
    # (No tf.compat.v1.layers file here: touching those layers outside a check would route
    # them to Keras 3 for the whole process.)
    # The start really is the checkpoint's: TF1's step-0 loss is the saved model's on that
    # batch, and the port, loaded through the pairing, computes the very same loss.
    assert report.results[0].losses[0] == saved_loss(MIGRATIONS / "faithful.py", prefix)
    assert report.results[1].losses[0] == report.results[0].losses[0]


def test_a_wrong_port_is_still_different_from_a_checkpoint(tmp_path: Path) -> None:
    saved_by_tf1(MIGRATIONS / "wrong_hyperparameter.py", tmp_path)
    result = CliRunner().invoke(
        tfbridge,
        [
            "check",
            str(MIGRATIONS / "wrong_hyperparameter.py"),
            "--strict",
            "--tf1-checkpoint",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "different" in result.output
    assert "beta_2 0.99 vs 0.999" in result.output


def test_a_checkpoint_of_another_model_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    prefix = saved_by_tf1(MIGRATIONS / "wrong_width.py", tmp_path)
    result = CliRunner().invoke(
        tfbridge, ["check", str(MIGRATIONS / "faithful.py"), "--tf1-checkpoint", prefix]
    )
    assert result.exit_code == 1
    assert "is not a checkpoint of this model: lacks classifier/" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_damaged_checkpoint_is_one_line(tmp_path: Path, damage: str) -> None:
    prefix = saved_by_tf1(MIGRATIONS / "faithful.py", tmp_path)
    if damage == "missing":
        target, code = str(tmp_path / "nothing-here"), 2
    else:
        data = next(tmp_path.glob("model.ckpt-4.data-*"))
        data.write_bytes(data.read_bytes()[:40])
        target, code = prefix, 1
    result = CliRunner().invoke(
        tfbridge, ["check", str(MIGRATIONS / "faithful.py"), "--tf1-checkpoint", target]
    )
    assert result.exit_code == code, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in result.output


def test_convert_migration_writes_the_checkpoint_the_port_restores(tmp_path: Path) -> None:
    prefix = saved_by_tf1(MIGRATIONS / "faithful.py", tmp_path / "tf1")
    result = CliRunner().invoke(
        tfbridge,
        [
            "convert-checkpoint",
            "--migration",
            str(MIGRATIONS / "faithful.py"),
            prefix,
            str(tmp_path / "tf2"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "classifier/fc1/weights  ->  classifier/fc1/w" in result.output
    # The user's own restore, as the README shows it.
    spec = importlib.util.spec_from_file_location("port_faithful", MIGRATIONS / "faithful.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model, optimizer = module.tf2_setup()
    optimizer.build(model.trainable_variables)
    status = tf.train.Checkpoint(model=model, optimizer=optimizer).restore(
        tf.train.latest_checkpoint(str(tmp_path / "tf2"))
    )
    status.assert_existing_objects_matched()
    saved = tf.train.load_checkpoint(prefix)
    assert np.array_equal(model.fc1.w.numpy(), saved.get_tensor("classifier/fc1/weights"))
    assert int(optimizer.iterations.numpy()) == 4
    assert np.array_equal(
        _slot(optimizer, model.fc1.w, "m"), saved.get_tensor("classifier/fc1/weights/Adam")
    )


def _slot(optimizer: object, variable: object, slot: str) -> np.ndarray:
    from eagermode.keras_internals import slot_for

    return slot_for(optimizer, "adam", slot, variable).numpy()


@pytest.mark.slow
def test_the_checkpoint_example_runs_end_to_end(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = MIGRATIONS.parent.parent
    done = subprocess.run(
        [sys.executable, str(root / "examples" / "convert_tf1_checkpoint.py"), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "restored into the port: 12 of 12 variables equal TF1's; optimizer at step 5" in (
        done.stdout
    )
