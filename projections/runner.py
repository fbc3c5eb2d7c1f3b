"""Running projections: live (``ifss projector``), rebuild, and status.

Live, each projection is a consumer of the store on the shared loop
(``events.consumer.follow``: its own connection, a session advisory lock with standbys,
reconnects, wake-up on NOTIFY); here is what a projection adds:

* **Exactly once.** Each batch is one transaction: read the checkpoint, read the events
  after it (commit-safe order), apply them, move the checkpoint *only if it has not moved*
  (``WHERE position = $old``). A crash anywhere rolls the batch back whole; an instance that
  lost its lock without knowing can never apply a batch twice.
* **Stops loudly.** A handler error rolls back, marks the projection ``failed`` with the
  event's position and the error, logs it and stops that projection (the others go on).
  A batch the database refuses as a whole is applied again event by event to find the
  one at fault. The event is never skipped silently: fix the code and rebuild, or record
  a decision to skip it (``projections.failures``); the projector resumes by itself.

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

from events.consumer import checkpoint, ensure_checkpoints, move_checkpoint, run_consumers
from events.db import Conn, is_transient
from events.errors import describe
from events.records import RecordedEvent
from events.store import EventStore
from projections.base import Projection, ProjectionFailed
from projections.failures import failure_of, skipped_events
from projections.models import PROJECTIONS

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
# Measured (bench/projections.py, 2 cores): 10,000 rebuilds faster than 5,000 or 15,000 (a
# third fewer transactions, loads and upserts per event; two batches in memory at once).
REBUILD_BATCH_SIZE = 10_000
REBUILD_SUFFIX = "__rebuild"
# A batch refused this many times in a row is applied event by event to find the culprit;
# a projection whose loop crashes this many times in a row is marked failed.
BATCH_ATTEMPTS = 5
# How often a failed projection looks for a way forward (a skip decision, a rebuild).
FAILED_RECHECK_SECONDS = 2.0


def live_tables(projection: Projection) -> dict[str, str]:
    return {t: t for t in projection.tables}


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
        position = await checkpoint(conn, projection.name)
        events = await store.read_all(position, batch_size, connection=conn, proofs=False)
        if not events:
            return []
        wanted = [e for e in events if e.event_id not in skips] if skips else events
        await projection.apply(conn, wanted, tables or live_tables(projection))
        if not await move_checkpoint(conn, projection.name, position, events):
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


@dataclass
class Projector:
    """Runs every projection live until ``stop`` is set: each on its own consumer loop
    (``events.consumer.follow``), all woken by one listening connection."""

    dsn: str
    store: EventStore
    schema: str | None = None
    projections: Sequence[Projection] = PROJECTIONS
    poll_interval: float = 1.0
    batch_size: int = BATCH_SIZE
    on_applied: Callable[[str, list[RecordedEvent]], None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        await run_consumers(
            [LiveProjection(self, projection) for projection in self.projections],
            dsn=self.dsn,
            schema=self.schema,
            store=self.store,
            stop=stop,
            poll_interval=self.poll_interval,
        )


class LiveProjection:
    """One projection as a consumer of the store: batches applied exactly once, retried
    while the database refuses them, and a stop at the event at fault."""

    def __init__(self, projector: Projector, projection: Projection) -> None:
        self.projector, self.projection = projector, projection
        self.store = projector.store
        self.log = log.bind(projection=projection.name)
        self.skips: frozenset[UUID] = frozenset()
        self.errors = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def started(self, conn: Conn) -> None:
        self.skips = await skipped_events(self.store, self.name)
        self.errors = 0
        status, failed_at, _ = await failure_of(conn, self.name)
        if status == "failed" and failed_at is None:  # a crash, not an event: try again
            await conn.execute(
                "UPDATE projection_checkpoints SET status = 'running', error = NULL "
                "WHERE name = $1",
                self.name,
            )

    async def crashed(self, conn: Conn, error: Exception, crashes: int) -> None:
        if crashes >= BATCH_ATTEMPTS:  # keeps crashing: the status says so
            await mark_failed(conn, ProjectionFailed(self.name, error))

    async def step(self, conn: Conn) -> bool:
        try:
            events = await apply_batch(
                conn,
                self.store,
                self.projection,
                batch_size=self.projector.batch_size,
                skips=self.skips,
            )
            self.errors = 0
        except Stale:
            return True
        except ProjectionFailed as failed:
            self.skips = await self._stopped(conn, failed)
            return True
        except Exception as exc:
            if isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError | OSError):
                raise  # reconnect (the consumer loop)
            # A rebuild swapped the tables mid-batch, a deadlock, a serialization error:
            # the batch rolled back whole, so try again; if it persists, find the event.
            self.errors += 1
            self.log.warning(
                "projection_batch_retried", error=type(exc).__name__, attempt=self.errors
            )
            if self.errors < BATCH_ATTEMPTS:
                await asyncio.sleep(0.1 * self.errors)
                return True
            self.errors = 0
            failure = await self._culprit(conn)
            if failure is None:  # event by event, all applied: whatever it was passed
                self.log.info("projection_batch_recovered", error=describe(exc))
            else:
                self.skips = await self._stopped(conn, failure)
            return True
        if events and self.projector.on_applied is not None:
            self.projector.on_applied(self.name, events)
        return bool(events)

    async def _culprit(self, conn: Conn) -> ProjectionFailed | None:
        """Apply the failing batch one event at a time. The first event that fails for good
        (a handler error, or a database error that retrying does not cure) is named; None
        when every event applies (the error has passed)."""
        for _ in range(self.projector.batch_size):
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                try:
                    applied = await apply_batch(
                        conn, self.store, self.projection, batch_size=1, skips=self.skips
                    )
                    break
                except ProjectionFailed as failure:
                    return failure
                except Stale:
                    return None  # another instance moved on: nothing to blame here
                except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                    raise  # reconnect (the consumer loop)
                except Exception as exc:
                    if is_transient(exc) and attempt < BATCH_ATTEMPTS:
                        await asyncio.sleep(0.1 * attempt)
                        continue
                    found = await self.store.read_all(await checkpoint(conn, self.name), 1)
                    return ProjectionFailed(self.name, exc, found[0] if found else None)
            if not applied:
                return None
        return None

    async def _stopped(self, conn: Conn, failure: ProjectionFailed) -> frozenset[UUID]:
        """Mark the projection failed and wait until an operator has a way forward: a
        decision to skip the event, or a rebuild that got past it. Returns the skips."""
        await mark_failed(conn, failure)
        self.log.error(
            "projection_failed",
            position=failure.position,
            event_type=failure.event_type,
            error=str(failure),  # built by ``describe``: no values from the event
        )
        event_id = failure.event_id
        while True:
            await asyncio.sleep(FAILED_RECHECK_SECONDS)
            status, _, _ = await failure_of(conn, self.name)
            skips = await skipped_events(self.store, self.name)
            if status != "failed" or (event_id is not None and event_id in skips):
                self.log.info("projection_resumed", skipped=event_id in skips)
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
    time). Pause it for the job, with what existed before frozen, then restore it. In a
    process that froze its start-up objects already (``workers.root.freeze_start_up``),
    they stay frozen: ``gc.unfreeze`` cannot tell them from the job's."""
    was_enabled = gc.isenabled()
    was_frozen = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if not was_frozen:
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
        await ensure_checkpoints(conn, [p.name for p in projections])
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

        events = await store.read_all(position, REBUILD_BATCH_SIZE, proofs=False)
        while events:
            advance(events)
            upcoming = asyncio.create_task(
                store.read_all(position, REBUILD_BATCH_SIZE, proofs=False)
            )
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
            while events := await store.read_all(
                position, REBUILD_BATCH_SIZE, connection=conn, proofs=False
            ):
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


async def run_projector(dsn: str, store: EventStore, stop: asyncio.Event) -> None:
    """``ifss projector`` (and the dev stack): every projection, live, until ``stop``."""
    log.info("projector_started", projections=len(PROJECTIONS))
    await Projector(dsn=dsn, store=store).run(stop)
    log.info("projector_stopped")
