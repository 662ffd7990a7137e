"""Record the TF1 run once, check the port against it after the TF1 code is gone."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.record import record_migration
from bridge.testing import check_migration
from tfmigration.machine import cpu, cpu_difference
from tfmigration.migration.golden import ARRAYS, MANIFEST

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "tests" / "migrations"


def without_tf1(source: Path, folder: Path) -> Path:
    """A copy of a migration file with its tf1_train deleted, as after the migration."""
    text = source.read_text()
    start = text.index("def tf1_train(")
    body = text.index("\n", start) + 1
    following = re.search(r"^\S", text[body:], flags=re.MULTILINE)
    end = body + following.start() if following else len(text)
    copy = folder / source.name
    copy.write_text(text[:start] + text[end:])
    assert "def tf1_train" not in copy.read_text()
    return copy


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recordings")
    for name in ("layers_model", "faithful"):
        record_migration(MIGRATIONS / f"{name}.py", folder / name, strict=True, every=5)
    return folder


def test_a_recording_is_plain_numpy_and_json(recordings: Path) -> None:
    manifest = json.loads((recordings / "faithful" / MANIFEST).read_text())
    assert manifest["format"] == "tfbridge-golden" and manifest["version"] == 1
    assert manifest["settings"]["every"] == 5
    steps = manifest["settings"]["steps"]
    assert manifest["recorded_steps"] == sorted({0, steps - 2, steps - 1, *range(0, steps, 5)})
    assert set(manifest["versions"]) == {"python", "numpy", "tensorflow", "keras"}
    assert set(manifest["machine"]) == {"architecture", "model", "vector_extensions"}
    with np.load(recordings / "faithful" / ARRAYS, allow_pickle=False) as arrays:
        assert arrays["losses"].shape == (steps,)
        names = [v["name"] for v in manifest["variables"]]
        assert all(f"initial/{name}" in arrays.files for name in names)
        assert f"after/{steps - 1:09d}/{names[0]}" in arrays.files
        assert "/Adam" in " ".join(arrays.files)  # the optimizer's slots under TF1's names


def test_the_port_alone_checks_against_the_recording_as_against_live_tf1(
    recordings: Path, tmp_path: Path
) -> None:
    port_only = without_tf1(MIGRATIONS / "layers_model.py", tmp_path)
    report = check_migration(port_only, against=recordings / "layers_model", strict=True)
    assert report.verdict == "identical", report.explain()
    live = check_migration(MIGRATIONS / "layers_model.py", strict=True)
    assert np.array_equal(report.results[0].losses, live.results[0].losses)
    assert np.array_equal(report.results[1].losses, live.results[1].losses)


def test_a_faithful_adam_port_is_equivalent_against_its_recording(
    recordings: Path, tmp_path: Path
) -> None:
    port_only = without_tf1(MIGRATIONS / "faithful.py", tmp_path)
    report = check_migration(port_only, against=recordings / "faithful", strict=True)
    assert report.verdict == "equivalent", report.explain()
    assert report.noise_floor is not None


@pytest.mark.slow
def test_a_wrong_hyperparameter_is_different_at_the_right_step(tmp_path: Path) -> None:
    recording = tmp_path / "recording"
    record_migration(MIGRATIONS / "wrong_hyperparameter.py", recording, strict=True)
    port_only = without_tf1(MIGRATIONS / "wrong_hyperparameter.py", tmp_path)
    live = check_migration(MIGRATIONS / "wrong_hyperparameter.py", strict=True)
    result = CliRunner().invoke(
        tfbridge, ["check", str(port_only), "--against", str(recording), "--strict", "--json"]
    )
    assert result.exit_code == 1
    eager = json.loads(result.output)[1]
    assert eager["verdict"] == "different"
    assert eager["first_divergent_step"] == live.first_divergent_step == 0
    assert eager["first_divergent_variable"] == live.first_divergent_variable
    report = check_migration(port_only, against=recording, strict=True)
    assert report.verdict == "different"
    step = next(f for f in report.findings if f.rung == "whole step")
    assert "beta_2 0.99 vs 0.999" in step.message and step.basis == "setting"
    start = next(f for f in report.findings if f.rung == "start")
    assert "beta_2 0.99 in the port, 0.999 in TF1" in start.message


def test_other_versions_and_strictness_are_said(recordings: Path, tmp_path: Path) -> None:
    copy = tmp_path / "recording"
    shutil.copytree(recordings / "layers_model", copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["versions"]["tensorflow"] = "2.20.0"
    (copy / MANIFEST).write_text(json.dumps(manifest))
    port_only = without_tf1(MIGRATIONS / "layers_model.py", tmp_path)
    report = check_migration(port_only, against=copy, strict=False)
    notes = " | ".join(report.notes)
    assert "recorded with other versions (tensorflow 2.20.0 -> " in notes
    assert "recorded with --strict, checked without" in notes
    assert "CPU" not in notes  # recorded here, on this CPU


def test_a_recording_from_another_cpu_or_of_unknown_origin_is_said(
    recordings: Path, tmp_path: Path
) -> None:
    port_only = without_tf1(MIGRATIONS / "layers_model.py", tmp_path)
    for name, edit, expected in (
        (
            "other_cpu",
            lambda m: m["machine"].update(model="Some Other CPU", vector_extensions=["sse4_2"]),
            "recorded on another CPU (Some Other CPU; this is ",
        ),
        ("no_cpu", lambda m: m.pop("machine"), "the recording does not say which CPU made it"),
    ):
        copy = tmp_path / name
        shutil.copytree(recordings / "layers_model", copy)
        manifest = json.loads((copy / MANIFEST).read_text())
        edit(manifest)
        (copy / MANIFEST).write_text(json.dumps(manifest))
        report = check_migration(port_only, against=copy, strict=True)
        notes = " | ".join(report.notes)
        assert expected in notes and "may be the machine, not the port" in notes


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(tfbridge, list(args))
    return result.exit_code, result.output


def test_bad_recordings_are_one_line_each(recordings: Path, tmp_path: Path) -> None:
    port_only = str(without_tf1(MIGRATIONS / "layers_model.py", tmp_path))
    good = recordings / "layers_model"

    code, text = run("check", port_only, "--against", str(tmp_path / "none"))
    assert code == 2 and "no such recording directory" in text

    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = run("check", port_only, "--against", str(empty))
    assert code == 1 and "no manifest.json; not a recording" in text

    truncated = tmp_path / "truncated"
    shutil.copytree(good, truncated)
    data = (truncated / ARRAYS).read_bytes()
    (truncated / ARRAYS).write_bytes(data[: len(data) // 2])
    code, text = run("check", port_only, "--against", str(truncated))
    assert code == 1 and "trajectory.npz is truncated or corrupted" in text

    future = tmp_path / "future"
    shutil.copytree(good, future)
    manifest = json.loads((future / MANIFEST).read_text())
    manifest["version"] = 2
    (future / MANIFEST).write_text(json.dumps(manifest))
    code, text = run("check", port_only, "--against", str(future))
    assert code == 1 and "recording format version 2; this tfbridge reads version 1" in text

    code, text = run("check", port_only, "--against", str(good), "--steps", "1000")
    assert code == 2 and "holds 15 recorded steps; use at most 15" in text

    code, text = run("check", port_only, "--against", str(good), "--seed", "7")
    assert code == 2 and "was recorded with --seed 0" in text
    assert "Traceback" not in text


def test_a_recording_of_other_data_or_another_model_is_refused(
    recordings: Path, tmp_path: Path
) -> None:
    source = MIGRATIONS / "layers_model.py"
    other_data = tmp_path / "other_data.py"
    other_data.write_text(
        without_tf1(source, tmp_path).read_text().replace("def data(", "def _data(")
        + "\n\ndef data():\n    features, labels = _data()\n    return features * 2, labels\n"
    )
    code, text = run("check", str(other_data), "--against", str(recordings / "layers_model"))
    assert code == 1
    assert "data() is not the data" in text and "SHA-256" in text

    other_model = without_tf1(MIGRATIONS / "faithful.py", tmp_path)
    code, text = run("check", str(other_model), "--against", str(recordings / "layers_model"))
    assert code in (1, 2)
    assert "Error:" in text and "Traceback" not in text


def test_recording_is_all_or_nothing(tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    code, text = run("record", str(MIGRATIONS / "layers_model.py"), "--output", str(occupied))
    assert code == 2 and "exists and is not a recording" in text
    assert (occupied / "notes.txt").read_text() == "mine"

    diverging = tmp_path / "diverging.py"
    diverging.write_text(
        (MIGRATIONS / "layers_model.py")
        .read_text()
        .replace("GradientDescentOptimizer(0.1)", "GradientDescentOptimizer(1e30)")
    )
    target = tmp_path / "never"
    code, text = run("record", str(diverging), "--output", str(target))
    assert code == 1 and "graph style: the loss is" in text
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".never")] == []


def test_a_recording_honours_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        record_migration(MIGRATIONS / "layers_model.py", tmp_path / "rec", steps=2)
    finally:
        os.umask(previous)
    assert (tmp_path / "rec").stat().st_mode & 0o777 == 0o755


def test_the_example_port_checks_against_its_committed_recording() -> None:
    examples = ROOT / "examples"
    golden = examples / "golden" / "layers_mlp"
    report = check_migration(examples / "layers_mlp_port.py", against=golden, strict=True)
    assert report.steps == 30
    recorded_on = json.loads((golden / MANIFEST).read_text())["machine"]
    if cpu_difference(recorded_on, cpu()) is None:
        assert report.verdict == "identical", report.explain()
    else:
        # Matrix products dispatch on the CPU's vector extensions: a recording made elsewhere
        # may be a last bit away, and the report must say why.
        assert report.verdict in ("identical", "equivalent"), report.explain()
        assert any("may be the machine, not the port" in note for note in report.notes)


def test_a_live_checks_floor_is_the_recordings_to_the_last_ulp(recordings: Path) -> None:
    """A live check measures the noise floor after its lockstep, with its TF1 snapshots
    dropped as it went (`bridge/check.py` `Kept`); `record` after a TF1 run that kept every
    fifth step. The floors are the same run's: they agree to the last ULP."""
    live = check_migration(MIGRATIONS / "faithful.py", strict=True)
    assert live.noise_floor is not None and live.noise_floor.param_ulps > 0
    recorded = json.loads((recordings / "faithful" / MANIFEST).read_text())["noise_floor"]
    floor = live.noise_floor
    assert (floor.loss_ulps, floor.param_ulps, floor.slot_ulps) == (
        recorded["loss_ulps"],
        recorded["param_ulps"],
        recorded["slot_ulps"],
    )
    assert (floor.loss_relative, floor.param_relative) == (
        recorded["loss_relative"],
        recorded["param_relative"],
    )
