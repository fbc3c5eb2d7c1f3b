"""The README and docs/ stay linked and current: every link resolves, every command and every
setting is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from cli.main import app
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#([a-z0-9-]+))?\)")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors: headings lowercased, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def command_paths(group: Any, prefix: str = "ifss") -> list[str]:
    """Every visible command under a click group (typer's own, which may not be click's)."""
    paths = []
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if hasattr(command, "commands"):
            paths += command_paths(command, f"{prefix} {name}")
        else:
            paths.append(f"{prefix} {name}")
    return paths


def test_every_link_between_pages_resolves() -> None:
    broken = []
    for page in PAGES:
        for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
            linked = (page.parent / target).resolve()
            if not linked.is_file():
                broken.append(f"{page.name} -> {target}")
            elif anchor and anchor not in anchors(linked):
                broken.append(f"{page.name} -> {target}#{anchor}")
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    unlinked = [p.name for p in PAGES[1:] if f"(docs/{p.name}" not in README]
    assert unlinked == []


def test_every_command_is_in_the_operations_table() -> None:
    group = typer.main.get_command(app)
    paths = command_paths(group)
    assert "ifss team policy" in paths and "ifss case accept" in paths  # the walk sees them
    # the case's commands are named once each in one row: `accept`, `record-session`, ...
    missing = [
        p
        for p in paths
        if f"`{p}" not in OPERATIONS
        and not (p.startswith("ifss case ") and f"`{p.split()[-1]}`" in OPERATIONS)
    ]
    assert missing == []


def test_every_setting_is_documented_in_the_readme_and_operations() -> None:
    variables = [f"IFSS_{name.upper()}" for name in Settings.model_fields]
    assert "IFSS_DATABASE_URL" in variables
    missing = [v for v in variables if f"`{v}`" not in OPERATIONS or f"`{v}`" not in README]
    assert missing == []
