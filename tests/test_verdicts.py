"""Verdicts a user can trust: the noise floor, the oracle's say, TF1's RefVariables, the plot.

Expected values come from the construction of each case or from the oracle, never from an
earlier run's output.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.compare import compare_problem
from graphmode.cli import main as graphmode
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.execution import RunSettings
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS, Comparison, measure
from tfmigration.measure.migration_report import Finding, LadderStep, StyleCheck, judge
from tfmigration.measure.noise_floor import (
    EveryStepNudgedFloor,
    StartNudgedFloor,
    elementwise_relative_error,
    measure_noise_floor,
    nudge_one_ulp,
)
from tfmigration.measure.oracle_check import OracleCheck, check_against_oracle
from tfmigration.measure.ulp import ulp_distance
from tfmigration.measure.verdict import (
    BEYOND_BOTH,
    BEYOND_ORACLE,
    EARNED_BY_LADDER,
    REAL_FINDING,
    WITHIN_NOISE_FLOOR,
    WITHIN_TOLERANCE,
    Verdict,
    combine,
    decide,
    style_verdict,
)
from tfmigration.oracle.engine import train as train_oracle
from tfmigration.training.driver import Trajectory

# quadratic with RMSProp (eps 1e-10) dithers around its minimum from about step 320: the
# issue's sensitive case; 400 steps reach it at a fifth of the tutorial's cost.
SENSITIVE = ["quadratic", "--optimizer", "rmsprop", "--steps", "400"]


def _trajectory(losses: list[float], params: dict[str, list[float]], dtype=np.float32):
    return Trajectory(
        model="toy",
        mode="toy",
        losses=np.asarray(losses[:-1], dtype=dtype),
        final_loss=np.asarray(losses[-1], dtype=dtype)[()],
        final_params={k: np.asarray(v, dtype=dtype) for k, v in params.items()},
        seconds=0.0,
    )


def _floor(loss_ulps: int, param_ulps: int = 0, slot_ulps: int = 0) -> StartNudgedFloor:
    return StartNudgedFloor(
        loss_ulps=np.array([0, loss_ulps], dtype=np.uint64),
        loss_relative=np.zeros(2),
        param_ulps=param_ulps,
        slot_ulps=slot_ulps,
    )


# --- the pieces, without TensorFlow -------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nudge_moves_every_element_one_ulp_up_and_zeros_by_one_ulp_of_one(dtype) -> None:
    params = {"w": np.array([[2.5], [-3.0]], dtype=dtype), "b": np.zeros(1, dtype=dtype)}
    nudged = nudge_one_ulp(params)
    assert {k: v.dtype for k, v in nudged.items()} == {"w": np.dtype(dtype), "b": np.dtype(dtype)}
    assert ulp_distance(nudged["w"], params["w"]).tolist() == [[1], [1]]
    assert np.all(nudged["w"] > params["w"])
    assert nudged["b"].tolist() == [np.finfo(dtype).eps]
    assert nudged["b"][0] == np.nextafter(dtype(1), dtype(2)) - dtype(1)


def test_elementwise_relative_error_is_per_element_not_normwise() -> None:
    # A loss curve falling from 10 to 0.004: an error of 0.004 at the end is 100% of that
    # element, though a normwise measure would call it 4e-4.
    reference = np.array([10.0, 1.0, 0.004])
    actual = np.array([10.0, 1.0, 0.008])
    np.testing.assert_allclose(elementwise_relative_error(actual, reference), [0, 0, 1.0])
    # An exact zero in the reference is measured against the array's largest magnitude.
    np.testing.assert_allclose(elementwise_relative_error([2.0, 0.5], [4.0, 0.0]), [0.5, 0.125])


def test_a_late_error_is_caught_although_it_is_tiny_normwise() -> None:
    oracle = _trajectory([10.0, 1.0, 0.004, 0.004], {"w": [2.0]}, dtype=np.float64)
    wrong = _trajectory([10.0, 1.0, 0.004, 0.005], {"w": [2.0]})
    check = check_against_oracle(wrong, oracle, bound=1e-4)
    assert not check.within
    assert check.where == "final loss"
    assert check.relative_error == pytest.approx(0.25, rel=1e-6)
    right = _trajectory([10.0, 1.0, 0.004, 0.004], {"w": [2.0]})
    assert check_against_oracle(right, oracle, bound=1e-4).within


def test_a_parameter_element_beyond_its_bound_is_named() -> None:
    oracle = _trajectory([1.0, 1.0], {"W": [[1.0, 2.0], [3.0, 4.0]]}, dtype=np.float64)
    wrong = _trajectory([1.0, 1.0], {"W": [[1.0, 2.0], [3.0, 4.1]]})
    check = check_against_oracle(wrong, oracle, bound=1e-4)
    assert (check.within, check.where) == (False, "W[1, 1]")


def test_a_sensitive_run_widens_the_oracle_bound_by_the_floor() -> None:
    oracle = _trajectory([10.0, 1.0, 1.0], {"w": [2.0]}, dtype=np.float64)
    run = _trajectory([10.0, 1.0, 1.01], {"w": [2.0]})
    floor = StartNudgedFloor(
        loss_ulps=np.array([0, 0, 10**5], dtype=np.uint64),
        loss_relative=np.array([0.0, 0.0, 0.01]),
        param_ulps=0,
        slot_ulps=0,
    )
    assert not check_against_oracle(run, oracle, bound=1e-4).within
    widened = check_against_oracle(run, oracle, bound=1e-4, noise_floor=floor)
    # 2 steps: sqrt(2) times the floor's 1% at the final loss.
    assert widened.within and widened.bound == pytest.approx(np.sqrt(2) * 0.01)
    # Before the run became sensitive the bound stays the base one.
    early = _trajectory([10.0, 1.01, 1.0], {"w": [2.0]})
    assert not check_against_oracle(early, oracle, bound=1e-4, noise_floor=floor).within


@pytest.mark.parametrize(
    ("distances", "floor", "oracle_ok", "expected"),
    [
        ((0, 0, 0), _floor(0), True, Verdict("identical")),
        ((64, 3, 0), _floor(0), True, Verdict("equivalent", WITHIN_TOLERANCE)),
        ((163533, 2, 710), _floor(163533, 2, 710), True, Verdict("equivalent", WITHIN_NOISE_FLOOR)),
        ((163534, 0, 0), _floor(163533), True, Verdict("different", BEYOND_BOTH)),
        ((0, 0, 65), _floor(10**6, 10**6, 0), True, Verdict("different", BEYOND_BOTH)),
        ((0, 0, 0), _floor(0), False, Verdict("different", BEYOND_ORACLE)),
    ],
)
def test_style_verdict_rules(distances, floor, oracle_ok, expected) -> None:
    loss, param, slot = distances
    oracle = OracleCheck(relative_error=1.0 if not oracle_ok else 0.0, bound=0.5, where="w")
    verdict = style_verdict(
        loss_ulps=loss,
        param_ulps=param,
        slot_ulps=slot,
        tolerance_ulps=64,
        noise_floor=floor,
        oracle=oracle,
    )
    assert verdict == expected


@pytest.mark.parametrize(
    ("distances", "floors", "against", "earned", "expected"),
    [
        ((0, 0, 0), None, [REAL_FINDING], False, Verdict("different", REAL_FINDING)),
        (
            (65, 0, 0),
            None,
            [REAL_FINDING],
            True,
            Verdict("different", f"{REAL_FINDING}; {BEYOND_BOTH}"),
        ),
        ((65, 0, 0), (100, 0, 0), [], True, Verdict("equivalent", WITHIN_NOISE_FLOOR)),
        ((65, 0, 0), (10, 0, 0), [], True, Verdict("equivalent", EARNED_BY_LADDER)),
        ((65, 0, 0), (10, 0, 0), [], False, Verdict("different", BEYOND_BOTH)),
        ((65,), None, [], False, Verdict("different", BEYOND_BOTH)),
    ],
)
def test_decide_orders_the_rules(distances, floors, against, earned, expected) -> None:
    """Evidence against first, then identical, tolerance, floor, the ladder, different."""
    verdict = decide(distances, tolerance_ulps=64, floors=floors, against=against, earned=earned)
    assert verdict == expected


def _style_check(
    mode: str, loss: int, param: int, slot: int, beyond: int | None = None, **fields: object
) -> StyleCheck:
    return StyleCheck(
        mode=mode,
        losses=np.zeros(3, np.float32),
        max_loss_ulps=loss,
        max_param_ulps=param,
        max_slot_ulps=slot,
        first_divergent_step=None if not (loss or param or slot) else 1,
        first_divergent_variable=None,
        divergence=None,
        seconds=0.0,
        beyond_floor_step=beyond,
        **fields,
    )


@pytest.mark.parametrize(
    ("distances", "floor_ulps"),
    [((0, 0, 0), 0), ((64, 3, 0), 0), ((900, 2, 70), 1000), ((1001, 0, 0), 1000), ((0, 0, 65), 1)],
)
def test_check_and_compare_judge_alike_where_their_evidence_is_alike(distances, floor_ulps) -> None:
    """No oracle, no ladder: check's judge and compare's style_verdict give one verdict."""
    check_floor = EveryStepNudgedFloor(floor_ulps, floor_ulps, floor_ulps)
    compare = style_verdict(
        loss_ulps=distances[0],
        param_ulps=distances[1],
        slot_ulps=distances[2],
        tolerance_ulps=64,
        noise_floor=_floor(floor_ulps, floor_ulps, floor_ulps),
    )
    results = [_style_check("graph", 0, 0, 0), _style_check("eager", *distances)]
    verdict, _ = judge(results, [], check_floor, 64, ())
    assert verdict == compare.verdict


def test_check_earns_equivalence_only_with_the_rungs_at_the_step_beyond_the_floor() -> None:
    graph = _style_check("graph", 0, 0, 0)
    floor = EveryStepNudgedFloor(100, 0, 0)
    whole = (LadderStep(3, ("forward pass", "gradient", "whole step")),)

    def left_at(step: int, **fields: object) -> list[StyleCheck]:
        return [graph, _style_check("eager", 5000, 0, 0, step, **fields)]

    assert judge(left_at(3), [], floor, 64, whole)[0] == "equivalent"
    assert judge(left_at(4), [], floor, 64, whole)[0] == "different"
    assert judge(left_at(3, also_earned_at=(5,)), [], floor, 64, whole)[0] == "different"
    assert judge(left_at(3), [], floor, 64, (LadderStep(3, ("forward pass",)),))[1] == (
        "5000 ULPs apart in losses, 0 in variables, 0 in slots (relative: 0 in losses, 0 in "
        "variables), beyond --tolerance-ulps 64 and the noise floor (rounding alone moves TF1 by "
        "100 ULPs in losses, 0 in variables, 0 in slots (relative: 0 in losses, 0 in variables))"
        "; no rerun at step 3 could compare forward pass and whole step, so nothing shows it is "
        "rounding"
    )


def test_each_style_is_earned_by_its_own_reruns_or_by_those_of_the_run_it_repeated() -> None:
    graph = _style_check("graph", 0, 0, 0)
    floor = EveryStepNudgedFloor(100, 0, 0)
    eager_rerun = (LadderStep(3, ("forward pass", "whole step"), "eager"),)
    both = (*eager_rerun, LadderStep(3, ("forward pass", "whole step"), "function"))
    eager = _style_check("eager", 5000, 0, 0, 3)
    apart = _style_check("function", 5000, 0, 0, 3)
    repeated = _style_check("function", 5000, 0, 0, 3, ladder_style="eager")
    assert judge([graph, eager, apart], [], floor, 64, eager_rerun)[0] == "different"
    assert judge([graph, eager, apart], [], floor, 64, both)[0] == "equivalent"
    assert judge([graph, eager, repeated], [], floor, 64, eager_rerun)[0] == "equivalent"
    # A real finding of one style's rerun is that style's, and the whole check's.
    wrong = Finding("whole step", "w", "wrong", 900, step=3, style="function")
    assert judge([graph, eager, apart], [wrong], floor, 64, both)[0] == "different"
    assert judge([graph, eager], [wrong], floor, 64, both)[0] == "equivalent"
    assert judge([graph, apart], [wrong], floor, 64, both)[0] == "different"
    # The port's starting state (style None) is every style's.
    start = Finding("start", "lr", "a setting", basis="setting", style=None)
    assert judge([graph, eager], [start], floor, 64, both)[0] == "different"


def test_a_model_takes_its_worst_style_and_says_floor_when_any_style_needed_it() -> None:
    tolerance, floor = (
        Verdict("equivalent", WITHIN_TOLERANCE),
        Verdict("equivalent", WITHIN_NOISE_FLOOR),
    )
    assert combine([Verdict("identical"), tolerance, floor]) == floor
    assert combine([Verdict("identical"), tolerance]) == tolerance
    both = combine([Verdict("different", BEYOND_ORACLE), Verdict("different", BEYOND_BOTH), floor])
    assert both == Verdict("different", f"{BEYOND_ORACLE}; {BEYOND_BOTH}")
    assert str(both).startswith("different (")


# --- the noise floor on the catalog ----------------------------------------------------------


def test_the_noise_floor_is_the_nudged_reference_rerun() -> None:
    from graphmode.train import train as train_graph

    problem = prepare("quadratic", TrainConfig(steps=30))
    comparison = compare_problem(problem, RunSettings(strict=True), styles=("graph",))
    nudged = dataclasses.replace(problem, initial_params=nudge_one_ulp(problem.initial_params))
    again = measure_noise_floor(
        comparison.results[0].trajectory, train_graph(nudged, RunSettings(strict=True))
    )
    assert comparison.noise_floor.max_loss_ulps == again.max_loss_ulps
    assert comparison.noise_floor.param_ulps == again.param_ulps


@pytest.mark.slow
def test_rmsprop_on_quadratic_is_equivalent_within_the_noise_floor(tmp_path: Path) -> None:
    """The issue's case: tf.function's losses part from graph's by as much as graph's own move
    when its start is nudged one ULP; that is rounding amplified, not a wrong port."""
    output = tmp_path / "records.json"
    result = CliRunner().invoke(tfbridge, ["compare", *SENSITIVE, "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "equivalent (within noise floor)" in result.output
    assert "noise floor: graph style rerun from its initial values nudged by one ULP" in (
        " ".join(result.output.split())
    )
    records = json.loads(output.read_text())
    function = next(r for r in records if r["mode"] == "function")
    assert function["max_loss_ulps"] > DEFAULT_TOLERANCE_ULPS  # beyond the tolerance alone
    assert function["max_loss_ulps"] <= function["noise_floor_ulps"]
    assert {r["verdict"] for r in records} == {"equivalent"}
    assert {r["verdict_basis"] for r in records} == {WITHIN_NOISE_FLOOR}
    for record in records:
        assert {"noise_floor_ulps", "noise_floor_param_ulps", "noise_floor_slot_ulps"} <= set(
            record
        )
        assert record["oracle_rel_error"] <= record["oracle_bound"]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_defaults_each_stays_different_beyond_the_noise_floor(optimizer: str) -> None:
    args = ["compare", "quadratic", "--optimizer", optimizer, "--steps", "400", "--defaults"]
    result = CliRunner().invoke(tfbridge, [*args, "each", "--json"])
    assert result.exit_code == 1
    records = json.loads(result.output)
    assert {r["verdict"] for r in records} == {"different"}
    for record in records:
        if record["mode"] != "graph":
            assert BEYOND_BOTH in record["style_verdict"]
            assert record["max_loss_ulps"] > record["noise_floor_ulps"]


@pytest.mark.slow
def test_a_wrong_port_is_different_though_the_run_is_sensitive() -> None:
    """A port that changed the learning rate by 1% lands beyond graph's own noise floor."""
    from eagermode.train import train as train_eager

    config = {"optimizer": "rmsprop", "steps": 400}
    problem = prepare("quadratic", TrainConfig(**config))
    wrong = prepare("quadratic", TrainConfig(learning_rate=0.0101, **config))
    right = compare_problem(problem, styles=("graph",))
    reference = right.results[0].trajectory
    oracle = right.oracle
    result = measure(train_eager(wrong), reference, oracle, noise_floor=right.noise_floor)
    comparison = dataclasses.replace(right, results=(right.results[0], result))
    assert comparison.full_verdict == Verdict("different", f"{BEYOND_ORACLE}; {BEYOND_BOTH}")


