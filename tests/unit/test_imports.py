"""The direction data flows in (DESIGN.md) is the direction imports go: each package imports
only the packages beneath it, at the top of a module or inside a function alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "events",
    "identity",
    "workflows",
    "activities",
    "projections",
    "workers",
    "api",
    "cli",
)

# package -> the project packages it must never import
FORBIDDEN = {
    "events": set(PACKAGES) - {"events"},
    "identity": set(PACKAGES) - {"events", "identity"},
    "projections": {"workflows", "activities", "workers", "api", "cli"},
    "workflows": {"api", "cli", "projections", "workers"},
    "activities": {"api", "cli", "projections", "workers"},
    # The HTTP layer is handed its services by the composition root (workers.root).
    "api": {"cli", "workers"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package: str) -> None:
    offences = {
        str(module.relative_to(ROOT)): sorted(imported_packages(module) & FORBIDDEN[package])
        for module in sorted((ROOT / package).rglob("*.py"))
    }
    assert {m: p for m, p in offences.items() if p} == {}


def test_the_rule_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from workflows.commands import X\n    import api.app\n")
    assert imported_packages(module) == {"workflows", "api"}
