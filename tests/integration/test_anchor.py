"""Tamper evidence beyond the database: a signed anchor of every stream's head finds
events deleted from a stream's end (which the hash chain alone cannot), a stream deleted,
a rewritten head; an altered or foreign anchor is refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import asyncpg
import pytest

from events.anchor import (
    AnchorProblem,
    check_against_anchor,
    load_signing_key,
    make_anchor,
    read_anchor,
)
from events.keys import generate_master_key
from events.store import EventStore
from tests.factories import referral, sessions, wrap
from tests.integration.test_audit_chain import hand_edit
from tests.integration.test_poison_events import ifss

pytestmark = pytest.mark.integration


def key_file(tmp_path: Path, name: str = "anchor.key") -> Path:
    path = tmp_path / name
    path.write_text(generate_master_key() + "\n")
    return path


async def seed(store: EventStore) -> None:
    await store.append("case-c1", 0, [wrap(referral()), *sessions(4)])
    await store.append("case-c2", 0, [wrap(referral("c2")), *sessions(2)])


async def test_an_anchor_finds_events_cut_from_a_streams_end(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed(store)
    key = load_signing_key(key_file(tmp_path))
    path = tmp_path / "anchor.json"
    path.write_text(json.dumps(await make_anchor(pool, key)))
    anchor = read_anchor(path, key)
    assert await check_against_anchor(pool, anchor) == []
    await store.append("case-c1", 5, sessions(1, start=10))  # growth since is fine
    assert await check_against_anchor(pool, anchor) == []
    await hand_edit(pool, "DELETE FROM events WHERE stream_id = 'case-c1' AND stream_version >= 5")
    assert (await store.verify()).intact  # the shorter chain is still a valid chain
    await hand_edit(pool, "DELETE FROM events WHERE stream_id = 'case-c2'")
    problems = {p.stream_id: p.problem for p in await check_against_anchor(pool, anchor)}
    assert problems["case-c1"] == (
        "anchored at version 5; now ends at 4: events were deleted from its end"
    )
    assert problems["case-c2"] == "anchored at version 3; now gone"


async def test_an_altered_or_foreign_anchor_is_refused(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed(store)
    key = load_signing_key(key_file(tmp_path))
    doc = await make_anchor(pool, key)
    altered = tmp_path / "altered.json"
    doc["streams"]["case-c1"]["version"] = 1  # hide a later truncation
    altered.write_text(json.dumps(doc))
    with pytest.raises(AnchorProblem, match="altered after signing"):
        read_anchor(altered, key)
    other = load_signing_key(key_file(tmp_path, "other.key"))
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(await make_anchor(pool, other)))
    with pytest.raises(AnchorProblem, match="another key"):
        read_anchor(foreign, key)
    not_json = tmp_path / "nonsense.json"
    not_json.write_bytes(b"\x00\xff not json")
    with pytest.raises(AnchorProblem, match="not an anchor file"):
        read_anchor(not_json, key)
    with pytest.raises(AnchorProblem, match="does not exist"):
        read_anchor(tmp_path / "missing.json", key)
    short = tmp_path / "short.key"
    short.write_text(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(AnchorProblem, match="32 bytes"):
        load_signing_key(short)


async def test_the_cli_anchors_and_verifies_against_the_anchor(
    database_url: str, migrated: str, store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed(store)
    key = key_file(tmp_path)
    out = tmp_path / "anchor.json"
    done = ifss(database_url, migrated, "audit", "anchor", "--out", str(out), "--key", str(key))
    assert done.returncode == 0, done.stderr
    assert "anchored 2 stream(s)" in done.stdout
    ok = ifss(database_url, migrated, "audit", "verify", "--anchor", str(out), "--key", str(key))
    assert ok.returncode == 0, ok.stderr
    assert "2 stream(s) hold their anchored heads" in ok.stdout
    await hand_edit(pool, "DELETE FROM events WHERE stream_id = 'case-c1' AND stream_version = 5")
    cut = ifss(database_url, migrated, "audit", "verify", "--anchor", str(out), "--key", str(key))
    assert cut.returncode == 1
    assert "BROKEN: stream case-c1: anchored at version 5; now ends at 4" in cut.stderr
    # A verifier holds only the public half: it verifies, and cannot sign.
    public = tmp_path / "anchor.pub"
    shown = ifss(database_url, migrated, "keys", "public", "--key", str(key))
    assert shown.returncode == 0 and shown.stdout.startswith("ed25519-public:")
    public.write_text(shown.stdout)
    checked = ifss(
        database_url, migrated, "audit", "verify", "--anchor", str(out), "--key", str(public)
    )
    assert checked.returncode == 1 and "BROKEN: stream case-c1" in checked.stderr
    cannot = ifss(
        database_url, migrated, "audit", "anchor", "--out", str(out), "--key", str(public)
    )
    assert cannot.returncode == 2 and "a verification key cannot sign" in cannot.stderr
    no_key = ifss(database_url, migrated, "audit", "anchor", "--out", str(out))
    assert no_key.returncode == 2
    assert "anchor key: give --key FILE or set IFSS_ANCHOR_KEY_FILE" in no_key.stderr
