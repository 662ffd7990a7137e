"""Graph style (TF1 graphs in a Session) as the shared commands and `bridge/styles.py` reach it.

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
    from graphmode.train import train as run

    return run(problem, settings, observer)


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    from graphmode.grad import run_demo as run

    return run(name, strict=strict)


def observe_differences(name: str) -> dict[str, str]:
    from graphmode.differences import observe

    return observe(name)


def read_checkpoint(prefix: str) -> dict[str, np.ndarray]:
    from graphmode.checkpoints import read_tensors

    return read_tensors(prefix)


def engine_class() -> type:
    from graphmode.engine import GraphEngine

    return GraphEngine


GRAPH = Style("graph", train, run_demo, observe_differences, read_checkpoint, engine_class)
