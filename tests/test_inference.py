"""`tfbridge check FILE --inference SRC`: a trained TF1 model's outputs against the port's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from bridge.cli import main as tfbridge
from bridge.inference import check_inference
from tests.test_keras_files import EXAMPLE, example, tf1_logits, tf1_saved_model
from tfmigration.measure.ulp import max_ulp_distance

TEXT = EXAMPLE.read_text()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    work = tmp_path_factory.mktemp("trained")
    prefix, frozen = example().train_and_save(work)
    return prefix, frozen, tf1_saved_model(prefix, work / "saved_model")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(tfbridge, ["check", *args])


def refused(result: Result, expected: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(("Error:", "internal"))]
    assert lines == [expected], result.output
    assert "Traceback" not in result.output


def variant(tmp_path: Path, old: str, new: str, name: str = "port.py") -> Path:
    assert TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(TEXT.replace(old, new))
    return path


@pytest.mark.parametrize("source", [0, 1, 2], ids=["saver", "frozen", "saved_model"])
def test_the_trained_cnn_predicts_as_tf1_from_every_source(trained: tuple, source: int) -> None:
    result = invoke(str(EXAMPLE), "--inference", str(trained[source]), "--strict", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [record["mode"] for record in records] == ["eager", "serving"]
    for record in records:
        assert record["verdict"] in ("identical", "equivalent")
        assert record["tf1_output"] == "logits:0"
        assert record["port_output"] == "tf2_predict()"
        assert record["batch_size"] == 60  # the file's BATCH_SIZE
        assert record["batch_rows"] == [60, 60, 60, 60]
        assert len(record["batch_ulps"]) == 4
        assert record["max_ulps"] == max(record["batch_ulps"])
    # Measured, not assumed: the port's logits are TF1's, computed here from the Saver file.
    features, _ = example().data()
    report = check_inference(EXAMPLE, trained[source], strict=True)
    assert report.results[0].max_ulps == max_ulp_distance(
        tf1_logits(trained[0], features[:60]), _port_logits(trained[0], features[:60])
    )


def _port_logits(prefix: str, features: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    model = example().build_model()
    saved = tf.train.load_checkpoint(prefix)
    for layer in ("conv1", "fc"):
        model.get_layer(layer).kernel.assign(saved.get_tensor(f"{layer}/kernel"))
        model.get_layer(layer).bias.assign(saved.get_tensor(f"{layer}/bias"))
    return model(features, training=False).numpy()


def test_the_text_report_leads_with_the_verdict(trained: tuple) -> None:
    result = invoke(str(EXAMPLE), "--inference", trained[0], "--strict", "--batch-size", "100")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "variables, TF1 -> TF2 (4 mapped), strict (Grappler off):"
    verdict = next(line for line in lines if line.startswith("trained_cnn: "))
    assert verdict.startswith(("trained_cnn: identical (", "trained_cnn: equivalent ("))
    assert (
        f"logits:0 (TF1, from the TF1 Saver checkpoint {trained[0]}) against tf2_predict() (the "
        "port, TF1's values through the pairing), 240 rows in 3 batches:"
    ) in lines
    assert lines[-3].split() == ["style", "max", "ULPs", "normwise", "relative", "verdict"]
    assert [line.split()[0] for line in lines[-2:]] == ["eager", "serving"]


def test_a_port_that_predicts_otherwise_is_different(trained: tuple, tmp_path: Path) -> None:
    path = variant(tmp_path, 'activation="relu", name="conv1"', 'activation="elu", name="conv1"')
    result = invoke(str(path), "--inference", trained[0], "--json")
    assert result.exit_code == 1, result.output
    records = json.loads(result.stdout)
    assert [record["style_verdict"] for record in records] == ["different", "different"]
    first = records[0]["first_difference"]
    assert first["batch"] == 0 and first["ulps"] > 64
    # check's first-differing-layer report, on the first batch beyond the tolerance.
    named = (
        "the first layer that differs fed TF1's own input is cnn/conv1 (Conv2D, TF1's conv1/Relu:0)"
    )
    setting = "activation elu in the port's cnn/conv1, TF1 applies relu (conv1/Relu)"
    for record in records:
        layer = record["layer"]
        assert layer["batch"] == 0 and layer["layer"] == "cnn/conv1"
        assert layer["message"].startswith(named + ": ") and layer["message"].endswith(setting)
        # (The Flatten is unnamed: Keras numbers it by how many were built in the process.)
        assert [(entry["layer"], entry["kind"]) for entry in layer["layers"]][::2] == [
            ("cnn/conv1", "Conv2D"),
            ("cnn/fc", "Dense"),
        ]
        assert layer["layers"][1]["kind"] == "Flatten"
    text = invoke(str(path), "--inference", trained[0])
    assert text.exit_code == 1, text.output
    lines = text.stdout.splitlines()
    layer_line = next(line for line in lines if line.startswith("  layers, batch "))
    assert layer_line.startswith(f"  layers, batch 0: {named}: "), layer_line
    assert layer_line.endswith(setting), layer_line
    assert [line.split()[:3] for line in lines if line.endswith("<- first that differs")] == [
        ["cnn/conv1", "->", "conv1/Relu:0"]
    ]


def test_a_port_that_predicts_as_tf1_reports_no_layer(trained: tuple) -> None:
    result = invoke(str(EXAMPLE), "--inference", trained[0], "--strict", "--json")
    assert result.exit_code == 0, result.output
    assert [record["layer"] for record in json.loads(result.stdout)] == [None, None]
    text = invoke(str(EXAMPLE), "--inference", trained[0], "--strict")
    assert not [line for line in text.stdout.splitlines() if line.startswith("  layers")]


def test_the_loss_is_compared_through_tf2_loss_without_tf2_predict(
    trained: tuple, tmp_path: Path
) -> None:
    path = variant(
        tmp_path,
        'TF1_OUTPUT = "logits:0"\n',
        "",
    )
    text = path.read_text().replace("def tf2_predict(", "def _unused_predict(")
    text += (
        "\n\ndef tf2_loss(state, features, labels):\n"
        "    model, _ = state\n"
        "    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(\n"
        "        labels=labels, logits=model(features, training=False)))\n"
    )
    path.write_text(text)
    result = invoke(str(path), "--inference", trained[0], "--strict", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert records[0]["port_output"] == "tf2_loss()"
    assert records[0]["tf1_output"].startswith("Mean")  # the TF1 loss tensor's own name
    assert [len(record["batch_ulps"]) for record in records] == [4, 4]


NEEDS = (
    "define TF1_OUTPUT = '<a tensor of the TF1 graph, e.g. logits:0>' and tf2_predict(state, "
    "features) -> the port's tensor for it; or tf2_loss(state, features, labels) to compare "
    "the loss"
)


def test_a_file_without_the_output_contract_is_refused(trained: tuple, tmp_path: Path) -> None:
    neither = variant(tmp_path, 'TF1_OUTPUT = "logits:0"\n', "", name="neither.py")
    neither.write_text(neither.read_text().replace("def tf2_predict(", "def predict("))
    refused(
        invoke(str(neither), "--inference", trained[0]),
        f"Error: {neither}: --inference needs the outputs named on both sides: {NEEDS}",
    )
    half = variant(tmp_path, 'TF1_OUTPUT = "logits:0"\n', "", name="half.py")
    refused(
        invoke(str(half), "--inference", trained[0]),
        f"Error: {half}: --inference: tf2_predict() is defined but TF1_OUTPUT is not; {NEEDS}",
    )
    wrong = variant(tmp_path, '"logits:0"', '"logit:0"', name="wrong.py")
    result = invoke(str(wrong), "--inference", trained[0])
    assert result.exit_code == 2, result.output
    assert f"Error: {wrong}: TF1_OUTPUT = 'logit:0' names no tensor of the TF1 graph" in (
        result.stderr
    )


def test_training_options_are_refused_with_inference(trained: tuple) -> None:
    refused(
        invoke(str(EXAMPLE), "--inference", trained[0], "--steps", "3", "--replicas", "2"),
        "Error: --inference trains nothing, so it takes no --steps, --replicas; it takes "
        "--batch-size, --strict, --tolerance-ulps, --json and --output",
    )


def test_a_source_of_another_model_is_refused(trained: tuple, tmp_path: Path) -> None:
    # The same network with its first scope renamed: the Saver file's names are not its own.
    other = variant(tmp_path, 'variable_scope("conv1")', 'variable_scope("first")')
    refused(
        invoke(str(other), "--inference", trained[0]),
        f"Error: --inference {trained[0]} is not a TF1 Saver checkpoint of this model: lacks "
        "first/kernel, first/bias; holds conv1/bias, conv1/bias/Adam, conv1/bias/Adam_1, "
        "conv1/kernel, conv1/kernel/Adam, conv1/kernel/Adam_1, which this model does not have",
        1,
    )
