"""The three command lines: output, exact JSON, exit status, and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bridge.cli import main as tfbridge
from eagermode.cli import main as eagermode
from graphmode.cli import main as graphmode

CLIS = {"graph": graphmode, "eager": eagermode, "function": tfbridge}


def invoke(cli, *args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_names_every_model_one_line_each() -> None:
    result = invoke(graphmode, "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [
        "house",
        "house-multi",
        "noisy-line",
        "quadratic",
        "linear",
    ]


def test_train_json_has_the_documented_keys_and_exact_float32s(style: str) -> None:
    result = invoke(CLIS[style], "train", "quadratic", "--steps", "5", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert set(record) == {
        "model",
        "mode",
        "steps",
        "losses",
        "final_loss",
        "params",
        "slots",
        "seconds",
    }
    assert record["mode"] == style and record["model"] == "quadratic" and record["steps"] == 5
    assert len(record["losses"]) == 5
    assert record["losses"][0] == 10.0061245  # the shortest text that reads back to the float32
    from bridge.styles import runner
    from tfmigration.catalog import TrainConfig, prepare

    trajectory = runner(style)(prepare("quadratic", TrainConfig(steps=5)))
    read_back = np.array(record["losses"], dtype=np.float32)
    np.testing.assert_array_equal(read_back, trajectory.losses)
    assert np.float32(record["final_loss"]) == trajectory.final_loss
    assert np.array(record["params"]["w"], dtype=np.float32).shape == (1,)
    np.testing.assert_array_equal(
        np.array(record["params"]["w"], dtype=np.float32), trajectory.final_params["w"]
    )


def test_train_prints_the_tutorial_log_lines() -> None:
    result = invoke(graphmode, "train", "house", "--steps", "21", "--log-every", "10")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("house: 21 steps, lr 0.0001, gd, half-mean squared error")
    assert [line.split()[1] for line in lines if line.startswith("step")] == ["0", "10", "20"]
    assert lines[1].split()[:4] == ["step", "0", "loss", "4749.3623"]
    assert "w -0.013377065" in lines[1]
    assert lines[-2].startswith("final  loss")
    assert lines[-1].startswith("21 steps in")


def test_a_one_step_run_says_step_not_steps() -> None:
    lines = invoke(graphmode, "train", "house", "--steps", "1").output.splitlines()
    assert lines[0].startswith("house: 1 step, lr")
    assert lines[-1].startswith("1 step in ")


def test_init_and_data_options_reach_the_run(tmp_path: Path) -> None:
    data = tmp_path / "line.csv"
    data.write_text("x,y\n0,1\n1,3\n2,5\n3,7\n", encoding="utf-8")
    result = invoke(
        eagermode,
        "train",
        "linear",
        "--data",
        str(data),
        "--init",
        "w=2",
        "--init",
        "b=1",
        "--steps",
        "3",
        "--json",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["losses"] == [0.0, 0.0, 0.0]  # y = 2x + 1 exactly: already at the minimum
    assert record["params"] == {"w": [[2.0]], "b": [1.0]}


def test_output_file_holds_the_same_json_as_stdout(tmp_path: Path) -> None:
    output = tmp_path / "run.json"
    result = invoke(graphmode, "train", "house", "--steps", "3", "--json", "--output", str(output))
    assert result.exit_code == 0
    assert json.loads(output.read_text()) == json.loads(result.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "nope"], "'nope' is not one of 'house', 'house-multi', 'noisy-line'"),
        (["train", "house", "--init", "v=1"], "has no parameter 'v'; its parameters are: w, b"),
        (["train", "house", "--init", "w"], "is not of the form NAME=V[,V...]"),
        (["train", "house", "--init", "w=1", "--init", "w=2"], "'w' is given twice"),
        (["train", "house-multi", "--init", "W=1,2"], "has shape [3, 1] and takes 1 or 3"),
        (
            ["train", "house", "--init", "w=0.5,1"],
            "parameter 'w' has shape [] and takes 1 value; got 2",
        ),
        (["train", "house", "--lr", "0"], "'--lr': 0.0 is not in the range x>0"),
        (["train", "house", "--lr", "-1"], "is not in the range x>0"),
        (["train", "house", "--steps", "0"], "'--steps': 0 is not in the range 1<=x<=2147483647"),
        (["train", "house", "--steps", str(2**31)], "is not in the range 1<=x<=2147483647"),
        (["train", "house", "--seed", str(2**32)], "is not in the range 0<=x<=4294967295"),
        (["train", "house", "--batch-size", "0"], "'--batch-size': 0 is not in the range x>=1"),
        (["train", "house", "--batch-size", "17"], "--batch-size 17 is larger than the data"),
        (["train", "house", "--loss", "max"], "'max' is not one of 'mean', 'half-mean'"),
        (["train", "linear"], "trains on your own data: pass --data PATH"),
        (["train", "linear", "--data", "/no/such.csv"], "does not exist or is not a file"),
        (["compare"], "name one or more models or demos, or pass --all"),
    ],
)
def test_usage_errors_are_one_line_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    output = tmp_path / "out.json"
    result = CliRunner().invoke(tfbridge, [*args, "--output", str(output)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_missing_directory_is_a_usage_error_before_training(tmp_path: Path) -> None:
    output = tmp_path / "missing" / "out.json"
    result = CliRunner().invoke(
        graphmode, ["train", "house", "--steps", "2", "--output", str(output)]
    )
    assert result.exit_code == 2, result.output
    assert "directory" in result.output and "does not exist" in result.output
    assert "step" not in result.output  # refused before training, not after
    assert list(tmp_path.iterdir()) == []


def test_an_empty_output_name_is_a_usage_error_before_training() -> None:
    result = CliRunner().invoke(graphmode, ["train", "house", "--steps", "2", "--output", ""])
    assert result.exit_code == 2 and "Error: Invalid value for '--output': empty" in result.output


def test_an_output_file_that_cannot_be_written_is_one_line_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tfmigration.cli.commands

    def refuse(path: object, text: str) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(tfmigration.cli.commands, "write_atomically", refuse)
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        graphmode, ["train", "house", "--steps", "2", "--output", str(output)]
    )
    assert result.exit_code == 1
    assert (
        result.output.splitlines()[-1]
        == f"Error: cannot write --output {output}: Permission denied"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("x,y\n1,2\n3\n", "line 3 has 1 cells; the header has 2"),
        ("x,y\n1,oops\n", "line 2, column 'y': 'oops' is not a number"),
        ("x,y\n1,nan\n", "line 2, column 'y': 'nan' is not finite"),
        ("x\n1\n", "expected at least two"),
    ],
)
def test_bad_csv_is_one_line_exit_1_and_writes_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    data = tmp_path / "data.csv"
    data.write_text(text, encoding="utf-8")
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        graphmode, ["train", "linear", "--data", str(data), "--json", "--output", str(output)]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and message in result.output
    assert result.output.startswith("Error: ")
    assert not output.exists()
    assert data.read_text(encoding="utf-8") == text  # the input is untouched


def test_divergence_is_one_line_exit_1_with_no_partial_json(tmp_path: Path, style: str) -> None:
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        CLIS[style], ["train", "house", "--lr", "0.01", "--json", "--output", str(output)]
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: the loss became inf at step 9; training stopped there. "
        "Try a smaller learning rate than --lr 0.01\n"
    )
    assert not output.exists()


def test_compare_json_records_and_exit_status(tmp_path: Path) -> None:
    output = tmp_path / "compare.json"
    result = CliRunner().invoke(
        tfbridge,
        [
            "compare",
            "house",
            "quadratic",
            "--steps",
            "20",
            "--strict",
            "--json",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["model"], r["mode"]) for r in records] == [
        (model, mode) for model in ("house", "quadratic") for mode in ("graph", "eager", "function")
    ]
    for record in records:
        assert {
            "model",
            "mode",
            "final_loss",
            "params",
            "max_loss_ulps",
            "max_param_ulps",
            "first_divergent_step",
            "oracle_rel_error",
            "verdict",
        } <= set(record)
        assert record["verdict"] == "identical"
        assert record["max_loss_ulps"] == 0 and record["first_divergent_step"] is None
    assert json.loads(output.read_text()) == records


def test_compare_table_names_each_style_and_the_verdict() -> None:
    result = invoke(tfbridge, "compare", "house", "--steps", "5")
    assert result.exit_code == 0
    assert "eager and tf.function against graph (the TF1 original), default" in result.output
    for word in ("graph", "eager", "function", "loss ULPs", "oracle rel err"):
        assert word in result.output
    assert result.output.splitlines()[-1] == "verdicts: house identical"


@pytest.mark.slow
def test_compare_exits_1_when_a_model_is_different() -> None:
    # With Grappler on, tf.function's final loss evaluation of the full quadratic run is
    # rewritten and lands a few ULPs from graph's; a zero tolerance must call that different.
    result = invoke(tfbridge, "compare", "quadratic", "--tolerance-ulps", "0")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "verdicts: quadratic different"
    assert (
        invoke(tfbridge, "compare", "quadratic", "--tolerance-ulps", "0", "--strict").exit_code == 0
    )


@pytest.mark.parametrize("package", ["graphmode", "eagermode", "bridge"])
def test_help_and_list_do_not_import_tensorflow(package: str) -> None:
    probe = (
        f"import sys; from {package}.cli import main\n"
        "for args in (['--help'], ['list'], ['train', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('tensorflow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert done.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("package", ["graphmode", "eagermode", "bridge"])
def test_python_dash_m_runs_each_cli(package: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", package, "list"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("house ")


@pytest.mark.slow
@pytest.mark.parametrize("package", ["graphmode", "bridge"])
def test_a_run_prints_no_tensorflow_noise(package: str) -> None:
    # TF's start-up logs (oneDNN, CUDA) and its Python warnings about its own code (TF1's
    # Adagrad builds its slot with a deprecated initializer) stay off the user's terminal.
    command = ["train", "house", "--optimizer", "adagrad", "--steps", "2"]
    done = subprocess.run(
        [sys.executable, "-m", package, *command],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""
    assert done.stdout.startswith("house: 2 steps")
