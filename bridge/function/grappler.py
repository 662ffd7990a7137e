"""Scoping Grappler's configuration to one run of tf.function code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf


@contextlib.contextmanager
def grappler_disabled(disabled: bool = True) -> Iterator[None]:
    """Turn the meta-optimizer off for functions run inside the block, then restore the options.

    tf.config.optimizer options are process-wide, so they are put back exactly as they were.
    """
    if not disabled:
        yield
        return
    before = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        restored = dict(before)
        restored.setdefault("disable_meta_optimizer", False)
        tf.config.optimizer.set_experimental_options(restored)
