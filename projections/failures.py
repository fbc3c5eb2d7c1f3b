"""A read model that cannot apply an event: find the event, stop loudly, and the two ways
forward an operator has.

* **Find it.** A batch that fails as a whole (the database refused a row, a value would
  not encode) is applied again one event at a time, so the failure names the event.
* **Stop loudly.** The projection is marked ``failed`` with that event's position and the
  error (``ifss projections status`` shows it and exits 1); the other read models go on.
* **Go on.** Either fix the code and restart or rebuild (``ifss projections rebuild``), or
  record a decision to skip that one event (``ifss projections skip``): the decision is
  itself an event, ``ProjectionEventSkipped`` in the stream ``projection-<name>``, naming
  the event, who decided and why. A live projector notices either within seconds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

from pydantic import ValidationError

from events.catalogue import ProjectionEventSkipped
from events.db import Conn
from events.envelope import Actor, EventMetadata
from events.errors import InvalidInput, StreamVersionConflict
from events.records import NewEvent
from events.store import EventStore
from events.validation import invalid_input_from
from events.vocabulary import Role


def decisions_stream(projection: str) -> str:
    return f"projection-{projection}"


async def skipped_events(store: EventStore, projection: str) -> frozenset[UUID]:
    """The events an operator decided ``projection`` skips."""
    return frozenset(
        e.event.event_id
        for e in await store.read_stream(decisions_stream(projection))
        if isinstance(e.event, ProjectionEventSkipped)
    )


async def failure_of(conn: Conn, projection: str) -> tuple[str, int | None, str | None]:
    """The projection's status, the position it failed at and the error."""
    row = await conn.fetchrow(
        "SELECT status, error_position, error FROM projection_checkpoints WHERE name = $1",
        projection,
    )
    if row is None:
        return "not started", None, None
    return str(row["status"]), row["error_position"], row["error"]


async def record_skip(
    store: EventStore, projection: str, position: int, actor: Actor, reason: str
) -> ProjectionEventSkipped:
    """Record the decision that ``projection`` skips the event at ``position``. Refused
    (``InvalidInput``) unless an admin decides it, with a reason, for the projection failed
    at exactly that event."""
    if actor.role is not Role.ADMIN:
        raise InvalidInput(
            "actor.role", "only an admin may decide that a read model skips an event"
        )
    async with store.pool.acquire() as conn:
        status, failed_at, _ = await failure_of(conn, projection)
        row = await conn.fetchrow(
            "SELECT event_id, type FROM events WHERE global_position = $1", position
        )
    if status != "failed" or failed_at != position:
        where = f"at position {failed_at}" if status == "failed" else f"is {status}"
        raise InvalidInput(
            "position", f"{projection} {where}: only the event it failed on can be skipped"
        )
    if row is None:
        raise InvalidInput("position", f"no event at position {position}")
    try:
        decision = ProjectionEventSkipped(
            projection=projection,
            position=position,
            event_id=row["event_id"],
            event_type=row["type"],
            reason=reason,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc) from None
    new = NewEvent.of(
        decision,
        event_id=uuid.uuid4(),
        metadata=EventMetadata(actor=actor, correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    stream = decisions_stream(projection)
    while True:  # two operators at once: the second appends after the first
        try:
            await store.append(stream, await store.stream_version(stream), [new])
            return decision
        except StreamVersionConflict:
            continue
