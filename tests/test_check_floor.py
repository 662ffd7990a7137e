"""`tfbridge check`'s noise floor nudges TF1's variables one ULP after every update: the nudge
must move every nonzero element exactly one ULP, in both directions, with signs that the seed
and the step decide (so a floor repeats, and no two steps share one pattern of signs). A port
leaves the floor at its first step beyond it, which is where the ladder reruns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.checking.ports import departure, first_beyond
from graphmode.migration import TF1Program
from tfmigration.measure.migration_report import StyleCheck
from tfmigration.measure.noise_floor import EveryStepNudgedFloor
from tfmigration.measure.ulp import ulp_distance
from tfmigration.migration.contract import load

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> TF1Program:
    # faithful.py with a hidden layer of 500: 2,000 and 1,500 weights, 500 and 3 biases (not
    # multiples of the 32 signs one random word gives), biases all zero at the start.
    text = (MIGRATIONS / "faithful.py").read_text()
    assert "N_HIDDEN = 16\n" in text
    path = tmp_path_factory.mktemp("floor") / "wide.py"
    path.write_text(text.replace("N_HIDDEN = 16\n", "N_HIDDEN = 500\n"))
    program = TF1Program(load(path), strict=True, seed=0)
    yield program
    program.close()


NAMES = [
    "classifier/fc1/weights",
    "classifier/fc1/biases",
    "classifier/fc2/weights",
    "classifier/fc2/biases",
]


def _nudged(program: TF1Program, start: dict, step: int, seed: int) -> dict:
    program.load({name: start[name] for name in NAMES})
    program.nudge(NAMES, step, seed)
    return program.snapshot()


def test_the_nudge_moves_every_nonzero_element_one_ulp_with_signs_from_seed_and_step(
    program: TF1Program,
) -> None:
    start = program.snapshot()
    start["classifier/fc1/biases"] = np.linspace(-2, 2, 500, dtype=np.float32)
    start["classifier/fc1/biases"][[0, 7, 499]] = 0.0
    # Powers of two, whose ULP below is half the one above, and the largest finite values.
    start["classifier/fc2/biases"] = np.float32([1.0, -0.5, np.finfo(np.float32).max])
    nudged = _nudged(program, start, step=3, seed=11)
    for name in NAMES:
        before, after = start[name], nudged[name]
        assert after.dtype == before.dtype and after.shape == before.shape
        distance = ulp_distance(after, before)
        assert (distance[before != 0] == 1).all(), name
        assert (after[before == 0] == 0).all(), name
        if before.size >= 500:
            up = (after > before)[before != 0].mean()
            assert 0.4 < up < 0.6, (name, up)  # both ways, about half each

    again = _nudged(program, start, step=3, seed=11)
    assert all(np.array_equal(again[name], nudged[name]) for name in NAMES)
    for other in (_nudged(program, start, step=4, seed=11), _nudged(program, start, 3, 12)):
        weights = "classifier/fc1/weights"
        agree = np.sign(other[weights] - start[weights]) == np.sign(
            nudged[weights] - start[weights]
        )
        assert 0.4 < agree.mean() < 0.6  # another draw, not the same signs
    # Each variable draws its own signs: the first 1,500 of fc1's weights are not fc2's.
    one = np.sign(nudged["classifier/fc1/weights"] - start["classifier/fc1/weights"]).ravel()
    two = np.sign(nudged["classifier/fc2/weights"] - start["classifier/fc2/weights"]).ravel()
    assert 0.4 < (one[:1500] == two).mean() < 0.6


def _port_run(loss_ulps: list[int], param_ulps: list[int], slot_ulps: int) -> StyleCheck:
    return StyleCheck(
        mode="eager",
        losses=np.zeros(len(loss_ulps), np.float32),
        max_loss_ulps=max(loss_ulps),
        max_param_ulps=max(param_ulps),
        max_slot_ulps=slot_ulps,
        first_divergent_step=0,
        first_divergent_variable=None,
        divergence=None,
        seconds=0.0,
        first_difference_step=0,
        loss_ulps=np.array(loss_ulps),
        param_ulps=np.array(param_ulps),
    )


TF1_RUN = _port_run([0, 0, 0, 0], [0, 0, 0, 0], 0)
FLOOR = EveryStepNudgedFloor(loss_ulps=100, param_ulps=1000, slot_ulps=5000)


@pytest.mark.parametrize(
    ("loss_ulps", "param_ulps", "slot_ulps", "beyond"),
    [
        ([3, 50, 90, 99], [10, 200, 900, 1000], 5000, None),  # within the floor throughout
        ([3, 50, 101, 99], [10, 200, 900, 1000], 5000, 2),  # a loss beyond it at step 2
        ([3, 50, 90, 99], [10, 1001, 900, 1000], 9000, 1),  # a variable at step 1 comes first
        # Slots beyond only at the end, where the floor's were measured: the last step, so the
        # ladder reruns there (left None, nothing could earn `equivalent`, nor show it is not).
        ([3, 50, 90, 99], [10, 200, 900, 1000], 5001, 3),
        ([3, 50, 90, 99], [10, 200, 900, 1000], 60, None),  # within --tolerance-ulps 64
    ],
)
def test_a_port_leaves_the_floor_at_its_first_step_beyond_it(
    loss_ulps: list[int], param_ulps: list[int], slot_ulps: int, beyond: int | None
) -> None:
    port = _port_run(loss_ulps, param_ulps, slot_ulps)
    assert first_beyond([TF1_RUN, port], FLOOR, 64) == beyond
    # Without a floor, --tolerance-ulps alone: a variable 200 ULPs apart at step 1.
    assert first_beyond([TF1_RUN, port], EveryStepNudgedFloor(0, 0, 0), 64) == 1


@pytest.mark.parametrize(
    ("loss_ulps", "floor_loss_ulps", "beyond", "anew"),
    [
        # Rounding's distance grows slowly after the port leaves the floor: no jump.
        ([0, 2, 6, 6, 8, 11, 11, 12, 14, 15, 17, 18], 2, 0, None),
        ([0, 200, 500, 1500, 4000, 12000, 30000, 90000], 2, 1, None),  # 3x a step at most
        # A jump of more than 8x over the largest so far (at least 16 ULPs) at step 5.
        ([0, 2, 6, 6, 8, 333, 568, 724], 2, 0, 5),
        ([0, 2, 6, 6, 8, 129, 568, 724], 2, 0, 5),
        ([0, 2, 6, 6, 8, 128, 150, 160], 2, 0, None),  # 8x exactly is not more than 8x
        # Before the port left the floor nothing is a jump; the floor's losses are a base too.
        ([0, 0, 0, 900, 1000, 1100], 2, 3, None),
        ([0, 2, 3, 9, 700, 800], 100, 3, None),  # base max(100, 16, 9): 7x
        ([0, 2, 3, 9, 801, 900], 100, 3, 4),
    ],
)
def test_a_port_off_the_floor_parts_anew_where_its_loss_distance_jumps(
    loss_ulps: list[int], floor_loss_ulps: int, beyond: int, anew: int | None
) -> None:
    port = _port_run(loss_ulps, [0] * len(loss_ulps), 0)
    floor = EveryStepNudgedFloor(loss_ulps=floor_loss_ulps, param_ulps=1000, slot_ulps=5000)
    assert departure([TF1_RUN, port], floor, beyond) == anew


def test_the_ladders_tf1_replay_resumes_from_a_kept_state_and_keeps_only_what_is_needed() -> None:
    """The ladder's TF1 reruns take one pass over the run: each resumes from the latest whole
    state kept (`replay`), and between steps only the next step's pair and that state stay
    (`_keep_only`), so memory does not grow with the ladder's steps; the values are the run's
    to the bit."""
    from bridge.check import _keep_only
    from bridge.checking.reference import Batches, replay, run_tf1
    from tfmigration.migration.contract import batch_indices

    migration = load(MIGRATIONS / "faithful.py")
    batches = Batches(migration, batch_indices(migration.rows, 8, 16, 0))
    program = TF1Program(migration, strict=True, seed=0)
    try:
        truth: dict[int, dict[str, np.ndarray]] = {}
        reference = run_tf1(program, batches, 8, lambda s, values: truth.__setitem__(s, values))
        assert sorted(reference.after) == [7]  # the run keeps its last step only
        steps = []
        original = program.step

        def counted(features, labels, step):
            steps.append(step)
            return original(features, labels, step)

        program.step = counted
        assert replay(program, reference, batches, {2}) is None
        assert steps == [0, 1, 2]  # from the initial values
        _keep_only(reference, {5, 7})
        assert sorted(reference.after) == [2, 7]  # step 2 stays: the next rerun resumes there
        steps.clear()
        assert replay(program, reference, batches, {5}) is None
        assert steps == [3, 4, 5]
        for step in (4, 5):
            for name, value in truth[step].items():
                assert np.array_equal(reference.after[step][name], value), (step, name)
        _keep_only(reference, {5})
        assert sorted(reference.after) == [4, 5]  # all it needs is held: no resume point stays
    finally:
        program.close()


def test_kept_snapshots_spilled_to_disk_read_back_bit_for_bit_and_leave_nothing_behind() -> None:
    """The ladder's later steps wait on disk (`Snapshots.spill`): read back, each is the
    snapshot to the bit (names with slashes and colons, several dtypes, a scalar); dropping a
    step removes its files, and `close` the whole directory."""
    from bridge.checking.reference import Snapshots

    rng = np.random.default_rng(0)
    first = {
        "dense/kernel:0": rng.normal(size=(3, 4)).astype(np.float32),
        "dense/kernel/Adam_1": np.array([np.nan, -0.0, np.inf], dtype=np.float32),
        "global_step": np.array(7, dtype=np.int64),
        "beta1_power": np.float64(0.9),
    }
    second = {name: np.asarray(value) * 2 for name, value in first.items()}
    snapshots = Snapshots()
    snapshots[3], snapshots[5] = first, second
    snapshots.spill(keep={5})
    assert snapshots.in_memory() == [5] and sorted(snapshots) == [3, 5] and 3 in snapshots
    back = snapshots[3]
    assert list(back) == list(first)
    for name, value in first.items():
        value = np.asarray(value)
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        assert back[name].tobytes() == value.tobytes(), name
    directory = Path(snapshots._directory.name)
    assert (directory / "3").is_dir()
    del snapshots[3]
    assert not (directory / "3").exists() and sorted(snapshots) == [5]
    with pytest.raises(KeyError):
        snapshots[3]
    snapshots.spill(keep=set())
    snapshots.close()
    assert not directory.exists() and len(snapshots) == 0


def test_a_check_that_spills_snapshots_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check whose port parts from TF1 keeps snapshots for its ladder and spills those a
    later rung needs; when it is done, nothing of them is left in the temporary directory."""
    import tempfile

    from bridge.checking.reference import Snapshots
    from bridge.testing import check_migration

    spilled: list[list[str]] = []
    original = Snapshots.spill

    def spill(self: Snapshots, keep: set[int]) -> None:
        original(self, keep)
        spilled.append(sorted(p.name for p in tmp_path.rglob("*.npy")))

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(Snapshots, "spill", spill)
    report = check_migration(MIGRATIONS / "wrong_hyperparameter.py", strict=True, steps=6)
    assert report.verdict == "different" and report.ladder
    assert any(spilled)  # some snapshot did wait on disk
    # (autograph writes its own generated files there too)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("__autograph")] == []


def test_kept_snapshots_stay_in_memory_where_the_temporary_directory_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spilling is a saving, not a condition: with no writable temporary directory the steps
    stay in memory and read back as they were."""
    import tempfile

    from bridge.checking.reference import Snapshots

    missing = tmp_path / "no such directory"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    snapshots = Snapshots()
    value = np.arange(6, dtype=np.float32)
    snapshots[1] = {"w": value}
    snapshots.spill(keep=set())
    assert snapshots.in_memory() == [1] and snapshots[1]["w"] is value
    snapshots.close()
    assert not missing.exists()
