"""The execution styles by name: where the styles meet, so the registry lives in the bridge.

Each entry is a style's own `Style` (`graphmode/style.py`, `eagermode/style.py`,
`bridge/function/style.py`), whose functions import the style only when called: naming a style
imports no TensorFlow. The core never looks a style up; its commands are given the styles they
run by their caller.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bridge.function.style import FUNCTION
from eagermode.style import EAGER
from graphmode.style import GRAPH
from tfmigration.catalog.problem import Problem
from tfmigration.execution import Runner, Style
from tfmigration.training.driver import Observer, Trajectory

REGISTRY: dict[str, Style] = {style.name: style for style in (GRAPH, EAGER, FUNCTION)}


def runner(style: str) -> Runner:
    """The `train(problem, settings=RunSettings(), observer=None) -> Trajectory` of one style."""
    return REGISTRY[style].train


def engine_class(style: str) -> type:
    """The Engine class of one style, for callers that drive `driver.run` themselves."""
    return REGISTRY[style].engine_class()


def demo_runner(style: str) -> Callable[..., dict[str, np.ndarray]]:
    """The `run_demo(name, *, strict=False) -> {quantity: value}` of one style's autodiff demos."""
    return REGISTRY[style].run_demo


def difference_observer(style: str) -> Callable[[str], dict[str, str]]:
    """The `observe(name) -> {case: what happened}` of one style's autodiff differences."""
    return REGISTRY[style].observe_differences


def checkpoint_reader(style: str) -> Callable[[str], dict[str, np.ndarray]]:
    """The `read_tensors(prefix) -> {key: array}` of one style: TF1's `NewCheckpointReader` in
    graph style, `tf.train.load_checkpoint` in the others; both read either format."""
    return REGISTRY[style].read_checkpoint


def split_batch_reference(
    problem: Problem, replicas: int, *, strict: bool = False, observer: Observer | None = None
) -> Trajectory:
    """The split-batch reference (graph style, one Session): the same shards, gradients summed
    in replica order; what every replicated run must reproduce."""
    from graphmode.distributed import train

    return train(problem, replicas, strict=strict, observer=observer)
