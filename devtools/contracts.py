"""An import-linter contract for what a graph of modules cannot say alone (see .importlinter):

- no module imports another app's private names (`from leads.x import _helper`) or private
  modules (`leads._x`): what an app offers the others is what it names without an underscore;
- no view module (`views`, `views_*`, `api`, `api_*`) imports another app's view module: a page
  another app needs is offered by a plain module (e.g. leads.lead_page), not by its views
  (common.api, the shared library's API helpers, holds no view).

The names are read from the importing module's source (an import may span lines).
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


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def _imported_names(module: str) -> dict[str, list[tuple[int, str]]]:
    """imported module -> [(line, name)] for every `from X import name` in `module`'s source."""
    # Found by path, not imported: importing an app's modules would set Django up.
    base_path = ROOT.joinpath(*module.split("."))
    is_package = (base_path / "__init__.py").is_file()
    path = base_path / "__init__.py" if is_package else base_path.with_suffix(".py")
    if not path.is_file():
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if is_package else module.rpartition(".")[0]
    found: dict[str, list[tuple[int, str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                found.setdefault(base, []).append((node.lineno, alias.name))
    return found


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
                    violations.append(f"{importer} imports {imported}, a private module of {other}")
                if _is_view(importer) and _is_view(imported) and other != "common":  # common: helpers only
                    violations.append(f"{importer} imports {imported}: a view module of another app")
                for line, name in _imported_names(importer).get(imported, []):
                    if _private(name):
                        violations.append(f"{importer} (l.{line}) imports {name} from {imported}, a private name of {other}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(f"- {violation}", bold=False)
            output.new_line()
