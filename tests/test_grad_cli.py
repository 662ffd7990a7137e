"""The `grad`, `differences` and demo `compare` commands, through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from eagermode.cli import main as eagermode
from graphmode.cli import main as graphmode
from tfmigration.catalog.demos import DEMOS
from tfmigration.catalog.differences import DIFFERENCES

CLIS = {"graph": graphmode, "eager": eagermode, "function": tfbridge}
ROOT = Path(__file__).resolve().parent.parent

GRAD_ALL_TEXT = {
    "square": ["  y      9.0", "  dy/dx  6.0"],
    "chain": ["  dz/dx  500.0", "  dy/dx  10.0"],
    "partials": [
        "  f        42.0",
        "  df/dx    6.0",
        "  df/dy    16.0",
        "  d2f/dx2  2.0",
        "  d2f/dy2  4.0",
        "  hessian  [2.0, 0.0]",
        "           [0.0, 4.0]",
    ],
    "matrix": ["  z      422500.0", "  dz/dx  [33800.0, 33800.0, 33800.0, 33800.0, 33800.0]"]
    + ["         [33800.0, 33800.0, 33800.0, 33800.0, 33800.0]"] * 4,
}


def invoke(cli: click.Group, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args))


def test_grad_all_prints_every_quantity_by_name(style: str) -> None:
    result = invoke(CLIS[style], "grad", "--all")
    assert result.exit_code == 0, result.output
    blocks = result.output.strip().split("\n\n")
    assert [block.splitlines()[0].split(" (")[0] for block in blocks] == list(DEMOS)
    for block, (demo, lines) in zip(blocks, GRAD_ALL_TEXT.items(), strict=True):
        assert block.splitlines()[0].startswith(f"{demo} ({style} style): ")
        assert block.splitlines()[1:] == lines


def test_grad_json_prints_a_record_per_demo(style: str) -> None:
    result = invoke(CLIS[style], "grad", "partials", "square", "--json", "--strict")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"demo": "partials", "mode": style, "results": DEMOS["partials"].expected},
        {"demo": "square", "mode": style, "results": DEMOS["square"].expected},
    ]


def test_grad_matrix_json_is_a_nested_list() -> None:
    result = invoke(eagermode, "grad", "matrix", "--json")
    assert json.loads(result.output)[0]["results"]["dz/dx"] == [[33800.0] * 5] * 5


def test_grad_names_a_demo_once_even_if_asked_twice() -> None:
    result = invoke(graphmode, "grad", "square", "square", "--all", "--json")
    assert [record["demo"] for record in json.loads(result.output)] == list(DEMOS)


def test_grad_unknown_demo_lists_the_valid_ones() -> None:
    result = invoke(graphmode, "grad", "cube")
    assert result.exit_code == 2
    assert "'cube' is not one of 'square', 'chain', 'partials', 'matrix'" in result.output


def test_grad_without_a_demo_or_all_is_a_clear_error() -> None:
    result = invoke(eagermode, "grad")
    assert result.exit_code == 2
    assert result.output == (
        "Error: name one or more demos (square, chain, partials, matrix), or pass --all\n"
    )


@pytest.mark.parametrize("strict", [[], ["--strict"]], ids=["default", "strict"])
def test_compare_demos_are_identical_in_all_three_styles(strict: list[str]) -> None:
    result = invoke(tfbridge, "compare", *DEMOS, "--json", *strict)
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["model"], r["mode"]) for r in records] == [
        (demo, mode) for demo in DEMOS for mode in ("graph", "eager", "function")
    ]
    for record in records:
        assert record["kind"] == "demo"
        assert record["verdict"] == "identical"
        assert record["max_ulps"] == 0
        assert record["first_divergent_quantity"] is None
        assert record["oracle_rel_error"] == 0.0
        assert record["results"] == DEMOS[record["model"]].expected
        assert record["strict"] is bool(strict)


def test_compare_text_has_a_demo_table_and_verdicts() -> None:
    result = invoke(tfbridge, "compare", "chain", "--steps", "5")
    assert result.exit_code == 0, result.output
    assert "first diff quantity" in result.output
    assert result.output.splitlines()[-1] == "verdicts: chain identical"


@pytest.mark.slow
def test_compare_all_includes_the_demos() -> None:
    # One training step keeps the models cheap; the demos ignore --steps.
    result = invoke(tfbridge, "compare", "--all", "--steps", "1", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    demo_verdicts = {r["model"]: r["verdict"] for r in records if r.get("kind") == "demo"}
    assert demo_verdicts == dict.fromkeys(DEMOS, "identical")
    assert {r["model"] for r in records if "kind" not in r} >= {"house", "quadratic"}


def test_compare_unknown_name_lists_models_and_demos() -> None:
    result = invoke(tfbridge, "compare", "cube")
    assert result.exit_code == 2
    assert "'house'" in result.output and "'matrix'" in result.output


def test_demo_and_model_names_do_not_clash() -> None:
    from tfmigration.catalog.models import MODELS

    assert not set(DEMOS) & set(MODELS)


def test_differences_text_shows_styles_side_by_side() -> None:
    result = invoke(tfbridge, "differences", "one-shot-tape", "jacobian")
    assert result.exit_code == 0, result.output
    assert "┃ case" in result.output and "┃ graph" in result.output
    assert "RuntimeError: A non-persistent GradientTape" in result.output  # wrapped in its cell
    assert "y = [x0*x1, x0+x1]" in result.output  # brackets are not eaten as rich markup
    assert "│ second gradient, persistent=True │ —" in result.output


@pytest.mark.slow
def test_differences_json_holds_every_style_observation() -> None:
    result = invoke(tfbridge, "differences", "--all", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [record["difference"] for record in records] == list(DIFFERENCES)
    unconnected = records[list(DIFFERENCES).index("unconnected")]
    assert unconnected["observations"]["graph"]["dy/db"] == "None"
    assert unconnected["observations"]["eager"]["dy/db, unconnected_gradients=ZERO"] == "0.0"
    assert set(unconnected) == {"difference", "title", "lesson", "observations"}


def test_differences_bad_input() -> None:
    unknown = invoke(tfbridge, "differences", "tape")
    assert unknown.exit_code == 2
    assert "'tape' is not one of 'one-shot-tape'" in unknown.output
    missing = invoke(tfbridge, "differences")
    assert missing.exit_code == 2
    assert missing.output.startswith("Error: name one or more differences (one-shot-tape, ")


@pytest.mark.parametrize(
    ("module", "command"),
    [("graphmode", "grad"), ("eagermode", "grad"), ("bridge", "grad"), ("bridge", "differences")],
)
def test_help_does_not_import_tensorflow(module: str, command: str) -> None:
    code = (
        f"import sys; from {module}.cli import main\n"
        f"try:\n    main(['{command}', '--help'])\nexcept SystemExit:\n    pass\n"
        "sys.exit(3 if 'tensorflow' in sys.modules else 0)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "--all" in run.stdout
