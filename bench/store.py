"""Benchmark: the event store against raw asyncpg into a bare table of the same shape.

Encryption is on: every event carries session notes (a ``personal`` part), which the store
seals per family (AES-256-GCM) while the raw reference stores them in clear, so the ratios
include the cost of sealing.

Both run in ONE process against the same PostgreSQL, alternating rounds; figures are
events per second and the ratios store / raw. The process is set up as the engine's
processes are (its start-up objects frozen once it is ready: ``workers.root.
freeze_start_up``), so both sides' garbage collections walk what the rounds make. The last
line printed is JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from bench.common import bench_database, bench_keyring
from events.catalogue import NotesPersonal, SessionRecorded
from events.db import create_pool
from events.envelope import Actor, EventMetadata
from events.records import NewEvent
from events.store import EventStore
from events.vocabulary import Role, SessionKind
from workers.root import freeze_start_up

WRITERS = 8
SINGLE_PER_WRITER = 1000
BATCH_SIZE = 100
BATCHES_PER_WRITER = 10
READ_TOTAL = 100_000
PAGE = 1000
ROUNDS = 4

RAW_TABLE = """CREATE TABLE raw_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL, stream_version bigint NOT NULL, event_id uuid NOT NULL UNIQUE,
    type text NOT NULL, schema_version integer NOT NULL, data jsonb NOT NULL,
    metadata jsonb NOT NULL, occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))"""
RAW_INSERT_MANY = """INSERT INTO raw_events (stream_id, stream_version, event_id, type,
    schema_version, data, metadata, occurred_at)
    SELECT $1, v, i, t, s, d, m, o FROM unnest($2::bigint[], $3::uuid[], $4::text[],
        $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[]) AS x(v, i, t, s, d, m, o)"""
RAW_INSERT_ONE = """INSERT INTO raw_events (stream_id, stream_version, event_id, type,
    schema_version, data, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
META = EventMetadata(actor=Actor(id="cm-bench", role=Role.CASE_MANAGER), policy_version="2026.1")


def make_events(count: int) -> list[NewEvent]:
    return [
        NewEvent.of(
            SessionRecorded(
                session_id=f"s{n}",
                held_at=T0 + timedelta(hours=n),
                kind=SessionKind.HOME_VISIT,
                duration_minutes=90,
                personal=NotesPersonal(notes=f"Home visit {n}: talked about bedtimes."),
            ),
            event_id=uuid.uuid4(),
            metadata=META,
            occurred_at=T0 + timedelta(hours=n),
        )
        for n in range(count)
    ]


def raw_args(events: list[NewEvent]) -> tuple[list[str], list[str]]:
    return (
        [json.dumps(e.data) for e in events],
        [json.dumps(e.metadata.model_dump(mode="json")) for e in events],
    )


async def store_single(store: EventStore, tag: str) -> float:
    async def writer(w: int) -> None:
        events = make_events(SINGLE_PER_WRITER)
        for version, event in enumerate(events):
            await store.append(f"single-{tag}-{w}", version, [event])

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * SINGLE_PER_WRITER / (time.perf_counter() - start)


async def raw_single(pool: asyncpg.Pool, tag: str) -> float:
    async def writer(w: int) -> None:
        events = make_events(SINGLE_PER_WRITER)
        for version, event in enumerate(events, start=1):
            data, meta = raw_args([event])
            await pool.execute(
                RAW_INSERT_ONE,
                f"single-{tag}-{w}",
                version,
                event.event_id,
                event.type,
                2,
                data[0],
                meta[0],
                event.occurred_at,
            )

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * SINGLE_PER_WRITER / (time.perf_counter() - start)


async def store_batch(store: EventStore, tag: str, batches: int = BATCHES_PER_WRITER) -> float:
    async def writer(w: int) -> None:
        for b in range(batches):
            await store.append(f"batch-{tag}-{w}", b * BATCH_SIZE, make_events(BATCH_SIZE))

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * batches * BATCH_SIZE / (time.perf_counter() - start)


async def raw_batch(pool: asyncpg.Pool, tag: str, batches: int = BATCHES_PER_WRITER) -> float:
    async def writer(w: int) -> None:
        for b in range(batches):
            events = make_events(BATCH_SIZE)
            data, meta = raw_args(events)
            await pool.execute(
                RAW_INSERT_MANY,
                f"batch-{tag}-{w}",
                list(range(b * BATCH_SIZE + 1, (b + 1) * BATCH_SIZE + 1)),
                [e.event_id for e in events],
                [e.type for e in events],
                [2] * BATCH_SIZE,
                data,
                meta,
                [e.occurred_at for e in events],
            )

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return WRITERS * batches * BATCH_SIZE / (time.perf_counter() - start)


async def store_read(store: EventStore) -> float:
    start = time.perf_counter()
    position, seen = 0, 0
    while seen < READ_TOTAL and (page := await store.read_all(position, PAGE)):
        seen += len(page)
        position = page[-1].global_position
    return seen / (time.perf_counter() - start)


async def raw_read(pool: asyncpg.Pool) -> float:
    start = time.perf_counter()
    position, seen = 0, 0
    while seen < READ_TOTAL:
        rows = await pool.fetch(
            "SELECT global_position, stream_id, stream_version, event_id, type, schema_version, "
            "data::text, metadata::text, occurred_at, recorded_at FROM raw_events "
            "WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            position,
            PAGE,
        )
        if not rows:
            break
        seen += len(rows)
        position = rows[-1]["global_position"]
    return seen / (time.perf_counter() - start)


async def count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


async def main() -> dict[str, float]:
    async with bench_database() as (dsn, schema):
        pool = await create_pool(dsn, schema=schema, min_size=WRITERS, max_size=WRITERS + 2)
        await pool.execute(RAW_TABLE)
        store = EventStore(pool, bench_keyring())
        freeze_start_up()  # as the engine's long-running processes once they are set up
        best: dict[str, float] = {}

        def keep(key: str, value: float) -> None:
            best[key] = max(best.get(key, 0.0), value)

        for r in range(ROUNDS):  # alternate so neither side always runs on a warmer server
            keep("raw_single_eps", await raw_single(pool, f"r{r}"))
            keep("append_single_eps", await store_single(store, f"r{r}"))
            keep("raw_batch_eps", await raw_batch(pool, f"r{r}"))
            keep("append_batch_eps", await store_batch(store, f"r{r}"))

        # fill both tables to the same size for the read test
        fill = 0
        while await count(pool, "events") < READ_TOTAL:
            fill += 1
            await store_batch(store, f"fill{fill}", batches=25)
            await raw_batch(pool, f"fill{fill}", batches=25)
        await pool.execute("VACUUM ANALYZE events")
        await pool.execute("VACUUM ANALYZE raw_events")
        for _ in range(ROUNDS):
            keep("raw_read_eps", await raw_read(pool))
            keep("read_all_eps", await store_read(store))
        await pool.close()

    best["single_ratio"] = best["append_single_eps"] / best["raw_single_eps"]
    best["batch_ratio"] = best["append_batch_eps"] / best["raw_batch_eps"]
    best["read_ratio"] = best["read_all_eps"] / best["raw_read_eps"]
    return best


if __name__ == "__main__":
    figures = asyncio.run(main())
    print(f"{'measure':<34}{'store':>12}{'raw asyncpg':>14}{'ratio':>8}  target")
    for label, ours, raw, ratio, target in [
        (
            f"single appends, {WRITERS} writers (ev/s)",
            "append_single_eps",
            "raw_single_eps",
            "single_ratio",
            ">= 0.6",
        ),
        (
            f"batched appends x{BATCH_SIZE} (ev/s)",
            "append_batch_eps",
            "raw_batch_eps",
            "batch_ratio",
            ">= 0.7",
        ),
        (
            f"read_all paging {READ_TOTAL:,} (ev/s)",
            "read_all_eps",
            "raw_read_eps",
            "read_ratio",
            ">= 0.5",
        ),
    ]:
        print(
            f"{label:<34}{figures[ours]:>12,.0f}{figures[raw]:>14,.0f}{figures[ratio]:>8.2f}  {target}"
        )
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
