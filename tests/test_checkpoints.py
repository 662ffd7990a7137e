"""Checkpoints across styles (issue 10): save in one style, resume in any, bit for bit.

Runs are short (quadratic, minibatches of 10 so that the position in the batch schedule
matters, 6 steps interrupted after 3) and in strict mode, where every style computes the same
bits; a resumed run must then be the uninterrupted run of its own style to the last bit.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from bridge.styles import checkpoint_reader, runner
from eagermode.cli import main as eagermode
from graphmode.checkpoints import read_tensors, write_tensors
from graphmode.cli import main as graphmode
from tfmigration.catalog import TrainConfig, prepare
from tfmigration.catalog.optimizers import OPTIMIZERS, OptimizerChoice
from tfmigration.checkpoint.files import checkpoint_paths, step_of
from tfmigration.checkpoint.names import beta_power_after
from tfmigration.checkpoint.resume import load_for_resume
from tfmigration.checkpoint.state import SaveOptions, settings_text
from tfmigration.execution import STYLES, RunSettings
from tfmigration.training.driver import Trajectory

STEPS, SAVED_AT = 6, 3
CASES = [
    (optimizer, decay)
    for optimizer, decay in itertools.product(OPTIMIZERS, (False, True))
    if not (optimizer == "gd" and decay)  # gd is a hand-written update with a constant lr
]
CLIS = {"graph": graphmode, "eager": eagermode, "function": tfbridge}


def problem(optimizer: str, decay: bool, steps: int = STEPS):
    choice = OptimizerChoice(lr_decay_rate=0.5, lr_decay_steps=2) if decay else OptimizerChoice()
    config = TrainConfig(steps=steps, optimizer=optimizer, batch_size=10, optimizer_options=choice)
    return prepare("quadratic", config)


@cache
def uninterrupted(style: str, optimizer: str, decay: bool) -> Trajectory:
    return runner(style)(problem(optimizer, decay), RunSettings(strict=True))


def bits(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    return array.view(np.uint32 if array.dtype == np.float32 else np.uint64)


def assert_same_bits(resumed: Trajectory, reference: Trajectory) -> None:
    assert resumed.first_step == SAVED_AT and resumed.steps == reference.steps
    np.testing.assert_array_equal(bits(resumed.losses), bits(reference.losses[SAVED_AT:]))
    assert bits(resumed.final_loss) == bits(reference.final_loss)
    for name, value in reference.final_params.items():
        np.testing.assert_array_equal(bits(resumed.final_params[name]), bits(value), err_msg=name)
    assert set(resumed.final_slots) == set(reference.final_slots)
    for name, value in reference.final_slots.items():
        np.testing.assert_array_equal(bits(resumed.final_slots[name]), bits(value), err_msg=name)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str, bool], str]:
    """The directory of the 3-step run a style saved, saved once and then read by every
    resumer (resuming only reads it)."""
    directories: dict[tuple[str, str, bool], str] = {}

    def saved(saver: str, optimizer: str, decay: bool) -> str:
        if (saver, optimizer, decay) not in directories:
            interrupted = problem(optimizer, decay, steps=SAVED_AT)
            directory = str(tmp_path_factory.mktemp("interrupted") / saver)
            runner(saver)(
                interrupted,
                RunSettings(strict=True, save=SaveOptions(directory, settings_text(interrupted))),
            )
            directories[saver, optimizer, decay] = directory
        return directories[saver, optimizer, decay]

    return saved


SAVER_RESUMER = list(itertools.product(STYLES, STYLES))


@pytest.mark.parametrize(
    ("saver", "resumer"), SAVER_RESUMER, ids=[f"{s}->{r}" for s, r in SAVER_RESUMER]
)
@pytest.mark.parametrize(
    ("optimizer", "decay"), CASES, ids=[f"{o}-{'decay' if d else 'const'}" for o, d in CASES]
)
def test_a_run_saved_in_one_style_resumes_in_every_style_bit_for_bit(
    optimizer: str,
    decay: bool,
    saver: str,
    resumer: str,
    interrupted_run: Callable[[str, str, bool], str],
) -> None:
    directory = interrupted_run(saver, optimizer, decay)
    full = problem(optimizer, decay)
    resumption = load_for_resume(directory, full, checkpoint_reader(resumer))
    assert resumption.state.step == SAVED_AT
    resumed = runner(resumer)(full, RunSettings(strict=True, resume=resumption.state))
    assert_same_bits(resumed, uninterrupted(resumer, optimizer, decay))


def test_graph_checkpoints_hold_tf1s_own_names_and_restore_with_tf1s_saver(
    tmp_path: Path,
) -> None:
    done = CliRunner().invoke(
        graphmode,
        [
            "train",
            "quadratic",
            "--optimizer",
            "adam",
            "--strict",
            "--steps",
            "5",
            "--json",
            "--save-to",
            str(tmp_path),
        ],
    )
    assert done.exit_code == 0, done.output
    names = {name for name, _ in tf.train.list_variables(str(tmp_path))}
    assert names == {
        "w", "b", "w/Adam", "w/Adam_1", "b/Adam", "b/Adam_1",
        "beta1_power", "beta2_power", "global_step", "tfbridge_settings",
    }  # fmt: skip
    assert (tmp_path / "model.ckpt-5.index").is_file()
    assert 'model_checkpoint_path: "model.ckpt-5"' in (tmp_path / "checkpoint").read_text()
    # A TF1 user's own graph restores it with TF1's Saver, by name, slots and all.
    graph = tf.Graph()
    with graph.as_default():
        w = tf.compat.v1.get_variable("w", shape=[1])
        b = tf.compat.v1.get_variable("b", shape=[1])
        loss = tf.reduce_sum(w * b)
        tf.compat.v1.train.AdamOptimizer(0.01).minimize(
            loss, global_step=tf.compat.v1.train.get_or_create_global_step()
        )
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            saver.restore(session, tf.train.latest_checkpoint(str(tmp_path)))
            assert session.run(tf.compat.v1.train.get_global_step()) == 5
            (beta1_power,) = [
                v for v in tf.compat.v1.global_variables() if v.op.name == "beta1_power"
            ]
            # beta1 multiplied in float32 after each of the 5 steps, as TF1's _finish does
            assert session.run(beta1_power) == beta_power_after(0.9, 5)


def cli_params(cli, *arguments: str) -> dict:
    done = CliRunner().invoke(
        cli, ["train", "quadratic", "--optimizer", "adam", "--strict", *arguments, "--json"]
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("saver", "resumer"), [("graph", "eager"), ("eager", "graph"), ("graph", "function")]
)
def test_the_command_lines_resume_each_others_checkpoints(
    saver: str, resumer: str, tmp_path: Path
) -> None:
    cli_params(CLIS[saver], "--steps", "40", "--save-to", str(tmp_path))
    resumed = cli_params(CLIS[resumer], "--steps", "80", "--resume-from", str(tmp_path))
    whole = cli_params(CLIS[resumer], "--steps", "80")
    assert resumed["params"] == whole["params"] and resumed["slots"] == whole["slots"]
    assert resumed["first_step"] == 40 and resumed["losses"] == whole["losses"][40:]


ROOT = Path(__file__).resolve().parent.parent
MODULES = {"graph": "graphmode", "eager": "eagermode", "function": "bridge"}


def start_saving_run(style: str, directory: Path, *options: str) -> subprocess.Popen:
    """A long run saving after every step, in a process of its own (bounded by the caller)."""
    command = [sys.executable, "-m", MODULES[style], "train", "quadratic", "--optimizer", "adam"]
    command += ["--steps", "2000000", "--log-every", "0", "--save-to", str(directory), *options]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_saves(process: subprocess.Popen, directory: Path, count: int) -> None:
    """Until the directory's `checkpoint` file names a step >= count (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        steps = [step_of(path) or 0 for path in checkpoint_paths(directory)]
        if steps and max(steps) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended early: {process.communicate()[1]}")
        time.sleep(0.05)
    process.kill()
    pytest.fail("no checkpoint within 60 s")


