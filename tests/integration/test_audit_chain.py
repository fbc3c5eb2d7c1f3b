"""Tamper evidence: the table refuses changes, and hand edits break the hash chain."""

from __future__ import annotations

import asyncpg
import pytest

from events.store import EventStore
from tests.factories import referral, sessions, wrap

pytestmark = pytest.mark.integration


async def hand_edit(pool: asyncpg.Pool, sql: str) -> None:
    """What a superuser editing the table by hand would do: lift the trigger, change a row."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


async def seed(store: EventStore) -> None:
    await store.append("case-c1", 0, [wrap(referral()), *sessions(4)])
    await store.append("case-c2", 0, [wrap(referral("c2")), *sessions(2)])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'Other'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_table_refuses_update_delete_truncate(
    store: EventStore, pool: asyncpg.Pool, statement: str
) -> None:
    await seed(store)
    with pytest.raises(asyncpg.PostgresError, match="append-only") as raised:
        await pool.execute(statement)
    assert raised.value.sqlstate == "IF003"
    assert await pool.fetchval("SELECT count(*) FROM events") == 8


async def test_intact_store_verifies(store: EventStore) -> None:
    await seed(store)
    report = await store.verify()
    assert report.intact
    assert (report.streams_checked, report.events_checked) == (2, 8)
    assert (await store.verify("case-c2")).events_checked == 3


async def test_edited_payload_is_the_first_broken_link(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed(store)
    await hand_edit(
        pool,
        "UPDATE events SET data = jsonb_set(data, '{duration_minutes}', '30') "
        "WHERE stream_id = 'case-c1' AND stream_version = 3",
    )
    report = await store.verify()
    assert report.broken is not None
    assert (report.broken.stream_id, report.broken.stream_version) == ("case-c1", 3)
    assert "edited" in report.broken.problem
    assert (await store.verify("case-c2")).intact


async def test_edited_metadata_is_caught(store: EventStore, pool: asyncpg.Pool) -> None:
    await seed(store)
    await hand_edit(
        pool,
        "UPDATE events SET metadata = jsonb_set(metadata, '{actor,id}', '\"someone-else\"') "
        "WHERE stream_id = 'case-c2' AND stream_version = 1",
    )
    broken = (await store.verify()).broken
    assert broken is not None and (broken.stream_id, broken.stream_version) == ("case-c2", 1)


async def test_recomputed_digest_still_breaks_the_chain(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed(store)
    await hand_edit(
        pool,
        "UPDATE events SET content_digest = sha256('forged') "
        "WHERE stream_id = 'case-c1' AND stream_version = 2",
    )
    broken = (await store.verify("case-c1")).broken
    assert broken is not None and broken.stream_version == 2


async def test_deleted_event_is_the_first_broken_link(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed(store)
    await hand_edit(pool, "DELETE FROM events WHERE stream_id = 'case-c1' AND stream_version = 2")
    broken = (await store.verify()).broken
    assert broken is not None
    assert (broken.stream_id, broken.stream_version) == ("case-c1", 2)
    assert "deleted" in broken.problem
