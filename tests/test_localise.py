"""Where a port parts from TF1, found without TF1_INTERMEDIATES: the first layer that differs at
equal parameters, its TF1 tensor and the setting that differs (bridge/checking/layers.py); the
setting upstream of a pairing error on shapes; the TensorBoard pictures of a check.

tests/localise/ holds copies of tests/zoo/mnist_deep_cnn.py with one wrong layer each; the LSTM
case is the zoo's tf.Module port without BasicLSTMCell's forget bias.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from bridge.cli import main as cli
from bridge.testing import check_migration
from tfmigration.migration.mapping import MappingError

HERE = Path(__file__).resolve().parent
LOCALISE = HERE / "localise"
ZOO = HERE / "zoo"


@pytest.fixture(autouse=True)
def fresh_keras_names() -> None:
    # The files' VARIABLE_MAPs name `sequential/...`, Keras's first auto-named model in a process.
    keras.backend.clear_session()


CASES = [
    pytest.param(
        LOCALISE / "cnn_average_pool.py",
        "functional/pool1",
        "pool1/MaxPool2d:0",
        "pooling kind: TF1's pool1/MaxPool2d is MaxPool, the port's functional/pool1 is "
        "AveragePooling2D",
        id="pooling-kind",
    ),
    pytest.param(
        LOCALISE / "cnn_lost_activation.py",
        "sequential/fc1",
        "fc1/Relu:0",
        "activation linear in the port's sequential/fc1, TF1 applies relu (fc1/Relu) (a lost "
        "activation)",
        id="lost-activation",
    ),
    pytest.param(
        ZOO / "mnist_deep_cnn_naive.py",
        "sequential/dropout",
        "dropout/dropout/SelectV2:0",
        "a keep probability passed as a rate: the port's Dropout(0.75) drops 0.75 of its "
        "inputs, TF1's keep_prob 0.75 drops 0.25; use rate=1 - keep_prob",
        id="dropout-rate",
    ),
    pytest.param(
        ZOO / "lstm_classifier_naive.py",
        "classifier/cell",
        "rnn/basic_lstm_cell/Mul_23:0",
        "TF1's LSTM cell adds forget_bias 1 to the forget gate before its sigmoid "
        "(rnn/basic_lstm_cell/Add): does the port's classifier/cell leave it out?",
        id="lstm-forget-bias",
    ),
    pytest.param(
        LOCALISE / "rnn_cell_activation.py",
        "sequential/rnn",
        "rnn/while/Identity_5:0",
        "activation tanh in the port's sequential/rnn cell, TF1's cell applies relu "
        "(basic_lstm_cell/Relu)",
        id="keras-rnn-of-lstm-cell",
    ),
]


@pytest.mark.parametrize(("path", "layer", "tf1_tensor", "setting"), CASES)
def test_the_first_layer_that_differs_is_named_with_its_setting(
    path: Path, layer: str, tf1_tensor: str, setting: str
) -> None:
    assert "TF1_INTERMEDIATES =" not in path.read_text()
    assert "def tf2_intermediates" not in path.read_text()
    report = check_migration(path, strict=True, styles=("eager",))
    assert report.verdict == "different"
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable == layer
    assert finding.basis == "setting"
    assert finding.message.startswith(
        f"the first layer that differs fed TF1's own input is {layer} ("
    )
    assert finding.message.endswith(f"; {setting}")
    # Every layer before the named one agrees bit for bit; the named one's input agrees too.
    names = [c.layer for c in finding.layers]
    named = finding.layers[names.index(layer)]
    assert [c.ulps for c in finding.layers[: names.index(layer)]] == [0] * names.index(layer)
    assert named.named and named.input_agrees and named.ulps > 0 and named.alone_ulps > 0
    assert sum(c.named for c in finding.layers) == 1

    text = report.explain()
    assert "    layers, port -> TF1:\n" in text
    assert f"  ->  {tf1_tensor}  (" in text and "<- first that differs" in text

    graph_record = report.records()[0]
    [record] = [r for r in graph_record["layers"] if r["named"]]
    assert record["layer"] == layer and record["direction"] == "forward"
    assert record["tf1_tensor"] == tf1_tensor
    assert record["ulps"] == named.ulps and record["alone_ulps"] == named.alone_ulps
    assert record["input_agrees"] is True
    assert record["setting"] == setting
    assert record["step"] == finding.step
    assert record["seconds"] > 0
    assert len(graph_record["layers"]) == len(finding.layers)
    json.dumps(graph_record)  # JSON-ready: the difference arrays stay out


def test_a_bidirectional_in_a_subclassed_model_is_named_where_it_reads_another_step() -> None:
    # TF1 reads outputs[:, -1] (the backward cell after one row), Keras's Bidirectional the
    # backward cell's final state: the layer differs fed TF1's own rows, no setting explains it.
    report = check_migration(
        LOCALISE / "bidirectional_last_step.py", strict=True, styles=("eager",)
    )
    assert report.verdict == "different"
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable == "classifier/encoder"
    assert finding.basis == "arithmetic" and finding.relative > 1e-3
    assert finding.message == (
        "the first layer that differs fed TF1's own input is classifier/encoder (Bidirectional, "
        f"TF1's strided_slice:0): {finding.ulps} ULPs (normwise) from TF1's"
    )
    assert [(c.layer, c.tf1_tensor, c.named, c.input_agrees) for c in finding.layers] == [
        ("classifier/encoder", "strided_slice:0", True, True),
        ("classifier/out", "add:0", False, False),
    ]
    [record] = [r for r in report.records()[0]["layers"] if r["named"]]
    assert record["layer"] == "classifier/encoder" and record["setting"] is None


def test_a_layer_after_several_inputs_is_named_and_code_outside_layers_is_said(
    tmp_path: Path,
) -> None:
    path = LOCALISE / "two_inputs_lost_activation.py"
    report = check_migration(path, strict=True, styles=("eager",))
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable == "sequential/hidden"
    assert finding.message.endswith(
        "; activation linear in the port's sequential/hidden, TF1 applies tanh (hidden/Tanh) "
        "(a lost activation)"
    )
    # TF1's input to the hidden layer is its concat of the dict's two placeholders.
    [hidden, _] = finding.layers
    assert hidden.input_agrees and hidden.input_ulps == 0

    # The port concatenates them the other way round, outside any layer: none is named.
    swapped = tmp_path / "swapped.py"
    swapped.write_text(
        path.read_text()
        .replace("                # The mistake: TF1's hidden layer applies tanh.\n", "")
        .replace('Dense(4, name="hidden")', 'Dense(4, activation="tanh", name="hidden")')
        .replace(
            '[features["x"], features["z"]], axis=1))', '[features["z"], features["x"]], axis=1))'
        )
    )
    keras.backend.clear_session()
    report = check_migration(swapped, strict=True, styles=("eager",))
    assert report.verdict == "different"
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable is None
    assert finding.message == (
        "layers differ from sequential/hidden on, but none fed TF1's own input alone (the "
        "difference is between layers, or in code no layer holds)"
    )
    assert [(c.input_agrees, c.alone_ulps) for c in finding.layers] == [(False, 0), (False, 0)]


def test_a_port_of_plain_functions_says_in_one_line_that_it_has_no_layer(tmp_path: Path) -> None:
    # The two-input MLP's TF1 side against a port of tf.Variables and a function.
    text = (LOCALISE / "two_inputs_lost_activation.py").read_text()
    start = text.index("def tf2_setup():")
    plain = tmp_path / "plain.py"
    plain.write_text(
        text[:start]
        + textwrap.dedent(
            """
            def tf2_setup():
                rng = np.random.default_rng(0)
                hidden = tf.Variable(rng.normal(size=(5, 4)).astype(np.float32), name="hidden")
                out = tf.Variable(rng.normal(size=(4, 2)).astype(np.float32), name="out")
                biases = [tf.Variable(tf.zeros([4]), name="hidden_bias"),
                          tf.Variable(tf.zeros([2]), name="out_bias")]
                return {"hidden": hidden, "out": out, "biases": biases}, keras.optimizers.SGD(0.1)


            def tf2_train_step(state, features, labels):
                weights, optimizer = state
                variables = [weights["hidden"], weights["out"], *weights["biases"]]
                with tf.GradientTape() as tape:
                    joined = tf.concat([features["x"], features["z"]], axis=1)
                    hidden = joined @ weights["hidden"] + weights["biases"][0]  # tanh lost
                    out = hidden @ weights["out"] + weights["biases"][1]
                    loss = tf.reduce_mean(tf.square(out - labels))
                grads = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(grads, variables, strict=True))
                return loss
            """
        )
    )
    report = check_migration(plain, strict=True, styles=("eager",))
    assert report.verdict == "different", report.explain()
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable is None and finding.layers == () and finding.basis == "arithmetic"
    assert finding.message == (
        "no layer to localise: the port's step called no Keras layer and no tf.Module's __call__ "
        "(its variables are used by plain functions); TF1_INTERMEDIATES and tf2_intermediates() "
        "name tensors to compare"
    )
    assert report.records()[0]["layers"] == []


# Keras itself warns that the port's fc1 gets no gradient (keras/src/optimizers/
# base_optimizer.py): that is the mistake this case is about.
@pytest.mark.filterwarnings("ignore:Gradients do not exist for variables:UserWarning")
def test_a_lost_straight_through_gradient_is_named_walking_back_from_the_loss(
    tmp_path: Path,
) -> None:
    # The forward pass agrees bit for bit; the port's tf.round passes no gradient to fc1.
    report = check_migration(LOCALISE / "mlp_straight_through.py", strict=True, styles=("eager",))
    assert report.verdict == "different"
    assert not [f for f in report.findings if f.rung == "forward pass"]
    [gradient] = [f for f in report.findings if f.rung == "gradient"]
    assert gradient.message == (
        "gradient of fc1/kernel: the port's is None (its loss does not reach it), TF1's is not zero"
    )
    [finding] = [f for f in report.findings if f.rung == "layer"]
    assert finding.variable == "sequential/quantise" and finding.basis == "setting"
    assert finding.message == (
        "walking back from the loss, the first layer whose input gradient differs while its "
        "output gradient agrees is sequential/quantise (Quantise, TF1's add_1:0): handed TF1's "
        f"output gradient, its input gradient is {finding.ulps} ULPs (normwise) from TF1's; the "
        "port's sequential/quantise passes no gradient to its input where TF1's passes one (a "
        "tf.stop_gradient, or an op without a gradient such as tf.round, where TF1 lets the "
        "gradient through)"
    )
    # From the loss back: fc2 passes TF1's gradient on as TF1 does, the quantiser does not.
    assert [
        (c.layer, c.tf1_tensor, c.ulps == 0, c.input_agrees, c.named) for c in finding.layers
    ] == [
        ("sequential/fc2", "add_2:0", True, None, False),
        ("sequential/quantise", "add_1:0", False, True, True),
        ("sequential/fc1", "Relu:0", True, False, False),
    ]
    records = report.records()[0]["layers"]
    assert [r["direction"] for r in records] == ["backward"] * 3
    [record] = [r for r in records if r["named"]]
    assert record["layer"] == "sequential/quantise" and record["tf1_tensor"] == "add_1:0"
    assert record["ulps"] == finding.ulps > 0 and record["input_agrees"] is True
    assert record["setting"] == finding.message.split("; ", 1)[1] and record["seconds"] > 0

    # --plot's third column: the input gradients' ULPs, the named layer in red.
    from tfmigration.measure.migration_report import migration_panel
    from tfmigration.measure.plot import draw_panels

    figure = draw_panels(tmp_path / "check.png", [migration_panel(report)])
    _, _, layers = figure.axes
    assert layers.get_title() == f"input gradients at step {finding.step}: ULPs from TF1"
    assert [t.get_text() for t in layers.get_yticklabels()] == [c.layer for c in finding.layers]
    bars = layers.patches
    assert [round(b.get_width()) for b in bars] == [c.ulps for c in finding.layers]
    red = [b.get_facecolor() for b in bars].index(matplotlib_red())
    assert red == 1
    header = (tmp_path / "check.png").read_bytes()[:24]
    assert int.from_bytes(header[16:20], "big") == 1950  # three columns of 6.5 inches at 100 dpi

    # --tensorboard: the backward walk's ULPs and differences are of input gradients.
    from bridge.tensorboard import write_check

    write_check(report, tmp_path / "boards")
    events = _events(tmp_path / "boards" / "layers")
    assert sorted(events) == [
        "layer_gradient_difference/sequential/quantise",
        "layer_gradient_ulps/sequential/fc1",
        "layer_gradient_ulps/sequential/fc2",
        "layer_gradient_ulps/sequential/quantise",
    ]
    assert events["layer_gradient_ulps/sequential/quantise"] == {finding.step: finding.ulps}


def matplotlib_red() -> tuple[float, ...]:
    from matplotlib.colors import to_rgba

    return to_rgba("tab:red")


@pytest.mark.parametrize(
    "path",
    [
        ZOO / "mnist_deep_cnn.py",
        LOCALISE / "mlp_straight_through_faithful.py",
        LOCALISE / "bidirectional.py",
        LOCALISE / "rnn_cell.py",
        ZOO / "lstm_classifier_module.py",
    ],
    ids=[
        "sequential-cnn",
        "straight-through",
        "subclassed-bidirectional",
        "keras-rnn-of-lstm-cell",
        "tf-module",
    ],
)
def test_a_faithful_port_has_no_layer_that_differs(path: Path) -> None:
    report = check_migration(path, strict=True, styles=("eager",))
    assert report.verdict in ("identical", "equivalent")
    assert [f for f in report.findings if f.rung == "layer"] == []
    assert report.records()[0]["layers"] == []


def test_a_shape_error_after_the_convolutions_names_the_padding() -> None:
    with pytest.raises(MappingError) as raised:
        check_migration(ZOO / "mnist_deep_cnn_naive_padding.py", strict=True, styles=("eager",))
    message = str(raised.value)
    assert (
        "  - 'fc1/Variable' [256, 32] is paired (VARIABLE_MAP) with 'sequential/fc1/kernel' "
        "[16, 32]: the shapes differ\n"
    ) in message
    assert message.endswith(
        "\n  likely cause, upstream: padding: TF1's conv1/Conv2D pads 'SAME', the port's "
        "sequential/conv1 'valid'; padding: TF1's conv2/Conv2D pads 'SAME', the port's "
        "sequential/conv2 'valid'"
    )


def _events(directory: Path) -> dict[str, dict[int, np.ndarray]]:
    """Every tag's values by step, read back with TensorFlow's own event-file reader."""
    [path] = directory.glob("events.out.tfevents.*")
    found: dict[str, dict[int, np.ndarray]] = {}
    for event in tf.compat.v1.train.summary_iterator(str(path)):
        for value in event.summary.value:
            found.setdefault(value.tag, {})[event.step] = tf.make_ndarray(value.tensor)
            plugin = value.metadata.plugin_data.plugin_name
            assert plugin in ("scalars", "histograms"), (value.tag, plugin)
    return found


def test_check_tensorboard_holds_the_curves_distances_and_layer_histograms(
    tmp_path: Path,
) -> None:
    boards, output, plot = tmp_path / "boards", tmp_path / "check.json", tmp_path / "check.png"
    result = CliRunner().invoke(
        cli,
        [
            "check",
            str(LOCALISE / "cnn_lost_activation.py"),
            "--strict",
            "--tensorboard",
            str(boards),
            "--output",
            str(output),
            "--plot",
            str(plot),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1, result.output
    records = {r["mode"]: r for r in json.loads(output.read_text())}
    assert sorted(p.name for p in boards.iterdir()) == ["eager", "function", "graph", "layers"]

    for mode, record in records.items():
        events = _events(boards / mode)
        losses = np.asarray(record["losses"], dtype=np.float32)
        assert sorted(events["loss"]) == list(range(len(losses)))
        assert np.array_equal([events["loss"][s] for s in sorted(events["loss"])], losses)
        if mode == "graph":
            assert sorted(events) == ["loss"]
            continue
        ulps = [int(events["distance/loss_ulps"][s]) for s in sorted(events["distance/loss_ulps"])]
        assert len(ulps) == len(losses) and max(ulps) == record["max_loss_ulps"]
        params = events["distance/param_ulps"]
        assert max(float(v) for v in params.values()) == np.float32(record["max_param_ulps"])
        floor = {float(v) for v in events["distance/noise_floor_loss_ulps"].values()}
        assert floor == {float(record["noise_floor_ulps"])}

    layers = records["graph"]["layers"]
    events = _events(boards / "layers")
    for layer in layers:
        [(step, ulps)] = events[f"layer_ulps/{layer['layer']}"].items()
        assert step == layer["step"] and int(ulps) == layer["ulps"]
        histogram = events.get(f"layer_difference/{layer['layer']}")
        if not layer["ulps"]:
            assert histogram is None  # nothing to draw where the layer agrees
            continue
        [(step, buckets)] = histogram.items()
        assert step == layer["step"] and buckets.shape[1] == 3
        assert np.all(buckets[:, 0] < buckets[:, 1])
    fc1 = events["layer_difference/sequential/fc1"]
    # fc1's output, a batch of 32 rows of 32 units: every element counted once.
    assert next(iter(fc1.values()))[:, 2].sum() == 32 * 32
    # --plot draws the layers as a third column beside the curves: 3 x 6.5 inches at 100 dpi.
    header = plot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 1950


def test_tensorboard_into_a_file_is_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    result = CliRunner().invoke(
        cli,
        ["check", str(LOCALISE / "cnn_lost_activation.py"), "--tensorboard", str(taken)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "--tensorboard" in result.output and "is a file" in result.output


def test_compare_tensorboard_holds_each_style_s_loss_and_distance(tmp_path: Path) -> None:
    boards, output = tmp_path / "boards", tmp_path / "compare.json"
    result = CliRunner().invoke(
        cli,
        ["compare", "house", "--steps", "5", "--tensorboard", str(boards), "--output", str(output)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (boards / "house").iterdir()) == ["eager", "function", "graph"]
    for record in json.loads(output.read_text()):
        events = _events(boards / "house" / record["mode"])
        # Every step's loss, then the final loss one forward pass after the last step.
        assert sorted(events["loss"]) == list(range(6))
        assert events["loss"][5] == np.float32(record["final_loss"])
        if record["mode"] == "graph":
            assert sorted(events) == ["loss"]
            continue
        assert (
            max(int(v) for v in events["distance/loss_ulps"].values()) == (record["max_loss_ulps"])
        )
        floor = {int(v) for v in events["distance/noise_floor_loss_ulps"].values()}
        assert floor == {record["noise_floor_ulps"]}


def test_localise_false_leaves_out_the_layers_but_not_the_verdict() -> None:
    # What scripts/bench_localise.py measures the localisation's cost against: the ladder's other
    # rungs still run, so the port with the wrong pooling kind is still different.
    report = check_migration(
        LOCALISE / "cnn_average_pool.py", strict=True, styles=("eager",), localise=False
    )
    assert report.verdict == "different"
    assert [f for f in report.findings if f.rung == "layer"] == []
    assert report.records()[0]["layers"] == []
    assert {f.rung for f in report.findings} - {"layer"}, report.explain()
