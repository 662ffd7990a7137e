"""The zoo: TF1-era tutorials from TensorFlow's own repositories and aymericdamien's examples,
each against the port a person would write and the port with the mistake people make.

tests/zoo/ holds one migration file per program and port; each file's docstring names its
source and every change made for the migration-file contract. This module states, per file,
what a correct checker must say: a faithful port `identical` or `equivalent`; a naive port
`different`, with its cause named in the explanation; a port that cannot train like TF1 for
want of a shape refused as a contract error. Where the checker does not say so today (a false
pass, a crash, a model it cannot pair yet), the case is a strict xfail whose reason is what
happens today, so it turns into a failure, to be promoted, the day it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import pytest

from bridge.check import MigrationDiverged
from bridge.testing import check_migration
from tfmigration.migration.mapping import MappingError

ZOO = Path(__file__).resolve().parent / "zoo"


@dataclass(frozen=True)
class Faithful:
    """The verdict must be one of `verdicts`."""

    verdicts: tuple[str, ...] = ("identical", "equivalent")


@dataclass(frozen=True)
class Naive:
    """The verdict must be `different`, and the explanation must name the cause: at least one
    of `causes` (alternative wordings of the same cause)."""

    causes: tuple[str, ...]


@dataclass(frozen=True)
class Refused:
    """The check must stop with `error`, its message holding every one of `phrases`."""

    error: type[Exception]
    phrases: tuple[str, ...]


IDENTICAL = Faithful(("identical",))
EQUIVALENT = Faithful()
LEARNING_RATE = Naive(("learning_rate", "learning rate"))


def _xfail(reason: str, raises: type[Exception] | None = None) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason, raises=raises)


CASES = [
    # 1. mnist_softmax.py: softmax regression, GradientDescentOptimizer(0.5).
    pytest.param("softmax_regression", EQUIVALENT),
    pytest.param("softmax_regression_naive", LEARNING_RATE),
    # Zero-initialised logits taken for probabilities: Keras normalises 0 / 0, the loss is NaN
    # before any update. The documented outcome: exit 1 naming the style and the step.
    pytest.param(
        "softmax_regression_naive_logits",
        Refused(MigrationDiverged, ("eager style", "loss is nan at step 0")),
    ),
    # 2. multilayer_perceptron.py: raw MLP, AdamOptimizer.
    pytest.param("mlp_adam", EQUIVALENT),
    pytest.param("mlp_adam_naive", Naive(("epsilon 1e-07 vs 1e-08",))),
    # 3. mnist_deep.py: conv2d SAME, max_pool, dropout through keep_prob, Adam.
    pytest.param("mnist_deep_cnn", EQUIVALENT),
    pytest.param("mnist_deep_cnn_naive", Naive(("forward pass",))),
    pytest.param(
        "mnist_deep_cnn_naive_padding",
        Refused(MappingError, ("[256, 32]", "[16, 32]", "the shapes differ")),
    ),
    # 4. autoencoder.py: RMSPropOptimizer(0.01).
    pytest.param("autoencoder", EQUIVALENT),
    pytest.param("autoencoder_naive", Naive(("epsilon 1e-07 vs 1e-10",))),
    # Keras's RMSprop mean square starts at zeros, TF1's at ones; no hyperparameter differs.
    pytest.param("autoencoder_naive_epsilon", Naive(("mean square",))),
    # 5. word2vec_basic.py: embedding_lookup + nce_loss, GradientDescentOptimizer(1.0).
    # nce_loss's log-uniform candidate sampler is aligned (random_ops.AlignedRandomOps).
    pytest.param("word2vec", EQUIVALENT),
    pytest.param("word2vec_naive", LEARNING_RATE),
    # The same skip-gram model with a full softmax: no sampler, still a sparse gradient.
    pytest.param("word2vec_softmax", IDENTICAL),
    pytest.param("word2vec_softmax_add", EQUIVALENT),
    pytest.param("word2vec_softmax_naive", LEARNING_RATE),
    # 6. recurrent_network.py: BasicLSTMCell + static_rnn.
    # TF1's one kernel [in + units, 4u] (gates i, j, f, o; forget_bias added at run time)
    # against Keras's kernel and recurrent_kernel (gates i, f, c, o): paired through a layout.
    pytest.param("lstm_classifier", EQUIVALENT),
    pytest.param("lstm_classifier_module", IDENTICAL),
    pytest.param("lstm_classifier_naive", Naive(("forward pass",))),
    # 7. ptb_word_lm.py: MultiRNNCell of BasicLSTMCell(forget_bias=0.0), embedding,
    # clip_by_global_norm, a learning rate kept in a variable.
    pytest.param("ptb_lstm", EQUIVALENT),
    pytest.param("ptb_lstm_naive", Naive(("clips its gradients",))),
    # 8. cifar10.py: weight decay through the 'losses' collection, exponential_decay.
    pytest.param("cifar10_cnn", EQUIVALENT),
    # TF1's exponential_decay learning rate falls; the port's stays 0.1.
    pytest.param("cifar10_cnn_naive", LEARNING_RATE),
]


@pytest.fixture
def fresh_keras_names() -> None:
    """Keras numbers every auto-named model in a process (`sequential`, `sequential_1`, ...):
    each case starts from Keras's numbering as a fresh `tfbridge check` does, so reports show
    the names a user sees (the maps themselves hold either way:
    test_a_variable_map_does_not_depend_on_earlier_keras_models)."""
    keras.backend.clear_session()


def test_every_zoo_file_has_a_case() -> None:
    files = sorted(path.stem for path in ZOO.glob("*.py"))
    assert files == sorted(case.values[0] for case in CASES)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected"), CASES, ids=[case.values[0] for case in CASES])
@pytest.mark.usefixtures("fresh_keras_names")
def test_zoo(name: str, expected: Faithful | Naive | Refused) -> None:
    path = ZOO / f"{name}.py"
    if isinstance(expected, Refused):
        with pytest.raises(expected.error) as raised:
            check_migration(path, strict=True)
        for phrase in expected.phrases:
            assert phrase in str(raised.value)
        return
    report = check_migration(path, strict=True)
    explanation = report.explain()
    if isinstance(expected, Faithful):
        assert report.verdict in expected.verdicts, explanation
    else:
        assert report.verdict == "different", explanation
        assert any(cause in explanation for cause in expected.causes), explanation


@pytest.mark.slow
def test_a_variable_map_does_not_depend_on_earlier_keras_models() -> None:
    keras.backend.clear_session()
    keras.Sequential()  # any earlier auto-named model: another test's, or the user's own
    report = check_migration(ZOO / "softmax_regression.py", strict=True)
    assert report.verdict in ("identical", "equivalent"), report.explain()
