"""Dropout and candidate samplers that draw the same numbers in a TF1 graph, in eager code and
under tf.function.

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

The candidate samplers of `tf.nn.nce_loss` and `tf.nn.sampled_softmax_loss` are aligned the same
way: both call `candidate_sampling_ops.log_uniform_candidate_sampler` (nn_impl.py
`_compute_sampled_logits`), and Keras 3 has no sampled loss of its own, so a port calls them too.
While active, `log_uniform_candidate_sampler` and `uniform_candidate_sampler` draw from the same
distribution as TensorFlow's kernels (tensorflow/core/kernels/range_sampler.cc: log-uniform
`floor(exp(u * log(range + 1))) - 1`, P(k) = log((k + 2) / (k + 1)) / log(range + 1); uniform
`floor(u * range)`, P = 1 / range; `unique=True` by rejection, drawing until `num_sampled`
distinct classes), with expected counts as `ExpectedCountHelper` computes them (`p * n` when every
draw was kept, else `1 - (1 - p)^tries`), from uniforms keyed by (k-th sampler call of the step,
step). The learned and fixed unigram samplers keep state or read files: not aligned, named.

Random ops other than these are not aligned; `unaligned_random_ops` names them so a report can
say when they, and not the migration, may be why two runs part.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import candidate_sampling_ops, nn_ops

SALT = 0x7F4A7C15  # keeps our seeds apart from seeds a user may pass to stateless ops
SAMPLER_SALT = 0x5BD1E995  # keeps the samplers' seeds apart from dropout's
SCOPE = "tfbridge_aligned_dropout"
SAMPLER_SCOPE = "tfbridge_aligned_sampler"

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
        # nce_loss / sampled_softmax_loss draw their negative classes with these.
        "LogUniformCandidateSampler",
        "UniformCandidateSampler",
        "LearnedUnigramCandidateSampler",
        "FixedUnigramCandidateSampler",
        "ThreadUnsafeUnigramCandidateSampler",
    }
)


class AlignedRandomOps:
    """Patches TensorFlow's dropout sampler and its log-uniform and uniform candidate samplers
    while active; `step()` gives the current step."""

    def __init__(self, step: Callable[[], tf.Tensor]) -> None:
        self._step = step
        self.calls = 0  # dropout ops built (graph, tf.function) or run (eager) since reset()
        self.sampler_calls = 0  # candidate samplers likewise
        # Each dropout's rate, by k (a float, or a tensor in a graph): a keep probability passed
        # as a rate is found by comparing them (bridge.checking.layers).
        self.rates: list = []

    def reset(self) -> None:
        """Start a step: its first dropout and its first sampler are k = 0 again."""
        self.calls = 0
        self.sampler_calls = 0
        self.rates = []

    def _seed(self, salt: int, index: int) -> tf.Tensor:
        step = tf.cast(self._step(), tf.int64)
        return tf.stack([tf.constant(salt + index, tf.int64), step])

    def _sampler(self, shape: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
        index = self.calls
        self.calls += 1
        with tf.name_scope(SCOPE):
            return tf.random.stateless_uniform(shape, seed=self._seed(SALT, index), dtype=dtype)

    def _candidates(
        self,
        kind: str,
        true_classes: tf.Tensor,
        num_true: int,
        num_sampled: int,
        unique: bool,
        range_max: int,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        if unique and num_sampled > range_max:
            # The kernel refuses this too (CHECK_LE in range_sampler.cc): no loop could end.
            raise ValueError(
                f"{kind}_candidate_sampler: num_sampled {num_sampled} > range_max {range_max} "
                "with unique=True"
            )
        index = self.sampler_calls
        self.sampler_calls += 1
        with tf.name_scope(SAMPLER_SCOPE):
            return _draw_candidates(
                kind,
                tf.cast(true_classes, tf.int64),
                num_sampled,
                unique,
                range_max,
                self._seed(SAMPLER_SALT, index),
            )

    @contextlib.contextmanager
    def active(self) -> Iterator[AlignedRandomOps]:
        original = nn_ops._dropout
        samplers = {
            kind: getattr(candidate_sampling_ops, f"{kind}_candidate_sampler")
            for kind in ("log_uniform", "uniform")
        }

        @functools.wraps(original)
        def aligned(x, rate, noise_shape, uniform_sampler, dummy_rng_step, name, default_name):
            self.rates.append(rate)
            return original(x, rate, noise_shape, self._sampler, dummy_rng_step, name, default_name)

        def sampler(kind: str) -> Callable[..., tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
            @functools.wraps(samplers[kind])
            def aligned_sampler(
                true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None
            ):
                return self._candidates(
                    kind, true_classes, num_true, num_sampled, unique, range_max
                )

            return aligned_sampler

        nn_ops._dropout = aligned
        for kind in samplers:
            setattr(candidate_sampling_ops, f"{kind}_candidate_sampler", sampler(kind))
        try:
            yield self
        finally:
            nn_ops._dropout = original
            for kind, function in samplers.items():
                setattr(candidate_sampling_ops, f"{kind}_candidate_sampler", function)


def _draw_candidates(
    kind: str,
    true_classes: tf.Tensor,
    num_sampled: int,
    unique: bool,
    range_max: int,
    seed: tf.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(sampled_candidates, true_expected_count, sampled_expected_count) as the kernel returns
    them, drawn from stateless uniforms: chunk c of draws from `fold_in(seed, c)`."""
    log_range = float(np.log1p(range_max))

    def classes(uniform: tf.Tensor) -> tf.Tensor:
        if kind == "log_uniform":
            value = tf.cast(tf.exp(uniform * log_range), tf.int64) - 1
        else:
            value = tf.cast(uniform * range_max, tf.int64)
        # The kernel's std::min against rounding up to range_max.
        return tf.minimum(value, range_max - 1)

    def probability(value: tf.Tensor) -> tf.Tensor:
        if kind == "log_uniform":
            value = tf.cast(value, tf.float64)
            return tf.cast(tf.math.log((value + 2.0) / (value + 1.0)) / log_range, tf.float32)
        return tf.fill(tf.shape(value), tf.constant(1.0 / range_max, tf.float32))

    def chunk(count: tf.Tensor, size: int) -> tf.Tensor:
        chunk_seed = tf.random.experimental.stateless_fold_in(seed, count)
        return classes(tf.random.stateless_uniform([size], seed=chunk_seed, dtype=tf.float64))

    if not unique:
        sampled = chunk(tf.constant(0, tf.int64), num_sampled)
        tries = tf.constant(num_sampled, tf.int64)
    else:
        size = max(4 * num_sampled, 64)

        def distinct(draws: tf.Tensor) -> tf.Tensor:
            return tf.size(tf.unique(draws).y, out_type=tf.int64)

        _, draws = tf.while_loop(
            lambda count, draws: distinct(draws) < num_sampled,
            lambda count, draws: (count + 1, tf.concat([draws, chunk(count, size)], 0)),
            (tf.constant(1, tf.int64), chunk(tf.constant(0, tf.int64), size)),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None])),
        )
        values, positions = tf.unique(draws, out_idx=tf.int64)
        first = tf.math.unsorted_segment_min(
            tf.range(tf.size(draws, out_type=tf.int64)), positions, tf.size(values)
        )
        sampled = values[:num_sampled]
        # The kernel counts draws until the num_sampled-th distinct one, that one included.
        tries = first[num_sampled - 1] + 1

    def expected(value: tf.Tensor) -> tf.Tensor:
        p = probability(value)
        if not unique:
            return p * float(num_sampled)
        kept_all = tf.equal(tries, num_sampled)
        count = tf.cast(tries, tf.float32)
        return tf.where(kept_all, p * float(num_sampled), -tf.math.expm1(count * tf.math.log1p(-p)))

    sampled = tf.ensure_shape(sampled, [num_sampled])
    return sampled, expected(true_classes), expected(sampled)


def unaligned_random_ops(operations: Iterable[tf.Operation]) -> list[str]:
    """Names of random ops among `operations` that `AlignedRandomOps` did not build."""
    return sorted(
        op.name
        for op in operations
        if op.type in RANDOM_OP_TYPES
        and SCOPE not in op.name
        and SAMPLER_SCOPE not in op.name
        and "Initializer" not in op.name
    )
