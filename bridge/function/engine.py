"""The eager step wrapped in tf.function: the TF2 way to get a graph back.

Per step, the eager `train_step` runs under tf.function, traced once per run. Fused, K of those
steps run inside one tf.function call, each taking its batch from the precomputed schedule held
inside TensorFlow, so no data crosses from Python between steps. `jit_compile` hands either to XLA.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bridge.function.grappler import grappler_disabled
from eagermode.engine import EagerEngine, run_resumable
from tfmigration.catalog.problem import Problem
from tfmigration.checkpoint.state import SaveOptions, TrainingState
from tfmigration.cluster import DEFAULT_TIMEOUT_SECONDS
from tfmigration.training.driver import Observer, Trajectory, run
from tfmigration.training.in_graph_batches import InGraphBatches


class FunctionEngine(EagerEngine):
    mode = "function"

    def __init__(
        self, problem: Problem, *, steps_per_call: int = 1, jit_compile: bool = False
    ) -> None:
        super().__init__(problem)
        # No call runs more steps than the run has; the loop's TensorArray is K entries long.
        steps_per_call = self.steps_per_call = min(steps_per_call, problem.steps)
        self.compiled_step = self.run_step = tf.function(self.train_step, jit_compile=jit_compile)
        self.compiled_loss = self.run_loss = tf.function(self.forward_loss, jit_compile=jit_compile)
        self.compiled_steps = tf.function(self._train_steps, jit_compile=jit_compile)
        if steps_per_call > 1:
            self._batches = InGraphBatches(problem, tf.constant)

    @property
    def tracing_count(self) -> int:
        """How many times the training step (or the fused loop) was traced."""
        return (
            self.compiled_step.experimental_get_tracing_count()
            + self.compiled_steps.experimental_get_tracing_count()
        )

    def _train_steps(self, start: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
        # A TensorArray of the fixed size K keeps shapes static for XLA; a last, shorter call
        # writes only its first `count` entries.
        losses = tf.TensorArray(self.dtype, size=self.steps_per_call, element_shape=())
        for offset in tf.range(count):
            features, targets = self._batches.batch(start + offset)
            losses = losses.write(offset, self.train_step(features, targets))
        return losses.stack()

    def steps(self, start: int, count: int) -> np.ndarray:
        losses = self.compiled_steps(tf.constant(start, tf.int32), tf.constant(count, tf.int32))
        return losses.numpy()[:count]


def train(
    problem: Problem,
    *,
    strict: bool = False,
    observer: Observer | None = None,
    steps_per_call: int = 1,
    jit_compile: bool = False,
    engine: FunctionEngine | None = None,
    save: SaveOptions | None = None,
    resume: TrainingState | None = None,
    replicas: int = 1,
    multi_worker: bool = False,
    ports: tuple[int, ...] | None = None,
    cluster_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Trajectory:
    """Train `problem` with the eager step under tf.function; `strict` turns Grappler off.
    From the checkpointed state `resume` if given, saving TF2 checkpoints as `save` asks.

    With `replicas` > 1: MirroredStrategy's custom loop, traced (bridge.function.distributed),
    or with `multi_worker` MultiWorkerMirroredStrategy's, one process per worker
    (bridge.function.multi_worker).
    """
    if replicas > 1 and engine is None:
        from bridge.function.distributed import MirroredFunctionEngine
        from tfmigration.distributed import check_replicas

        check_replicas(
            replicas, problem.batch_rows, steps_per_call=steps_per_call, jit_compile=jit_compile
        )
        if multi_worker:
            from bridge.function import multi_worker as workers
            from eagermode.multi_worker import train as train_workers

            return train_workers(
                problem,
                replicas,
                strict=strict,
                observer=observer,
                ports=ports,
                timeout=cluster_timeout,
                module=workers.MODULE,
            )
        engine = MirroredFunctionEngine(problem, replicas)
    engine = engine or FunctionEngine(
        problem, steps_per_call=steps_per_call, jit_compile=jit_compile
    )
    with grappler_disabled(strict):
        if save is None and resume is None:
            return run(problem, engine, observer, steps_per_call=engine.steps_per_call)
        return run_resumable(
            problem,
            engine,
            observer,
            steps_per_call=engine.steps_per_call,
            save=save,
            resume=resume,
        )
