"""The docs stay true: the generated references match the code that generates them, the JSON
reference's tables match the records built, every relative link resolves to a file and heading,
and every option a page names exists on its command."""

from __future__ import annotations

import importlib.util
import re
import shlex
import sys
from pathlib import Path

import click
import numpy as np
import pytest

from bridge.cli import main as tfbridge
from eagermode.cli import main as eagermode
from graphmode.cli import main as graphmode
from tfmigration.cli.grad_commands import demo_record
from tfmigration.measure import record_fields
from tfmigration.measure.comparison import Comparison, StyleResult
from tfmigration.measure.demo_comparison import DemoComparison, DemoStyleResult, demo_records
from tfmigration.measure.inference_report import InferenceReport, OutputComparison
from tfmigration.measure.layer_report import LayerComparison
from tfmigration.measure.migration_report import (
    CheckReport,
    Divergence,
    Finding,
    LadderStep,
    StyleCheck,
)
from tfmigration.measure.noise_floor import EveryStepNudgedFloor, StartNudgedFloor
from tfmigration.measure.oracle_check import OracleCheck
from tfmigration.measure.report import comparison_records
from tfmigration.serialize import trajectory_record
from tfmigration.training.driver import Trajectory

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOOLS = {"tfbridge": tfbridge, "graphmode": graphmode, "eagermode": eagermode}


def _generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["docs/cli.md", "docs/json.md"])
def test_the_generated_pages_are_what_the_generator_writes(page: str) -> None:
    generator = _generator()
    assert (ROOT / page).read_text(encoding="utf-8") == generator.PAGES[page](), (
        f"{page} is out of date: run python scripts/gen_docs.py"
    )


def test_the_generator_check_mode_passes_on_the_committed_pages(capsys) -> None:
    assert _generator().main(["--check"]) == 0, capsys.readouterr().err


# --- the JSON reference against the records built ---------------------------------------------


def _trajectory(mode: str, **extra) -> Trajectory:
    return Trajectory(
        model="house",
        mode=mode,
        losses=np.array([2.0, 1.0], np.float32),
        final_loss=np.float32(0.5),
        final_params={"w": np.array([1.0], np.float32)},
        seconds=0.1,
        **extra,
    )


def test_train_records_have_the_declared_fields() -> None:
    table = record_fields.TRAIN
    plain = trajectory_record(_trajectory("graph"))
    resumed = trajectory_record(_trajectory("graph", first_step=3)) | {"replicas": 2}
    assert set(plain) == table.names(optional=False)
    assert set(resumed) == table.names()


def _comparison(replicas: int) -> Comparison:
    oracle = OracleCheck(relative_error=1e-6, bound=1e-4, where="loss at step 1")
    results = tuple(
        StyleResult(
            trajectory=_trajectory(mode),
            max_loss_ulps=0,
            max_param_ulps=0,
            max_slot_ulps=0,
            first_divergent_step=None,
            oracle=oracle,
            one_device_loss_ulps=1 if replicas > 1 else None,
            one_device_param_ulps=0 if replicas > 1 else None,
        )
        for mode in ("graph", "eager", "function")
    )
    floor = StartNudgedFloor(
        loss_ulps=np.array([0, 1]), loss_relative=np.array([0.0, 1e-7]), param_ulps=0, slot_ulps=0
    )
    return Comparison(
        model="house",
        strict=True,
        tolerance_ulps=64,
        results=results,
        oracle=_trajectory("oracle"),
        noise_floor=floor,
        replicas=replicas,
        replication={"graph": "between-graph"} if replicas > 1 else {},
        one_device_floor=floor if replicas > 1 else None,
    )


def test_compare_records_have_the_declared_fields() -> None:
    table = record_fields.COMPARE
    (plain, *_) = comparison_records([_comparison(1)])
    (replicated, *_) = comparison_records([_comparison(2)])
    assert set(plain) == table.names(optional=False)
    assert set(replicated) == table.names()


def test_demo_records_have_the_declared_fields() -> None:
    quantities = {"y": np.float32(9.0)}
    comparison = DemoComparison(
        demo="square",
        strict=True,
        tolerance_ulps=64,
        results=(DemoStyleResult("graph", quantities, 0, None, 0.0, 0.1),),
        oracle=quantities,
    )
    (record,) = demo_records([comparison])
    assert set(record) == record_fields.COMPARE_DEMO.names()
    assert set(demo_record("square", "graph", quantities)) == record_fields.GRAD.names()


def _style_check(mode: str) -> StyleCheck:
    return StyleCheck(
        mode=mode,
        losses=np.array([2.0, 1.0], np.float32),
        max_loss_ulps=0 if mode == "graph" else 3,
        max_param_ulps=0,
        max_slot_ulps=0,
        first_divergent_step=None if mode == "graph" else 0,
        first_divergent_variable=None if mode == "graph" else "w",
        divergence=None,
        seconds=0.1,
    )


LAYER = LayerComparison(
    layer="dense",
    kind="Dense",
    tf1_tensor="dense/MatMul:0",
    tf1_op="MatMul",
    located_by="variables",
    ulps=3,
    input_ulps=0,
    input_agrees=True,
    alone_ulps=3,
    alone_relative=1e-7,
    setting=None,
)


