"""Connections to PostgreSQL: one pool per process, an optional schema per database URL."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection of one's own, or one borrowed from a pool.
Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"


def server_settings(schema: str | None) -> dict[str, str]:
    """Session settings: the schema (tests use one per test) and a name in pg_stat_activity."""
    settings = {"application_name": "ifss-engine"}
    if schema:
        settings["search_path"] = schema
    return settings


async def _session_unchanged(conn: asyncpg.Connection) -> None:
    """A pooled connection's release, after asyncpg's own part (an open transaction rolled
    back, listener callbacks dropped): nothing more. asyncpg's default sends a reset query
    on every release (advisory locks, cursors, LISTEN, ``RESET ALL``): a round trip per
    pooled query, as many as the queries themselves. Nothing here changes a pooled
    connection's session: the listeners, the consumers' and the migrations' advisory locks
    use connections of their own (``connect``, ``events.consumer``), cursors live in
    transactions, and ``tests/unit/test_pool_sessions.py`` keeps it so."""


async def create_pool(
    dsn: str, *, schema: str | None = None, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections all use ``schema`` (when given). Its connections are
    shared: never change their session (``SET``, ``LISTEN``, session advisory locks); a
    connection of one's own (``connect``) is for that."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings=server_settings(schema),
        reset=_session_unchanged,
    )
    assert pool is not None
    return pool


async def connect(dsn: str, *, schema: str | None = None) -> asyncpg.Connection:
    """A single connection (listeners, migrations)."""
    return await asyncpg.connect(dsn, server_settings=server_settings(schema))


# SQLSTATE classes (and single codes) that waiting can cure: a connection lost, a
# deadlock or serialization failure, resources short, the server shutting down or
# starting, a lock or object busy, a read-only standby during a failover.
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_CODES = ("55P03", "55006", "25006")


# The kinds of error the database (or the way to it) raises; ``is_transient`` says which
# of them retrying later may cure.
TRANSIENT_KINDS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """True when retrying later may succeed."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_CODES
    # InternalClientError: asyncpg's connection state machine left mid-operation, which a
    # server restart can cause ("cannot switch to state ...; another operation is in
    # progress"); the retry runs on another connection from the pool.
    return isinstance(
        exc,
        asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError | OSError | TimeoutError,
    )
