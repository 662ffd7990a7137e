"""The execution styles by name, each a `train(problem, *, strict, observer)` function.

Imported lazily: naming a style must not import TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from training.driver import Trajectory

STYLES = ("graph", "eager", "function")

_MODULES = {
    "graph": "graphmode.engine",
    "eager": "eagermode.engine",
    "function": "bridge.function_engine",
}
_ENGINES = {"graph": "GraphEngine", "eager": "EagerEngine", "function": "FunctionEngine"}


def runner(style: str) -> Callable[..., Trajectory]:
    """The `train(problem, *, strict=False, observer=None) -> Trajectory` of one style."""
    return importlib.import_module(_MODULES[style]).train


def engine_class(style: str) -> type:
    """The Engine class of one style, for callers that drive `training.driver.run` themselves."""
    return getattr(importlib.import_module(_MODULES[style]), _ENGINES[style])
