"""The pages' words: every string in the catalogue has its Welsh, the catalogue is current
with the templates and code, every code the pages show has words, and the commands each
role is offered agree with the lifecycle's own table."""

from __future__ import annotations

import re
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

from babel.messages.pofile import read_po

from events import vocabulary
from events.catalogue import DomainEvent
from web.forms import OFFERED
from web.words import EVENT_TITLES, WORDS

ROOT = Path(__file__).resolve().parents[2]
POT = ROOT / "web/translations/messages.pot"
WELSH = ROOT / "web/translations/cy/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _ids(path: Path) -> set[str]:
    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def test_every_string_has_its_welsh() -> None:
    with WELSH.open("rb") as f:
        welsh = read_po(f, locale="cy")
    missing, broken = [], []
    for message in welsh:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(ids[0])
            continue
        want = sorted(PLACEHOLDER.findall(ids[0]))
        broken += [ids[0] for s in strings if sorted(PLACEHOLDER.findall(s)) != want]
    assert not missing, f"no Welsh for: {missing[:10]} (run make messages, then translate)"
    assert not broken, f"placeholders differ: {broken[:10]}"
    assert _ids(POT) <= {m.id if isinstance(m.id, str) else m.id[0] for m in welsh if m.id}


def test_the_catalogue_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "web/babel.cfg",
         "-k", "N_", "-k", "_", "--no-location", "--omit-header", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert _ids(fresh) == _ids(POT), "the pages' strings changed: run make messages"


def test_every_code_has_words() -> None:
    enums = [
        e
        for e in vars(vocabulary).values()
        if isinstance(e, type) and issubclass(e, StrEnum) and e.__module__ == vocabulary.__name__
    ]
    for enum in enums:
        assert set(WORDS[enum]) == {m.value for m in enum}, enum.__name__
    assert set(EVENT_TITLES) == set(DomainEvent.registry)


def test_the_offered_commands_are_the_lifecycles() -> None:
    table: dict[str, dict[str, set[str]]] = {}
    phase = None
    for line in (ROOT / "docs/lifecycle.md").read_text().splitlines():
        if heading := re.match(r"^## (\w+)", line):
            phase = heading.group(1)
            continue
        row = re.match(r"^\| `([a-z_]+)(?: \([a-z_]+\))?` \| ([^|]+) \|", line)
        if row and phase:
            who = {w.strip() for w in row.group(2).split(",")} - {"the team", "the clock"}
            if who:
                table.setdefault(phase, {}).setdefault(row.group(1), set()).update(who)
    assert {p: {c: set(r) for c, r in cs.items()} for p, cs in OFFERED.items()} == table
