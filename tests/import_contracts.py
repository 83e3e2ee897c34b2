"""A custom import-linter contract: some modules may not import certain *names* from a package.

import-linter's own contracts see modules only, and `flask.request` is a name inside `flask`, not a
module, so "webapp.xero never reads flask.request" needs this small contract type. It reads the source of
every module in `source_modules` that imports `module`, and refuses `from flask import request` as well as
`flask.request` used through a plain `import flask`.
"""
from __future__ import annotations

import ast
import importlib.util

from grimp import ImportGraph
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class ForbiddenNamesContract(Contract):
    """Options: source_modules (packages), module (the imported package), names (forbidden names in it)."""

    type_name = "forbidden_names"

    source_modules = fields.SetField(subfield=fields.ModuleField())
    module = fields.StringField()
    names = fields.SetField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        violations = []
        for package in sorted(m.name for m in self.source_modules):  # type: ignore[attr-defined]
            for name in sorted(graph.find_descendants(package) | {package}):
                if self.module not in graph.find_modules_directly_imported_by(name):  # type: ignore[operator]
                    continue
                for line, found in _forbidden_uses(name, str(self.module), set(self.names)):  # type: ignore[arg-type]
                    violations.append(f"{name}:{line} uses {self.module}.{found}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        from importlinter.application import output

        for violation in check.metadata["violations"]:
            output.print_error(violation)


def _forbidden_uses(module_name: str, package: str, names: set[str]) -> list[tuple[int, str]]:
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), spec.origin)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == package:
            found += [(node.lineno, alias.name) for alias in node.names if alias.name in names]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == package and node.attr in names):
            found.append((node.lineno, node.attr))
    return found
