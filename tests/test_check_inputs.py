"""Issue 19: data() with several inputs (a dict of name -> array or a tuple of arrays), TF1
placeholders fed in training (`TF1_FEEDS`), and candidate samplers named or aligned.

Each model is checked with its faithful port (identical or equivalent) and a wrong one
(different); each bad input is one line naming the file, exit 2, nothing written.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.cli import main as tfbridge
from tfmigration.migration.contract import load

# Two named inputs concatenated into an MLP: a dict of placeholders in TF1, of tensors in the port.
TWO_INPUTS = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 4
    BATCH_SIZE = 16


    def data():
        rng = np.random.default_rng(1)
        x = rng.normal(size=(48, 3)).astype(np.float32)
        z = rng.normal(size=(48, 2)).astype(np.float32)
        y = np.concatenate([x[:, :1] - 2.0 * z[:, 1:], z[:, :1]], axis=1).astype(np.float32)
        return {"x": x, "z": z}, y


    def tf1_train(features, labels):
        joined = tf.concat([features["x"], features["z"]], axis=1)
        hidden = tf.compat.v1.layers.dense(joined, 4, activation=tf.nn.tanh, name="hidden")
        out = tf.compat.v1.layers.dense(hidden, 2, name="out")
        loss = tf.reduce_mean(tf.square(out - labels))
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


    def tf2_setup():
        model = keras.Sequential(
            [
                keras.layers.Dense(4, activation="tanh", name="hidden"),
                keras.layers.Dense(2, name="out"),
            ]
        )
        model.build((None, 5))
        return model, keras.optimizers.SGD(0.1)


    def tf2_train_step(state, features, labels):
        model, optimizer = state
        with tf.GradientTape() as tape:
            out = model(tf.concat([features["x"], features["z"]], axis=1))
            loss = tf.reduce_mean(tf.square(out - labels))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss
    """
)
SWAPPED = 'tf.concat([features["z"], features["x"]], axis=1))'

# Padded sequences and their lengths, ((x, lengths), y): a masked mean over time, as a dynamic
# RNN's sequence_length masks the padding; dropout fed keep_prob through a placeholder.
SEQUENCES = textwrap.dedent(
    """
    import keras
    import numpy as np
    import tensorflow as tf

    STEPS = 4
    BATCH_SIZE = 16
    TIME = 5
    KEEP_PROB = 0.75
    TF1_FEEDS = {"keep_prob": KEEP_PROB}


    def data():
        rng = np.random.default_rng(2)
        x = rng.normal(size=(48, TIME, 3)).astype(np.float32)
        lengths = rng.integers(1, TIME + 1, size=48).astype(np.int32)
        return (x, lengths), rng.normal(size=(48, 2)).astype(np.float32)


    def masked_mean(hidden, lengths):
        mask = tf.expand_dims(tf.sequence_mask(lengths, TIME, dtype=tf.float32), -1)
        counts = tf.cast(tf.expand_dims(lengths, -1), tf.float32)
        return tf.reduce_sum(hidden * mask, axis=1) / counts


    def tf1_train(features, labels):
        x, lengths = features
        keep_prob = tf.compat.v1.placeholder(tf.float32, (), name="keep_prob")
        hidden = tf.compat.v1.layers.dense(x, 4, activation=tf.nn.tanh, name="hidden")
        dropped = tf.compat.v1.nn.dropout(masked_mean(hidden, lengths), keep_prob=keep_prob)
        out = tf.compat.v1.layers.dense(dropped, 2, name="out")
        loss = tf.reduce_mean(tf.square(out - labels))
        return loss, tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)


    class Pooled(keras.Model):
        def __init__(self):
            super().__init__(name="pooled")
            self.hidden = keras.layers.Dense(4, activation="tanh", name="hidden")
            self.dropout = keras.layers.Dropout(1 - KEEP_PROB)
            self.out = keras.layers.Dense(2, name="out")
            self.hidden.build((None, TIME, 3))
            self.out.build((None, 4))

        def call(self, features, training=False):
            x, lengths = features
            pooled = masked_mean(self.hidden(x), lengths)
            return self.out(self.dropout(pooled, training=training))


    def tf2_setup():
        return Pooled(), keras.optimizers.SGD(0.1)


    def tf2_train_step(state, features, labels):
        model, optimizer = state
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(features, training=True) - labels))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss
    """
)


