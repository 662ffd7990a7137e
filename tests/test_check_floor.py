"""`tfbridge check`'s noise floor nudges TF1's variables one ULP after every update: the nudge
must move every nonzero element exactly one ULP, in both directions, with signs that the seed
and the step decide (so a floor repeats, and no two steps share one pattern of signs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphmode.migration import TF1Program
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
