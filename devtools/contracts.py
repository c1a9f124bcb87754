"""An import-linter contract for what a graph of modules cannot say alone (see .importlinter):

- no module imports or uses another app's private names (`from leads.x import _helper`, or
  `scoping._helper` after `from leads import scoping`) or private modules (`leads._x`): what an
  app offers the others is what it names without an underscore;
- no view module (`views`, `views_*`, `api`, `api_*`) imports another app's view module: a page
  another app needs is offered by a plain module (e.g. leads.lead_page), not by its views
  (common.api, the shared library's API helpers, holds no view).

The names are read from the importing module's source (an import may span lines).
Every violation names the importing module and its line.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output

ROOT = Path(__file__).resolve().parents[1]


def _is_view(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return any(last == kind or last.startswith(f"{kind}_") for kind in ("views", "api"))


# Underscored by their owners but public: Django's model API and namedtuple's.
PUBLIC_UNDERSCORED = {"_meta", "_default_manager", "_base_manager", "_state", "_replace", "_asdict", "_fields", "_make"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORED


@cache
def _source(module: str) -> tuple[ast.Module, str] | None:
    """The module's syntax tree and its package. Found by path, not imported: importing an app's
    modules would set Django up."""
    base_path = ROOT.joinpath(*module.split("."))
    is_package = (base_path / "__init__.py").is_file()
    path = base_path / "__init__.py" if is_package else base_path.with_suffix(".py")
    if not path.is_file():
        return None
    return ast.parse(path.read_text(encoding="utf-8")), module if is_package else module.rpartition(".")[0]


def _names_used(module: str) -> list[tuple[int, str, str]]:
    """(line, module imported from, name) for every `from X import name` in `module`, and for
    every `alias._name` where alias is bound by `from X import alias` or `import X as alias`
    (the name is then looked up on X.alias or X)."""
    found = _source(module)
    if found is None:
        return []
    tree, package = found
    used: list[tuple[int, str, str]] = []
    bound: dict[str, str] = {}  # local alias -> the module (or package) it names
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                used.append((node.lineno, base, alias.name))
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            used.append((node.lineno, bound[node.value.id], node.attr))
    return used


def _line(graph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    return f" (l.{details[0]['line_number']})" if details else ""


class AppBoundariesContract(Contract):
    type_name = "app_boundaries"

    apps = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        apps = set(self.apps)
        violations: list[str] = []
        for importer in sorted(graph.modules):
            app = importer.split(".")[0]
            if app not in apps:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                other = imported.split(".")[0]
                if other == app or other not in apps:
                    continue
                if any(_private(part) for part in imported.split(".")):
                    violations.append(f"{importer}{_line(graph, importer, imported)} imports {imported}, a private module of {other}")
                if _is_view(importer) and _is_view(imported) and other != "common":  # common: helpers only
                    violations.append(f"{importer}{_line(graph, importer, imported)} imports {imported}: a view module of another app")
            for line, source, name in _names_used(importer):
                other = source.split(".")[0]
                if other != app and other in apps and _private(name):
                    violations.append(f"{importer} (l.{line}) uses {name} of {source}, a private name of {other}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(f"- {violation}", bold=False)
            output.new_line()
