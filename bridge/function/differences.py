"""The autodiff differences under tf.function: the eager cases, each traced before it runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from eagermode.differences import observe as observe_with
from tfmigration.catalog.differences import Observations


def traced(body: Callable[[], Any]) -> Any:
    # Each case is a fresh closure over the same code, which TensorFlow reports as "retracing";
    # tracing once per case is the intent here, so that warning is kept off the terminal.
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        return tf.function(body)()
    finally:
        logger.setLevel(level)


def observe(name: str) -> Observations:
    """What each case of difference `name` does when its tape code runs as a tf.function."""
    return observe_with(name, run=traced)