def test_a_bug_every_style_shares_is_different_by_the_oracle() -> None:
    """All three styles run the same wrong port (the mean squared error where the tutorial
    halves it), agree bit for bit, and only the oracle of the intended problem tells."""
    intended = prepare("house", TrainConfig(steps=20))
    assert intended.loss == "half-mean"
    shared_bug = prepare("house", TrainConfig(steps=20, loss="mean"))
    wrong = compare_problem(shared_bug, RunSettings(strict=True))
    assert {wrong.style_verdict(r).verdict for r in wrong.results} == {"identical"}
    oracle = train_oracle(intended)
    reference = wrong.results[0].trajectory
    remeasured = Comparison(
        model="house",
        strict=True,
        tolerance_ulps=DEFAULT_TOLERANCE_ULPS,
        results=tuple(
            measure(r.trajectory, reference, oracle, noise_floor=wrong.noise_floor)
            for r in wrong.results
        ),
        oracle=oracle,
        noise_floor=wrong.noise_floor,
    )
    assert remeasured.full_verdict == Verdict("different", BEYOND_ORACLE)
    assert all(r.max_loss_ulps == 0 for r in remeasured.results)


# --- TF1's RefVariables -------------------------------------------------------------------


def test_graph_style_makes_ref_variables_by_default() -> None:
    from graphmode.engine import GraphEngine

    problem = prepare("house", TrainConfig(steps=2))
    assert type(GraphEngine(problem)._variables["w"]).__name__ == "RefVariable"
    resource = GraphEngine(problem, variables="resource")._variables["w"]
    assert type(resource).__name__ == "ResourceVariable"


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
@pytest.mark.parametrize("steps_per_call", [1, 7])
def test_ref_and_resource_variables_give_the_same_catalog_runs(
    optimizer: str, steps_per_call: int
) -> None:
    """The engine orders every update after the loss it fetches, so the RefVariable race
    cannot touch a catalog run: bit for bit the same, per step and fused."""
    from graphmode.train import train as train_graph

    problem = prepare("quadratic", TrainConfig(steps=20, optimizer=optimizer))
    ref = train_graph(problem, RunSettings(variables="ref", steps_per_call=steps_per_call))
    resource = train_graph(
        problem, RunSettings(variables="resource", steps_per_call=steps_per_call)
    )
    np.testing.assert_array_equal(ref.losses, resource.losses)
    for name, value in resource.final_params.items():
        np.testing.assert_array_equal(ref.final_params[name], value)
    for key, value in resource.final_slots.items():
        np.testing.assert_array_equal(ref.final_slots[key], value)


