"""`record` writes each kept step to disk as TF1 runs; `--against` reads a step when it needs it.

Issue 18: a recording of many steps of a large model must never be held in memory whole, on
either side. These tests check the behaviour that makes that so (what is kept, what is read),
never a timing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bridge.check import settings
from bridge.checking.reference import Batches, run_tf1
from bridge.cli import main as tfbridge
from bridge.record import record_migration
from bridge.testing import check_migration
from graphmode.migration import TF1Program
from tfmigration.migration.contract import batch_indices, load
from tfmigration.migration.golden import (
    ARRAYS,
    RecordingError,
    RecordingWriter,
    read_recording,
)

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "tests" / "migrations"
STEPS = 40


def tf1_in_memory(path: Path, steps: int) -> tuple[dict, dict[int, dict], np.ndarray, object]:
    """The same TF1 run as `record --every 1`, every step kept in memory: what must be on disk."""
    migration = load(path)
    steps, batch_size, seed = settings(migration, steps, None, None)
    indices = batch_indices(migration.rows, steps, batch_size, seed)
    program = TF1Program(migration, strict=True, seed=seed)
    kept: dict[int, dict] = {}
    try:
        reference = run_tf1(program, Batches(migration, indices), steps, kept.__setitem__)
    finally:
        program.close()
    # The run keeps only the last step itself (for the noise floor); `keep` had every one.
    assert list(reference.after) == [steps - 1]
    assert list(kept) == list(range(steps))
    return reference.initial, kept, reference.losses, indices


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/migrations/faithful.py with a hidden layer of 512: fc1/weights is 8 KiB, more than
    one read of a zip member's start (4 KiB), so its header can be read without its data."""
    path = tmp_path_factory.mktemp("wide") / "wide.py"
    text = (MIGRATIONS / "faithful.py").read_text()
    assert "N_HIDDEN = 16\n" in text
    path.write_text(text.replace("N_HIDDEN = 16\n", "N_HIDDEN = 512\n"))
    return path


@pytest.fixture(scope="module")
def recording(wide: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("streams") / "wide"
    record_migration(wide, target, steps=STEPS, strict=True)
    return target


def test_a_streamed_recording_reads_back_as_what_tf1_computed(wide: Path, recording: Path) -> None:
    initial, after, losses, indices = tf1_in_memory(wide, STEPS)
    read = read_recording(recording)
    try:
        np.testing.assert_array_equal(read.losses, losses)
        np.testing.assert_array_equal(read.batch_indices, indices)
        assert read.initial.keys() == initial.keys()
        for name, value in initial.items():
            np.testing.assert_array_equal(read.initial[name], value)
        assert list(read.after) == list(after) and len(read.after) == STEPS
        for step, values in after.items():
            on_disk = read.after[step]
            assert on_disk.keys() == values.keys()
            for name, value in values.items():
                assert on_disk[name].dtype == value.dtype
                np.testing.assert_array_equal(on_disk[name], value)
    finally:
        read.after.close()
    # Plain NumPy still reads it, member names as the format says, and nothing else.
    with np.load(recording / ARRAYS, allow_pickle=False) as archive:
        assert set(archive.files) == {
            "losses",
            "batch_indices",
            *(f"initial/{name}" for name in initial),
            *(f"after/{step:09d}/{name}" for step in after for name in initial),
        }
        np.testing.assert_array_equal(
            archive[f"after/{STEPS - 1:09d}/beta1_power"], after[STEPS - 1]["beta1_power"]
        )


def _rewritten_with_savez(recording: Path, folder: Path) -> Path:
    """The same recording as the version-1 writer wrote it: one np.savez at the end."""
    copy = folder / "savez"
    copy.mkdir()
    (copy / "manifest.json").write_text((recording / "manifest.json").read_text())
    with np.load(recording / ARRAYS, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez(copy / ARRAYS, **arrays)
    return copy


def test_against_a_streamed_recording_gives_the_live_verdict_and_measures(
    wide: Path, recording: Path, tmp_path: Path
) -> None:
    live = check_migration(wide, steps=STEPS, strict=True)
    for against in (recording, _rewritten_with_savez(recording, tmp_path)):
        report = check_migration(wide, against=against, strict=True)
        assert report.verdict == live.verdict == "equivalent", report.explain()
        for checked, expected in zip(report.results, live.results, strict=True):
            assert checked.mode == expected.mode
            np.testing.assert_array_equal(checked.losses, expected.losses)
            assert checked.max_param_ulps == expected.max_param_ulps
            assert checked.max_slot_ulps == expected.max_slot_ulps
            assert checked.first_divergent_step == expected.first_divergent_step
            assert checked.first_divergent_variable == expected.first_divergent_variable


def _damage_data_of(path: Path, member: str) -> None:
    """Flip the last byte of one member's data in place: its header and the archive's
    directory stay intact, so only reading that member's data can notice (its CRC)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        with archive.open(info) as handle:
            handle.read()  # intact before
    with open(path, "rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(handle.read(4), dtype="<u2")
    last = info.header_offset + 30 + int(name_length) + int(extra_length) + info.compress_size - 1
    with open(path, "r+b") as handle:
        handle.seek(last)
        byte = handle.read(1)
        handle.seek(last)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_a_recorded_step_is_read_only_when_asked_for(
    wide: Path, recording: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("manifest.json", ARRAYS):
        (damaged / name).write_bytes((recording / name).read_bytes())
    _damage_data_of(damaged / ARRAYS, "after/000000030/classifier/fc1/weights.npy")
    # Reading the recording checks every step's header, not its data: the damage is unseen.
    read = read_recording(damaged)
    try:
        assert 30 in read.after and 30 not in read.after.upto(30)
        first = read.after[3]["classifier/fc1/weights"]
        # Nothing is kept: each access reads the step afresh.
        assert read.after[3]["classifier/fc1/weights"] is not first
        with pytest.raises(RecordingError) as raised:
            read.after[30]
        assert str(raised.value) == (
            f"--against {damaged}: {ARRAYS} is truncated or corrupted (Bad CRC-32 for file "
            "'after/000000030/classifier/fc1/weights.npy')"
        )
    finally:
        read.after.close()
    # A check of the steps before it never touches step 30; one of all steps names it.
    report = check_migration(wide, against=damaged, steps=30, strict=True)
    intact = check_migration(wide, against=recording, steps=30, strict=True)
    assert report.verdict == intact.verdict and report.explain() == intact.explain().replace(
        str(recording), str(damaged)
    )
    result = CliRunner().invoke(tfbridge, ["check", str(wide), "--against", str(damaged)])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: --against {damaged}: {ARRAYS} is truncated or corrupted (Bad CRC-32 for file "
        "'after/000000030/classifier/fc1/weights.npy')"
    )


def test_a_writer_left_by_an_error_removes_its_staging_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "recording"
    with pytest.raises(KeyboardInterrupt), RecordingWriter(target, None) as writer:
        writer.initial({"w": np.zeros(3, np.float32)})
        writer.after(0, {"w": np.ones(3, np.float32)})
        staged = [p for p in tmp_path.iterdir() if p.name.startswith(".recording.")]
        assert [p.name for p in staged[0].iterdir()] == [ARRAYS]
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
