"""Issue 17: recordings. A tampered recording is one line naming the field, never a traceback;
`record` deletes nothing it did not write.

Each tampered case starts from one real recording of a tiny file, copied and changed in one
place; each destination case checks what is left on disk afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from bridge.cli import main as tfbridge
from bridge.record import record_migration

PORT = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 2


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


def invoke(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, [*args])


def refused(result: Result, expected: str) -> None:
    """Exit 2, exactly one line on stderr, `expected`, and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [expected], result.output
    assert "Traceback" not in result.output


def contents(directory: Path) -> dict[str, bytes | None]:
    """Every path below `directory` and its bytes (None for a directory)."""
    return {
        str(path.relative_to(directory)): None if path.is_dir() else path.read_bytes()
        for path in sorted(directory.rglob("*"))
    }


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("port") / "port.py"
    path.write_text(PORT)
    return path


@pytest.fixture(scope="module")
def recording(port: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("recorded") / "recording"
    record_migration(port, directory, batch_size=4)
    return directory


@pytest.fixture
def copy(recording: Path, tmp_path: Path) -> Path:
    target = tmp_path / "recording"
    shutil.copytree(recording, target)
    return target


# --- 9. tampered recordings ---------------------------------------------------------------------


def edit_manifest(directory: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def edit_arrays(directory: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    path = directory / "trajectory.npz"
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    np.savez(path, **arrays)


def test_the_untampered_copy_checks(port: Path, copy: Path) -> None:
    result = invoke("check", str(port), "--against", str(copy))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("variables", "a list of objects"),
        ("settings", "an object"),
        ("data", "an object"),
        ("optimizer", "an object"),
        ("versions", "an object"),
    ],
)
def test_a_manifest_without_a_field_is_one_line_naming_it(
    port: Path, copy: Path, field: str, expected: str
) -> None:
    edit_manifest(copy, lambda manifest: manifest.pop(field))
    refused(
        invoke("check", str(port), "--against", str(copy)),
        f"Error: --against {copy}: manifest.json field {field} is missing; expected {expected}",
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("settings", "steps"),
            "2",
            "settings.steps is the string '2'; expected a whole number of at least 1",
        ),
        (
            ("noise_floor", "loss_ulps"),
            "3",
            "noise_floor.loss_ulps is the string '3'; expected a whole number of at least 0",
        ),
        (
            ("variables", 0, "shape"),
            [1, "1"],
            'variables[0].shape is [1, "1"]; expected a list of whole numbers of at least 0',
        ),
        (("settings", "strict"), 1, "settings.strict is 1; expected true or false"),
        (
            # An object of numbers is named as a whole.
            ("optimizer", "hyperparameters", "learning_rate"),
            "0.1",
            'optimizer.hyperparameters is {"learning_rate": "0.1"}; expected an object of '
            "finite numbers",
        ),
    ],
    ids=["steps", "noise floor", "shape", "strict", "learning rate"],
)
def test_a_string_where_a_number_belongs_is_one_line_naming_the_field(
    port: Path, copy: Path, path: tuple[Any, ...], value: Any, expected: str
) -> None:
    def change(manifest: dict[str, Any]) -> None:
        holder = manifest
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = value

    edit_manifest(copy, change)
    refused(
        invoke("check", str(port), "--against", str(copy)),
        f"Error: --against {copy}: manifest.json field {expected}",
    )


def test_recorded_steps_beyond_the_steps_are_refused(port: Path, copy: Path) -> None:
    edit_manifest(copy, lambda manifest: manifest.update(recorded_steps=[0, 1, 7]))
    refused(
        invoke("check", str(port), "--against", str(copy)),
        f"Error: --against {copy}: manifest.json recorded_steps holds step 7; expected steps "
        "below 2",
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda arrays: arrays.update({"initial/line/w": np.zeros((2, 1), np.float32)}),
            "initial/line/w has shape [2, 1]; expected [1, 1], as manifest.json says",
        ),
        (
            lambda arrays: arrays.update({"after/000000001/line/b": np.zeros((3,), np.float32)}),
            "after/000000001/line/b has shape [3]; expected [1], as manifest.json says",
        ),
        (
            lambda arrays: arrays["losses"].__setitem__(1, np.nan),
            "losses holds nan at step 1; expected finite losses, as recorded",
        ),
        (
            lambda arrays: arrays["batch_indices"].__setitem__((1, 2), 40),
            "batch_indices holds row 40; expected rows 0 to 39 of the 40",
        ),
        (
            lambda arrays: arrays.update(batch_indices=arrays["batch_indices"][:, :3]),
            "batch_indices is int64 of shape [2, 3]; expected whole numbers of shape [2, 4]",
        ),
        (
            lambda arrays: arrays.update(losses=arrays["losses"][:1]),
            "losses holds 1 losses; expected one per step, 2",
        ),
    ],
    ids=["initial shape", "after shape", "NaN loss", "row out of range", "batch shape", "losses"],
)
def test_arrays_that_contradict_the_manifest_are_one_line_naming_the_array(
    port: Path, copy: Path, change: Callable[[dict[str, np.ndarray]], None], expected: str
) -> None:
    edit_arrays(copy, change)
    refused(
        invoke("check", str(port), "--against", str(copy)),
        f"Error: --against {copy}: trajectory.npz {expected}",
    )


