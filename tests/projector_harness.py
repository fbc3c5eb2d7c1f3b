"""Read models in tests: catch up by hand, seed scripted cases, run a projector in process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import asyncpg

from events.catalogue import FirstMeetingHeld, KeyWorkerAllocated, ReferralAccepted
from events.consumer import checkpoint, ensure_checkpoints
from events.store import EventStore
from projections.base import Projection
from projections.models import PROJECTIONS
from projections.runner import Projector, apply_batch
from tests.factories import T0, referral, session, wrap


async def catch_up(pool: asyncpg.Pool, store: EventStore) -> None:
    """Every read model up to the last event appended so far. ``make test`` runs two
    processes on one PostgreSQL: the other's open transaction holds a reader back for a
    moment (the commit-safe watermark), so a read model behind the head looks again."""
    async with pool.acquire() as conn:
        await ensure_checkpoints(conn, [p.name for p in PROJECTIONS])
        head = await conn.fetchval("SELECT coalesce(max(global_position), 0) FROM events")
        for projection in PROJECTIONS:
            for _ in range(400):
                while await apply_batch(conn, store, projection):
                    pass
                if await checkpoint(conn, projection.name) >= head:
                    break
                await asyncio.sleep(0.025)


async def seed(store: EventStore, cases: int, sessions: int) -> None:
    for n in range(cases):
        case_id = f"k{n}"
        events = [
            wrap(referral(case_id)),
            wrap(ReferralAccepted()),
            wrap(
                KeyWorkerAllocated(
                    key_worker_id="cm-jones",
                    team_id="cardiff",
                    first_meeting_due_at=T0 + timedelta(days=2),
                )
            ),
            wrap(FirstMeetingHeld(held_at=T0, intensive_ends_on=(T0 + timedelta(days=42)).date())),
        ] + [wrap(session(i)) for i in range(sessions)]
        await store.append(f"case-{case_id}", 0, events)


class Running:
    """A projector process stand-in: its own connections, locks and wake-ups."""

    def __init__(self, runner: Projector) -> None:
        self.applied: list[tuple[str, int]] = []
        runner.on_applied = lambda name, events: self.applied.extend(
            (name, e.global_position) for e in events
        )
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(runner.run(self._stop))

    def names(self) -> set[str]:
        return {name for name, _ in self.applied}

    async def stop(self) -> None:
        self._stop.set()
        await self._task


@contextlib.asynccontextmanager
async def projector(
    database_url: str, schema: str, store: EventStore, projections: Sequence[Projection]
) -> AsyncIterator[Running]:
    running = Running(
        Projector(
            dsn=database_url,
            store=store,
            schema=schema,
            projections=projections,
            poll_interval=0.05,
            batch_size=7,
        )
    )
    try:
        yield running
    finally:
        await running.stop()


async def wait_for(condition: Any, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")
