"""Running projections: live (``ifss projector``), rebuild, and status.

Live, per projection, on its own connection:

* **One live instance.** A session advisory lock per projection; a second projector
  process waits as a standby and takes over when the first one's connection drops.
* **Exactly once.** Each batch is one transaction: read the checkpoint, read the events
  after it (commit-safe order), apply them, move the checkpoint *only if it has not moved*
  (``WHERE position = $old``). A crash anywhere rolls the batch back whole; an instance that
  lost its lock without knowing can never apply a batch twice.
* **Stops loudly.** A handler error rolls back, marks the projection ``failed`` with the
  event's position and the error, logs it and stops that projection (the others go on).
  A batch the database refuses as a whole is applied again event by event to find the
  one at fault. The event is never skipped silently: fix the code and rebuild, or record
  a decision to skip it (``projections.failures``); the projector resumes by itself.
* **Wakes on NOTIFY**, polls as a fallback.

Rebuild fills ``<table>__rebuild`` copies from position 0, then, holding the checkpoint row,
catches up to the live position and swaps the tables in, in one transaction: readers see
the old model or the new one, never half of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from events.db import Conn, is_transient, server_settings
from events.errors import describe
from events.records import RecordedEvent
from events.store import EventStore
from projections.base import Projection, ProjectionFailed
from projections.failures import failure_of, skipped_events
from projections.models import PROJECTIONS

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
REBUILD_BATCH_SIZE = 5000
REBUILD_SUFFIX = "__rebuild"
# A batch refused this many times in a row is applied event by event to find the culprit.
BATCH_ATTEMPTS = 5
# How often a failed projection looks for a way forward (a skip decision, a rebuild).
FAILED_RECHECK_SECONDS = 2.0
# Crashes closer together than this count as one run of crashes (then the status says so).
CRASHES_WITHIN_SECONDS = 600.0


async def projection_connection(dsn: str, schema: str | None) -> asyncpg.Connection:
    # No statement cache: a rebuild swaps tables under a live projector's feet.
    return await asyncpg.connect(
        dsn, server_settings=server_settings(schema), statement_cache_size=0
    )


def live_tables(projection: Projection) -> dict[str, str]:
    return {t: t for t in projection.tables}


async def ensure_checkpoints(conn: Conn, projections: Sequence[Projection]) -> None:
    await conn.executemany(
        "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
        [(p.name,) for p in projections],
    )


class Stale(Exception):
    """The checkpoint moved under this batch (another instance): roll back and re-read."""


async def apply_batch(
    conn: Conn,
    store: EventStore,
    projection: Projection,
    *,
    batch_size: int = BATCH_SIZE,
    tables: dict[str, str] | None = None,
    skips: frozenset[UUID] = frozenset(),
) -> list[RecordedEvent]:
    """One transaction: events after the checkpoint, applied, checkpoint moved. Returns the
    events read (empty: caught up); those in ``skips`` move the checkpoint but are not
    applied. Raises ``ProjectionFailed`` (rolled back)."""
    async with conn.transaction():
        position = await conn.fetchval(
            "SELECT position FROM projection_checkpoints WHERE name = $1", projection.name
        )
        events = await store.read_all(position, batch_size, connection=conn)
        if not events:
            return []
        wanted = [e for e in events if e.event_id not in skips] if skips else events
        await projection.apply(conn, wanted, tables or live_tables(projection))
        moved = await conn.execute(
            """UPDATE projection_checkpoints
                  SET position = $2, events_applied = events_applied + $3,
                      last_recorded_at = $4, updated_at = now(), status = 'running',
                      error = NULL, error_position = NULL
                WHERE name = $1 AND position = $5""",
            projection.name,
            events[-1].global_position,
            len(events),
            events[-1].recorded_at,
            position,
        )
        if moved != "UPDATE 1":
            raise Stale(projection.name)
    return events


async def mark_failed(conn: Conn, failure: ProjectionFailed) -> None:
    await conn.execute(
        """UPDATE projection_checkpoints SET status = 'failed', error = $2,
                  error_position = $3, updated_at = now() WHERE name = $1""",
        failure.projection,
        str(failure),
        failure.position,
    )


class Wakeup:
    """One LISTEN connection fanned out to every projection's loop."""

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


