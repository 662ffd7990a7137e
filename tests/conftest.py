"""Test-session set-up: quiet TensorFlow, and the three styles as a parametrisation."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfmigration.devices import ensure_logical_cpus
from tfmigration.quiet import import_tensorflow_quietly

import_tensorflow_quietly()

# Logical CPUs can only be set up before TensorFlow's first op; the replicated tests use up to 4.
ensure_logical_cpus(4)

STYLE_IDS = ["graph", "eager", "function"]


@pytest.fixture(params=STYLE_IDS, ids=STYLE_IDS)
def style(request: pytest.FixtureRequest) -> str:
    """Each execution style in turn, so one test body runs for graph, eager and tf.function."""
    return request.param
