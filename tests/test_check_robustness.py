"""Issue 17: `tfbridge check` never passes by accident and never crashes into a verdict.

A crash of ours is exit 3, Ctrl-C is 130, a file that exits or prints, turns eager execution
off or tf.functions eager, or names its settings badly is one line naming the file (exit 2),
and nothing is written when there is no verdict. Each bad file is the small good one with one
thing changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import tensorflow as tf
from click.testing import CliRunner, Result

import bridge.check
import bridge.checking.ports
import bridge.convert
import bridge.record
from bridge.cli import main as tfbridge
from tfmigration.catalog.errors import INTERNAL_ERROR_EXIT, INTERRUPTED_EXIT
from tfmigration.catalog.problem import MAX_SEED
from tfmigration.migration.contract import _undo_graph_mode

WORKTREE = Path(__file__).resolve().parent.parent

GOOD = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 2


    def data():
        x = np.linspace(-1.0, 1.0, 40, dtype=np.float32).reshape(40, 1)
        return x, (3.0 * x + 1.0).astype(np.float32)


    def tf1_train(features, labels):
        w = tf.compat.v1.get_variable("line/w", [1, 1])
        b = tf.compat.v1.get_variable("line/b", [1], initializer=tf.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(features, w) + b - labels))
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


    class Line(tf.Module):
        def __init__(self):
            super().__init__(name="line")
            self.w = tf.Variable(tf.zeros([1, 1]))
            self.b = tf.Variable(tf.zeros([1]))


    def tf2_setup():
        return Line(), keras.optimizers.SGD(0.1)


    def tf2_train_step(state, features, labels):
        line, optimizer = state
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(features, line.w) + line.b - labels))
        variables = [line.w, line.b]
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss
    """
)
STEP_BODY = "    line, optimizer = state\n"
DATA_BODY = "    x = np.linspace("


def write(tmp_path: Path, text: str, name: str = "port.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def changed(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, [*args])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(("Error:", "internal"))]


def check(tmp_path: Path, text: str, *args: str) -> tuple[Result, Path, Path]:
    """`check` of `text` with --output; the result, the file and the --output path."""
    path = write(tmp_path, text)
    output = tmp_path / "out.json"
    return invoke("check", str(path), "--output", str(output), *args), path, output


def refused(result: Result, expected: str, code: int = 2) -> None:
    """Exit `code` with exactly one error line, `expected`, and no traceback."""
    assert result.exit_code == code, result.output
    assert error_lines(result) == [expected], result.output
    assert "Traceback" not in result.output


# --- 1. a crash of ours is never a verdict ------------------------------------------------------


def boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug of ours\nsecond line")


# `measure` runs on the worker thread beside the lockstep: a bug there still reaches the
# command as our crash, before any port takes another step.
@pytest.mark.parametrize("method", ["advance", "measure"])
def test_an_internal_error_in_check_is_exit_3_naming_what_was_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setattr(bridge.checking.ports.PortRun, method, boom)
    result, path, output = check(tmp_path, GOOD)
    refused(
        result,
        f"internal error while checking {path} (graph, eager and function in lockstep): "
        "RuntimeError: a bug of ours ... "
        "-- a bug in tf-migration-bridge, not in your input; please report it with the command "
        "that caused it (TFBRIDGE_DEBUG=1 prints the traceback)",
        INTERNAL_ERROR_EXIT,
    )
    assert not output.exists()


def test_an_internal_error_after_the_check_names_reporting_not_the_last_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tfmigration.measure.migration_report

    monkeypatch.setattr(tfmigration.measure.migration_report.CheckReport, "records", boom)
    result, path, output = check(tmp_path, GOOD)
    refused(
        result,
        f"internal error while reporting on {path}: RuntimeError: a bug of ours ... "
        "-- a bug in tf-migration-bridge, not in your input; please report it with the command "
        "that caused it (TFBRIDGE_DEBUG=1 prints the traceback)",
        INTERNAL_ERROR_EXIT,
    )
    assert not output.exists()


def test_a_port_that_writes_a_nan_is_named_by_style_variable_and_step_exit_1(
    tmp_path: Path,
) -> None:
    """A port whose loss stays finite but whose step leaves a NaN in a variable: found by the
    measuring thread, raised as one line naming the style, TF1's variable and the step."""
    text = changed(
        "    return loss\n",
        "    line.b.assign(tf.fill([1], float('nan')))\n    return loss\n",
    )
    result, _, output = check(tmp_path, text)
    assert result.exit_code == 1, result.output
    assert error_lines(result) == [
        "Error: eager style: variable line/b holds a NaN or infinity after step 0"
    ]
    assert not output.exists()


def test_the_traceback_of_an_internal_error_is_printed_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bridge.check, "check_migration", boom)
    monkeypatch.setenv("TFBRIDGE_DEBUG", "1")
    result, path, _ = check(tmp_path, GOOD)
    assert result.exit_code == INTERNAL_ERROR_EXIT
    assert "Traceback" in result.stderr and f"internal error while checking {path}:" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("module", "name", "arguments", "activity"),
    [
        (
            bridge.record,
            "record_migration",
            ["record", "{file}", "--output", "{tmp}/rec"],
            "recording {file}",
        ),
        (
            bridge.convert,
            "convert_checkpoint",
            ["convert-checkpoint", "{tmp}/src", "{tmp}/dest", "--to", "tf2"],
            "converting {tmp}/src to tf2",
        ),
    ],
    ids=["record", "convert-checkpoint"],
)
def test_an_internal_error_elsewhere_is_exit_3_too(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    module: object,
    name: str,
    arguments: list[str],
    activity: str,
) -> None:
    monkeypatch.setattr(module, name, boom)
    file = write(tmp_path, GOOD)
    fill = {"file": str(file), "tmp": str(tmp_path)}
    result = invoke(*(argument.format(**fill) for argument in arguments))
    refused(
        result,
        f"internal error while {activity.format(**fill)}: RuntimeError: a bug of ours ... -- a "
        "bug in tf-migration-bridge, not in your input; please report it with the command that "
        "caused it (TFBRIDGE_DEBUG=1 prints the traceback)",
        INTERNAL_ERROR_EXIT,
    )
    assert not (tmp_path / "rec").exists() and not (tmp_path / "dest").exists()


