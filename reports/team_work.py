"""The team's work beyond its families: consultation and advice given to other agencies'
practitioners, and training given to the wider workforce (the service's second and fifth
functions in the council minutes). Recorded by the team's supervisor in the team's own
stream ``team-work-<team_id>`` (no family is named), counted by the report. The same stream
holds what the team cost (``TeamCostsRecorded``, by an admin from the finance records), so
cost per case is reproducible as of any moment like every other figure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from events.bounds import RECORDED
from events.catalogue import ConsultationGiven, TeamCostsRecorded, TrainingGiven
from events.envelope import Actor, EventMetadata
from events.errors import InvalidInput, StreamVersionConflict
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


async def record_costs(
    store: EventStore, team_id: str, event: TeamCostsRecorded, actor: Actor
) -> int:
    """Record what the team cost over a stretch of days. Refused, naming the field, when
    the team is not registered, the id is recorded already, ``supersedes`` names no live
    record of this team, or the stretch overlaps another live one (correct it by
    superseding). Two records racing: the stream's version decides, the loser is refused."""
    if not await store.team_known(team_id):
        raise InvalidInput("team_id", f"no team {team_id} is registered")
    stream = f"{STREAM_PREFIX}{team_id}"
    event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"ifss:team-costs:{team_id}:{event.costs_id}")
    version = await store.stream_version(stream)
    recorded = [
        TeamCostsRecorded.model_validate(e.data, context=RECORDED)
        for e in await store.read_stream(stream)
        if e.type == TeamCostsRecorded.type_name()
    ]
    if any(r.costs_id == event.costs_id for r in recorded):
        raise AlreadyRecorded(
            "costs_id", f"{event.costs_id} is already recorded for team {team_id}"
        )
    live = {r.costs_id: r for r in _live(recorded)}
    if event.supersedes is not None and event.supersedes not in live:
        raise Unacceptable(
            "supersedes", f"no costs {event.supersedes} of team {team_id} still count"
        )
    for other in live.values():
        if other.costs_id == event.supersedes:
            continue
        if other.period_start <= event.period_end and event.period_start <= other.period_end:
            raise Unacceptable(
                "period_start",
                f"overlaps costs {other.costs_id} ({other.period_start} to "
                f"{other.period_end}) of team {team_id}; supersede that record to correct it",
            )
    new = NewEvent.of(
        event,
        event_id=event_id,
        metadata=EventMetadata(actor=actor, correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    try:
        result = await store.append(stream, version, [new])
    except StreamVersionConflict:
        raise Unacceptable(
            "costs_id", "the team's records changed meanwhile; look again and resend"
        ) from None
    return int(result.version)


def _live(recorded: list[TeamCostsRecorded]) -> list[TeamCostsRecorded]:
    """The records that count: those no later record supersedes."""
    gone = {r.supersedes for r in recorded if r.supersedes}
    return [r for r in recorded if r.costs_id not in gone]


class Unacceptable(InvalidInput):
    """The costs cannot be recorded as given (the team's records are against it)."""


async def recorded_costs(
    store: EventStore, as_of: datetime | None = None
) -> list[tuple[str, TeamCostsRecorded]]:
    """Each team's costs that count (by ``as_of``, when given): (team, record)."""
    rows = await store.pool.fetch(
        """SELECT stream_id, data::text AS data FROM events
            WHERE type = $1 AND starts_with(stream_id, $2)
              AND ($3::timestamptz IS NULL OR recorded_at <= $3)
            ORDER BY global_position""",
        TeamCostsRecorded.type_name(),
        STREAM_PREFIX,
        as_of,
    )
    by_team: dict[str, list[TeamCostsRecorded]] = {}
    for r in rows:
        team = r["stream_id"][len(STREAM_PREFIX) :]
        record = TeamCostsRecorded.model_validate(orjson.loads(r["data"]), context=RECORDED)
        by_team.setdefault(team, []).append(record)
    return [(team, c) for team, records in by_team.items() for c in _live(records)]


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
