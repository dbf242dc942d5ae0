"""The console's shape: the blueprint in a module of its own (no import cycle
through the package), and no form read by hand. Where the console may import
from, and that it imports nothing inside functions, `tests/test_architecture.py`
checks for every package."""
from __future__ import annotations

import ast
from pathlib import Path

import gateway.console

ROOT = Path(gateway.console.__file__).parent


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


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