# --- 2. Ctrl-C is 130 ---------------------------------------------------------------------------


def test_ctrl_c_in_check_is_130_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result, path, output = check(
        tmp_path, changed(STEP_BODY, "    raise KeyboardInterrupt\n" + STEP_BODY)
    )
    assert result.exit_code == INTERRUPTED_EXIT, result.output
    assert result.stderr.splitlines()[-1] == (
        f"interrupted while checking {path} (graph, eager and function in lockstep): no "
        "verdict, nothing written"
    )
    assert "Traceback" not in result.output
    assert not output.exists()


def test_ctrl_c_in_record_is_130_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, changed(DATA_BODY, "    raise KeyboardInterrupt\n" + DATA_BODY))
    target = tmp_path / "recording"
    result = invoke("record", str(path), "--output", str(target))
    assert result.exit_code == INTERRUPTED_EXIT, result.output
    assert result.stderr.splitlines() == [
        f"interrupted while recording {path}: nothing written to {target}"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["port.py"]


# --- 3. user code that exits --------------------------------------------------------------------


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        cwd=WORKTREE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("call", "shown"),
    [("sys.exit(0)", "sys.exit(0)"), ("os._exit(0)", "os._exit(0)")],
    ids=["sys.exit", "os._exit"],
)
def test_data_that_exits_never_ends_the_check_with_0(tmp_path: Path, call: str, shown: str) -> None:
    text = changed(DATA_BODY, f"    import os, sys\n    {call}\n" + DATA_BODY)
    path = write(tmp_path, text)
    output = tmp_path / "out.json"
    finished = run_process("check", str(path), "--output", str(output))
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.splitlines()[-1] == (
        f"Error: {path}: data() called {shown}; a migration file's functions must return, not exit"
    )
    assert not output.exists()


@pytest.mark.parametrize(
    ("where", "text", "what"),
    [
        ("top level", GOOD + "\nimport sys\nsys.exit(0)\n", "importing the file"),
        (
            "tf2_train_step",
            changed(STEP_BODY, "    import sys\n    sys.exit(0)\n" + STEP_BODY),
            "tf2_train_step()",
        ),
        (
            "tf2_setup",
            changed("    return Line(),", "    raise SystemExit\n    return Line(),"),
            "tf2_setup()",
        ),
    ],
    ids=["top level", "tf2_train_step", "tf2_setup"],
)
def test_user_code_that_exits_anywhere_is_exit_2(
    tmp_path: Path, where: str, text: str, what: str
) -> None:
    result, path, output = check(tmp_path, text)
    call = "sys.exit()" if where == "tf2_setup" else "sys.exit(0)"
    refused(
        result,
        f"Error: {path}: {what} called {call}; a migration file's functions must return, not exit",
    )
    assert not output.exists()


