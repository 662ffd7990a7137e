"""The execution styles by name, each a `train(problem, *, strict, observer)` function.

Imported lazily: naming a style must not import TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from tfmigration.training.driver import Trajectory

STYLES = ("graph", "eager", "function")

VARIABLE_KINDS = ("ref", "resource")
"""Graph style's variables. ref: RefVariables, what TF1 made (`use_resource=False`), whose reads
are not ordered against assigns in the same Session.run; resource: what TF2 makes everywhere."""

_MODULES = {
    "graph": "graphmode.engine",
    "eager": "eagermode.engine",
    "function": "bridge.function.engine",
}
_ENGINES = {"graph": "GraphEngine", "eager": "EagerEngine", "function": "FunctionEngine"}


def check_execution(style: str, *, steps_per_call: int = 1, jit_compile: bool = False) -> None:
    """Refuse, with one clear line, an execution option the style cannot honour."""
    from tfmigration.catalog.errors import ConfigError

    if style == "eager" and steps_per_call != 1:
        raise ConfigError(
            f"--steps-per-call {steps_per_call}: eager style runs one step per Python call; "
            "fused steps need graph style (graphmode) or tf.function style (tfbridge)"
        )
    if jit_compile and style != "function":
        raise ConfigError(
            f"--jit-compile: {style} style cannot use XLA; it is for tf.function style "
            "(tfbridge train)"
        )


def runner(style: str) -> Callable[..., Trajectory]:
    """The `train(problem, *, strict=False, observer=None) -> Trajectory` of one style."""
    return importlib.import_module(_MODULES[style]).train


def split_batch_reference() -> Callable[..., Trajectory]:
    """The `train(problem, replicas, *, strict=False, observer=None)` of the split-batch
    reference (graph style, one Session): what every replicated run must reproduce."""
    return importlib.import_module("graphmode.distributed").train


def engine_class(style: str) -> type:
    """The Engine class of one style, for callers that drive `driver.run` themselves."""
    return getattr(importlib.import_module(_MODULES[style]), _ENGINES[style])


_DEMO_MODULES = {
    "graph": "graphmode.grad",
    "eager": "eagermode.grad",
    "function": "bridge.function.grad",
}


def demo_runner(style: str) -> Callable[..., dict[str, np.ndarray]]:
    """The `run_demo(name, *, strict=False) -> {quantity: value}` of one style's autodiff demos."""
    return importlib.import_module(_DEMO_MODULES[style]).run_demo


_DIFFERENCE_MODULES = {
    "graph": "graphmode.differences",
    "eager": "eagermode.differences",
    "function": "bridge.function.differences",
}


def difference_observer(style: str) -> Callable[[str], dict[str, str]]:
    """The `observe(name) -> {case: what happened}` of one style's autodiff differences."""
    return importlib.import_module(_DIFFERENCE_MODULES[style]).observe


_CHECKPOINT_MODULES = {
    "graph": "graphmode.checkpoints",
    "eager": "eagermode.checkpoints",
    "function": "eagermode.checkpoints",  # tf.function style keeps the eager engine's state
}


def checkpoint_reader(style: str) -> Callable[[str], dict[str, np.ndarray]]:
    """The `read_tensors(prefix) -> {key: array}` of one style: TF1's `NewCheckpointReader` in
    graph style, `tf.train.load_checkpoint` in the others; both read either format."""
    return importlib.import_module(_CHECKPOINT_MODULES[style]).read_tensors
