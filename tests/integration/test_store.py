"""The event store against real PostgreSQL: appends, conflicts, retries, reading, ordering."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from events.catalogue import EpisodeEnded, SessionRecorded
from events.consumer import Wakeup
from events.errors import EventIdReused, FamilyKnownOtherwise, StreamVersionConflict
from events.store import EventStore
from events.vocabulary import EpisodeEndReason
from tests.factories import referral, session, sessions, wrap

pytestmark = pytest.mark.integration


async def count_rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events"))


async def test_append_then_read_back_in_order(store: EventStore) -> None:
    first = await store.append("case-c1", 0, [wrap(referral())])
    second = await store.append("case-c1", 1, sessions(2))
    assert first.version == 1 and second.version == 3
    assert first.positions[0] < second.positions[0] < second.positions[1]
    events = await store.read_stream("case-c1")
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.type for e in events] == ["ReferralReceived", "SessionRecorded", "SessionRecorded"]
    assert events[0].event == referral()
    assert events[0].metadata.actor.id == "cm-jones"
    assert [e.stream_version for e in await store.read_stream("case-c1", after_version=1)] == [2, 3]
    assert await store.stream_version("case-c1") == 3
    assert await store.stream_version("case-unknown") == 0


async def test_read_stream_by_type_and_below_a_version(store: EventStore) -> None:
    await store.append("case-c1", 0, [wrap(referral()), *sessions(3)])
    await store.append("case-c2", 0, sessions(1))
    by_type = await store.read_stream("case-c1", types=["SessionRecorded"])
    assert [e.stream_version for e in by_type] == [2, 3, 4]
    below = await store.read_stream("case-c1", types=["SessionRecorded"], before_version=4)
    assert [e.stream_version for e in below] == [2, 3]
    assert await store.read_stream("case-c1", types=["AlertRaised"]) == []
    assert [e.type for e in await store.read_stream("case-c1", before_version=2)] == [
        "ReferralReceived"
    ]


async def test_wrong_expected_version_raises_and_writes_nothing(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(referral())])
    with pytest.raises(StreamVersionConflict) as raised:
        await store.append("case-c1", 0, sessions(3))
    assert raised.value.actual_version == 1
    assert raised.value.expected_version == 0
    assert "nothing was written" in str(raised.value)
    assert await count_rows(pool) == 1


async def test_fifty_concurrent_appends_at_one_version_exactly_one_wins(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(referral())])

    async def attempt(n: int) -> str:
        try:
            await store.append("case-c1", 1, [wrap(session(n))])
            return "ok"
        except StreamVersionConflict:
            return "conflict"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(50)))
    assert outcomes.count("ok") == 1
    assert outcomes.count("conflict") == 49
    versions = await pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = 'case-c1' ORDER BY 1"
    )
    assert [r["stream_version"] for r in versions] == [1, 2]


async def test_retried_append_is_a_no_op(store: EventStore, pool: asyncpg.Pool) -> None:
    batch = [wrap(referral()), *sessions(2)]
    first = await store.append("case-c1", 0, batch)
    again = await store.append("case-c1", 0, batch)  # the activity retried after a timeout
    assert again == first
    assert await count_rows(pool) == 3
    # the stream moved on meanwhile: the retry is still recognised, not a conflict
    await store.append("case-c1", 3, sessions(1, start=10))
    assert await store.append("case-c1", 0, batch) == first
    assert await count_rows(pool) == 4


async def test_one_event_appends_like_a_batch(store: EventStore, pool: asyncpg.Pool) -> None:
    # Single events and batches mixed on one stream: the same retry, conflict and chain
    # rules either way.
    one = [wrap(referral())]
    first = await store.append("case-c1", 0, one)
    assert await store.append("case-c1", 0, one) == first  # a retried single event
    await store.append("case-c1", 1, sessions(2))
    later = [wrap(session(9))]
    await store.append("case-c1", 3, later)
    assert await store.append("case-c1", 3, later) == await store.append("case-c1", 3, later)
    with pytest.raises(StreamVersionConflict) as raised:
        await store.append("case-c1", 2, [wrap(session(10))])
    assert raised.value.actual_version == 4
    assert await count_rows(pool) == 4
    report = await store.verify("case-c1")
    assert report.intact and report.events_checked == 4


async def test_same_event_id_with_other_content_is_refused(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    event_id = uuid.uuid4()
    await store.append("case-c1", 0, [wrap(session(1), event_id=event_id)])
    with pytest.raises(EventIdReused) as raised:
        await store.append("case-c1", 1, [wrap(session(2), event_id=event_id)])
    assert raised.value.event_id == event_id
    with pytest.raises(EventIdReused):
        await store.append("case-c2", 0, [wrap(session(1), event_id=event_id)])
    assert await count_rows(pool) == 1


async def test_partly_stored_batch_is_refused_whole(store: EventStore, pool: asyncpg.Pool) -> None:
    stored = wrap(session(1))
    await store.append("case-c1", 0, [stored])
    with pytest.raises(EventIdReused):
        await store.append("case-c1", 1, [stored, wrap(session(2))])
    assert await count_rows(pool) == 1


async def read_settled(store: EventStore, position: int = 0, limit: int = 1000) -> list[Any]:
    """``read_all`` once no transaction elsewhere on the server holds the watermark (make
    test runs two processes on one PostgreSQL: the other's open transaction holds readers
    back for a moment; a reader then looks again shortly, as ``has_pending`` tells)."""
    for _ in range(200):
        pending = await store.has_pending()  # asked first: what was committed then is read
        page = await store.read_all(position, limit=limit)
        if not pending:  # not "a page came": part of it may still wait behind the watermark
            return page
        await asyncio.sleep(0.05)
    return await store.read_all(position, limit=limit)


async def test_read_all_pages_through_every_stream(store: EventStore) -> None:
    for case in range(5):
        await store.append(f"case-{case}", 0, sessions(3))
    seen: list[int] = []
    position = 0
    while page := await read_settled(store, position, limit=4):
        seen += [e.global_position for e in page]
        position = page[-1].global_position
    assert len(seen) == 15 == len(set(seen))
    assert seen == sorted(seen)  # sequential writers: commit order is position order
    # A bulk reader that never verifies reads the same events without their proofs.
    full = await read_settled(store, 0, limit=100)
    lean = await store.read_all(0, limit=100, proofs=False)
    assert [(e.event_id, e.data, e.metadata) for e in lean] == [
        (e.event_id, e.data, e.metadata) for e in full
    ]
    assert all(len(e.content_digest) == 32 and len(e.chain_hash) == 32 for e in full)
    assert all(e.content_digest == b"" and e.chain_hash == b"" for e in lean)


async def test_reader_does_not_pass_an_open_transaction(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """Writer A takes a position and stays open; B takes a later one and commits first.
    A reader ordering by position alone would read B and then skip A forever."""
    async with pool.acquire() as slow:
        tx = slow.transaction()
        await tx.start()
        a = await store.append("case-a", 0, sessions(1), connection=slow)
        b = await store.append("case-b", 0, sessions(1))
        assert a.positions[0] < b.positions[0]
        naive = await pool.fetch("SELECT global_position FROM events WHERE global_position > 0")
        assert [r["global_position"] for r in naive] == b.positions  # the trap is set
        assert await store.read_all(0) == []  # B waits behind the watermark
        assert await store.has_pending()
        await tx.commit()
    after = await read_settled(store)
    assert [e.global_position for e in after] == [a.positions[0], b.positions[0]]


async def test_reader_never_skips_under_concurrent_out_of_order_commits(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """Many writers hold their transactions open for random times after taking positions,
    so commit order differs from position order; a concurrent reader must still see every
    event exactly once."""
    writers, appends_each = 12, 15
    rng = random.Random(7)
    done = asyncio.Event()
    # For certain, not by luck: in each pair the even writer's first transaction takes its
    # id first, then the odd writer appends and commits, then the even one appends; so the
    # even one's event has the higher position but the lower transaction id.
    xid_taken = [asyncio.Event() for _ in range(writers // 2)]
    partner_committed = [asyncio.Event() for _ in range(writers // 2)]

    async def writer(w: int) -> None:
        version = 0
        pair = w // 2
        for i in range(appends_each):
            async with pool.acquire() as conn, conn.transaction():
                if i == 0 and w % 2 == 0:
                    await conn.fetchval("SELECT pg_current_xact_id()")
                    xid_taken[pair].set()
                    await partner_committed[pair].wait()
                elif i == 0:
                    await xid_taken[pair].wait()
                await store.append(f"case-w{w}", version, sessions(2, start=i * 2), connection=conn)
                await asyncio.sleep(rng.random() * 0.02)
            if i == 0 and w % 2 == 1:
                partner_committed[pair].set()
            version += 2

    seen: list[int] = []
    expected = writers * appends_each * 2

    async def reader() -> None:
        # After the writers finish, keep reading until every event has been seen: the
        # watermark is cluster-wide, so a transaction open elsewhere on the server (another
        # test's leftovers) may hold readers back for a while. Holding back is allowed;
        # skipping is not, and neither is reading twice.
        position = 0
        deadline: float | None = None
        while True:
            page = await store.read_all(position, limit=7)
            if page:
                seen.extend(e.global_position for e in page)
                position = page[-1].global_position
                continue
            if done.is_set():
                if len(seen) >= expected:
                    return
                loop_time = asyncio.get_running_loop().time()
                deadline = deadline or loop_time + 30
                if loop_time > deadline:
                    return
            await asyncio.sleep(0.001)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(writers)))
    done.set()
    await reading
    stored = [r["global_position"] for r in await pool.fetch("SELECT global_position FROM events")]
    assert len(seen) == len(set(seen)), "an event was read twice"
    assert sorted(seen) == sorted(stored), "an event was skipped"
    assert len(stored) == expected
    out_of_order = sum(1 for x, y in itertools.pairwise(seen) if y < x)
    assert out_of_order > 0, "the test did not manage to commit out of position order"


async def test_a_reader_wakes_on_notify_long_before_its_poll(
    store: EventStore, database_url: str, migrated: str
) -> None:
    wakeup = Wakeup(database_url, migrated, await store.channel())
    await wakeup.ensure()
    woken = wakeup.subscribe()
    try:
        await wakeup.wait(woken, store, 0.01)  # the first wait returns at once: catch up
        waiting = asyncio.create_task(wakeup.wait(woken, store, 30.0))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await store.append("case-c1", 0, sessions(2))
        await asyncio.wait_for(waiting, timeout=5)  # far sooner than the 30 s poll
        # Readable once no older transaction holds the watermark: on a PostgreSQL shared
        # with other tests (make test runs two processes) one may still be open for a
        # moment, and a reader then looks again shortly (``has_pending``), as here.
        assert [e.stream_version for e in await read_settled(store)] == [1, 2]
    finally:
        await wakeup.close()


async def test_upcasts_old_schema_versions_on_read(store: EventStore, pool: asyncpg.Pool) -> None:
    from datetime import UTC, datetime

    from events.records import canonical_json, content_digest

    v1 = {"session_id": "s1", "held_at": "2026-01-06T09:00:00Z", "duration_minutes": 60}
    meta = {"actor": {"id": "cm-jones", "role": "case_manager"}}
    occurred = datetime(2026, 1, 6, 9, tzinfo=UTC)
    event_id = uuid.uuid4()
    digest = content_digest(
        stream_id="case-old",
        stream_version=1,
        event_id=event_id,
        type_name="SessionRecorded",
        schema_version=1,
        data_json=canonical_json(v1),
        metadata_json=canonical_json(meta),
        occurred_at=occurred,
    )
    await pool.execute(
        "SELECT ifss_append('case-old', 0, $1, '{SessionRecorded}', '{1}', $2::jsonb[], "
        "$3::jsonb[], $4, $5)",
        [event_id],
        [canonical_json(v1)],
        [canonical_json(meta)],
        [occurred],
        [digest],
    )
    [old] = await store.read_stream("case-old")
    assert old.schema_version == 1
    assert "kind" not in old.stored_data
    assert isinstance(old.event, SessionRecorded)
    assert old.event.kind == "home_visit"
    assert (await store.verify("case-old")).intact


async def test_one_open_episode_per_family_even_when_referrals_race(store: EventStore) -> None:
    # twelve referrals of one family at once: exactly one case claims it
    claims = await asyncio.gather(*(store.claim_family("fam-r", f"r{n}") for n in range(12)))
    holders = [f"r{n}" for n, held_by in enumerate(claims) if held_by is None]
    assert len(holders) == 1
    [holder] = holders
    assert set(claims) == {None, holder}  # the others are told which case holds it
    # the holder's referral is recorded; a retry of its claim is granted again
    await store.append(f"case-{holder}", 0, [wrap(referral(holder, family_id="fam-r"))])
    assert await store.claim_family("fam-r", holder) is None
    assert await store.claim_family("fam-r", "late") == holder
    # once the episode has ended, the next referral takes the claim over
    ended = EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED)
    await store.append(f"case-{holder}", 1, [wrap(ended)])
    assert await store.claim_family("fam-r", "next") is None
    await store.append("case-next", 0, [wrap(referral("next", family_id="fam-r"))])
    assert await store.claim_family("fam-r", "after-next") == "next"


async def test_a_family_id_differing_only_by_case_is_the_same_family(store: EventStore) -> None:
    # Two spellings of one family racing: one claims it, the other is told the spelling
    # on record and claims nothing.
    outcomes = await asyncio.gather(
        *(store.claim_family(f, c) for f, c in (("FAM-S", "s1"), ("fam-s", "s2"))),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, FamilyKnownOtherwise)]
    assert len(refused) == 1 and outcomes.count(None) == 1
    kept = refused[0].spelling
    assert {refused[0].family_id, refused[0].spelling} == {"FAM-S", "fam-s"}
    assert await store.family_known_as(kept) is None
    assert await store.family_known_as("Fam-S") == kept
    rows = await store.pool.fetchval(
        "SELECT count(*) FROM family_episodes WHERE lower(family_id) = 'fam-s'"
    )
    assert rows == 1
    with pytest.raises(FamilyKnownOtherwise):  # a third spelling, later
        await store.claim_family("Fam-S", "s3")
    # A family referred before claims existed is known by its referral's spelling too.
    await store.append("case-early", 0, [wrap(referral("early", family_id="Fam-E"))])
    assert await store.family_known_as("fam-e") == "Fam-E"
    with pytest.raises(FamilyKnownOtherwise, match="on record as Fam-E"):
        await store.claim_family("FAM-E", "late-e")
    assert await store.claim_family("Fam-E", "late-e") == "early"  # its own spelling
    # A family split by case before the rule (two referrals, two spellings) keeps both:
    # neither spelling is refused for the other.
    await store.append("case-split-1", 0, [wrap(referral("split-1", family_id="FAM-Z"))])
    await store.append("case-split-2", 0, [wrap(referral("split-2", family_id="fam-z"))])
    assert await store.family_known_as("fam-z") is None
    assert await store.family_known_as("FAM-Z") is None
    assert await store.family_known_as("Fam-Z") in ("FAM-Z", "fam-z")
    assert await store.claim_family("fam-z", "split-3") == "split-2"  # its open episode
    # A claim whose referral never landed holds its spelling only while that referral
    # may still be recorded; then it has let go, and another spelling is no conflict.
    assert await store.claim_family("GHOST-1", "ghost-1") is None  # its append then failed
    assert await store.family_known_as("ghost-1") == "GHOST-1"
    assert await store.family_known_as("ghost-1", unrecorded_for=timedelta(0)) is None
    assert await store.claim_family("ghost-1", "real-1", unrecorded_for=timedelta(0)) is None


async def test_a_claim_whose_referral_never_landed_lets_go_in_time(store: EventStore) -> None:
    assert await store.claim_family("fam-x", "lost") is None  # its append then failed
    assert await store.claim_family("fam-x", "real") == "lost"  # held meanwhile
    later = await store.claim_family("fam-x", "real", unrecorded_for=timedelta(0))
    assert later is None  # as the referral wait runs out, the claim lets go


async def test_an_episode_opened_before_claims_existed_still_holds_its_family(
    store: EventStore,
) -> None:
    await store.append("case-old", 0, [wrap(referral("old", family_id="fam-o"))])
    assert await store.claim_family("fam-o", "new") == "old"
