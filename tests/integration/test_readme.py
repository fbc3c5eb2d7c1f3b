"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from events.store import EventStore

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_examples() -> None:
    assert python_blocks(), "README.md lost its examples"


async def test_readme_store_example_runs(store: EventStore) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(python_blocks()[0], str(README), "exec"), namespace)
    await namespace["record_a_session"](store)
    assert len(await store.read_stream("case-42")) == 1
