"""How a run executes, apart from what it trains: the style names, one value for a run's
execution settings, and the one signature every style's runner has.

Nothing here imports a style: the styles import this, and `bridge.styles` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tfmigration.catalog.errors import ConfigError
from tfmigration.catalog.problem import Problem
from tfmigration.checkpoint.state import SaveOptions, TrainingState
from tfmigration.cluster import DEFAULT_TIMEOUT_SECONDS
from tfmigration.distributed import check_cluster_options
from tfmigration.training.driver import Observer, Trajectory

STYLES = ("graph", "eager", "function")

VARIABLE_KINDS = ("ref", "resource")
"""Graph style's variables. ref: RefVariables, what TF1 made (`use_resource=False`), whose reads
are not ordered against assigns in the same Session.run; resource: what TF2 makes everywhere."""


@dataclass(frozen=True)
class RunSettings:
    """How to run a problem (not what to train): every style reads the same value, and refuses
    in one line a setting it cannot honour (`check_execution`).

    `steps_per_call` fuses K steps per Session.run or tf.function call; `jit_compile` is XLA
    (tf.function style); `variables` graph style's kind (None: TF1's ref; the other styles
    make resource variables only); `save` and `resume` checkpoint a run; `replicas` > 1 runs it
    data-parallel, `multi_worker` (eager, tf.function) as one process per worker, the cluster's
    processes on `ports` of 127.0.0.1 (else free ones), stopped after `cluster_timeout` s.
    """

    strict: bool = False
    steps_per_call: int = 1
    jit_compile: bool = False
    variables: str | None = None
    save: SaveOptions | None = None
    resume: TrainingState | None = None
    replicas: int = 1
    multi_worker: bool = False
    ports: tuple[int, ...] | None = None
    cluster_timeout: float = DEFAULT_TIMEOUT_SECONDS


class Runner(Protocol):
    """A style's `train`: the same signature in every style."""

    def __call__(
        self, problem: Problem, settings: RunSettings = ..., observer: Observer | None = ...
    ) -> Trajectory: ...


@dataclass(frozen=True)
class Style:
    """One execution style as the shared commands and the registry (`bridge.styles`) reach it.

    Each callable imports its style's modules, and TensorFlow, only when called: naming a style
    imports neither. A command is given the styles it may run by its caller, never by name.
    """

    name: str
    train: Runner
    run_demo: Callable[..., dict[str, np.ndarray]]
    """`run_demo(name, *, strict=False) -> {quantity: value}`: the autodiff demos."""
    observe_differences: Callable[[str], dict[str, str]]
    """`observe(name) -> {case: what happened}`: the autodiff differences."""
    read_checkpoint: Callable[[str], dict[str, np.ndarray]]
    """`read_tensors(prefix) -> {key: array}`: reads either checkpoint format."""
    engine_class: Callable[[], type]
    """The style's Engine class, for callers that drive `driver.run` themselves."""


def check_execution(style: str, settings: RunSettings) -> None:
    """Refuse, with one clear line, an execution setting `style` cannot honour."""
    if style == "eager" and settings.steps_per_call != 1:
        raise ConfigError(
            f"--steps-per-call {settings.steps_per_call}: eager style runs one step per Python "
            "call; fused steps need graph style (graphmode) or tf.function style (tfbridge)"
        )
    if settings.jit_compile and style != "function":
        raise ConfigError(
            f"--jit-compile: {style} style cannot use XLA; it is for tf.function style "
            "(tfbridge train)"
        )
    if settings.variables not in (None, *VARIABLE_KINDS):
        raise ConfigError(
            f"--variables {settings.variables}: not a kind of variable; use one of "
            f"{', '.join(VARIABLE_KINDS)}"
        )
    if style != "graph" and settings.variables == "ref":
        raise ConfigError(
            f"--variables ref: {style} style makes TF2's resource variables only; RefVariables "
            "are graph style's (graphmode, tfbridge compare)"
        )
    check_cluster_options(
        (style,), settings.replicas, multi_worker=settings.multi_worker, ports=settings.ports
    )
