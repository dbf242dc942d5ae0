"""The house rules of docs/architecture.md, checked on the source with `ast`
(nothing is imported or run): the import graph of Isoko's own modules has no
cycle, every import runs downwards through the layers, and imports sit at the
top of their module.

`python -m tests.test_architecture` prints the graph's counts.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "menus")
SKIPPED = ("gateway/migrations",)  # Alembic's revisions and env: tooling, not the application

# Bottom first. A module may import modules of its own package and of the
# layers below; names in one tuple are peers and may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("menus",),
    ("gateway.core",),
    ("gateway.sms",),
    ("gateway.market", "gateway.operators"),
    ("gateway.orders",),
    ("gateway.payments",),
    ("gateway.ussd",),
    ("gateway.api", "gateway.channels", "gateway.schema"),
    ("gateway.console",),
    ("gateway.worker",),
    ("gateway.web",),
    ("gateway.cli", "gateway.app"),  # app: the factory's old address, for old deploy scripts
)

# Imports inside functions, allowed only where one keeps a genuinely optional
# dependency optional: {module: why}. Empty: every import is at module level.
FUNCTION_IMPORTS_ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module of this project
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not any(path.relative_to(ROOT).as_posix().startswith(skip) for skip in SKIPPED):
                modules[module_name(path)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (an attribute of a module counts as the module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The project modules `module` imports. `from P import m` counts as an
    import of `P.m` when that is a module, else of `P`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package
                    for _ in range(child.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{base}" if base else parent
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                         for alias in child.names]
            else:
                visit(child, inside)
                continue
            for name in names:
                target = _resolve(name, modules)
                if target is not None and target != module:
                    found.append(Import(module, target, child.lineno, in_function))

    visit(tree, False)
    return found


def graph() -> tuple[dict[str, Path], list[Import]]:
    modules = project_modules()
    edges = [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]
    return modules, edges


def cycles(modules: dict[str, Path], edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    out: dict[str, set[str]] = {name: set() for name in modules}
    for edge in edges:
        if not edge.in_function:
            out[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(modules)))

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(out[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(modules):
        if node not in index:
            connect(node)
    return found


def layer_of(module: str) -> tuple[int, str]:
    """(layer number, the package it belongs to) for `module`."""
    for number, peers in enumerate(LAYERS):
        for package in peers:
            if module == package or module.startswith(package + "."):
                return number, package
    raise LookupError(module)


def wrong_way(edges: list[Import]) -> list[str]:
    problems = []
    for edge in edges:
        (source_layer, source_pkg), (target_layer, target_pkg) = layer_of(edge.source), layer_of(edge.target)
        if source_pkg != target_pkg and target_layer >= source_layer:
            problems.append(f"{edge.source}:{edge.line} imports {edge.target} "
                            f"({'a peer' if target_layer == source_layer else 'a layer above'})")
    return problems


# -- the checker itself --------------------------------------------------------------------------


def test_the_checker_sees_cycles_directions_and_function_imports(tmp_path, monkeypatch):
    for name, text in {
        "gateway/__init__.py": "",
        "gateway/core/__init__.py": "",
        "gateway/core/a.py": "from gateway.core import b\n",
        "gateway/core/b.py": "import gateway.core.a\nfrom gateway.sms.x import y\n",
        "gateway/sms/__init__.py": "",
        "gateway/sms/x.py": "def f():\n    from gateway.core import a\n",
        "menus/__init__.py": "",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    modules, edges = graph()
    assert cycles(modules, edges) == [["gateway.core.a", "gateway.core.b"]]
    assert wrong_way(edges) == ["gateway.core.b:2 imports gateway.sms.x (a layer above)"]
    assert [(e.source, e.in_function) for e in edges if e.in_function] == [("gateway.sms.x", True)]


# -- the house -----------------------------------------------------------------------------------


def test_every_module_belongs_to_a_layer():
    modules, _ = graph()
    unplaced = []
    for name in modules:
        if name == "gateway":
            continue
        try:
            layer_of(name)
        except LookupError:
            unplaced.append(name)
    assert unplaced == [], "add these to LAYERS (and docs/architecture.md)"


def test_no_import_cycle():
    modules, edges = graph()
    assert cycles(modules, edges) == []


def test_imports_run_downwards():
    _, edges = graph()
    assert wrong_way(edges) == []


def test_imports_sit_at_the_top_of_their_module():
    _, edges = graph()
    inside = [f"{e.source}:{e.line} imports {e.target}" for e in edges
              if e.in_function and e.source not in FUNCTION_IMPORTS_ALLOWED]
    assert inside == []


def test_all_imports_inside_functions_are_at_the_top_too():
    """Third-party and standard-library imports count as well (not only the project's)."""
    late = []
    for name, path in project_modules().items():
        if name in FUNCTION_IMPORTS_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                late += [f"{name}:{node.lineno}" for node in ast.walk(func)
                         if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert late == []


def test_gateway_has_only_a_handful_of_top_level_modules():
    top = sorted(p.name for p in (ROOT / "gateway").glob("*.py"))
    assert top == ["__init__.py", "app.py", "schema.py"]  # app.py: the old factory address


@pytest.mark.parametrize("package", ["gateway.web", "gateway.cli", "gateway.console"])
def test_nothing_below_imports_the_top_floors(package):
    _, edges = graph()
    back = [f"{e.source} -> {e.target}" for e in edges
            if (e.target == package or e.target.startswith(package + "."))
            and not (e.source == package or e.source.startswith(package + "."))
            and layer_of(e.source)[0] <= layer_of(package)[0]]
    assert back == []


if __name__ == "__main__":
    found_modules, found_edges = graph()
    top_level = [e for e in found_edges if not e.in_function]
    print(f"modules {len(found_modules)}, imports between them {len({(e.source, e.target) for e in top_level})}, "
          f"cycles {len(cycles(found_modules, found_edges))}, "
          f"imports inside functions {sum(e.in_function for e in found_edges)}")
