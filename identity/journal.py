"""Every administrative act is an event: the change (a user, a token, alert routes) and its
record in the ``admin`` stream, with who did it, commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from events.catalogue import DomainEvent
from events.envelope import Actor, EventMetadata
from events.records import NewEvent
from events.store import EventStore

ADMIN_STREAM = "admin"
T = TypeVar("T")


class _OneConnection:
    """A pool-shaped face on one connection, so the identity functions (written against
    a pool) run inside the caller's transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:  # execute, fetch, fetchrow, fetchval
        return getattr(self._conn, name)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        yield self._conn


async def recorded(
    store: EventStore,
    actor: Actor,
    act: Callable[[asyncpg.Pool], Awaitable[T]],
    event_of: Callable[[T], DomainEvent],
) -> T:
    """Run ``act`` and append ``event_of(its result)`` to the admin stream, in one
    transaction (admin acts are serialised: the stream has one writer at a time)."""
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ifss-admin-stream'))")
        result = await act(_OneConnection(conn))  # type: ignore[arg-type]
        version = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
            ADMIN_STREAM,
        )
        new = NewEvent.of(
            event_of(result),
            event_id=uuid.uuid4(),
            metadata=EventMetadata(actor=actor, correlation_id=uuid.uuid4()),
            occurred_at=datetime.now(UTC),
        )
        await store.append(ADMIN_STREAM, int(version), [new], connection=conn)
    store.notify_readers()
    return result
