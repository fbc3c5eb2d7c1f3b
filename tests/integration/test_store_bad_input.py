"""Bad input is refused with the field and the rule named, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from events.errors import InvalidInput, UnknownEventType
from events.records import NewEvent
from events.store import EventStore
from tests.factories import T0, meta, referral, sessions, wrap

pytestmark = pytest.mark.integration


def raw(type_name: str, data: dict[str, Any]) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(), type=type_name, data=data, metadata=meta(), occurred_at=T0
    )


GOOD_SESSION = {
    "session_id": "s1",
    "held_at": "2026-01-06T09:00:00Z",
    "kind": "home_visit",
    "duration_minutes": 60,
}


@pytest.mark.parametrize(
    ("stream_id", "expected_version", "events", "field", "rule"),
    [
        ("case-1", 0, [raw("SessionHeld", GOOD_SESSION)], "events[0].type", "unknown event type"),
        (
            "case-1",
            0,
            [raw("SessionRecorded", {k: v for k, v in GOOD_SESSION.items() if k != "kind"})],
            "events[0].data.kind",
            "is required",
        ),
        (
            "case-1",
            0,
            [raw("SessionRecorded", {**GOOD_SESSION, "duration_minutes": "long"})],
            "events[0].data.duration_minutes",
            "must be a whole number",
        ),
        (
            "case-1",
            0,
            [raw("SessionRecorded", {**GOOD_SESSION, "kind": "carrier_pigeon"})],
            "events[0].data.kind",
            "Input should be",
        ),
        (
            "case-1",
            0,
            [raw("SessionRecorded", {**GOOD_SESSION, "mood": "fine"})],
            "events[0].data.mood",
            "extra fields are refused",
        ),
        (
            "case-1",
            0,
            [raw("SessionRecorded", {**GOOD_SESSION, "duration_minutes": 0})],
            "events[0].data.duration_minutes",
            "greater than or equal to 1",
        ),
        (
            "case-1",
            0,
            [*sessions(1), raw("ReferralReceived", {"case_id": "c1"})],
            "events[1].data.family_id",
            "is required",
        ),
        ("", 0, sessions(1), "stream_id", "non-empty"),
        ("c" * 201, 0, sessions(1), "stream_id", "at most 200 characters"),
        ("case 1; drop", 0, sessions(1), "stream_id", "may contain only"),
        ("case-1", -1, sessions(1), "expected_version", "0 (new stream) or more"),
        # beyond what a stream's version (a bigint) can hold, with the events appended
        ("case-1", 2**63 - 1, sessions(1), "expected_version", "more than a stream can hold"),
        ("case-1", 2**63 - 2, sessions(2), "expected_version", "more than a stream can hold"),
        ("case-1", 2**63, sessions(1), "expected_version", "more than a stream can hold"),
        ("case-1", 10**30, sessions(1), "expected_version", "more than a stream can hold"),
        ("case-1", 0, [], "events", "at least one event"),
    ],
)
async def test_bad_append_names_field_and_rule_and_writes_nothing(
    store: EventStore,
    pool: asyncpg.Pool,
    stream_id: str,
    expected_version: int,
    events: list[NewEvent],
    field: str,
    rule: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await store.append(stream_id, expected_version, events)
    assert raised.value.field == field
    assert rule in raised.value.rule
    assert field in str(raised.value)
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_unknown_type_error_is_typed(store: EventStore) -> None:
    with pytest.raises(UnknownEventType, match="'SessionHeld'"):
        await store.append("case-1", 0, [raw("SessionHeld", GOOD_SESSION)])


async def test_event_id_twice_in_one_append(store: EventStore, pool: asyncpg.Pool) -> None:
    event = wrap(referral())
    with pytest.raises(InvalidInput, match=r"events\[1\]\.event_id: appears twice"):
        await store.append("case-1", 0, [event, event])
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_naive_datetime_is_refused_at_construction() -> None:
    from datetime import datetime

    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="occurred_at"):
        NewEvent(
            event_id=uuid.uuid4(),
            type="SessionRecorded",
            data=GOOD_SESSION,
            metadata=meta(),
            occurred_at=datetime(2026, 1, 1),
        )