@dataclass
class Projector:
    """Runs every projection live until ``stop`` is set."""

    dsn: str
    store: EventStore
    schema: str | None = None
    projections: Sequence[Projection] = PROJECTIONS
    poll_interval: float = 1.0
    batch_size: int = BATCH_SIZE
    on_applied: Callable[[str, list[RecordedEvent]], None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        wakeup = Wakeup(self.dsn, self.schema, await self.store.channel())
        await wakeup.ensure()
        tasks = [asyncio.create_task(self._run_one(p, wakeup, stop)) for p in self.projections]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await wakeup.close()

    async def _run_one(self, projection: Projection, wakeup: Wakeup, stop: asyncio.Event) -> None:
        bound = log.bind(projection=projection.name)
        woken = wakeup.subscribe()
        crashes, last_crash = 0, 0.0
        while not stop.is_set():
            try:
                conn = await projection_connection(self.dsn, self.schema)
            except (OSError, asyncpg.PostgresError) as exc:
                bound.warning("projection_connect_failed", error=type(exc).__name__)
                await asyncio.sleep(self.poll_interval)
                continue
            try:
                await ensure_checkpoints(conn, [projection])
                key = await conn.fetchval(
                    "SELECT hashtextextended('ifss-projection:' || current_schema() || ':' || $1, 0)",
                    projection.name,
                )
                while True:  # standby until no other instance holds the projection
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                        break
                    await asyncio.sleep(self.poll_interval)
                bound.info("projection_started")
                await self._follow(conn, projection, wakeup, woken, bound)
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                bound.warning("projection_connection_lost", error=type(exc).__name__)
                await asyncio.sleep(self.poll_interval)
            except Exception as exc:
                # Never die quietly: say so, and start over from the checkpoint; if it keeps
                # crashing, the status says so too.
                now = asyncio.get_running_loop().time()
                crashes = crashes + 1 if now - last_crash < CRASHES_WITHIN_SECONDS else 1
                last_crash = now
                bound.error("projection_loop_crashed", crashes=crashes, error=describe(exc))
                if crashes >= BATCH_ATTEMPTS:
                    with contextlib.suppress(Exception):
                        await mark_failed(conn, ProjectionFailed(projection.name, exc))
                await asyncio.sleep(self.poll_interval)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _follow(
        self,
        conn: Conn,
        projection: Projection,
        wakeup: Wakeup,
        woken: asyncio.Event,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> None:
        skips = await skipped_events(self.store, projection.name)
        status, failed_at, _ = await failure_of(conn, projection.name)
        if status == "failed" and failed_at is None:  # a crash, not an event: try again
            await conn.execute(
                "UPDATE projection_checkpoints SET status = 'running', error = NULL "
                "WHERE name = $1",
                projection.name,
            )
        errors = 0
        while True:
            try:
                events = await apply_batch(
                    conn, self.store, projection, batch_size=self.batch_size, skips=skips
                )
                errors = 0
            except Stale:
                continue
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                raise  # reconnect (in _run_one)
            except ProjectionFailed as failed:
                skips = await self._stopped(conn, projection, failed, bound)
                continue
            except Exception as exc:
                # A rebuild swapped the tables mid-batch, a deadlock, a serialization error:
                # the batch rolled back whole, so try again; if it persists, find the event.
                errors += 1
                bound.warning("projection_batch_retried", error=type(exc).__name__, attempt=errors)
                if errors < BATCH_ATTEMPTS:
                    await asyncio.sleep(0.1 * errors)
                    continue
                errors = 0
                failure = await self._culprit(conn, projection, skips)
                if failure is None:  # event by event, all applied: whatever it was passed
                    bound.info("projection_batch_recovered", error=describe(exc))
                    continue
                skips = await self._stopped(conn, projection, failure, bound)
                continue
            if events:
                if self.on_applied is not None:
                    self.on_applied(projection.name, events)
                continue
            await wakeup.wait(woken, self.store, self.poll_interval)

    async def _culprit(
        self, conn: Conn, projection: Projection, skips: frozenset[UUID]
    ) -> ProjectionFailed | None:
        """Apply the failing batch one event at a time. The first event that fails for good
        (a handler error, or a database error that retrying does not cure) is named; None
        when every event applies (the error has passed)."""
        for _ in range(self.batch_size):
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                try:
                    applied = await apply_batch(
                        conn, self.store, projection, batch_size=1, skips=skips
                    )
                    break
                except ProjectionFailed as failure:
                    return failure
                except Stale:
                    return None  # another instance moved on: nothing to blame here
                except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                    raise  # reconnect (in _run_one)
                except Exception as exc:
                    if is_transient(exc) and attempt < BATCH_ATTEMPTS:
                        await asyncio.sleep(0.1 * attempt)
                        continue
                    position = await conn.fetchval(
                        "SELECT position FROM projection_checkpoints WHERE name = $1",
                        projection.name,
                    )
                    found = await self.store.read_all(position, 1)
                    return ProjectionFailed(projection.name, exc, found[0] if found else None)
            if not applied:
                return None
        return None

    async def _stopped(
        self,
        conn: Conn,
        projection: Projection,
        failure: ProjectionFailed,
        bound: structlog.typing.FilteringBoundLogger,
    ) -> frozenset[UUID]:
        """Mark the projection failed and wait until an operator has a way forward: a
        decision to skip the event, or a rebuild that got past it. Returns the skips."""
        await mark_failed(conn, failure)
        bound.error(
            "projection_failed",
            position=failure.position,
            event_type=failure.event_type,
            error=str(failure),  # built by ``describe``: no values from the event
        )
        event_id = failure.event_id
        while True:
            await asyncio.sleep(FAILED_RECHECK_SECONDS)
            status, _, _ = await failure_of(conn, projection.name)
            skips = await skipped_events(self.store, projection.name)
            if status != "failed" or (event_id is not None and event_id in skips):
                bound.info("projection_resumed", skipped=event_id in skips)
                return skips


# --- rebuild ---------------------------------------------------------------------------


async def rebuild(
    pool: asyncpg.Pool,
    store: EventStore,
    projections: Sequence[Projection],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild ``projections`` into fresh tables in one pass over the store, then swap them
    all in at once; returns the events read.

    ``progress(done, total)`` is called after each batch (total is an estimate: the events
    stored when the rebuild began).
    """
    with bulk_allocation():
        return await _rebuild(pool, store, projections, progress)


@contextlib.contextmanager
def bulk_allocation() -> Iterator[None]:
    """A bulk job allocates millions of short-lived objects and frees them by reference
    counting; the cyclic garbage collector only rescans them (a quarter of a rebuild's
    time). Pause it for the job, with what existed before frozen, then restore it."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


async def _rebuild(
    pool: asyncpg.Pool,
    store: EventStore,
    projections: Sequence[Projection],
    progress: Callable[[int, int], None] | None,
) -> int:
    fresh = {t: f"{t}{REBUILD_SUFFIX}" for p in projections for t in p.tables}
    total = int(await pool.fetchval("SELECT count(*) FROM events"))
    position, done = 0, 0
    last_recorded: datetime | None = None
    async with contextlib.AsyncExitStack() as stack:
        conn = await stack.enter_async_context(pool.acquire())
        await ensure_checkpoints(conn, projections)
        for live, new in fresh.items():
            await conn.execute(f"DROP TABLE IF EXISTS {new}")
            await conn.execute(f"CREATE TABLE {new} (LIKE {live} INCLUDING ALL)")
        # One connection per projection, so PostgreSQL ingests one projection's rows while
        # Python folds the next; and the next batch is read while this one is applied.
        # (Leave one pooled connection for reading; share connections if the pool is small.)
        lanes = max(1, min(len(projections), pool.get_max_size() - 2))
        conns = [conn] + [await stack.enter_async_context(pool.acquire()) for _ in range(lanes - 1)]
        groups = [list(projections[i::lanes]) for i in range(lanes)]

        skips = {p.name: await skipped_events(store, p.name) for p in projections}

        def wanted(projection: Projection, events: list[RecordedEvent]) -> list[RecordedEvent]:
            skip = skips[projection.name]
            return [e for e in events if e.event_id not in skip] if skip else events

        async def apply_group(
            c: Conn, group: list[Projection], events: list[RecordedEvent]
        ) -> None:
            async with c.transaction():
                for projection in group:
                    await projection.apply(c, wanted(projection, events), fresh)

        def advance(events: list[RecordedEvent]) -> None:
            nonlocal position, done, last_recorded
            position, done = events[-1].global_position, done + len(events)
            last_recorded = events[-1].recorded_at

        events = await store.read_all(position, REBUILD_BATCH_SIZE)
        while events:
            advance(events)
            upcoming = asyncio.create_task(store.read_all(position, REBUILD_BATCH_SIZE))
            await asyncio.gather(
                *(apply_group(c, g, events) for c, g in zip(conns, groups, strict=True))
            )
            if progress is not None:
                progress(done, max(total, done))
            events = await upcoming

        async def apply(events: list[RecordedEvent]) -> None:
            for projection in projections:
                await projection.apply(conn, wanted(projection, events), fresh)
            advance(events)

        async with conn.transaction():
            # Tables first, then checkpoints: the order a live batch takes them in, so a
            # live projector waits for the swap instead of deadlocking with it.
            for live_table in fresh:
                await conn.execute(f"LOCK TABLE {live_table} IN ACCESS EXCLUSIVE MODE")
            await conn.execute(
                "SELECT 1 FROM projection_checkpoints WHERE name = ANY($1::text[]) "
                "ORDER BY name FOR UPDATE",
                [p.name for p in projections],
            )
            # Catch up past the live checkpoints: the same order, so the same rows.
            while events := await store.read_all(position, REBUILD_BATCH_SIZE, connection=conn):
                await apply(events)
            for live_table, new in fresh.items():
                await conn.execute(f"DROP TABLE {live_table}")
                await conn.execute(f"ALTER TABLE {new} RENAME TO {live_table}")
            await conn.execute(
                """UPDATE projection_checkpoints
                      SET position = $2, events_applied = $3, updated_at = now(),
                          last_recorded_at = $4, status = 'running', error = NULL,
                          error_position = NULL
                    WHERE name = ANY($1::text[])""",
                [p.name for p in projections],
                position,
                done,
                last_recorded,
            )
    if progress is not None:
        progress(done, done)
    log.info("projections_rebuilt", projections=[p.name for p in projections], events=done)
    return done


# --- status ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    status: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    events_applied: int
    updated_at: datetime | None
    error: str | None
    error_position: int | None = None


async def status(
    pool: asyncpg.Pool, projections: Sequence[Projection] = PROJECTIONS
) -> list[ProjectionStatus]:
    """Checkpoint, head, and lag (events not yet applied, and how old the oldest is)."""
    head = int(await pool.fetchval("SELECT coalesce(max(global_position), 0) FROM events"))
    rows = {r["name"]: r for r in await pool.fetch("SELECT * FROM projection_checkpoints")}
    out = []
    for projection in projections:
        row = rows.get(projection.name)
        position = int(row["position"]) if row else 0
        lag = await pool.fetchrow(
            """SELECT count(*) AS n,
                      coalesce(extract(epoch FROM now() - min(e.recorded_at)), 0) AS seconds
                 FROM events e
                WHERE (e.transaction_id, e.global_position) > (
                        coalesce((SELECT c.transaction_id FROM events c
                                   WHERE c.global_position = $1), '0'::xid8), $1)""",
            position,
        )
        assert lag is not None
        out.append(
            ProjectionStatus(
                name=projection.name,
                status=str(row["status"]) if row else "not started",
                position=position,
                head=head,
                lag_events=int(lag["n"]),
                lag_seconds=float(lag["seconds"]),
                events_applied=int(row["events_applied"]) if row else 0,
                updated_at=row["updated_at"] if row else None,
                error=row["error"] if row else None,
                error_position=row["error_position"] if row else None,
            )
        )
    return out


async def run_projector(dsn: str, stop: asyncio.Event) -> None:
    """``ifss projector`` (and the dev stack): every projection, live, until ``stop``."""
    from events.db import create_pool

    pool = await create_pool(dsn, max_size=4)
    store = EventStore(pool)
    try:
        log.info("projector_started", projections=len(PROJECTIONS))
        await Projector(dsn=dsn, store=store).run(stop)
        log.info("projector_stopped")
    finally:
        await store.aclose()
        await pool.close()
