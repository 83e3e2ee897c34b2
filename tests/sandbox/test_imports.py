"""Every sandbox module imports on its own, first, in a fresh interpreter (no circular-import order); the
modules' imports of each other form no cycle, not even one hidden by an import inside a function; and only the
app factory imports the route modules."""
import ast
import pkgutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import xero_sandbox

MODULES = sorted(m.name for m in pkgutil.iter_modules(xero_sandbox.__path__) if m.name != "__main__")
PACKAGE_DIR = Path(xero_sandbox.__file__).parent
ROUTE_MODULES = {"admin", "api", "contacts", "identity", "invoices"}  # the modules that define blueprints


def test_the_route_modules_are_among_those_checked():
    assert {"api", "contacts", "invoices"} <= set(MODULES)
    assert ROUTE_MODULES <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first(module):
    result = subprocess.run([sys.executable, "-c", f"import xero_sandbox.{module}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def sandbox_imports(source: str, modules: set[str], deferred: bool = False) -> set[str]:
    """The package's modules `source` imports while it is being imported, plus with `deferred` those imported
    inside functions; never `if TYPE_CHECKING` ones. "__init__" is the package itself (`from . import create_app`)."""
    found: set[str] = set()

    def sibling(name: str) -> str:
        return name if name in modules else "__init__"

    def visit(nodes: Iterable[ast.AST]) -> None:
        for child in nodes:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not deferred:
                continue
            if isinstance(child, ast.If) and _is_type_checking(child):
                visit(child.orelse)
                continue
            if isinstance(child, ast.ImportFrom):
                parts = child.module.split(".") if child.module else []
                if child.level == 0 and parts[:1] == ["xero_sandbox"]:
                    parts = parts[1:]
                elif child.level != 1:
                    continue
                found.update([sibling(parts[0])] if parts else [sibling(a.name) for a in child.names])
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    parts = alias.name.split(".")
                    if parts[0] == "xero_sandbox":
                        found.add(sibling(parts[1]) if len(parts) > 1 else "__init__")
            visit(ast.iter_child_nodes(child))

    visit(ast.parse(source).body)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None when it is acyclic."""
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            cycle = walk(nxt, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = walk(start, [])
        if cycle:
            return cycle
    return None


def _sandbox_graph(deferred: bool = False) -> dict[str, set[str]]:
    files = {p.stem: p for p in PACKAGE_DIR.glob("*.py")}
    return {name: sandbox_imports(path.read_text(encoding="utf-8"), set(files), deferred) - {name}
            for name, path in files.items()}


def test_the_checker_reads_imports_and_finds_cycles():
    source = ("from . import contacts, create_app\nfrom .app import x\nimport xero_sandbox.seed\n"
              "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .records import y\n"
              "class K:\n    from .where import z\n"
              "def f():\n    from . import invoices\n")
    modules = {"__init__", "app", "contacts", "invoices", "records", "seed", "where"}
    assert sandbox_imports(source, modules) == {"contacts", "__init__", "app", "seed", "where"}
    assert sandbox_imports(source, modules, deferred=True) == {"contacts", "__init__", "app", "seed", "where",
                                                               "invoices"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("deferred", [False, True], ids=["module-level", "with-deferred"])
def test_no_import_cycle_among_sandbox_modules(deferred):
    cycle = find_cycle(_sandbox_graph(deferred))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_app_factory_imports_the_route_modules():
    graph = _sandbox_graph()
    offenders = {name: sorted(imported & ROUTE_MODULES) for name, imported in graph.items()
                 if name != "app" and imported & ROUTE_MODULES}
    assert offenders == {}, "shared code belongs in leaf modules (sandbox, accounting, params, listing, ...)"