# --- 10. record deletes nothing it did not write ------------------------------------------------


def record(port: Path, output: Path | str, *args: str) -> Result:
    return invoke("record", str(port), "--output", str(output), *args)


def test_a_folder_with_someone_elses_manifest_is_refused_untouched(
    port: Path, tmp_path: Path
) -> None:
    app = tmp_path / "webapp"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my app", "start_url": "/"}')
    (app / "data.txt").write_text("precious")
    before = contents(app)
    refused(
        record(port, app),
        f"Error: --output {app} exists and is not a recording (it holds data.txt, manifest.json "
        "(not a tfbridge-golden manifest)); nothing was touched: name a new or empty directory",
    )
    assert contents(app) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["webapp"]


def test_a_recording_with_neighbours_is_refused_and_nothing_deleted(port: Path, copy: Path) -> None:
    (copy / "NOTES.txt").write_text("my notes")
    (copy / "sub").mkdir()
    (copy / "sub" / "kept.txt").write_text("kept")
    before = contents(copy)
    refused(
        record(port, copy),
        f"Error: --output {copy} exists and is not a recording alone (beside one it holds "
        "NOTES.txt, sub/); nothing was touched: name a new or empty directory, or move those out",
    )
    assert contents(copy) == before


def test_output_dot_is_refused_in_one_line_leaving_no_litter(
    port: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    refused(
        record(port, "."),
        "Error: --output . is the current directory; name a directory inside it (e.g. --output "
        "recording), which record creates",
    )
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_a_recording_is_replaced_whole_and_an_empty_directory_filled(
    port: Path, copy: Path, tmp_path: Path
) -> None:
    result = record(port, copy, "--steps", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in copy.iterdir()) == ["manifest.json", "trajectory.npz"]
    assert json.loads((copy / "manifest.json").read_text())["settings"]["steps"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording"]  # no .old litter
    assert invoke("check", str(port), "--against", str(copy)).exit_code == 0

    empty = tmp_path / "empty"
    empty.mkdir()
    result = record(port, empty, "--steps", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in empty.iterdir()) == ["manifest.json", "trajectory.npz"]


def test_a_symbolic_link_as_output_is_refused_untouched(port: Path, copy: Path) -> None:
    link = copy.parent / "link"
    link.symlink_to(copy)
    before = contents(copy)
    refused(
        record(port, link),
        f"Error: --output {link} is a symbolic link; name the directory itself",
    )
    assert link.is_symlink() and contents(copy) == before


def test_the_destination_is_refused_before_tf1_runs(tmp_path: Path) -> None:
    never = tmp_path / "never.py"
    never.write_text(PORT.replace("    x = np.linspace(", "    raise AssertionError\n    x = ("))
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "mine.txt").write_text("mine")
    refused(
        record(never, occupied),
        f"Error: --output {occupied} exists and is not a recording (it holds mine.txt); nothing "
        "was touched: name a new or empty directory",
    )


def test_ctrl_c_between_the_renames_puts_the_old_recording_back(
    port: Path, copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = contents(copy)
    real = os.replace
    calls: list[object] = []

    def interrupted_second_rename(source: object, destination: object) -> None:
        calls.append(source)
        if len(calls) == 2:  # the new recording's rename into place
            raise KeyboardInterrupt
        real(source, destination)

    monkeypatch.setattr(os, "replace", interrupted_second_rename)
    result = record(port, copy, "--steps", "1")
    monkeypatch.undo()
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines() == [
        f"interrupted while recording {port}: nothing written to {copy}"
    ]
    assert contents(copy) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording"]
