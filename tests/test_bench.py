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


# --- Checking at scale (scripts/bench_check.py --memory, the section of BENCHMARKS.md) ---

MLP_FILE = ROOT / "scripts" / "bench_models" / "mlp_1m6.py"


@pytest.mark.slow
def test_each_memory_case_runs_and_reports_its_peak(tmp_path: Path) -> None:
    from bench_check import BARE_STYLES, peak_case

    recording = tmp_path / "recording"
    cases = [peak_case("record", MLP_FILE, 2, str(recording), 1)]
    cases += [peak_case(case, MLP_FILE, 2, str(recording), 1) for case in ("against", "check")]
    cases += [peak_case(style, MLP_FILE, 2, None, 1) for style in BARE_STYLES]
    assert [c["case"] for c in cases] == ["record", "against", "check", *BARE_STYLES]
    assert all(c["steps"] == 2 and c["peak_mib"] > 0 and c["seconds"] > 0 for c in cases)
    # The check and the check against its recording give one verdict; trainings give none.
    assert cases[1]["verdict"] == cases[2]["verdict"] is not None
    assert {c["verdict"] for c in cases[3:]} == {None}


MEMORY = ["--memory", "1", "2"]


@pytest.mark.slow
def test_the_memory_measure_runs_each_case_in_its_own_process() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_check.py"), str(MLP_FILE), *MEMORY],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert (measured["small"], measured["large"]) == (1, 2)
    cases = [(c["case"], c["steps"]) for c in measured["cases"]]
    assert cases == [("check", 1), ("check", 2), ("graph", 2), ("eager", 2), ("function", 2)]


def _scale_measured(check_large: float, ratio: float) -> dict:
    def case(name: str, steps: int, peak: float, verdict: str | None = None) -> dict:
        return {"case": name, "steps": steps, "seconds": 1.0, "verdict": verdict, "peak_mib": peak}

    def timing(steps: int) -> dict:
        return {"steps": steps, "bare_seconds": 10.0, "check_seconds": 10.0 * ratio, "ratio": ratio}

    bare = [case(style, 200, 600.0) for style in ("graph", "eager", "function")]
    mlp = [case("check", 25, 1000.0, "equivalent"), case("check", 200, check_large, "equivalent")]
    cnn = [case("check", 25, 1000.0, "equivalent"), case("check", 100, check_large, "equivalent")]
    cnn += [case(style, 100, 600.0) for style in ("graph", "eager", "function")]
    for steps in (25, 100):
        cnn += [case("record", steps, 800.0), case("against", steps, 900.0, "equivalent")]
    return {
        "long": False,
        "repeat": 1,
        "seconds": 321.0,
        "models": {
            "mlp": {
                "memory": {"small": 25, "large": 200, "cases": mlp + bare},
                "time": timing(100),
            },
            "cnn": {"memory": {"small": 25, "large": 100, "cases": cnn}, "time": timing(100)},
        },
    }


def test_the_scale_section_says_each_target_and_whether_it_was_met() -> None:
    import bench

    met = "\n".join(bench.scale_section(_scale_measured(check_large=1100.0, ratio=1.1)))
    assert met.startswith("## Checking at scale")
    assert "| mlp | check (equivalent) | 200 | 1.0 | 1100 |" in met
    assert "| mlp | check's peak memory, 25 to 200 steps | +10.0% | at most +15% | yes |" in met
    assert (
        "| cnn | check's peak at 100 steps / largest bare training's | 1.83 | at most 2.00 | yes |"
        in met
    )
    assert "| cnn | record's peak memory, 25 to 100 steps | +0.0% | at most +15% | yes |" in met
    assert (
        "| cnn | check --against's peak memory, 25 to 100 steps | +0.0% | at most +15% | yes |"
        in met
    )
    timed = "| cnn | check / three bare trainings, 100 steps (11.0 s / 10.0 s) | 1.10 |"
    assert timed + " at most 1.20 | yes |" in met
    assert "behind `scripts/bench.py --long`" in met and "took 321 s" in met
    missed = "\n".join(bench.scale_section(_scale_measured(check_large=1300.0, ratio=3.0)))
    assert (
        "| mlp | check's peak memory, 25 to 200 steps | +30.0% | at most +15% | **no** |" in missed
    )
    assert "| 3.00 | at most 1.20 | **no** |" in missed
    page = bench.report({}, [], 500, True, {}, scale=_scale_measured(1100.0, 1.1))
    assert "## Checking at scale" in page


def test_writing_the_page_keeps_the_sections_other_scripts_append() -> None:
    import bench

    existing = "# Benchmarks\n\nold\n\n## Results\n\nold rows\n\n## Localising a layer\n\nkept\n"
    page = "# Benchmarks\n\nnew\n\n## Results\n\nnew rows\n"
    written = bench.keep_foreign_sections(page, existing)
    assert written == page + "\n## Localising a layer\n\nkept\n"
    assert bench.keep_foreign_sections(page, "") == page
    assert bench.keep_foreign_sections(written, written) == written
