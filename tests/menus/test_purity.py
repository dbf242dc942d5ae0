"""The architecture rule: `menus/` is pure Python and does no IO.

Definitions arrive as dicts (the caller parses YAML); sessions, SQL, queues and
HTTP belong to the gateway and workers. Checked on the source with `ast`, so a
lazy import inside a function counts too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import menus

FORBIDDEN = frozenset({
    # third-party IO and the layers above the engine
    "flask", "werkzeug", "redis", "fakeredis", "sqlalchemy", "rq", "psycopg", "requests",
    "yaml", "africastalking", "gateway", "workers",
    # standard-library IO
    "socket", "subprocess", "urllib", "http",
})
MENUS = Path(menus.__file__).parent


def imported_modules(source: str) -> set[str]:
    """Every module a source imports, absolute names as written."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) \
                in ("__import__", "import_module") and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.add(node.args[0].value)
    return found


def violations(source: str) -> list[str]:
    """The imports of `source` that break the rule, sorted."""
    return sorted(name for name in imported_modules(source) if name.split(".")[0] in FORBIDDEN)


MODULES = sorted(MENUS.rglob("*.py"))


def test_every_engine_module_is_checked():
    names = {p.relative_to(MENUS).as_posix() for p in MODULES}
    assert {"engine.py", "lint.py", "loader.py", "model.py", "render.py", "gsm7.py",
            "texts.py", "validators.py", "problems.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(MENUS).as_posix())
def test_module_imports_no_io(path):
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("source", "expected"), [
    ("import redis", ["redis"]),
    ("import os, socket", ["socket"]),
    ("from http.client import HTTPConnection", ["http.client"]),
    ("import urllib.request as r", ["urllib.request"]),
    ("from gateway.settings import Settings", ["gateway.settings"]),
    ("def f():\n    import yaml\n    return yaml", ["yaml"]),
    ("import importlib\nimportlib.import_module('sqlalchemy.orm')", ["sqlalchemy.orm"]),
    ("__import__('subprocess')", ["subprocess"]),
    ("from menus import texts\nfrom . import gsm7\nimport re, dataclasses", []),
    ("import redistools\nimport httpx_like", []),  # a prefix of a name is not the name
])
def test_checker_finds_what_it_must(source, expected):
    assert violations(source) == expected
