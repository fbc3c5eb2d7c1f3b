"""A database from before personal parts were sealed is migrated, not reset: the clear
personal data is sealed in place, the chains are recomputed and verify, the old heads are
recorded (an anchor taken before still verifies), and running it again changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from events.anchor import check_against_anchor, load_signing_key, make_anchor, read_anchor
from events.keys import generate_master_key, is_sealed, open_personal, personal_places
from events.legacy import seal_legacy
from events.store import EventStore
from tests.factories import referral, session
from tests.integration.test_audit_chain import hand_edit
from tests.integration.test_poison_events import append_unchecked, ifss

pytestmark = pytest.mark.integration

NAME = "Zephyrine Quillfeather"


async def legacy_database(pool: asyncpg.Pool) -> None:
    """What the engine stored before sealing: personal parts in clear, a valid chain."""
    first = referral(
        "c1",
        children=[{"child_id": "ch1", "statutory_status": "cin", "personal": {"name": NAME}}],
        personal={"family_name": "Quillfeather"},
    )
    await append_unchecked(pool, "case-c1", "ReferralReceived", first.model_dump(mode="json"))
    plain = session(1).model_dump(mode="json")
    await append_unchecked(pool, "case-c1", "SessionRecorded", plain)
    noted = {**session(2).model_dump(mode="json"), "personal": {"notes": f"saw {NAME}"}}
    await append_unchecked(pool, "case-c1", "SessionRecorded", noted)
    await append_unchecked(pool, "case-c2", "SessionRecorded", session(3).model_dump(mode="json"))


async def test_clear_personal_data_is_sealed_in_place_and_the_chain_still_verifies(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await legacy_database(pool)
    assert NAME in "".join(r["d"] for r in await pool.fetch("SELECT data::text d FROM events"))
    assert (await store.verify()).intact
    key = load_signing_key(_key(tmp_path))
    before = tmp_path / "before.json"
    before.write_text(json.dumps(await make_anchor(pool, key)))

    report = await seal_legacy(store)
    assert (report.streams, report.events) == (1, 2)
    raw = "".join(r["d"] for r in await pool.fetch("SELECT data::text d FROM events"))
    assert NAME not in raw and "Quillfeather" not in raw
    assert (await store.verify()).intact
    events = await store.read_stream("case-c1")
    assert all(is_sealed(h[k]) for e in events for _, h, k in personal_places(e.stored_data))
    opened = await open_personal(
        store.keyring, pool, [(e.stream_id, e.event_id, e.stored_data) for e in events]
    )
    assert opened[0]["children"][0]["personal"] == {"name": NAME, "date_of_birth": None}
    assert opened[2]["personal"] == {"notes": f"saw {NAME}"}
    # The old head is recorded, and the anchor taken before the migration still holds.
    [record] = await store.read_stream("legacy-seal")
    assert record.data["stream_id"] == "case-c1" and record.data["head_version"] == 3
    assert await check_against_anchor(pool, read_anchor(before, key)) == []
    # Again: nothing left in clear, nothing changes.
    assert (await seal_legacy(store)).events == 0
    assert len(await store.read_stream("legacy-seal")) == 1
    # And the table is append-only again.
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await pool.execute("DELETE FROM events")


async def test_the_cli_seals_a_legacy_database(
    database_url: str, migrated: str, pool: asyncpg.Pool
) -> None:
    await legacy_database(pool)
    done = ifss(database_url, migrated, "keys", "seal-legacy")
    assert done.returncode == 0, done.stderr
    assert "sealed 2 event(s) in 1 stream(s)" in done.stdout
    assert "intact" in ifss(database_url, migrated, "audit", "verify").stdout


def _key(tmp_path: Path) -> Path:
    path = tmp_path / "anchor.key"
    path.write_text(generate_master_key())
    return path


async def test_the_legacy_excuse_does_not_cover_a_later_rewrite(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await legacy_database(pool)
    key = load_signing_key(_key(tmp_path))
    before = tmp_path / "before.json"
    before.write_text(json.dumps(await make_anchor(pool, key)))
    await seal_legacy(store)
    assert await check_against_anchor(pool, read_anchor(before, key)) == []
    await hand_edit(
        pool,
        "UPDATE events SET chain_hash = sha256(chain_hash) "
        "WHERE stream_id = 'case-c1' AND stream_version = 3",
    )
    [problem] = await check_against_anchor(pool, read_anchor(before, key))
    assert problem.stream_id == "case-c1" and "no longer has its anchored hash" in problem.problem
