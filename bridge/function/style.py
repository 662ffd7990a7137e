"""tf.function style (the eager step, traced), as the shared commands and `bridge/styles.py`
reach it.

Each function imports the style's modules (and TensorFlow) only when called, so naming the style
imports neither: `--help` and `list` start fast.
"""

from __future__ import annotations

import numpy as np

from tfmigration.catalog.problem import Problem
from tfmigration.execution import RunSettings, Style
from tfmigration.training.driver import Observer, Trajectory


def train(
    problem: Problem, settings: RunSettings = RunSettings(), observer: Observer | None = None
) -> Trajectory:
    from bridge.function.train import train as run

    return run(problem, settings, observer)


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    from bridge.function.grad import run_demo as run

    return run(name, strict=strict)


def observe_differences(name: str) -> dict[str, str]:
    from bridge.function.differences import observe

    return observe(name)


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    # tf.function style keeps the eager engine's state, and its checkpoints
    from eagermode.checkpoints import read_tensors

    return read_tensors(prefix)


def engine_class() -> type:
    from bridge.function.engine import FunctionEngine

    return FunctionEngine


FUNCTION = Style("function", train, run_demo, observe_differences, read_checkpoint, engine_class)
