"""The buyer API's imports: only the packages below it, no cycles, none inside
functions (so the graph read here is the whole graph)."""
from __future__ import annotations

import ast
from pathlib import Path

import gateway.api

PACKAGE = Path(gateway.api.__file__).parent
ALLOWED = ("gateway.api", "gateway.core", "gateway.sms", "gateway.market", "gateway.orders",
           "gateway.ussd")
MODULES = {f"gateway.api.{path.stem}" if path.stem != "__init__" else "gateway.api": path
           for path in PACKAGE.glob("*.py")}


def _imports(path: Path) -> tuple[set[str], list[int]]:
    """Modules imported at the top level, and the lines of any import elsewhere."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from gateway.api import keys` imports the submodule when there is one.
            top |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES
                    else node.module for a in node.names}
    nested = [node.lineno for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body]
    return top, nested


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def test_the_api_imports_only_the_packages_below_it():
    for name, (imports, _) in GRAPH.items():
        ours = {i for i in imports if i.split(".")[0] == "gateway"}
        wrong = {i for i in ours if not i.startswith(ALLOWED)}
        assert not wrong, f"{name} imports {wrong}"


def test_no_import_inside_a_function():
    for name, (_, nested) in GRAPH.items():
        assert not nested, f"{name} imports on lines {nested}"


def test_no_module_imports_the_package_that_imports_it():
    for name, (imports, _) in GRAPH.items():
        if name != "gateway.api":
            assert "gateway.api" not in imports, f"{name} imports gateway.api itself"


def test_the_api_modules_import_no_cycle():
    edges = {name: {i for i in imports if i in MODULES} for name, (imports, _) in GRAPH.items()}

    def visit(name: str, trail: tuple) -> None:
        assert name not in trail, " -> ".join(trail + (name,))
        for following in edges[name]:
            visit(following, trail + (name,))

    for name in edges:
        visit(name, ())
