"""Upcasters: turn the stored JSON of an old schema version into the current one.

Stored rows are never rewritten (the table is append-only); old versions are upgraded
as they are read. Each step takes the payload of version N and returns version N+1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def upcast(type_name: str, version: int, target: int, data: Payload) -> Payload:
    """Apply each registered step from ``version`` up to ``target``."""
    while version < target:
        step = UPCASTERS.get((type_name, version))
        if step is None:
            raise LookupError(f"no upcaster for {type_name} v{version} -> v{version + 1}")
        data = step(data)
        version += 1
    return data


@upcaster("SessionRecorded", 1)
def _session_kind_added(data: Payload) -> Payload:
    # v1 predates phone and group sessions: every session recorded then was a home visit.
    return {**data, "kind": "home_visit"}
