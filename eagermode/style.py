"""Eager style (GradientTape, Keras optimizers), as the shared commands and `bridge/styles.py`
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
    from eagermode.train import train as run

    return run(problem, settings, observer)


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    from eagermode.grad import run_demo as run

    return run(name, strict=strict)


def observe_differences(name: str) -> dict[str, str]:
    from eagermode.differences import observe

    return observe(name)


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    from eagermode.checkpoints import read_tensors

    return read_tensors(prefix)


def engine_class() -> type:
    from eagermode.engine import EagerEngine

    return EagerEngine


EAGER = Style("eager", train, run_demo, observe_differences, read_checkpoint, engine_class)
