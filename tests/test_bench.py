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

from tfmigration.catalog import TrainConfig, prepare
from tfmigration.oracle.engine import train as train_oracle
from tfmigration.training.styles import runner

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
            runner("graph")(problem, variables="resource")
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
