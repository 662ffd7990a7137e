"""Dropout that draws the same numbers in a TF1 graph, in eager code and under tf.function.

TF1's `tf.nn.dropout` draws its mask from a stateful `random_uniform` with op seeds; Keras 3's
`Dropout` from `stateless_dropout` seeded by its own `SeedGenerator`. No choice of seeds makes
those streams meet. Both, though, end in one function: TensorFlow's `nn_ops._dropout(x, rate,
noise_shape, uniform_sampler, ...)` (tensorflow/python/ops/nn_ops.py: `dropout_v2` passes
`functools.partial(random_ops.random_uniform, seed=seed)`, `stateless_dropout` a stateless
sampler), which draws `random_tensor = uniform_sampler(shape=noise_shape, dtype=x_dtype)` and keeps
`random_tensor >= rate`. While `AlignedDropout` is active, that sampler is replaced by
`stateless_random_uniform(seed=[SALT + k, step])`: the k-th dropout of a training step, at step
`step`, draws the same numbers in every style. This plays the part of TF's removed
`DeterministicRandomTestTool`, but per step, so masks still change from step to step.

Random ops other than dropout are not aligned; `unaligned_random_ops` names them so a report
can say when they, and not the migration, may be why two runs part.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator

import tensorflow as tf
from tensorflow.python.ops import nn_ops

SALT = 0x7F4A7C15  # keeps our seeds apart from seeds a user may pass to stateless ops
SCOPE = "tfbridge_aligned_dropout"

RANDOM_OP_TYPES = frozenset(
    {
        "RandomUniform",
        "RandomUniformInt",
        "RandomStandardNormal",
        "TruncatedNormal",
        "ParameterizedTruncatedNormal",
        "RandomShuffle",
        "RandomGamma",
        "RandomPoisson",
        "RandomPoissonV2",
        "Multinomial",
        "RandomCrop",
        "StatelessRandomUniform",
        "StatelessRandomUniformV2",
        "StatelessRandomNormal",
        "StatelessRandomNormalV2",
        "StatelessTruncatedNormal",
        "StatelessTruncatedNormalV2",
        "StatelessRandomUniformInt",
        "StatelessRandomUniformIntV2",
        "StatelessMultinomial",
        "StatelessRandomGetKeyCounter",
        "StatefulUniform",
        "StatefulStandardNormalV2",
        "StatefulTruncatedNormal",
    }
)


class AlignedDropout:
    """Patches TensorFlow's dropout sampler while active; `step()` gives the current step."""

    def __init__(self, step: Callable[[], tf.Tensor]) -> None:
        self._step = step
        self.calls = 0  # dropout ops built (graph, tf.function) or run (eager) since reset()
        # Each dropout's rate, by k (a float, or a tensor in a graph): a keep probability passed
        # as a rate is found by comparing them (bridge.checking.layers).
        self.rates: list = []

    def reset(self) -> None:
        """Start a step: its first dropout is k = 0 again."""
        self.calls = 0
        self.rates = []

    def _sampler(self, shape: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
        index = self.calls
        self.calls += 1
        with tf.name_scope(SCOPE):
            step = tf.cast(self._step(), tf.int64)
            seed = tf.stack([tf.constant(SALT + index, tf.int64), step])
            return tf.random.stateless_uniform(shape, seed=seed, dtype=dtype)

    @contextlib.contextmanager
    def active(self) -> Iterator[AlignedDropout]:
        original = nn_ops._dropout

        @functools.wraps(original)
        def aligned(x, rate, noise_shape, uniform_sampler, dummy_rng_step, name, default_name):
            self.rates.append(rate)
            return original(x, rate, noise_shape, self._sampler, dummy_rng_step, name, default_name)

        nn_ops._dropout = aligned
        try:
            yield self
        finally:
            nn_ops._dropout = original


def unaligned_random_ops(operations: Iterable[tf.Operation]) -> list[str]:
    """Names of random ops among `operations` that `AlignedDropout` did not build."""
    return sorted(
        op.name
        for op in operations
        if op.type in RANDOM_OP_TYPES and SCOPE not in op.name and "Initializer" not in op.name
    )
