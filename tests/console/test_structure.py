"""The console's shape: areas that import only what lies below them, and the
blueprint in a module of its own (no import cycle through the package)."""
from __future__ import annotations

import ast
from pathlib import Path

import gateway.console

ROOT = Path(gateway.console.__file__).parent
FORBIDDEN = ("gateway.web", "gateway.cli", "gateway.channels")


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


def imported(tree) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_the_console_imports_nothing_above_it():
    for path, tree in modules():
        for name in imported(tree):
            assert not name.startswith(FORBIDDEN), (path, name)


def test_no_imports_inside_functions():
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, (path, node.name)


def test_area_modules_take_the_blueprint_from_its_module_not_the_package():
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "gateway.console":
                assert "bp" not in [a.name for a in node.names], path


def test_every_console_post_goes_through_a_form():
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "form" and isinstance(node.value, ast.Name):
                assert node.value.id != "request", (path, node.lineno)