@pytest.mark.slow
@pytest.mark.parametrize("style", ["graph", "eager"])
def test_a_run_killed_in_the_middle_of_its_saves_leaves_its_latest_checkpoint_whole(
    style: str, tmp_path: Path
) -> None:
    process = start_saving_run(style, tmp_path, "--save-every", "1", "--keep", "2")
    try:
        wait_for_saves(process, tmp_path, 20)
        # anywhere in the save loop, the same place on every run (seeded by the style)
        time.sleep(random.Random(f"kill {style}").uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    full = prepare("quadratic", TrainConfig(steps=2_000_000, optimizer="adam"))
    resumption = load_for_resume(
        str(tmp_path), full, checkpoint_reader(style)
    )  # reads every tensor, CRC-checked
    assert resumption.state.step >= 20
    assert resumption.prefix == checkpoint_paths(tmp_path)[-1]


@pytest.mark.slow
def test_ctrl_c_saves_the_last_step_prints_the_resume_command_and_exits_130(
    tmp_path: Path,
) -> None:
    process = start_saving_run("graph", tmp_path, "--save-every", "500", "--strict")
    try:
        wait_for_saves(process, tmp_path, 500)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    first, command = stderr.strip().splitlines()
    match = re.fullmatch(
        r"interrupted: step (\d+) of 2000000 done and saved to (.+); resume with:", first
    )
    assert match, stderr
    step, path = int(match.group(1)), match.group(2)
    assert path == str(tmp_path / f"model.ckpt-{step}") == checkpoint_paths(tmp_path)[-1]
    words = shlex.split(command)
    assert words[:5] == ["python", "-m", "graphmode", "train", "quadratic"]
    assert words[-2:] == ["--resume-from", str(tmp_path)]
    options = [word for word in words[5:-2] if word != "--strict"]
    assert "--strict" in words
    assert dict(zip(options[::2], options[1::2], strict=True)) == {
        "--steps": "2000000",
        "--optimizer": "adam",
        "--log-every": "0",
        "--save-to": str(tmp_path),
        "--save-every": "500",
    }
    # The command resumes exactly (run here with fewer steps to keep the test short).
    arguments = shlex.split(command)[3:]
    arguments[arguments.index("--steps") + 1] = str(step + 5)
    resumed = CliRunner().invoke(graphmode, [*arguments, "--json"])
    assert resumed.exit_code == 0, resumed.output
    whole = cli_params(graphmode, "--steps", str(step + 5))
    assert json.loads(resumed.stdout.splitlines()[-1])["params"] == whole["params"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5-step adam run of quadratic saved by graph style (copy it before damaging it)."""
    directory = tmp_path_factory.mktemp("saved")
    cli_params(graphmode, "--steps", "5", "--save-to", str(directory))
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def damaged(saved: Path, tmp_path: Path, how: str) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    data = copy / "model.ckpt-5.data-00000-of-00001"
    if how == "truncated":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif how == "corrupted":
        raw = bytearray(data.read_bytes())
        raw[10] ^= 0xFF
        data.write_bytes(bytes(raw))
    elif how == "index deleted":
        (copy / "model.ckpt-5.index").unlink()
    return copy


def refused(cli, arguments: list[str], code: int, *pieces: str) -> None:
    """One line on standard error, naming the problem; the exit status; no traceback."""
    done = CliRunner().invoke(cli, arguments)
    assert done.exit_code == code, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    for piece in pieces:
        assert piece in lines[0], lines[0]
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "cannot be read: Read less bytes than requested"),
        ("corrupted", "cannot be read: TensorBundle at"),
        ("index deleted", "is missing its index file"),
    ],
)
def test_a_damaged_checkpoint_is_refused_in_one_line_with_exit_1_and_nothing_written(
    saved: Path, tmp_path: Path, how: str, message: str
) -> None:
    source = damaged(saved, tmp_path, how)
    before = snapshot(source)
    output = tmp_path / "out.json"
    refused(
        eagermode,
        [
            *("train", "quadratic", "--optimizer", "adam", "--steps", "9"),
            *("--resume-from", str(source), "--save-to", str(source), "--output", str(output)),
        ],
        1,
        message,
    )
    assert snapshot(source) == before and not output.exists()


@pytest.mark.parametrize("resumer", ["graph", "eager"])
@pytest.mark.parametrize(
    ("arguments", "pieces"),
    [
        (["house", "--optimizer", "adam"], ["model 'quadratic', not 'house'", "w is float32 [1]"]),
        (
            ["quadratic", "--optimizer", "momentum"],
            ["optimizer adam, not momentum", "missing w/momentum, b/momentum", "w/m"],
        ),
        (["quadratic", "--optimizer", "adam", "--beta1", "0.8"], ["beta1 0.9 vs 0.8 (--beta1)"]),
        (["quadratic", "--optimizer", "adam", "--seed", "4"], ["seed 100 vs 4 (pass --seed 100)"]),
        (
            ["quadratic", "--optimizer", "adam", "--batch-size", "10"],
            ["batch_size None vs 10"],
        ),
        (
            ["quadratic", "--optimizer", "adam", "--lr-decay-rate", "0.5", "--lr-decay-steps", "2"],
            ["decay None vs"],
        ),
    ],
    ids=["model", "optimizer", "hyperparameter", "seed", "batch-size", "decay"],
)
def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(
    saved: Path, arguments: list[str], pieces: list[str], resumer: str
) -> None:
    before = snapshot(saved)
    resume = ["train", *arguments, "--steps", "9", "--resume-from", str(saved)]
    refused(CLIS[resumer], resume, 1, *pieces)
    assert snapshot(saved) == before


def test_another_shape_is_refused_with_both_shapes(tmp_path: Path) -> None:
    for columns, name in ((2, "two.csv"), (3, "three.csv")):
        rows = ["a,b,c,y"[: 2 * columns + 1] + "\n"] + [
            ",".join(str(i + j) for j in range(columns + 1)) + "\n" for i in range(8)
        ]
        (tmp_path / name).write_text("".join(rows))
    directory = tmp_path / "saved"
    base = ["train", "linear", "--optimizer", "adam", "--steps"]
    done = CliRunner().invoke(
        eagermode, [*base, "3", "--data", str(tmp_path / "two.csv"), "--save-to", str(directory)]
    )
    assert done.exit_code == 0, done.output
    refused(
        graphmode,
        [*base, "6", "--data", str(tmp_path / "three.csv"), "--resume-from", str(directory)],
        1,
        "w is float32 [2, 1] where this run has float32 [3, 1]",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--steps", "5", "--resume-from", "{saved}"],
            "--steps 5 is not beyond the checkpoint's step 5",
        ),
        (["--resume-from", "{tmp}/nothing"], "no such checkpoint or directory"),
        (["--resume-from", "{tmp}"], "the directory holds no checkpoint"),
        (["--save-to", "{saved}"], "already holds checkpoints (latest step 5)"),
        (["--save-to", "{tmp}/file/sub"], "is not a directory"),
        (["--save-to", "{tmp}/file"], "exists and is not a directory"),
        (["--save-every", "3"], "--save-every needs --save-to DIR"),
        (["--keep", "3"], "--keep needs --save-to DIR"),
    ],
    ids=["steps", "missing", "empty-dir", "overwrite", "under-a-file", "a-file", "every", "keep"],
)
def test_a_bad_checkpoint_option_exits_2_before_training(
    saved: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    (tmp_path / "file").write_text("not a directory")
    arguments = [a.format(saved=saved, tmp=tmp_path) for a in arguments]
    before = snapshot(saved)
    base = ["train", "quadratic", "--optimizer", "adam", "--steps", "9"]
    refused(tfbridge, [*base, *arguments], 2, message)
    assert snapshot(saved) == before and (tmp_path / "file").read_text() == "not a directory"


@pytest.mark.parametrize(
    ("saver", "to", "resumer"), [("graph", "tf2", "eager"), ("function", "tf1", "graph")]
)
def test_convert_checkpoint_prints_the_table_and_the_converted_checkpoint_resumes_exactly(
    saver: str, to: str, resumer: str, tmp_path: Path
) -> None:
    source, converted = tmp_path / "source", tmp_path / "converted"
    cli_params(CLIS[saver], "--steps", "20", "--save-to", str(source))
    done = CliRunner().invoke(
        tfbridge, ["convert-checkpoint", str(source), str(converted), "--to", to]
    )
    assert done.exit_code == 0, done.output
    table = done.stdout.splitlines()
    if to == "tf2":
        assert table[0] == (
            f"{source}/model.ckpt-20 (TF1 Saver checkpoint) -> "
            f"{converted}/ckpt-20 (TF2 tf.train.Checkpoint):"
        )
        assert "w/Adam -> optimizer/m/w [1] float32" in [" ".join(row.split()) for row in table]
        assert "derived from global_step: the steps done" in done.stdout
        keys = {name for name, _ in tf.train.list_variables(str(converted))}
        assert "optimizer/v/b/.ATTRIBUTES/VARIABLE_VALUE" in keys
    else:
        assert any(row.split()[2:4] == ["w/Adam_1", "[1]"] for row in table)
        assert {name for name, _ in tf.train.list_variables(str(converted))} >= {
            "w/Adam", "w/Adam_1", "beta1_power", "beta2_power", "global_step",
        }  # fmt: skip
    resumed = cli_params(CLIS[resumer], "--steps", "40", "--resume-from", str(converted))
    whole = cli_params(CLIS[resumer], "--steps", "40")
    assert resumed["params"] == whole["params"] and resumed["slots"] == whole["slots"]


def test_convert_checkpoint_refuses_a_lossy_conversion_with_the_reason(tmp_path: Path) -> None:
    # Keras's own SGD momentum (--defaults each) keeps -lr x TF1's accumulator, rounded.
    source = tmp_path / "keras"
    done = CliRunner().invoke(
        eagermode,
        [
            *("train", "quadratic", "--optimizer", "momentum", "--defaults", "each"),
            *("--steps", "3", "--save-to", str(source), "--json"),
        ],
    )
    assert done.exit_code == 0, done.output
    destination = tmp_path / "tf1"
    refused(
        tfbridge,
        ["convert-checkpoint", str(source), str(destination), "--to", "tf1"],
        1,
        "is Keras SGD's momentum, -lr x TF1's accumulator",
        "refusing a lossy conversion",
    )
    assert not destination.exists()
    # One of our TF1 checkpoints with a variable of no parameter or slot added: converting
    # would drop it.
    ours, foreign = tmp_path / "ours", tmp_path / "foreign"
    cli_params(graphmode, "--steps", "3", "--save-to", str(ours))
    tensors = read_tensors(checkpoint_paths(ours)[-1])
    write_tensors({**tensors, "extra/kernel": np.ones(2, np.float32)}, str(foreign), 3)
    refused(
        tfbridge,
        ["convert-checkpoint", str(foreign), str(destination), "--to", "tf2"],
        1,
        "belong to no parameter or slot of the model, which the conversion would drop: "
        "extra/kernel",
    )
    assert not destination.exists()
    refused(tfbridge, ["convert-checkpoint", str(foreign), str(source), "--to", "tf2"], 2, "DEST")


def test_every_test_the_checkpoint_reference_names_exists() -> None:
    """docs/migration-checkpoints.md names a test on every row (a bare `[id]` repeats the
    resumption matrix): each must be defined, with that parameter id (in the matrix, the
    optimizer case, which runs for every saver->resumer pair: `-k adam-decay`)."""
    page = (ROOT / "docs" / "migration-checkpoints.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| ")][1:]  # after the header
    assert len(rows) >= 8 and all("`tests/" in row or "`[" in row for row in rows)
    source = Path(__file__).read_text(encoding="utf-8")
    for name in re.findall(r"tests/test_checkpoints\.py::(\w+)", page):
        assert f"def {name}(" in source, name
    matrix_ids = {f"{o}-{'decay' if d else 'const'}" for o, d in CASES}
    for test_id in re.findall(r"`(?:tests/test_checkpoints\.py::\w+)?\[([\w-]+)\]`", page):
        assert test_id in matrix_ids | {"graph-eager", "graph-tf2-eager"}, test_id
