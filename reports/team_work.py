"""The team's work beyond its families: consultation and advice given to other agencies'
practitioners, and training given to the wider workforce (the service's second and fifth
functions in the council minutes). Recorded by the team's supervisor in the team's own
stream ``team-work-<team_id>`` (no family is named), counted by the report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from events.catalogue import ConsultationGiven, TrainingGiven
from events.envelope import Actor, EventMetadata
from events.errors import InvalidInput
from events.records import NewEvent
from events.store import EventStore

STREAM_PREFIX = "team-work-"
TYPES = (ConsultationGiven.type_name(), TrainingGiven.type_name())


class AlreadyRecorded(InvalidInput):
    """The same consultation or training (by its id) is recorded already."""


async def record(store: EventStore, team_id: str, event: ConsultationGiven | TrainingGiven,
                 actor: Actor) -> int:  # fmt: skip
    """Record ``event`` in the team's work stream; refused when the team is not registered
    or the same id is recorded already (a retried request records nothing new)."""
    if not await store.team_known(team_id):
        raise InvalidInput("team_id", f"no team {team_id} is registered")
    if isinstance(event, ConsultationGiven):
        field, about = "consultation_id", event.consultation_id
    else:
        field, about = "training_id", event.training_id
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"ifss:team-work:{team_id}:{field}:{about}")
    if await store.pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)", event_id
    ):
        raise AlreadyRecorded(field, f"{about} is already recorded for team {team_id}")
    new = NewEvent.of(
        event,
        event_id=event_id,
        metadata=EventMetadata(actor=actor, correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    result = await store.append_at_end(f"{STREAM_PREFIX}{team_id}", [new])
    return int(result.version)


async def team_work(store: EventStore, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every consultation and training recorded (by ``as_of``, when given): its team, its
    type and its coded fields."""
    rows = await store.pool.fetch(
        """SELECT stream_id, type, data::text AS data FROM events
            WHERE type = ANY($1::text[]) AND starts_with(stream_id, $2)
              AND ($3::timestamptz IS NULL OR recorded_at <= $3)
            ORDER BY global_position""",
        list(TYPES),
        STREAM_PREFIX,
        as_of,
    )
    return [
        {"team_id": r["stream_id"][len(STREAM_PREFIX) :], "type": r["type"],
         **orjson.loads(r["data"])}
        for r in rows
    ]  # fmt: skip