def changed(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "port.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def check(tmp_path: Path, text: str, *args: str) -> tuple[Result, Path, Path]:
    path = write(tmp_path, text)
    output = tmp_path / "out.json"
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--output", str(output), *args])
    return result, path, output


def verdicts(output: Path) -> dict[str, str]:
    return {record["mode"]: record["verdict"] for record in json.loads(output.read_text())}


def refused(result: Result, path: Path, expected: str) -> None:
    """Exit 2 with one error line: the file, then `expected`; no traceback."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {path}: {expected}"], result.output
    assert "Traceback" not in result.output


# --- several inputs ------------------------------------------------------------------------------


def test_a_dict_of_inputs_is_a_placeholder_each_and_a_dict_of_tensors_in_the_port(
    tmp_path: Path,
) -> None:
    result, _, output = check(tmp_path, TWO_INPUTS, "--strict")
    assert result.exit_code == 0, result.output
    assert set(verdicts(output).values()) <= {"identical", "equivalent"}
    assert set(verdicts(output)) == {"graph", "eager", "function"}


def test_a_port_that_swaps_its_inputs_is_different(tmp_path: Path) -> None:
    port = changed(TWO_INPUTS, 'tf.concat([features["x"], features["z"]], axis=1))', SWAPPED)
    result, _, output = check(tmp_path, port, "--strict")
    assert result.exit_code == 1, result.output
    assert verdicts(output)["eager"] == "different"
    assert "first divergent step: 0" in result.output


def test_a_tuple_of_inputs_with_lengths_and_keep_prob_fed_checks_equivalent(tmp_path: Path) -> None:
    result, _, output = check(tmp_path, SEQUENCES, "--strict")
    assert result.exit_code == 0, result.output
    # Dropout's 1 / keep_prob scaling is rounded apart in the libraries (0.75): equivalent.
    assert set(verdicts(output).values()) <= {"identical", "equivalent"}
    assert "(eager style)" in result.output or "identical" in result.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # The lengths ignored: the padding is averaged in.
        (
            "pooled = masked_mean(self.hidden(x), lengths)",
            "pooled = tf.reduce_mean(self.hidden(x), 1)",
        ),
        # keep_prob taken for Keras's rate.
        ("keras.layers.Dropout(1 - KEEP_PROB)", "keras.layers.Dropout(KEEP_PROB)"),
    ],
    ids=["lengths-ignored", "keep-prob-as-rate"],
)
def test_a_wrong_port_of_the_sequence_model_is_different(
    tmp_path: Path, old: str, new: str
) -> None:
    result, _, output = check(tmp_path, changed(SEQUENCES, old, new), "--strict")
    assert result.exit_code == 1, result.output
    assert verdicts(output)["eager"] == "different"


def test_without_tf1_feeds_the_fed_value_is_missing_and_keep_prob_is_fed_every_step(
    tmp_path: Path,
) -> None:
    """TF1_FEEDS's value is what TF1 runs with: fed 1.0 (no dropout), TF1 parts from the port's
    dropout; not named at all, the placeholder is refused before any step."""
    fed_one = changed(
        SEQUENCES, 'TF1_FEEDS = {"keep_prob": KEEP_PROB}', 'TF1_FEEDS = {"keep_prob": 1.0}'
    )
    result, _, output = check(tmp_path, fed_one, "--strict")
    assert result.exit_code == 1, result.output
    assert verdicts(output)["eager"] == "different"
    unfed = changed(SEQUENCES, 'TF1_FEEDS = {"keep_prob": KEEP_PROB}', "")
    (tmp_path / "unfed").mkdir()
    result, path, output = check(tmp_path / "unfed", unfed)
    refused(
        result,
        path,
        "tf1_train() makes placeholder 'keep_prob' (float32, shape []) that the checker does "
        "not feed; give its training value in TF1_FEEDS = {'keep_prob': ...} (features and "
        "labels are fed already)",
    )
    assert not output.exists()


def test_a_single_array_file_keeps_its_fingerprint() -> None:
    """The committed recording of examples/layers_mlp.py was made before several inputs
    existed: its data's fingerprint is still the one recorded."""
    root = Path(__file__).resolve().parent.parent
    manifest = json.loads((root / "examples/golden/layers_mlp/manifest.json").read_text())
    assert load(root / "examples/layers_mlp.py").fingerprint() == manifest["data"]["sha256"]
    assert "inputs" not in manifest["data"]


def test_several_inputs_fingerprint_their_names_and_structure(tmp_path: Path) -> None:
    as_dict = load(write(tmp_path, TWO_INPUTS, "a.py"))
    renamed = load(write(tmp_path, TWO_INPUTS.replace('"z"', '"w"'), "b.py"))
    as_tuple = load(
        write(
            tmp_path,
            changed(TWO_INPUTS, 'return {"x": x, "z": z}, y', "return (x, z), y"),
            "c.py",
        )
    )
    prints = {as_dict.fingerprint(), renamed.fingerprint(), as_tuple.fingerprint()}
    assert len(prints) == 3
    assert isinstance(as_tuple.features, tuple) and as_tuple.rows == 48


def test_several_inputs_record_and_check_against_the_recording(tmp_path: Path) -> None:
    path = write(tmp_path, SEQUENCES)
    recording = tmp_path / "golden"
    recorded = CliRunner().invoke(tfbridge, ["record", str(path), "--output", str(recording)])
    assert recorded.exit_code == 0, recorded.output
    data = json.loads((recording / "manifest.json").read_text())["data"]
    assert "features" not in data
    assert data["inputs"] == {
        "structure": "tuple",
        "arrays": [
            {"name": "input_0", "shape": [48, 5, 3], "dtype": "<f4"},
            {"name": "input_1", "shape": [48], "dtype": "<i4"},
        ],
    }
    output = tmp_path / "out.json"
    result = CliRunner().invoke(
        tfbridge, ["check", str(path), "--against", str(recording), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert set(verdicts(output).values()) <= {"identical", "equivalent"}


def test_a_recording_with_both_features_and_inputs_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_INPUTS)
    recording = tmp_path / "golden"
    assert (
        CliRunner().invoke(tfbridge, ["record", str(path), "--output", str(recording)]).exit_code
        == 0
    )
    manifest_path = recording / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["data"]["features"] = {"shape": [48, 3], "dtype": "<f4"}
    manifest_path.write_text(json.dumps(manifest))
    result = CliRunner().invoke(tfbridge, ["check", str(path), "--against", str(recording)])
    assert result.exit_code == 2, result.output
    assert (
        f"Error: --against {recording}: manifest.json data holds both of features and inputs; "
        "expected one: features (one array) or inputs (several)"
    ) in result.output


BAD_DATA = {
    "unequal inputs": (
        "return {'x': x, 'z': z[:40]}, y",
        "data() returned inputs of different lengths (features['x'] 48, features['z'] 40 "
        "rows); every input needs one row per example",
    ),
    "inputs unequal to labels": (
        "return (x, z), y[:40]",
        "data() returned 48 feature rows but 40 labels; they must be of equal length",
    ),
    "a key that is no name": (
        "return {'x': x, 3: z}, y",
        "data() features has the key 3; each input's name must be a TF op name (letters, "
        "digits, '_', '.', '-', '/', not starting with '_')",
    ),
    "an empty dict": (
        "return {}, y",
        "data() features is an empty dict; it needs an input",
    ),
    "labels as a dict": (
        "return {'x': x, 'z': z}, {'y': y}",
        "data() labels must be one numeric array; it returned a dict of 1 (several inputs go "
        "in features, as a dict of name -> array or a tuple of arrays)",
    ),
    "a text input": (
        "return {'x': x, 'z': np.array(['a'] * 48)}, y",
        "data() features['z'] must be a numeric NumPy array; got dtype <U1",
    ),
    "nothing for features": (
        "return None, y",
        "data() features must be a numeric NumPy array, a dict of name -> array, or a tuple of "
        "arrays; got NoneType",
    ),
    "ragged tuple of rows": (
        "return (x, [1.0, 2.0]), y",
        "data() returned inputs of different lengths (features[0] 48, features[1] 2 rows); "
        "every input needs one row per example",
    ),
    "three things": (
        "return x, z, y",
        "data() must return (features, labels): features a numeric NumPy array, a dict of "
        "name -> array, or a tuple of arrays, labels a numeric array; it returned a tuple of 3",
    ),
    "a scalar input": (
        "return {'x': x, 'z': np.float32(1.0)}, y",
        "data() features['z'] is a scalar; it needs one row per example",
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA), ids=lambda case: case.replace(" ", "-"))
def test_bad_inputs_are_one_line_exit_2(tmp_path: Path, case: str) -> None:
    returned, expected = BAD_DATA[case]
    text = changed(TWO_INPUTS, 'return {"x": x, "z": z}, y', returned)
    result, path, output = check(tmp_path, text)
    refused(result, path, expected)
    assert not output.exists()


BAD_FEEDS = {
    "not a placeholder": (
        '{"keep_prob": KEEP_PROB, "hidden/kernel": 1.0}',
        "TF1_FEEDS names 'hidden/kernel', which is not a placeholder of tf1_train()'s graph; "
        "its placeholders: 'keep_prob'",
    ),
    "no such name": (
        '{"keep_prob": KEEP_PROB, "is_training": True}',
        "TF1_FEEDS names 'is_training', which is not a placeholder of tf1_train()'s graph; "
        "its placeholders: 'keep_prob'",
    ),
    "a bool for a float": (
        '{"keep_prob": True}',
        "TF1_FEEDS['keep_prob'] = True (bool) does not fit placeholder 'keep_prob' of dtype "
        "float32",
    ),
    "a vector for a scalar": (
        '{"keep_prob": [0.5, 0.5]}',
        "TF1_FEEDS['keep_prob'] has shape [2]; placeholder 'keep_prob' takes shape []",
    ),
    "text": (
        '{"keep_prob": "half"}',
        "TF1_FEEDS['keep_prob'] = 'half' must be a number, a bool or a numeric array",
    ),
    "not a dict": (
        '[("keep_prob", 0.5)]',
        "TF1_FEEDS must be a dict of TF1 placeholder name -> the value fed in training (e.g. "
        "{'keep_prob': 0.5}); it is a list of 1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FEEDS), ids=lambda case: case.replace(" ", "-"))
def test_bad_tf1_feeds_are_one_line_exit_2(tmp_path: Path, case: str) -> None:
    feeds, expected = BAD_FEEDS[case]
    text = changed(SEQUENCES, 'TF1_FEEDS = {"keep_prob": KEEP_PROB}', f"TF1_FEEDS = {feeds}")
    result, path, output = check(tmp_path, text)
    refused(result, path, expected)
    assert not output.exists()


# --- candidate samplers --------------------------------------------------------------------------


def _aligned_draw(step: int, **arguments: object) -> tuple:
    import tensorflow as tf
    from tensorflow.python.ops import candidate_sampling_ops

    from tfmigration.migration.random_ops import AlignedRandomOps

    aligned = AlignedRandomOps(lambda: tf.constant(step, tf.int64))
    with aligned.active():
        first = candidate_sampling_ops.log_uniform_candidate_sampler(**arguments)
        second = candidate_sampling_ops.log_uniform_candidate_sampler(**arguments)
    return tuple(t.numpy() for t in first), tuple(t.numpy() for t in second)


def test_the_aligned_log_uniform_sampler_draws_the_kernels_distribution() -> None:
    """Without `unique`, the expected counts are the kernel's own (p * n, from the same
    probabilities) bit for bit, and the classes fall as log-uniform says (within 4 sigma)."""
    import numpy as np
    import tensorflow as tf

    true_classes = tf.constant([[0], [3], [9]], tf.int64)
    arguments = dict(
        true_classes=true_classes, num_true=1, num_sampled=20000, unique=False, range_max=10
    )
    (sampled, true_count, sampled_count), _ = _aligned_draw(0, **arguments)
    real = tf.random.log_uniform_candidate_sampler(**arguments)
    np.testing.assert_array_equal(true_count, real.true_expected_count.numpy())
    probability = np.log((np.arange(10) + 2.0) / (np.arange(10) + 1.0)) / np.log(11.0)
    # The kernel's float: p rounded to float32, then times n.
    expected = probability.astype(np.float32)[sampled] * np.float32(20000)
    np.testing.assert_array_equal(sampled_count, expected)
    frequencies = np.bincount(sampled, minlength=10) / 20000
    sigma = np.sqrt(probability * (1 - probability) / 20000)
    assert (np.abs(frequencies - probability) < 4 * sigma).all(), (frequencies, probability)


def test_the_aligned_unique_sampler_keys_its_draws_by_call_and_step() -> None:
    import numpy as np

    arguments = dict(true_classes=[[1], [2]], num_true=1, num_sampled=6, unique=True, range_max=8)
    (sampled, true_count, sampled_count), (other, _, _) = _aligned_draw(3, **arguments)
    again, _ = _aligned_draw(3, **arguments)
    later, _ = _aligned_draw(4, **arguments)
    assert len(set(sampled.tolist())) == 6 and set(sampled.tolist()) <= set(range(8))
    np.testing.assert_array_equal(again[0], sampled)
    assert not np.array_equal(other, sampled)  # the step's second sampler draws anew
    assert not np.array_equal(later[0], sampled)  # and so does the next step
    # Drawn until 6 distinct classes: expected counts 1 - (1 - p)^tries, one `tries` for all.
    probability = (np.log((sampled + 2.0) / (sampled + 1.0)) / np.log(9.0)).astype(np.float32)
    tries = np.log1p(-sampled_count.astype(np.float64)) / np.log1p(-probability.astype(np.float64))
    assert np.allclose(tries, tries[0], rtol=1e-4) and tries[0] >= 6
    assert true_count.shape == (2, 1)


def test_samplers_left_unaligned_are_named_and_aligned_ones_are_not() -> None:
    """nce_loss's own sampler is aligned, so it is not named; one the checker cannot align
    (learned unigram, passed as sampled_values) is named as a random op of the TF1 graph."""
    import tensorflow as tf

    from tfmigration.migration.random_ops import AlignedRandomOps, unaligned_random_ops

    def nce_graph(sampled_values: bool) -> list[str]:
        graph = tf.Graph()
        with graph.as_default():
            labels = tf.constant([[1], [2]], tf.int64)
            weights, biases = tf.ones([8, 3]), tf.zeros([8])
            values = (
                tf.random.learned_unigram_candidate_sampler(labels, 1, 4, True, 8, name="learned")
                if sampled_values
                else None
            )
            with AlignedRandomOps(lambda: tf.constant(0, tf.int64)).active():
                loss = tf.nn.nce_loss(
                    weights, biases, labels, tf.ones([2, 3]), 4, 8, sampled_values=values
                )
            return unaligned_random_ops(graph.get_operations()) if loss is not None else []

    assert nce_graph(sampled_values=False) == []
    assert nce_graph(sampled_values=True) == ["learned"]
