"""Personal parts sealed per family in the real store: nothing in clear in the table, a
retried append recognised, rotation, erasure by destroying the key, tampering detected."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from events.catalogue import NotesPersonal
from events.errors import StoreRefused
from events.keys import (
    ERASED,
    Keyring,
    LocalMasterKey,
    MasterKeys,
    MasterKeyWrong,
    PersonalDataTampered,
    destroy_family_keys,
    open_personal,
)
from events.store import EventStore
from tests.factories import referral, session, wrap
from tests.keys import keyring

NAMES = ("Zephyrine Quillfeather", "Bartholomew Ngozi-Przybylski", "7 Lôn Eirlys, Aberdaron")


def named_referral(case_id: str = "c1", family_id: str | None = None) -> object:
    return referral(
        case_id,
        family_id=family_id or f"fam-{case_id}",
        children=[
            {
                "child_id": "ch1",
                "statutory_status": "cin",
                "personal": {"name": NAMES[0], "date_of_birth": "2015-03-02"},
            }
        ],
        adults=[{"person_id": "a1", "relationship": "mother", "personal": {"name": NAMES[1]}}],
        personal={"family_name": "Quillfeather", "address": NAMES[2], "notes": "🦊 NUL-free"},
    )


def noted_session(n: int) -> object:
    return session(n).model_copy(
        update={"personal": NotesPersonal(notes=f"talked with {NAMES[0]}")}
    )


async def raw_table(pool: asyncpg.Pool) -> str:
    rows = await pool.fetch("SELECT data::text AS d FROM events ORDER BY global_position")
    return "\n".join(r["d"] for r in rows)


async def opened(store: EventStore, stream: str) -> list[dict[str, object]]:
    events = await store.read_stream(stream)
    return await open_personal(
        store.keyring, store.pool, [(e.stream_id, e.event_id, e.stored_data) for e in events]
    )


async def test_personal_parts_are_sealed_in_the_table_and_open_for_the_keyring(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(named_referral()), wrap(noted_session(1))])
    raw = await raw_table(pool)
    for name in (*NAMES, "Quillfeather", "talked with"):
        assert name not in raw
    assert raw.count('"sealed": "A256GCM"') == 4  # family, child, adult, session notes
    # Coded readers see no personal parts at all; the coded fields stay in clear.
    first = (await store.read_stream("case-c1"))[0]
    assert "personal" not in first.data
    assert "personal" not in first.data["children"][0]
    assert first.data["children"][0]["statutory_status"] == "cin"
    assert first.event.children[0].personal is None
    data = await opened(store, "case-c1")
    assert data[0]["children"][0]["personal"]["name"] == NAMES[0]
    assert data[0]["adults"][0]["personal"]["name"] == NAMES[1]
    assert data[0]["personal"]["address"] == NAMES[2]
    assert data[1]["personal"]["notes"] == f"talked with {NAMES[0]}"
    assert (await store.verify()).intact


async def test_one_key_per_family_across_its_episodes(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(named_referral("c1", "fam-x"))])
    await store.append("case-c2", 0, [wrap(named_referral("c2", "fam-x"))])
    await store.append("case-c3", 0, [wrap(named_referral("c3", "fam-y"))])
    keys = await pool.fetch(
        "SELECT family_id, count(*) AS n FROM family_keys GROUP BY 1 ORDER BY 1"
    )
    assert [(r["family_id"], r["n"]) for r in keys] == [("fam-x", 1), ("fam-y", 1)]
    tied = await pool.fetchval("SELECT count(DISTINCT key_id) FROM stream_keys")
    assert tied == 2


async def test_a_retried_append_from_a_fresh_process_is_the_same_event(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """A worker killed after its append committed: the retry runs in another process (a
    fresh keyring, nothing cached) and must be recognised, not refused nor doubled."""
    batch = [wrap(named_referral()), wrap(noted_session(1))]
    first = await store.append("case-c1", 0, batch)
    other_process = EventStore(pool, keyring())
    again = await other_process.append("case-c1", 0, batch)
    assert again == first
    assert await pool.fetchval("SELECT count(*) FROM events") == 2


async def test_erasure_destroys_the_key_and_keeps_the_chain(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(named_referral()), wrap(noted_session(1))])
    assert await destroy_family_keys(pool, "fam-c1") == 1
    store.keyring.forget()
    data = await opened(store, "case-c1")
    assert data[0]["personal"] == ERASED
    assert data[0]["children"][0]["personal"] == ERASED
    assert data[1]["personal"] == ERASED
    assert data[0]["children"][0]["statutory_status"] == "cin"  # coded facts survive
    assert (await store.verify()).intact
    assert await pool.fetchval("SELECT wrapped FROM family_keys") is None
    # New personal data for the erased family is refused; nothing written.
    with pytest.raises(StoreRefused, match="erased"):
        await store.append("case-c1", 2, [wrap(noted_session(2))])
    assert await store.stream_version("case-c1") == 2
    # Coded facts can still be recorded.
    await store.append("case-c1", 2, [wrap(session(3))])


async def test_a_tampered_or_moved_sealed_part_does_not_open(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(noted_session(1)), wrap(noted_session(2))])
    one, two = await store.read_stream("case-c1")
    moved = dict(two.stored_data, personal=one.stored_data["personal"])
    with pytest.raises(PersonalDataTampered, match="does not open"):
        await open_personal(store.keyring, pool, [(two.stream_id, two.event_id, moved)])
    sealed = dict(one.stored_data["personal"])
    sealed["ct"] = sealed["ct"][:-4] + ("AAAA" if not sealed["ct"].endswith("AAAA") else "BBBB")
    edited = dict(one.stored_data, personal=sealed)
    with pytest.raises(PersonalDataTampered):
        await open_personal(store.keyring, pool, [(one.stream_id, one.event_id, edited)])


async def test_rotation_rewraps_data_keys_and_rewrites_no_event(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append("case-c1", 0, [wrap(named_referral())])
    before = await raw_table(pool)
    new = LocalMasterKey.from_text("kGf3v7q0mN8wQ2xZ5yB1cD4eF6gH9jK0lM3nP7rS2tU=", source="test")
    rotating = Keyring(MasterKeys(new, (keyring().master.current,)))
    assert await rotating.rotate(pool) == 1
    assert await pool.fetchval("SELECT master_key_id FROM family_keys") == new.key_id
    assert await raw_table(pool) == before  # no event rewritten
    after = EventStore(pool, Keyring(MasterKeys(new)))
    assert (await opened(after, "case-c1"))[0]["personal"]["family_name"] == "Quillfeather"
    assert (await after.verify()).intact
    # The old key alone no longer unwraps anything, and is named as unknown.
    with pytest.raises(MasterKeyWrong, match="not configured"):
        await opened(EventStore(pool, keyring()), "case-c1")


async def test_a_master_key_the_database_does_not_know_is_refused(pool: asyncpg.Pool) -> None:
    await keyring().check(pool)
    stranger = Keyring.ephemeral()
    with pytest.raises(MasterKeyWrong, match="is not this database's"):
        await stranger.check(pool)
    # And an append under it writes nothing.
    with pytest.raises(MasterKeyWrong):
        await EventStore(pool, stranger).append("case-c1", 0, [wrap(named_referral())])
    assert await pool.fetchval("SELECT count(*) FROM events") == 0


async def test_writers_racing_to_register_the_master_key_agree(pool: asyncpg.Pool) -> None:
    # The first appends to a new database at once, each writer registering the master key:
    # the key is registered once and no writer fails on another's registration (a writer
    # could read no key, then collide with the other's row on its version). The race is
    # run many times over, on a table emptied between rounds.
    for _ in range(40):
        await pool.execute("DELETE FROM master_keys")
        versions = await asyncio.gather(*(keyring().check(pool) for _ in range(8)))
        assert set(versions) == {1}
    stores = [EventStore(pool, keyring()) for _ in range(8)]
    await asyncio.gather(
        *(s.append(f"case-r{n}", 0, [wrap(named_referral(f"r{n}"))]) for n, s in enumerate(stores))
    )
    assert await pool.fetchval("SELECT count(*) FROM master_keys") == 1
    assert await pool.fetchval("SELECT count(*) FROM events") == 8


async def test_first_appends_of_one_family_racing_share_its_key(pool: asyncpg.Pool) -> None:
    # Two episodes' streams of one family sealed at the same moment: one data key is made.
    store = EventStore(pool, keyring())
    await keyring().check(pool)
    await asyncio.gather(
        *(
            EventStore(pool, keyring()).append(
                f"case-s{n}", 0, [wrap(named_referral(f"s{n}", family_id="fam-shared"))]
            )
            for n in range(6)
        )
    )
    assert await pool.fetchval("SELECT count(*) FROM family_keys") == 1
    assert await pool.fetchval("SELECT count(DISTINCT key_id) FROM stream_keys") == 1
    for n in range(6):
        assert (await opened(store, f"case-s{n}"))[0]["children"][0]["personal"]["name"]
