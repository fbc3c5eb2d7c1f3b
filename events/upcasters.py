"""Upcasters: turn the stored JSON of an old schema version into the current one.

Stored rows are never rewritten (the table is append-only); old versions are upgraded
as they are read. Each step takes the payload of version N (and when the event occurred)
and returns version N+1.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from events.calendar import add_working_days

Payload = dict[str, Any]
Upcaster = Callable[[Payload, datetime], Payload]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def upcast(
    type_name: str, version: int, target: int, data: Payload, occurred_at: datetime
) -> Payload:
    """Apply each registered step from ``version`` up to ``target``."""
    while version < target:
        step = UPCASTERS.get((type_name, version))
        if step is None:
            raise LookupError(f"no upcaster for {type_name} v{version} -> v{version + 1}")
        data = step(data, occurred_at)
        version += 1
    return data


@upcaster("SessionRecorded", 1)
def _session_kind_added(data: Payload, occurred_at: datetime) -> Payload:
    # v1 predates phone and group sessions: every session recorded then was a home visit.
    return {**data, "kind": "home_visit"}


# Before deadlines travelled on events, every reader computed them from the default
# programme policy (2 working days to the first meeting, 42 days of intensive work): the
# upcasters give old events those same dates, so nothing anyone saw before changes.
_DEFAULT_FIRST_MEETING_WORKING_DAYS = 2
_DEFAULT_INTENSIVE_MAX_DAYS = 42


@upcaster("KeyWorkerAllocated", 1)
def _first_meeting_due_carried(data: Payload, occurred_at: datetime) -> Payload:
    due = add_working_days(occurred_at, _DEFAULT_FIRST_MEETING_WORKING_DAYS)
    return {**data, "first_meeting_due_at": due.isoformat()}


@upcaster("FirstMeetingHeld", 1)
def _intensive_end_carried(data: Payload, occurred_at: datetime) -> Payload:
    held_on = datetime.fromisoformat(data["held_at"]).date()
    ends_on: date = held_on + timedelta(days=_DEFAULT_INTENSIVE_MAX_DAYS)
    return {**data, "intensive_ends_on": ends_on.isoformat()}