def test_os_exit_is_the_real_one_again_after_the_check(tmp_path: Path) -> None:
    original = os._exit
    result, _, _ = check(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert os._exit is original


# --- 4. --json's standard output is the JSON alone ----------------------------------------------


def test_user_prints_go_to_stderr_so_json_stdout_parses(tmp_path: Path) -> None:
    text = changed(DATA_BODY, '    print("hello from data")\n' + DATA_BODY)
    text = text.replace(STEP_BODY, '    print("hello from the step")\n' + STEP_BODY)
    path = write(tmp_path, text)
    result = invoke("check", str(path), "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [record["mode"] for record in records] == ["graph", "eager", "function"]
    assert "hello from data" in result.stderr and "hello from the step" in result.stderr


# --- 5. eager execution turned off by the file --------------------------------------------------


@pytest.fixture
def eager_restored() -> Iterator[None]:
    yield
    # Should the test fail, the session after it still runs eagerly.
    _undo_graph_mode(Path("test"), "the test")


@pytest.mark.parametrize("call", ["disable_eager_execution", "disable_v2_behavior"])
def test_eager_execution_turned_off_by_the_file_is_turned_back_on_and_said(
    tmp_path: Path, eager_restored: None, call: str
) -> None:
    text = changed(
        "import tensorflow as tf\n", f"import tensorflow as tf\n\ntf.compat.v1.{call}()\n"
    )
    result, _, output = check(tmp_path, text, "--strict")
    assert result.exit_code == 0, result.output
    assert "port: identical" in result.stdout
    assert (
        f"note: importing the file called tf.compat.v1.{call}(); turned back on for the TF2 port "
        "(TF1's graph is built by the checker in a tf.Graph of its own, so the call is not "
        "needed: delete it)"
    ) in result.stdout
    assert tf.executing_eagerly()
    assert {record["verdict"] for record in json.loads(output.read_text())} == {"identical"}


# --- 6. tf.functions run eagerly ----------------------------------------------------------------


@pytest.fixture
def functions_compiled() -> Iterator[None]:
    yield
    tf.config.run_functions_eagerly(False)


def test_run_functions_eagerly_is_refused_for_the_function_style(
    tmp_path: Path, functions_compiled: None
) -> None:
    text = changed(
        "import tensorflow as tf\n",
        "import tensorflow as tf\n\ntf.config.run_functions_eagerly(True)\n",
    )
    result, path, output = check(tmp_path, text)
    refused(
        result,
        f"Error: {path}: tf.config.run_functions_eagerly(True) is on, so the tf.function style "
        "would run eagerly and prove nothing; delete the call (the checker runs the port eagerly "
        "itself, as the eager style)",
    )
    assert not output.exists()


# --- 7. the file's STEPS, BATCH_SIZE and SEED ---------------------------------------------------


def test_seed_0_in_the_file_is_the_default_and_accepted(tmp_path: Path) -> None:
    result, _, output = check(
        tmp_path, GOOD.replace("STEPS = 2", "STEPS = 2\nSEED = 0\nBATCH_SIZE = 8")
    )
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text())[0]["seed"] == 0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "SEED = 2**40",
            f"SEED = 1099511627776 is out of range; use a whole number from 0 to {MAX_SEED}",
        ),
        ("SEED = -1", f"SEED = -1 is out of range; use a whole number from 0 to {MAX_SEED}"),
        ("SEED = 1.5", f"SEED = 1.5 must be a whole number from 0 to {MAX_SEED}"),
        ("BATCH_SIZE = 0", "BATCH_SIZE = 0 is out of range; use a whole number of at least 1"),
        (
            "BATCH_SIZE = 500",
            "BATCH_SIZE = 500 is larger than the data (40 rows); use at most 40, or pass "
            "--batch-size",
        ),
        ("STEPS = '5'", "STEPS = '5' must be a whole number from 1 to 2147483647"),
        (
            "STEPS = 2**40",
            "STEPS = 1099511627776 is out of range; use a whole number from 1 to 2147483647",
        ),
    ],
)
def test_a_bad_setting_in_the_file_is_named_as_the_files_constant(
    tmp_path: Path, settings: str, expected: str
) -> None:
    result, path, output = check(tmp_path, GOOD.replace("STEPS = 2", f"STEPS = 2\n{settings}"))
    refused(result, f"Error: {path}: {expected}")
    assert not output.exists()


