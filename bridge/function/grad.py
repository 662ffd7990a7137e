"""The autodiff demos under tf.function: the eager tapes, unchanged, traced into a graph."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bridge.function.grappler import grappler_disabled
from eagermode.grad import PROGRAMS, to_numpy
from tfmigration.catalog.demos import get_demo


def run_demo(name: str, *, strict: bool = False) -> dict[str, np.ndarray]:
    """Every quantity of demo `name`, the eager code run as a tf.function; `strict`: no Grappler."""
    get_demo(name)
    program = PROGRAMS[name]
    # Created before tracing: a tf.function may create Variables only on its first call.
    inputs = program.inputs()
    with grappler_disabled(strict):
        return to_numpy(tf.function(program.compute)(**inputs))
