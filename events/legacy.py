"""Sealing the personal data of a database created before personal parts were sealed.

Events stored before then hold their ``personal`` parts in clear. ``seal_legacy`` seals
them in place, stream by stream, with the family's data key (exactly as an append would
have), and recomputes the digests and the chain from the first event it changed. The old
chain is anchored in the new one: for each stream it rewrites, ``LegacyPersonalDataSealed``
(stream ``legacy-seal``, itself hash-chained) records the stream's head before (version
and hash) and after, so an anchor taken before the migration still verifies
(``events.anchor``), and the record of what changed is itself tamper-evident.

Run it with the engine stopped (``ifss keys seal-legacy``): it lifts the table's
append-only trigger inside each stream's transaction, which also holds off any append.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from events.catalogue import LegacyPersonalDataSealed
from events.envelope import Actor, EventMetadata
from events.keys import is_sealed, personal_places
from events.records import NewEvent, canonical_json, chain_link, content_digest
from events.store import EventStore, _seal

LEGACY_STREAM = "legacy-seal"


@dataclass(frozen=True)
class SealReport:
    streams: int
    events: int


def _has_clear_personal(data: dict[str, Any]) -> bool:
    return any(not is_sealed(holder[key]) for _, holder, key in personal_places(data))


async def seal_legacy(store: EventStore) -> SealReport:
    """Seal every personal part still in clear; returns how many streams and events."""
    pool = store.pool
    candidates = [
        r["stream_id"]
        for r in await pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE data::text LIKE '%\"personal\"%' "
            "ORDER BY stream_id"
        )
    ]
    streams = events = 0
    for stream_id in candidates:
        try:
            sealed = await _seal_stream(store, stream_id)
        except BaseException:
            store.keyring.forget()  # a key tied in a rolled-back transaction does not exist
            raise
        if sealed:
            streams += 1
            events += sealed
    return SealReport(streams, events)


async def _seal_stream(store: EventStore, stream_id: str) -> int:
    pool = store.pool
    async with pool.acquire() as conn, conn.transaction():
        # Holds every writer off this table until the stream is rewritten (the trigger
        # change takes SHARE ROW EXCLUSIVE, which conflicts with every insert).
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        rows = await conn.fetch(
            "SELECT global_position, stream_version, event_id, type, schema_version, "
            "data::text AS data, metadata::text AS metadata, occurred_at, chain_hash "
            "FROM events WHERE stream_id = $1 ORDER BY stream_version",
            stream_id,
        )
        payloads = [orjson.loads(r["data"]) for r in rows]
        if not any(_has_clear_personal(p) for p in payloads):
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
            return 0
        family = next(
            (p["family_id"] for p in payloads if isinstance(p.get("family_id"), str)), None
        )
        key = await store.keyring.key_for_stream(conn, stream_id, family)
        previous = b""
        changed = 0
        rewriting = False
        old_head = (rows[-1]["stream_version"], bytes(rows[-1]["chain_hash"]))
        for row, payload in zip(rows, payloads, strict=True):
            if _has_clear_personal(payload):
                _seal(stream_id, key, row["event_id"], payload)
                changed += 1
                rewriting = True
            if not rewriting:
                previous = bytes(row["chain_hash"])
                continue
            data_json = canonical_json(payload)
            digest = content_digest(
                stream_id=stream_id,
                stream_version=row["stream_version"],
                event_id=row["event_id"],
                type_name=row["type"],
                schema_version=row["schema_version"],
                data_json=data_json,
                metadata_json=canonical_json(orjson.loads(row["metadata"])),
                occurred_at=row["occurred_at"],
            )
            previous = chain_link(previous, digest)
            await conn.execute(
                "UPDATE events SET data = $2::jsonb, content_digest = $3, chain_hash = $4 "
                "WHERE global_position = $1",
                row["global_position"],
                data_json,
                digest,
                previous,
            )
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
        record = LegacyPersonalDataSealed(
            stream_id=stream_id,
            events_sealed=changed,
            head_version=old_head[0],
            previous_head_hash=old_head[1].hex(),
            head_hash=previous.hex(),
        )
        version = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
            LEGACY_STREAM,
        )
        new = NewEvent.of(
            record,
            event_id=uuid.uuid4(),
            metadata=EventMetadata(actor=Actor.system(), correlation_id=uuid.uuid4()),
            occurred_at=datetime.now(UTC),
        )
        await store.append(LEGACY_STREAM, int(version), [new], connection=conn)
    return changed
