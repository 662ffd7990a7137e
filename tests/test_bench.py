"""The benchmark's floors compute what the product computes, and its worker runs end to end.

No timing is asserted here: speed targets live in scripts/bench.py's report (BENCHMARKS.md).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.styles import runner, split_batch_reference
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.execution import RunSettings
from tfmigration.oracle.engine import train as train_oracle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_floors import FLOORS  # noqa: E402

STYLE_OF = {"minimal-graph": "graph", "minimal-eager": "eager", "minimal-function": "function"}


@pytest.mark.parametrize("model", ["quadratic", "noisy-line"])
@pytest.mark.parametrize("floor", list(FLOORS))
def test_each_floor_trains_the_same_problem_as_the_product(model: str, floor: str) -> None:
    if floor.startswith("jax") and importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is an optional extra (pip install '.[bench]')")
    problem = prepare(model, TrainConfig(steps=20, optimizer="gd"))
    losses, final_loss, params = FLOORS[floor](problem)()
    product = runner(STYLE_OF.get(floor, "graph"))(problem)
    if floor in STYLE_OF:
        # Same ops, same style: same bits (the minimal loops make resource variables).
        product = (
            runner("graph")(problem, RunSettings(variables="resource"))
            if floor == "minimal-graph"
            else (product)
        )
        np.testing.assert_array_equal(losses, product.losses)
        assert final_loss == product.final_loss
        for name, value in product.final_params.items():
            np.testing.assert_array_equal(params[name], value)
    else:
        np.testing.assert_allclose(losses, product.losses, rtol=1e-5)
        np.testing.assert_allclose(final_loss, product.final_loss, rtol=1e-5)
        for name, value in product.final_params.items():
            np.testing.assert_allclose(params[name], value, rtol=1e-5)


@pytest.mark.slow
def test_the_bench_worker_reports_one_case_as_json() -> None:
    script = str(ROOT / "scripts" / "bench.py")
    done = subprocess.run(
        [sys.executable, script, "--worker", "quadratic", "function-fused", "20"],
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["model"] == "quadratic" and record["variant"] == "function-fused"
    assert record["steps"] == 20 and record["us_per_step"] > 0 and record["peak_mib"] > 0
    # The oracle's first loss (float64), not a number copied from an earlier run.
    problem = prepare("quadratic", TrainConfig(steps=20, optimizer="gd"))
    assert record["first_loss"] == pytest.approx(train_oracle(problem).losses[0], rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--models", "linear"], "invalid choice: 'linear'"), (["--steps", "0"], "must be positive")],
)
def test_the_bench_refuses_bad_arguments_in_one_line(args: list[str], message: str) -> None:
    script = str(ROOT / "scripts" / "bench.py")
    done = subprocess.run([sys.executable, script, *args], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


# --- --replicas 1, 2, 4 (scripts/bench_replicas.py, the Replicas section of BENCHMARKS.md) ---


@pytest.mark.slow
def test_the_replica_worker_times_each_kind_of_run_and_agrees_with_the_reference() -> None:
    # Between-graph (1 ps + 2 worker processes), MirroredStrategy under tf.function, and
    # MultiWorkerMirroredStrategy (2 worker processes): with 2 replicas all three are the
    # split-batch reference bit for bit under --strict.
    from bench_replicas import report, wall_report, worker

    rows = ["graph", "function", "function-multi-worker"]
    results = [worker("quadratic", row, 2, 5, repeats=1) for row in rows]
    assert [r["row"] for r in results] == rows
    assert [r["starts_processes"] for r in results] == [True, False, True]
    assert [r["timed_runs"] for r in results] == [1, 1, 1]
    for r in results:
        assert r["replicas"] == 2 and r["steps"] == 5 and r["us_per_step"] > 0
        assert r["wall_seconds"] >= r["loop_seconds"] > 0
    problem = prepare("quadratic", TrainConfig(steps=5, optimizer="gd"))
    reference = split_batch_reference(problem, 2, strict=True)
    assert {r["final_loss"] for r in results} == {float(reference.final_loss)}
    table = report(results).splitlines()
    assert table[0] == "| style | 2 replicas (µs/step) |"
    labels = [row.split(" | ")[0] for row in table[2:]]
    assert labels == ["| graph", "| function", "| function, multi-worker"]
    assert len(wall_report(results).splitlines()) == 2 + len(rows)


def _replica_result(row: str, replicas: int, us_per_step: float) -> dict:
    from bench_replicas import ROWS, starts_processes

    style, multi_worker, label = ROWS[row]
    loop_seconds = us_per_step * 500 / 1e6
    return {
        "row": row,
        "label": label,
        "style": style,
        "multi_worker": multi_worker,
        "replicas": replicas,
        "starts_processes": starts_processes(row, replicas),
        "us_per_step": us_per_step,
        "loop_seconds": loop_seconds,
        "wall_seconds": loop_seconds + (15.0 if starts_processes(row, replicas) else 0.1),
    }


def test_the_replicas_section_renders_every_row_and_column() -> None:
    import bench
    from bench_replicas import ROWS, runs_case

    results = [
        _replica_result(row, count, 1000.0 * count)
        for row in ROWS
        for count in (1, 2, 4)
        if runs_case(row, count)
    ]
    measured = {"model": "noisy-line", "steps": 500, "repeats": 3, "cluster_repeats": 1}
    lines = bench.replicas_section({**measured, "results": results})
    assert lines[0] == "## Replicas"
    header = "| style | 1 replica (µs/step) | 2 replicas (µs/step) | 4 replicas (µs/step) |"
    table = lines[lines.index(header) :]
    assert table[2:7] == [
        "| graph | 1000 | 2000 (2.0x) | 4000 (4.0x) |",
        "| eager | 1000 | 2000 (2.0x) | 4000 (4.0x) |",
        "| function | 1000 | 2000 (2.0x) | 4000 (4.0x) |",
        "| eager, multi-worker | — | 2000 (2.0x) | 4000 (4.0x) |",
        "| function, multi-worker | — | 2000 (2.0x) | 4000 (4.0x) |",
    ]
    text = "\n".join(lines)
    assert "| graph | 0.6 (0.1) | 16.0 (15.0) | 17.0 (15.0) |" in text
    assert "| eager | 0.6 (0.1) | 1.1 (0.1) | 2.1 (0.1) |" in text
    assert "| eager, multi-worker | — | 16.0 (15.0) | 17.0 (15.0) |" in text
    assert "Starting a local cluster costs 15.0 to 15.0 s per run here" in text
    assert "training loops of 1.0 to 2.0 s" in text
    assert "every replicated run is 2.0 to 4.0 times slower per step" in text
    # And on the page, as its last section; left out when not measured.
    page = bench.report({}, [], 500, True, {}, replicating={**measured, "results": results})
    assert page.endswith("\n".join(lines) + "\n")
    assert "## Replicas" not in bench.report({}, [], 500, True, {})