def test_ref_variable_read_order_difference() -> None:
    from bridge.styles import difference_observer

    graph = difference_observer("graph")("ref-read-order")
    before, after = "3.61", "2.3104"  # 1.9^2, and (1.9 - 0.1 * 2 * 1.9)^2 = 1.52^2
    assert graph["RefVariable (use_resource=False, TF1's default)"] in (
        before,
        after,
        f"{after} or {before} (varies run to run)",
    )
    assert graph["RefVariable, update under control_dependencies([loss])"] == before
    assert graph["ResourceVariable (use_resource=True, TF2's)"] == before
    for style in ("eager", "function"):
        assert difference_observer(style)("ref-read-order") == {
            "tf.Variable: loss, then update": before
        }


def test_variables_option_reaches_graph_style_and_the_records() -> None:
    result = CliRunner().invoke(
        tfbridge, ["compare", "house", "--steps", "3", "--variables", "resource", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert {r["variables"] for r in json.loads(result.output)} == {"resource"}
    train = CliRunner().invoke(
        graphmode, ["train", "house", "--steps", "3", "--variables", "resource", "--json"]
    )
    assert train.exit_code == 0, train.output


# --- bad input: one line, exit 2, nothing written -----------------------------------------


@pytest.mark.parametrize(
    ("cli", "args", "message"),
    [
        (tfbridge, ["compare", "house", "--variables", "weak"], "'weak' is not one of 'ref'"),
        (graphmode, ["train", "house", "--variables", "weak"], "'weak' is not one of 'ref'"),
        (tfbridge, ["train", "house", "--variables", "ref"], "No such option '--variables'"),
        (tfbridge, ["compare", "house", "--plot", "PLOT.svg"], "does not end in .png"),
        (tfbridge, ["compare", "house", "--plot", "missing/p.png"], "does not exist"),
        (tfbridge, ["compare", "house", "--plot", ""], "does not end in .png"),
        (tfbridge, ["compare", "square", "--plot", "PLOT.png"], "only training models have"),
    ],
)
def test_bad_variables_and_plot_options_are_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*args, "--steps", "2", "--output", "out.json"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


# --- files: the plot, and the umask -------------------------------------------------------


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield 0o027
    os.umask(previous)


@pytest.mark.slow
def test_compare_plot_writes_a_png_with_the_umask_mode(tmp_path: Path, umask_027: int) -> None:
    plot, output = tmp_path / "q.png", str(tmp_path / "q.json")
    result = CliRunner().invoke(
        tfbridge,
        ["compare", "quadratic", "house", "--steps", "30", "--plot", str(plot), "--output", output],
    )
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    for written in (plot, Path(output)):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask_027
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.json", "q.png"]


def test_plot_draws_style_free_inputs(tmp_path: Path) -> None:
    from tfmigration.measure.plot import PlotPanel, draw_panels

    curve = np.geomspace(10, 0.01, 50)
    panel = PlotPanel(
        title="toy",
        loss_curves={"graph": curve, "mine": curve * (1 + 1e-6)},
        ulps={"mine": np.arange(50)},
        oracle_curve=curve,
        noise_band=np.full(50, 20),
        tolerance_ulps=64,
    )
    draw_panels(tmp_path / "toy.png", [panel])
    assert (tmp_path / "toy.png").read_bytes()[:4] == b"\x89PNG"


# --- oneDNN -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("flag", "expected"), [("--strict", "0"), (None, "unset")])
def test_strict_turns_onednn_off_before_tensorflow_is_imported(
    flag: str | None, expected: str
) -> None:
    """TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, at import: strict sets it first."""
    import subprocess
    import sys

    args = ["compare", "house", "--steps", "1", "--json", *([flag] if flag else [])]
    probe = (
        "import os, sys\n"
        "os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)\n"
        "from bridge.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert done.stderr.strip().splitlines()[-1] == expected


def test_compare_help_imports_neither_tensorflow_nor_matplotlib() -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from bridge.cli import main\n"
        "try:\n"
        "    main(['compare', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert done.stdout.strip().splitlines()[-1] == "False False"


def test_a_demo_beyond_the_oracle_is_different_though_every_style_agrees() -> None:
    from tfmigration.measure.demo_comparison import ORACLE_BOUND, DemoComparison
    from tfmigration.measure.demo_comparison import measure as measure_demo

    wrong = {"dy/dx": np.array([7.0], dtype=np.float32)}  # the oracle says 6
    oracle = {"dy/dx": np.array([6.0])}
    results = tuple(measure_demo(mode, wrong, wrong, oracle, 0.0) for mode in ("graph", "eager"))
    assert all(r.max_ulps == 0 for r in results)
    assert results[0].oracle_relative_error == pytest.approx(1 / 6)
    assert ORACLE_BOUND < 1 / 6
    assert DemoComparison("square", True, 64, results, oracle).verdict == "different"
