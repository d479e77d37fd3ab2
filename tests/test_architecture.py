"""The layers import one way: loyalty → campaigns → tiers → points → members → core."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["core", "members", "points", "tiers", "campaigns", "loyalty"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ORDER)
def test_no_layer_imports_a_layer_above_it(layer):
    above = set(ORDER[ORDER.index(layer) + 1:]) | {"config"}
    offenders = []
    for path in (ROOT / layer).rglob("*.py"):
        bad = imported_packages(path) & above
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


APPS = ["core", "members", "points", "tiers", "campaigns", "loyalty", "config"]


def app_modules(layer: str):
    """The app's Python files, migrations included (a migration's SQL may not name a higher
    layer's tables either)."""
    return sorted((ROOT / layer).rglob("*.py"))


def string_constants(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def tables_by_layer() -> dict[str, set[str]]:
    from django.apps import apps

    tables: dict[str, set[str]] = {layer: set() for layer in ORDER}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.app_label
        if label in tables:
            tables[label].add(model._meta.db_table)
    return tables


@pytest.mark.parametrize("layer", ORDER[:-1])
def test_no_layer_names_a_higher_layers_tables_in_sql(layer):
    """A lower layer reaches a higher concept through data, never through its tables: a
    `members` module whose SQL reads `points_pointsaccount` depends on points as surely as
    an import would."""
    tables = tables_by_layer()
    above = set().union(*(tables[name] for name in ORDER[ORDER.index(layer) + 1:]))
    assert above or layer == "campaigns", "no tables found: is the app registry loaded?"
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, above))) + r")\b") if above else None
    offenders = []
    for path in app_modules(layer):
        tree = ast.parse(path.read_text(), filename=str(path))
        for lineno, text in string_constants(tree):
            if pattern and (found := pattern.findall(text)):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno} names {sorted(set(found))}")
    assert offenders == []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolved(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("app", APPS)
def test_no_module_imports_another_modules_private_names(app):
    """`_name` is the module's own business: what another module needs is public, in the
    module that owns it (e.g. the ledger's posting helpers in points.services.posting)."""
    offenders = []
    for path in app_modules(app):
        here = module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = resolved(path, node)
                for alias in node.names:
                    if is_private(alias.name) and source != here:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports "
                                         f"{alias.name} from {source}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if any(is_private(part) for part in alias.name.split(".")):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports "
                                         f"{alias.name}")
    assert offenders == []