def test_check_records_have_the_declared_fields() -> None:
    finding = Finding("forward pass", variable=None, message="differs", ulps=3, layers=(LAYER,))
    report = CheckReport(
        model="port",
        path="port.py",
        strict=True,
        tolerance_ulps=64,
        steps=2,
        batch_size=None,
        seed=0,
        variable_map=(("w", "dense/kernel", "name"),),
        results=tuple(_style_check(mode) for mode in ("graph", "eager", "function")),
        findings=(finding,),
        noise_floor=EveryStepNudgedFloor(loss_ulps=1, param_ulps=1, slot_ulps=0),
        ladder=(LadderStep(step=0, rungs=("forward pass",)),),
    )
    graph, eager, _ = report.records()
    assert set(graph) == set(eager) == record_fields.CHECK.names()
    (finding_record,) = graph["findings"]
    assert set(finding_record) == record_fields.CHECK_FINDING.names()
    (layer_record,) = graph["layers"]
    assert set(layer_record) == record_fields.CHECK_LAYER.names()


def test_inference_records_have_the_declared_fields() -> None:
    divergence = Divergence(
        step=0,
        variable="out",
        port_variable="out",
        index=(0, 1),
        tf1_value=1.0,
        port_value=1.5,
        ulps=9,
    )
    report = InferenceReport(
        model="cnn",
        path="cnn.py",
        source="frozen.pb",
        source_kind="frozen graph",
        tf1_output="logits:0",
        port_output="tf2_predict()",
        batch_size=None,
        batch_rows=(4,),
        tolerance_ulps=64,
        strict=True,
        results=(OutputComparison("eager", (9,), (1e-6,), (2,), divergence, 0.1),),
    )
    (record,) = report.records()
    assert set(record) == record_fields.INFERENCE.names()
    assert tuple(record["first_difference"]) == record_fields.INFERENCE_FIRST_DIFFERENCE


# --- links ---------------------------------------------------------------------------------------


FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, each space
    a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6} (.+)", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_slug_follows_github() -> None:
    assert slug("Your own port, data-parallel: `--replicas N`") == (
        "your-own-port-data-parallel---replicas-n"
    )
    assert slug("`tfbridge check --json`") == "tfbridge-check---json"
    assert slug("TF1's variables, and oneDNN") == "tf1s-variables-and-onednn"


def relative_links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z+.-]*:", target)  # http:, https:, mailto:
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    problems = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            problems.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: no heading #{anchor} in {destination.name}")
    assert not problems, f"{page.name}: " + "; ".join(problems)


# --- options --------------------------------------------------------------------------------------


def _commands() -> dict[str, dict[str, click.Command]]:
    return {tool: dict(group.commands) for tool, group in TOOLS.items()}


def _options(command: click.Command) -> set[str]:
    names = set()
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            names |= set(parameter.opts) | set(parameter.secondary_opts)
    return names | {"--help"}


def named_command_lines(page: Path) -> list[str]:
    """Every command line a page shows: inline code spans and lines of code blocks."""
    text = page.read_text(encoding="utf-8")
    lines = []
    for block in FENCE.findall(text):
        lines += block.splitlines()[1:-1]
    lines += re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return lines


def _invocation(words: list[str]) -> tuple[str | None, str] | None:
    """(tool or None for a bare subcommand, subcommand) of a command line, or None."""
    commands = _commands()
    for index, word in enumerate(words):
        tool = word.rsplit("/", 1)[-1]
        if tool in TOOLS and index + 1 < len(words) and words[index + 1] in commands[tool]:
            return tool, words[index + 1]
        if word == "-m" and index + 1 < len(words):
            module = {"bridge": "tfbridge", "graphmode": "graphmode", "eagermode": "eagermode"}
            tool = module.get(words[index + 1])
            if tool and index + 2 < len(words) and words[index + 2] in commands[tool]:
                return tool, words[index + 2]
    if words and any(words[0] in tool_commands for tool_commands in commands.values()):
        return None, words[0]
    return None


def unknown_options(line: str) -> list[str]:
    try:
        words = shlex.split(line.split("#", 1)[0].replace("[", " ").replace("]", " "))
    except ValueError:
        words = line.split()
    found = _invocation(words)
    if found is None:
        return []
    tool, name = found
    commands = _commands()
    candidates = (
        [commands[tool][name]] if tool else [c[name] for c in commands.values() if name in c]
    )
    known = set().union(*(_options(command) for command in candidates))
    named = {
        option.split("=", 1)[0]
        for word in words
        for option in word.split("/")
        if re.fullmatch(r"--[a-z][a-z0-9-]*(=.*)?", option)
    }
    return sorted(named - known)


def test_unknown_options_are_found() -> None:
    assert unknown_options("tfbridge check FILE --strict --no-such-option") == ["--no-such-option"]
    assert unknown_options(".venv/bin/tfbridge compare --all") == []
    assert unknown_options("python -m bridge check x.py --against DIR") == []
    assert unknown_options("graphmode compare --all") == []  # not a graphmode command: not a call
    assert unknown_options("train --save-to/--save-every/--keep") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_option_a_page_names_exists_on_its_command(page: Path) -> None:
    problems = [
        f"{line.strip()!r}: {', '.join(unknown)}"
        for line in named_command_lines(page)
        if (unknown := unknown_options(line))
    ]
    assert not problems, f"{page.name}: " + "; ".join(problems)


def test_the_readme_keeps_the_quick_start_lines_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_line = (
        'python3 -m venv .venv && .venv/bin/pip install -q ".[test]" && .venv/bin/python -m pytest'
    )
    assert test_line in readme and test_line in ci
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/tfbridge compare --all"
        in readme
    )
    assert len(readme.splitlines()) <= 250


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
