"""The documentation's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from events.store import EventStore

pytestmark = pytest.mark.integration

EVENT_STORE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "event-store.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", EVENT_STORE_PAGE.read_text(encoding="utf-8"), re.S)


def test_the_event_store_page_has_its_example() -> None:
    assert python_blocks(), "docs/event-store.md lost its example"


async def test_the_event_store_example_runs(store: EventStore) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(python_blocks()[0], str(EVENT_STORE_PAGE), "exec"), namespace)
    await namespace["record_a_session"](store)
    assert len(await store.read_stream("case-42")) == 1
