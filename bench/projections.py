"""Benchmark: the read side.

1. ``rebuild_eps``: every projection rebuilt in one pass over N events (default 1,000,000:
   whole episodes, ~35 events each, appended through the store in batches — not through
   the workflows, for speed), against ``raw_read_fold_eps``: the same events paged with
   bare asyncpg and folded into dicts, in the same run. ``rebuild_ratio`` = the two.
2. ``history_read_p99_ms``: reading a 500-event case's timeline with N events stored, in
   the API's steady state (``settle_memory()``, as ``ifss api`` does after start-up); and
   ``list_logging_p50_ms``: what logging a list read (``CasesListed`` naming every case
   returned) adds to a team's ``GET /cases`` query, measured alternately in the same run.
3. ``command_to_visible_p50_ms`` / ``_p99_ms``: on the dev stack (embedded PostgreSQL, the
   Temporal dev server, the worker and the projector in this process), from sending a
   command to its effect being visible in ``case_summary``.

The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from api.app import settle_memory
from bench.common import (
    bench_database,
    bench_keyring,
    cardiff_team,
    dev_stack_database,
    dev_temporal,
    refer_and_allocate,
)
from events import catalogue as ev
from events.db import create_pool
from events.envelope import Actor, EventMetadata
from events.records import NewEvent
from events.store import EventStore
from events.vocabulary import ReferralGround, ReferringAgency, Role, SessionKind
from projections.models import PROJECTIONS
from projections.queries import history, list_cases, record_list_read
from projections.runner import bulk_allocation, rebuild

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
CM = EventMetadata(actor=Actor(id="cm-bench", role=Role.CASE_MANAGER), policy_version="2026.1")
SYSTEM = EventMetadata(actor=Actor.system(), policy_version="2026.1")


def episode(n: int, sessions: int = 12) -> list[NewEvent]:
    """A whole planned episode as the workflow records it (~35 events)."""
    case_id = f"b{n}"
    start = T0 + timedelta(hours=n % 5000)
    closed = (start + timedelta(days=40)).date()
    events: list[tuple[ev.DomainEvent, EventMetadata, datetime]] = [
        (
            ev.ReferralReceived(
                case_id=case_id,
                family_id=f"fam-{n}",
                team_id=f"team{n % 20}",
                area="cardiff",
                referring_agency=ReferringAgency.HEALTH,
                referral_grounds=[ReferralGround.PARENTAL_SUBSTANCE_DEPENDENCE],
                children=[ev.Child(child_id="ch1")],
                consent_to_referral=True,
                consent_to_information_sharing=True,
                received_on=start.date(),
                policy_version="2026.1",
            ),
            CM,
            start,
        ),
        (ev.ReferralAccepted(), CM, start),
        (
            ev.KeyWorkerAllocated(
                key_worker_id=f"kw{n % 60}",
                team_id=f"team{n % 20}",
                first_meeting_due_at=start + timedelta(days=2),
            ),
            SYSTEM,
            start,
        ),
        (
            ev.FirstMeetingHeld(
                held_at=start + timedelta(days=1),
                intensive_ends_on=(start + timedelta(days=43)).date(),
            ),
            CM,
            start + timedelta(days=1),
        ),
    ]
    for g in ("g1", "g2", "g3"):
        events.append(
            (ev.GoalAgreed(goal_id=g, category="parenting", baseline=3, target=8), CM, start)
        )
    for s in range(sessions):
        held = start + timedelta(days=2 + 3 * s)
        events.append(
            (
                ev.SessionRecorded(
                    session_id=f"s{s}",
                    held_at=held,
                    kind=SessionKind.HOME_VISIT,
                    duration_minutes=90,
                ),
                CM,
                held,
            )
        )
    scores = [ev.GoalScore(goal_id=g, score=7) for g in ("g1", "g2", "g3")]
    end = start + timedelta(days=40)
    events.append(
        (ev.IntensivePhaseClosed(kind="planned", closing_scores=scores, closed_on=closed), CM, end)
    )
    months = ((1, 30), (3, 91), (6, 182), (12, 365))
    for month, days in months:
        events.append(
            (
                ev.FollowUpReviewScheduled(
                    review_id=f"m{month}", month=month, due_on=closed + timedelta(days=days)
                ),
                SYSTEM,
                end,
            )
        )
    for month, days in months:
        due = closed + timedelta(days=days)
        at = datetime.combine(due, datetime.min.time(), tzinfo=UTC)
        events.append((ev.FollowUpReviewDue(review_id=f"m{month}", due_on=due), SYSTEM, at))
        ratings = [ev.GoalReviewRating(goal_id=g, rating="maintained") for g in ("g1", "g2", "g3")]
        events.append(
            (
                ev.FollowUpReviewCompleted(
                    review_id=f"m{month}",
                    month=month,
                    ratings=ratings,
                    family_staying_together=True,
                    substance_use_status="reduced",
                ),
                CM,
                at + timedelta(hours=3),
            )
        )
    events.append(
        (ev.EpisodeEnded(reason="follow_up_completed"), SYSTEM, end + timedelta(days=400))
    )
    return [
        NewEvent.of(e, event_id=uuid.uuid4(), metadata=m, occurred_at=at) for e, m, at in events
    ]


async def seed(store: EventStore, total: int, writers: int = 4) -> int:
    """Whole episodes until ``total`` events; returns the number written."""
    per_episode = len(episode(0))
    episodes = total // per_episode
    counter = iter(range(episodes))

    async def writer() -> int:
        written = 0
        for n in counter:
            events = episode(n)
            await store.append(f"case-b{n}", 0, events)
            written += len(events)
        return written

    return sum(await asyncio.gather(*(writer() for _ in range(writers))))


async def raw_read_fold(pool: asyncpg.Pool, page: int = 5000) -> tuple[int, float]:
    """The reference: page through the events with bare asyncpg, fold into dicts. Under the
    same garbage-collector setting as the rebuild, so the ratio compares the work only."""
    with bulk_allocation():
        return await _raw_read_fold(pool, page)


async def _raw_read_fold(pool: asyncpg.Pool, page: int) -> tuple[int, float]:
    folded: dict[str, dict[str, Any]] = {}
    position, count = 0, 0
    started = time.perf_counter()
    while True:
        rows = await pool.fetch(
            "SELECT global_position, stream_id, type, data::text AS data, occurred_at "
            "FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            position,
            page,
        )
        if not rows:
            break
        for row in rows:
            state = folded.setdefault(row["stream_id"], {"events": 0})
            state["events"] += 1
            state["last"] = row["type"]
            state["data"] = json.loads(row["data"])
            state["at"] = row["occurred_at"]
        position = rows[-1]["global_position"]
        count += len(rows)
    return count, time.perf_counter() - started


async def history_reads(pool: asyncpg.Pool, store: EventStore, reads: int = 200) -> list[float]:
    """A 500-event case, then its timeline read ``reads`` times."""
    events = episode(10_000_000, sessions=500 - 21)
    await store.append("case-b10000000", 0, events[:1000])
    async with pool.acquire() as conn:
        from events.consumer import ensure_checkpoints
        from projections.runner import apply_batch

        await ensure_checkpoints(conn, [p.name for p in PROJECTIONS])
        for projection in PROJECTIONS:
            while await apply_batch(conn, store, projection, batch_size=5000):
                pass
    settle_memory()  # as `ifss api` does once started
    timings = []
    for _ in range(reads):
        started = time.perf_counter()
        entries = await history(pool, "b10000000")
        timings.append((time.perf_counter() - started) * 1000)
        assert len(entries) == len(events), len(entries)
    return timings


async def list_reads(
    pool: asyncpg.Pool, store: EventStore, reads: int = 200
) -> tuple[list[float], list[float]]:
    """A supervisor's ``GET /cases`` (one team's cases, the read model's own limit), alone
    and with its access logging (``CasesListed`` naming every case returned), alternated."""
    plain, logged = [], []
    actor = Actor(id="sup-bench", role=Role.SUPERVISOR)
    for _ in range(reads):
        started = time.perf_counter()
        rows = await list_cases(pool, team_id="team3")
        plain.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        rows = await list_cases(pool, team_id="team3")
        await record_list_read(store, actor, view="cases", interface="api", rows=rows)
        logged.append((time.perf_counter() - started) * 1000)
    assert rows, "the team has cases"
    return plain, logged


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def visible(pool: asyncpg.Pool, case_id: str, version: int) -> None:
    query = "SELECT version FROM case_summary WHERE case_id = $1"
    while True:
        if (await pool.fetchval(query, case_id) or 0) >= version:
            return
        await asyncio.sleep(0.002)


async def command_to_visible(commands: int) -> list[float]:
    """On the dev stack: send a command, wait until case_summary shows its version."""
    from temporalio.client import Client

    from projections.runner import run_projector
    from workers.root import runtime
    from workers.settings import Settings
    from workers.temporal import connect_temporal, run_worker
    from workflows import client as cases
    from workflows import commands as cmd

    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        schema_dsn = await stack.enter_async_context(dev_stack_database())
        address = await stack.enter_async_context(dev_temporal())
        client: Client = await connect_temporal(
            address, "default", master=bench_keyring().master, attempts=60
        )
        settings = Settings(task_queue="bench-visible")
        # the processes' own composition root, as `ifss worker` and `ifss projector` open it
        rt = await stack.enter_async_context(
            runtime(settings, database_url=schema_dsn, temporal_client=client)
        )
        worker = asyncio.create_task(run_worker(rt, stop))
        projector = asyncio.create_task(run_projector(rt.dsn, rt.store, stop))
        for task in (worker, projector):  # a part that fails stops the run, loudly
            task.add_done_callback(lambda t: t.cancelled() or (t.exception() and stop.set()))
        pool = await create_pool(schema_dsn, max_size=4)
        await cardiff_team(client, settings.task_queue, ["cm-bench"], 50)
        print("dev stack up; measuring", flush=True)
        timings: list[float] = []
        case_count = max(1, commands // 10)
        cm = Actor(id="cm-bench", role=Role.CASE_MANAGER)
        for c in range(case_count):
            case_id = f"v{c}"
            await refer_and_allocate(client, case_id, settings.task_queue)
            await cases.send_command(
                client,
                case_id,
                "record_first_meeting",
                cmd.RecordFirstMeeting(actor=cm, held_at=datetime.now(UTC)),
            )
            for s in range(10):
                started = time.perf_counter()
                result = await cases.send_command(
                    client,
                    case_id,
                    "record_session",
                    cmd.RecordSession(
                        actor=cm,
                        session_id=f"s{s}",
                        held_at=datetime.now(UTC),
                        kind=SessionKind.HOME_VISIT,
                        duration_minutes=60,
                    ),
                )
                await visible(pool, case_id, result.version)
                timings.append((time.perf_counter() - started) * 1000)
        await pool.close()
        stop.set()
        await worker
        await projector
        return timings


async def main(total: int, visible_commands: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with bench_database() as (dsn, schema):
        pool = await create_pool(dsn, schema=schema, max_size=8)
        store = EventStore(pool, bench_keyring())
        try:
            started = time.perf_counter()
            written = await seed(store, total)
            print(f"seeded {written:,} events in {time.perf_counter() - started:.1f} s", flush=True)
            raw_count, raw_seconds = await raw_read_fold(pool)
            started = time.perf_counter()
            rebuilt = await rebuild(pool, store, PROJECTIONS)
            rebuild_seconds = time.perf_counter() - started
            raw_count2, raw_seconds2 = await raw_read_fold(pool)  # again, after: fair to both
            raw_eps = (raw_count + raw_count2) / (raw_seconds + raw_seconds2)
            figures["events"] = rebuilt
            figures["rebuild_eps"] = rebuilt / rebuild_seconds
            figures["raw_read_fold_eps"] = raw_eps
            figures["rebuild_ratio"] = figures["rebuild_eps"] / raw_eps
            print(f"rebuilt {rebuilt:,} events in {rebuild_seconds:.1f} s", flush=True)
            reads = await history_reads(pool, store)
            figures["history_read_p50_ms"] = percentile(reads, 50)
            figures["history_read_p99_ms"] = percentile(reads, 99)
            plain, logged = await list_reads(pool, store)
            figures["list_read_p50_ms"] = percentile(plain, 50)
            figures["list_read_logged_p50_ms"] = percentile(logged, 50)
            figures["list_read_logged_p99_ms"] = percentile(logged, 99)
            figures["list_logging_p50_ms"] = (
                figures["list_read_logged_p50_ms"] - figures["list_read_p50_ms"]
            )
        finally:
            await store.aclose()
            await pool.close()
    visible = await command_to_visible(visible_commands)
    figures["command_to_visible_p50_ms"] = percentile(visible, 50)
    figures["command_to_visible_p99_ms"] = percentile(visible, 99)
    figures["commands_measured"] = len(visible)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--commands", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main(args.events, args.commands))
    for key, value in result.items():
        print(f"{key:<28}{value:>14,.2f}")
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))
