"""Following the store from a checkpoint: the one loop every consumer of the event log runs
(each projection of ``ifss projector``, the alert dispatcher of ``ifss worker``).

A consumer has a name: its row in ``projection_checkpoints`` and its advisory lock.

* **One live instance.** On its own connection the loop takes a session advisory lock named
  after the consumer; a second process waits as a hot standby and takes over when the first
  one's connection drops.
* **From the checkpoint.** ``step`` handles the events after the checkpoint and moves it
  with ``move_checkpoint``, which moves it only if nobody else has (``WHERE position =
  $old``). Events come typed and upcast, through the store (``EventStore.read_all``).
* **Wakes on NOTIFY** (one listening connection per process, ``Wakeup``), and polls as a
  fallback in case a notice was missed.
* **Never dies quietly.** A lost connection is reconnected; any other error is logged, the
  consumer is told (``crashed``, with how many crashes in a row) and the loop starts over
  from the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import asyncpg
import structlog

from events.db import Conn, is_transient, server_settings
from events.errors import describe
from events.records import RecordedEvent
from events.store import EventStore

log = structlog.get_logger(__name__)

# Crashes closer together than this count as one run of crashes.
CRASHES_WITHIN_SECONDS = 600.0


class Consumer(Protocol):
    """What the loop drives. ``name`` is the checkpoint row and the lock."""

    @property
    def name(self) -> str: ...

    async def started(self, conn: Conn) -> None:
        """Called once the lock is held, before the first step."""

    async def step(self, conn: Conn) -> bool:
        """Handle one batch after the checkpoint; False when caught up (the loop waits)."""

    async def crashed(self, conn: Conn, error: Exception, crashes: int) -> None:
        """``step`` raised something other than a lost connection (``crashes`` in a row)."""


async def consumer_connection(dsn: str, schema: str | None) -> asyncpg.Connection:
    # No statement cache: a projection rebuild swaps tables under a live consumer's feet.
    return await asyncpg.connect(
        dsn, server_settings=server_settings(schema), statement_cache_size=0
    )


async def ensure_checkpoints(conn: Conn, names: Sequence[str]) -> None:
    await conn.executemany(
        "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
        [(name,) for name in names],
    )


async def checkpoint(conn: Conn, name: str) -> int:
    """The global position of the last event the consumer handled."""
    return int(
        await conn.fetchval("SELECT position FROM projection_checkpoints WHERE name = $1", name)
    )


async def move_checkpoint(
    conn: Conn, name: str, from_position: int, events: Sequence[RecordedEvent]
) -> bool:
    """Move the checkpoint past ``events`` if it is still at ``from_position``; False when
    another instance moved it first (the caller's work is stale). Clears a failure."""
    moved = await conn.execute(
        """UPDATE projection_checkpoints
              SET position = $2, events_applied = events_applied + $3,
                  last_recorded_at = $4, updated_at = now(), status = 'running',
                  error = NULL, error_position = NULL
            WHERE name = $1 AND position = $5""",
        name,
        events[-1].global_position,
        len(events),
        events[-1].recorded_at,
        from_position,
    )
    return bool(moved == "UPDATE 1")


class Wakeup:
    """One LISTEN connection fanned out to every consumer loop of the process."""

    def __init__(self, dsn: str, schema: str | None, channel: str) -> None:
        self._dsn, self._schema, self._channel = dsn, schema, channel
        self._conn: asyncpg.Connection | None = None
        self._events: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        self._events.append(event)
        return event

    def _notify(self, *_: object) -> None:
        for event in self._events:
            event.set()

    async def ensure(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            return
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            self._conn = await asyncpg.connect(
                self._dsn, server_settings=server_settings(self._schema)
            )
            await self._conn.add_listener(self._channel, self._notify)
            self._notify()  # anything may have happened while not listening

    async def wait(self, woken: asyncio.Event, store: EventStore, poll_interval: float) -> None:
        """Until ``woken`` is notified of new events: only a moment while committed events
        wait above the watermark (an older writer is still open), else up to
        ``poll_interval`` (in case a notice was missed)."""
        await self.ensure()
        woken.clear()
        pending = await store.has_pending()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), 0.02 if pending else poll_interval)

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early when ``stop`` is set; True when it is."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def follow(
    consumer: Consumer,
    *,
    dsn: str,
    schema: str | None,
    store: EventStore,
    wakeup: Wakeup,
    stop: asyncio.Event,
    poll_interval: float = 1.0,
) -> None:
    """Run ``consumer`` from its checkpoint until ``stop`` is set, through lost connections,
    database restarts and crashes; a standby while another process holds it."""
    bound = log.bind(consumer=consumer.name)
    woken = wakeup.subscribe()
    crashes, last_crash = 0, 0.0
    while not stop.is_set():
        try:
            conn = await consumer_connection(dsn, schema)
        except (OSError, asyncpg.PostgresError) as exc:
            bound.warning("consumer_connect_failed", error=type(exc).__name__)
            await sleep_or_stop(stop, poll_interval)
            continue
        try:
            await ensure_checkpoints(conn, [consumer.name])
            key = await conn.fetchval(
                "SELECT hashtextextended('ifss-consumer:' || current_schema() || ':' || $1, 0)",
                consumer.name,
            )
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                if await sleep_or_stop(stop, poll_interval):  # standby
                    return
            bound.info("consumer_started")
            await consumer.started(conn)
            while not stop.is_set():
                if not await consumer.step(conn):
                    await wakeup.wait(woken, store, poll_interval)
        except Exception as exc:
            if is_transient(exc):  # a lost connection, a restarting server: reconnect
                bound.warning("consumer_connection_lost", error=type(exc).__name__)
                await sleep_or_stop(stop, poll_interval)
                continue
            # Say so, and start over from the checkpoint; the consumer decides what a run of
            # crashes means (a projection marks itself failed).
            now = asyncio.get_running_loop().time()
            crashes = crashes + 1 if now - last_crash < CRASHES_WITHIN_SECONDS else 1
            last_crash = now
            bound.error("consumer_crashed", crashes=crashes, error=describe(exc))
            with contextlib.suppress(Exception):
                await consumer.crashed(conn, exc, crashes)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
        await sleep_or_stop(stop, poll_interval)


async def run_consumers(
    consumers: Sequence[Consumer],
    *,
    dsn: str,
    schema: str | None,
    store: EventStore,
    stop: asyncio.Event,
    poll_interval: float = 1.0,
) -> None:
    """Each consumer on its own loop, all woken by one listening connection, until
    ``stop`` is set."""
    wakeup = Wakeup(dsn, schema, await store.channel())
    await wakeup.ensure()
    tasks = [
        asyncio.create_task(
            follow(
                consumer,
                dsn=dsn,
                schema=schema,
                store=store,
                wakeup=wakeup,
                stop=stop,
                poll_interval=poll_interval,
            )
        )
        for consumer in consumers
    ]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await wakeup.close()
