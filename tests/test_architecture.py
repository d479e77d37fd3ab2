"""The layers import one way: loyalty → campaigns → tiers → points → members → core."""

from __future__ import annotations

import ast
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
