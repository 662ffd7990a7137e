"""The autodiff demos of docs/catalog.md in graph, eager and tf.function style."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge.styles import demo_runner
from tfmigration.catalog.demos import DEMOS, get_demo
from tfmigration.catalog.errors import ConfigError
from tfmigration.oracle.demos import run_demo as oracle_demo

DEMO_NAMES = list(DEMOS)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_demo_prints_the_catalog_numbers_exactly(demo: str, style: str, strict: bool) -> None:
    results = demo_runner(style)(demo, strict=strict)
    expected = DEMOS[demo].expected
    assert list(results) == list(expected), "quantities in the catalog's print order"
    for name, value in results.items():
        assert value.dtype == np.float32, name
        # Small integers throughout: exact in float32, so == and not a tolerance.
        assert value.tolist() == expected[name], name


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_oracle_derives_the_catalog_numbers(demo: str) -> None:
    results = oracle_demo(demo)
    expected = DEMOS[demo].expected
    assert list(results) == list(expected)
    for name, value in results.items():
        assert np.asarray(value, dtype=np.float64).tolist() == expected[name], name


def test_chain_labels_dz_dx_500_and_dy_dx_10() -> None:
    # One well-known tutorial prints these swapped; the names must say which is which.
    assert DEMOS["chain"].expected == {"dz/dx": 500.0, "dy/dx": 10.0}


def test_matrix_gradient_is_5_by_5() -> None:
    for style in ("graph", "eager", "function"):
        assert demo_runner(style)("matrix")["dz/dx"].shape == (5, 5)


def test_tf_hessians_gives_only_the_diagonal_blocks_of_a_list_of_sources() -> None:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.Variable(3.0)
        y = tf.Variable(4.0)
        f = tf.square(x) + 2.0 * tf.square(y) + 1.0
        blocks = tf.hessians(f, [x, y])
        initializer = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(initializer)
        assert session.run(blocks) == [2.0, 4.0]


def test_unknown_demo_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown demo 'cube'; choose one of: square, chain"):
        get_demo("cube")
    with pytest.raises(ConfigError, match="unknown demo"):
        demo_runner("eager")("cube")


def test_catalog_of_demos_imports_no_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tfmigration.catalog.demos, tfmigration.oracle.demos; "
        "import bridge.styles; "
        "sys.exit('tensorflow' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
