"""The layout tells the architecture, and a user's own folders never shadow ours (or ours theirs).

style-free core (`tfmigration`) -> three styles (`graphmode`, `eagermode`, `bridge.function`)
-> comparison (`bridge`) -> command lines at the edge. Checked by reading every module's imports.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {"tfmigration", "graphmode", "eagermode", "bridge"}
GENERIC = {"core", "utils", "common", "models", "catalog", "training", "oracle", "cli_shared"}


def _modules() -> dict[str, Path]:
    found = {}
    for top in TOP_LEVEL:
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _raw_imports(path: Path, *, members: bool = False) -> set[str]:
    """Every module `path` imports, at the top or inside a function (and, with `members`, each
    `from M import x` as `M.x`, which may name a submodule)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if members:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports(path: Path) -> set[str]:
    """The modules of ours that `path` imports."""
    names = _raw_imports(path, members=True)
    return {name for name in names if name in MODULES or name.split(".")[0] in TOP_LEVEL}


def _package(module: str) -> str:
    """The package a module belongs to, one level below the top (`tfmigration.catalog`)."""
    parts = module.split(".")
    if parts[0] in ("tfmigration", "bridge") and len(parts) > 1:
        candidate = ".".join(parts[:2])
        if (ROOT / Path(*parts[:2])).is_dir():
            return candidate
    return parts[0]


def _imported_by(predicate: object) -> dict[str, set[str]]:
    return {
        module: {name for name in _imports(path) if predicate(name)}  # type: ignore[operator]
        for module, path in MODULES.items()
    }


def test_pip_install_puts_only_our_four_top_level_packages() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = find_packages(where=str(ROOT), include=include)
    assert {name.split(".")[0] for name in packages} == TOP_LEVEL
    assert not {name.split(".")[0] for name in packages} & GENERIC


def test_no_two_packages_import_each_other() -> None:
    edges: set[tuple[str, str]] = set()
    for module, path in MODULES.items():
        for name in _imports(path):
            source, target = _package(module), _package(name)
            if source != target:
                edges.add((source, target))
    mutual = sorted((a, b) for a, b in edges if (b, a) in edges and a < b)
    assert not mutual, f"packages that import each other: {mutual}"


def test_the_core_imports_no_style_and_no_style_imports_the_comparison() -> None:
    styles = ("graphmode", "eagermode", "bridge")
    for module, names in _imported_by(lambda name: True).items():
        if module.startswith("tfmigration"):
            assert not {n for n in names if n.split(".")[0] in styles}, module
        if module.startswith("graphmode"):
            assert not {n for n in names if n.startswith(("eagermode", "bridge"))}, module
        if module.startswith("eagermode"):
            assert not {n for n in names if n.startswith(("graphmode", "bridge"))}, module
        if module.startswith("bridge.function"):
            # the tf.function style wraps the eager code; it never reaches the comparison
            allowed = ("bridge.function", "eagermode", "tfmigration")
            assert all(n.startswith(allowed) for n in names), module


def test_library_code_never_imports_the_command_line_helpers() -> None:
    for module, names in _imported_by(lambda name: name.startswith("tfmigration.cli")).items():
        is_cli = module.startswith("tfmigration.cli") or module.split(".")[-1] in (
            "cli",
            "__main__",
        )
        if not is_cli:
            assert not names, f"{module} imports {sorted(names)}"


def test_the_oracle_and_the_catalog_share_no_tensorflow_code() -> None:
    for module, path in MODULES.items():
        text = {name.split(".")[0] for name in _raw_imports(path)}
        if module.startswith("tfmigration.oracle"):
            assert "tensorflow" not in text and "keras" not in text, module
            assert not {n for n in _imports(path) if n.startswith("tfmigration.training.styles")}
        if module.startswith("tfmigration.catalog") and module != "tfmigration.catalog.losses":
            assert "tensorflow" not in text, module


def test_keras_internals_are_touched_in_one_module_only() -> None:
    private = ("_get_variable_index", "_backend_update_step", "add_optimizer_variables")
    for module, path in MODULES.items():
        if module == "eagermode.keras_internals":
            continue
        source = path.read_text()
        for name in (*private, '"_momentums"', '"_velocities"', '"_accumulators"', "._momentums"):
            assert name not in source, f"{module} uses Keras's {name}"


@pytest.mark.slow
@pytest.mark.parametrize("keras_version", ["3.9.0", "3.16.0", "4.0.0", "garbage"])
def test_an_unsupported_keras_is_refused_in_one_line_naming_the_range(keras_version: str) -> None:
    code = (
        "from tfmigration.quiet import import_tensorflow_quietly\n"
        "import_tensorflow_quietly()\n"
        "import keras\n"
        f"keras.version = lambda: {keras_version!r}\n"
        "from bridge.cli import main\n"
        "main(['train', 'quadratic', '--steps', '1'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"Error: Keras {keras_version} is installed; tf-migration-bridge's eager optimizers "
        "support Keras >=3.15,<3.16: pip install 'keras>=3.15,<3.16'"
    ]
    assert done.stdout == ""


def test_the_supported_keras_range_is_the_declared_requirement() -> None:
    from eagermode.keras_internals import SUPPORTED_RANGE

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"keras{SUPPORTED_RANGE}" in config["project"]["dependencies"]


@pytest.mark.slow
def test_runs_from_a_project_folder_holding_generic_packages_of_its_own(tmp_path: Path) -> None:
    # A user's ML project: each of these would be imported instead of ours if we used the name.
    for name in ("training", "catalog", "oracle", "core", "utils", "measure", "cli"):
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text(
            f"raise ImportError('the user\\'s own {name} package was imported')\n"
        )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "compare", "house", "--steps", "5", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert '"verdict": "identical"' in done.stdout


def test_every_source_path_the_docs_name_exists() -> None:
    pages = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for path in re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|md))(?::\d+)?`", page.read_text()):
            if path.startswith(("tensorflow/", "keras/")):
                continue  # TensorFlow's and Keras's own sources, cited by path
            assert (ROOT / path).exists() or (ROOT / "docs" / path).exists(), f"{page.name}: {path}"
