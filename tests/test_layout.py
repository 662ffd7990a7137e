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
STYLE_PACKAGES = ("graphmode", "eagermode", "bridge")
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


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _named_in_strings(tree: ast.AST) -> set[str]:
    """Module names of ours written as strings: what `importlib.import_module("graphmode.grad")`
    or `__import__` would import, and a table of such names kept for them. A string counts when
    it is exactly a dotted name under one of our packages (prose in a docstring does not), an
    f-string when its literal start is one (`f"graphmode.{name}"`: the package at least)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            text = first.value.rstrip(".")
        else:
            continue
        if _DOTTED.fullmatch(text) and text.split(".")[0] in TOP_LEVEL:
            names.add(text)
    return names


def _string_imports(tree: ast.AST) -> set[str]:
    """What `tree` imports by a string: `import_module("x")`, `__import__("x")`, and every
    string naming a module of ours (`_named_in_strings`)."""
    names = _named_in_strings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else None
            called = function.id if isinstance(function, ast.Name) else called
            argument = node.args[0]
            if called in ("import_module", "__import__") and isinstance(argument, ast.Constant):
                names.add(str(argument.value))
    return names


def _raw_imports(path: Path, *, members: bool = False) -> set[str]:
    """Every module `path` imports, at the top or inside a function, or by a string as importlib
    would take it (and, with `members`, each `from M import x` as `M.x`, which may name a
    submodule)."""
    names = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if members:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names | _string_imports(tree)


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


def _module_graph() -> dict[str, set[str]]:
    """Each module of ours -> the modules of ours it imports, anywhere in it (inside functions,
    by a string). `from P import x` is an edge to `P` (it runs P's `__init__`, and reads x from
    it), and to the submodule `P.x` when there is one; `import P.x` is an edge to `P.x` alone.
    So a package's `__init__` importing its own submodule makes a cycle only if the submodule
    imports the package back: `from P import ...` in it."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        targets = _string_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        ours = {_deepest(name) for name in targets}
        graph[module] = {name for name in ours if name is not None and name != module}
    return graph


def _deepest(name: str) -> str | None:
    """The module of ours `name` is, or lies in (`graphmode.engine.GraphEngine`: the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def test_no_module_imports_one_that_imports_it_back() -> None:
    cycles = _cycles(_module_graph())
    assert not cycles, f"modules that import each other, directly or around a loop: {cycles}"


def test_the_cycle_test_sees_cycles_through_functions_strings_and_packages() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    graph = _module_graph()
    # read from an import inside a function, and from a module named in a string
    assert "graphmode.checkpoints" in graph["graphmode.train"]
    assert "graphmode.engine" in graph["graphmode.style"]
    tree = ast.parse('importlib.import_module("graphmode.grad")\nx = {"g": "eagermode.engine"}')
    assert _named_in_strings(tree) == {"graphmode.grad", "eagermode.engine"}
    assert _named_in_strings(ast.parse('f"bridge.{name}"\n"graphmode is TF1"')) == {"bridge"}


def test_no_core_module_names_a_style_module_in_a_string() -> None:
    for module, path in MODULES.items():
        if module.split(".")[0] == "tfmigration":
            named = _named_in_strings(ast.parse(path.read_text()))
            styles = {name for name in named if name.split(".")[0] in STYLE_PACKAGES}
            assert not styles, f"{module} names {sorted(styles)}"


def _reachable(start: str) -> set[str]:
    graph, seen, todo = _module_graph(), set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_each_style_command_line_reaches_its_own_style_only() -> None:
    assert not {m for m in _reachable("graphmode.cli") if m.startswith(("eagermode", "bridge"))}
    assert not {m for m in _reachable("eagermode.cli") if m.startswith(("graphmode", "bridge"))}
    assert "graphmode.train" in _reachable("graphmode.cli")
    assert "eagermode.train" in _reachable("eagermode.cli")


def test_the_registry_holds_every_style_in_order() -> None:
    from bridge.styles import REGISTRY
    from tfmigration.execution import STYLES

    assert tuple(REGISTRY) == STYLES
    assert [style.name for style in REGISTRY.values()] == list(STYLES)


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
            # nor the style registry (`bridge/styles.py`), whose styles import TensorFlow
            assert not {n for n in _imports(path) if n.split(".")[0] in STYLE_PACKAGES}, module
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