def test_an_option_overrides_the_files_bad_setting_and_is_named_as_itself(tmp_path: Path) -> None:
    text = GOOD.replace("STEPS = 2", "STEPS = 2\nBATCH_SIZE = 500")
    result, _, _ = check(tmp_path, text, "--batch-size", "41")
    refused(result, "Error: --batch-size 41 is larger than the data (40 rows); use at most 40")
    result, _, _ = check(tmp_path, text, "--batch-size", "8")
    assert result.exit_code == 0, result.output


# --- 8. messages that mislead -------------------------------------------------------------------


def test_a_raising_step_is_named_tf2_train_step_in_the_eager_style(tmp_path: Path) -> None:
    result, path, _ = check(tmp_path, changed(STEP_BODY, "    1 / 0\n" + STEP_BODY))
    assert result.exit_code == 2
    lines = error_lines(result)
    assert lines == [
        f"Error: {path}: tf2_train_step() raised ZeroDivisionError: division by zero"
    ], result.output


def test_a_step_raising_only_when_traced_is_named_tf2_train_step(tmp_path: Path) -> None:
    text = changed(
        STEP_BODY,
        '    if not tf.executing_eagerly():\n        raise ValueError("traced")\n' + STEP_BODY,
    )
    result, path, _ = check(tmp_path, text)
    assert result.exit_code == 2
    # tf.function's own message ("in user code: ...") follows on the lines below.
    assert error_lines(result) == [
        f"Error: {path}: tf2_train_step() raised ValueError: in user code:"
    ], result.output
    assert "ValueError: traced" in result.stderr and "_run()" not in result.output
    assert "running graph, eager and function in lockstep ..." in result.stderr


def test_variable_map_naming_one_port_variable_twice_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\nVARIABLE_MAP = {"line/w": "line/w", "line/b:0": "line/w"}\n'
    result, path, _ = check(tmp_path, text)
    refused(
        result,
        f"Error: {path}: VARIABLE_MAP maps both 'line/w' and 'line/b:0' to the port's 'line/w'; "
        "each port variable stands for one TF1 variable",
    )


def test_a_contract_name_that_is_not_a_function_says_what_it_is(tmp_path: Path) -> None:
    result, path, _ = check(tmp_path, GOOD + "\ndata = 5\n")
    refused(
        result,
        f"Error: {path}: data is an int, not a function; it must define data(), tf1_train(), "
        "tf2_setup(), tf2_train_step()",
    )


def test_output_onto_a_symbolic_link_is_refused_and_the_link_kept(tmp_path: Path) -> None:
    target = tmp_path / "target.json"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    path = write(tmp_path, GOOD)
    result = invoke("check", str(path), "--output", str(link))
    assert result.exit_code == 2
    assert (
        f"Invalid value for '--output': {link} is a symbolic link; name the file itself"
        in result.stderr
    )
    assert link.is_symlink() and target.read_text() == "keep me"


def tf1_checkpoint_of_another_model(directory: Path) -> str:
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.get_variable("other/v", [2], initializer=tf.zeros_initializer())
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, str(directory / "model.ckpt"), global_step=3)


def test_convert_checkpoint_names_its_src_and_dest(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    prefix = tf1_checkpoint_of_another_model(source)
    path = write(tmp_path, GOOD)
    result = invoke(
        "convert-checkpoint", "--migration", str(path), str(source), str(tmp_path / "d")
    )
    refused(
        result,
        f"Error: SRC {prefix} is not a TF1 Saver checkpoint of this model: lacks line/w, line/b; "
        "holds other/v, which this model does not have",
        1,
    )
    assert not (tmp_path / "d").exists()

    result = invoke("convert-checkpoint", "--to", "tf2", str(source), str(source))
    refused(
        result,
        f"Error: DEST {source} already holds checkpoints (latest step 3) that this conversion "
        "would overwrite: name a new or empty DEST",
    )
    assert "--resume-from" not in result.output
