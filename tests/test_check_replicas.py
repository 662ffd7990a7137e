"""`tfbridge check FILE --replicas N`: a user's port run data-parallel against TF1 on one device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.record import record_migration
from bridge.testing import check_migration

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCALED = MIGRATIONS / "replicated_mlp.py"
UNSCALED = MIGRATIONS / "replicated_unscaled.py"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(tfbridge, ["check", *args])
    return result.exit_code, result.output


def test_a_port_that_scales_its_loss_is_equivalent_to_tf1_on_one_device() -> None:
    code, output = run(str(SCALED), "--replicas", "2", "--strict", "--json")
    assert code == 0, output
    records = json.loads(output)
    assert [(r["mode"], r["replicas"]) for r in records] == [
        ("graph", 1),
        ("eager", 2),
        ("function", 2),
    ]
    for record in records:
        assert record["verdict"] == "equivalent"
    for record in records[1:]:
        # Summing two shards' gradients rounds differently from one device: the last bits only.
        assert 0 < record["max_loss_ulps"] <= 8
        # Step 0's loss comes before any update, from TF1's initial values: the two shards'
        # mean rounds as the whole batch's does, so the ULPs above are the updates'.
        assert record["losses"][0] == records[0]["losses"][0]


def test_the_replicated_report_says_what_ran_and_the_ladder_judges_it() -> None:
    report = check_migration(SCALED, replicas=2, strict=True)
    notes = " | ".join(report.notes)
    assert "MirroredStrategy over 2 logical CPUs" in notes
    assert "TF1 ran on one device on the whole batch" in notes
    assert "2 x TF1's" not in notes
    # The port leaves TF1's bits at step 0 (the shards' gradients are summed); the whole step at
    # TF1's values is rounding there: no finding beyond the tolerance.
    steps = [f for f in report.findings if f.rung == "whole step"]
    assert steps, report.explain()
    assert all(f.ulps <= report.tolerance_ulps for f in report.findings)
    assert all("the replicas' of their shards" in f.message for f in steps)


def test_a_forgotten_per_replica_scaling_is_different_and_named_with_its_factor() -> None:
    code, output = run(str(UNSCALED), "--replicas", "2", "--strict")
    assert code == 1, output
    text = " ".join(output.split())
    assert "replicated_unscaled: different" in text
    assert "2 x TF1's" in text and "tf.nn.compute_average_loss" in text
    assert "forward pass: at equal parameters and batch the port's loss is" in text
    # On one device the same file is a faithful port: the factor is the replication's alone.
    assert check_migration(UNSCALED, strict=True).verdict in ("identical", "equivalent")


def test_the_same_check_against_a_recording_gives_the_live_losses(tmp_path: Path) -> None:
    record_migration(SCALED, tmp_path / "recording", strict=True)
    live = check_migration(SCALED, replicas=2, strict=True)
    recorded = check_migration(SCALED, replicas=2, strict=True, against=tmp_path / "recording")
    assert recorded.verdict == live.verdict == "equivalent"
    for a, b in zip(live.results, recorded.results, strict=True):
        assert a.mode == b.mode and list(a.losses) == list(b.losses)
    assert recorded.replicas == 2


@pytest.mark.parametrize(
    ("file", "options", "message"),
    [
        (
            MIGRATIONS / "faithful.py",
            ["--replicas", "2"],
            "faithful.py: --replicas 2: the file does not declare REPLICAS = True.",
        ),
        (SCALED, ["--replicas", "0"], "--replicas 0: at least 1 replica is needed"),
        (SCALED, ["--replicas", "65"], "--replicas 65: at most 64 replicas are supported"),
        (
            SCALED,
            ["--replicas", "3", "--batch-size", "2"],
            "--replicas 3: a batch of 2 rows cannot be split into 3 shards",
        ),
        (
            SCALED,
            ["--replicas", "2", "--tf1-checkpoint", "nowhere"],
            "--replicas 2 with --tf1-checkpoint: a replicated check starts from TF1's initial",
        ),
    ],
    ids=["not-declared", "zero", "beyond-the-maximum", "beyond-the-batch", "with-a-tf1-checkpoint"],
)
def test_bad_replicas_are_one_line_exit_2_and_write_nothing(
    file: Path, options: list[str], message: str, tmp_path: Path
) -> None:
    output = tmp_path / "records.json"
    code, text = run(str(file), *options, "--output", str(output))
    assert code == 2, text
    assert message in " ".join(text.split())
    assert "Traceback" not in text
    assert not output.exists() and list(tmp_path.iterdir()) == []
