"""Test-session set-up: quiet TensorFlow, and the three styles as a parametrisation."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tfmigration.cluster import ALLOW_OPEN_PORTS
from tfmigration.devices import ensure_logical_cpus
from tfmigration.netns import unavailable_reason
from tfmigration.quiet import import_tensorflow_quietly

import_tensorflow_quietly()

# Logical CPUs can only be set up before TensorFlow's first op; the replicated tests use up to 4.
ensure_logical_cpus(4)

# Where this machine allows no network namespace, the replicated runs' tests still run, with
# their servers unconfined; tests/test_cluster.py then checks the refusal itself, and skips the
# test that the servers are confined.
NO_NETWORK_NAMESPACE = unavailable_reason()
if NO_NETWORK_NAMESPACE is not None:
    os.environ.setdefault(ALLOW_OPEN_PORTS, "1")


def pytest_report_header() -> str:
    if NO_NETWORK_NAMESPACE is None:
        return "cluster tasks: in a loopback-only network namespace"
    return (
        f"cluster tasks: no network namespace here ({NO_NETWORK_NAMESPACE}); "
        f"the cluster tests run with {ALLOW_OPEN_PORTS}=1"
    )


# Hypothesis draws new examples from a fresh seed on every run; its built-in "ci" profile
# derandomizes them (each test's seed is a hash of the test), keeps no example database and has
# no deadline, so a run on a loaded machine tests what the last run tested. To hunt for new
# examples: python -m pytest --hypothesis-profile=default.
settings.load_profile("ci")

STYLE_IDS = ["graph", "eager", "function"]


@pytest.fixture(params=STYLE_IDS, ids=STYLE_IDS)
def style(request: pytest.FixtureRequest) -> str:
    """Each execution style in turn, so one test body runs for graph, eager and tf.function."""
    return request.param
