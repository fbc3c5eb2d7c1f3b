"""The event store: append-only streams in PostgreSQL, read back in a safe global order.

* ``append`` is one round trip to the ``ifss_append`` function (see the migration): it
  checks idempotency, the expected version and extends the stream's hash chain.
* ``read_all`` returns events in (transaction id, position) order below the visibility
  watermark, so a reader that loops "after position N" never skips a late commit.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson
import structlog

from events.catalogue import event_class
from events.db import Conn
from events.errors import (
    EventIdReused,
    FamilyKnownOtherwise,
    InvalidInput,
    StoreRefused,
    StreamVersionConflict,
)
from events.keys import (
    ALGORITHM,
    DataKey,
    Keyring,
    PersonalDataErased,
    has_personal,
    personal_places,
)
from events.records import (
    NewEvent,
    RecordedEvent,
    canonical_json,
    canonical_time,
    chain_link,
    content_digest,
    digest_of,
    json_string,
)
from events.validation import parse_event

log = structlog.get_logger(__name__)

STREAM_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
MAX_STREAM_ID_LENGTH = 200
MAX_EVENTS_PER_APPEND = 1000
MAX_STREAM_VERSION = 2**63 - 1  # a bigint
NOTIFY_INTERVAL_SECONDS = 0.005

_COLUMNS = """global_position, transaction_id::text::bigint AS transaction_id, stream_id,
    stream_version, event_id, type, schema_version, data::text AS data,
    metadata::text AS metadata, occurred_at, recorded_at, content_digest, chain_hash"""
# The same without the digest and chain hash (empty): what a bulk reader that never
# verifies needs, a sixth less to send and parse.
_COLUMNS_WITHOUT_PROOFS = """global_position, transaction_id::text::bigint AS transaction_id,
    stream_id, stream_version, event_id, type, schema_version, data::text AS data,
    metadata::text AS metadata, occurred_at, recorded_at, ''::bytea, ''::bytea"""


@dataclass(frozen=True)
class AppendResult:
    """The stream's version after the append and the global position of each event."""

    version: int
    positions: list[int]


@dataclass(frozen=True)
class BrokenLink:
    """The first place where the stored chain does not match its content."""

    stream_id: str
    stream_version: int
    global_position: int | None
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    streams_checked: int
    events_checked: int
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _row_to_event(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(*row)


def validate_stream_id(stream_id: object, field: str = "stream_id") -> str:
    """Refuse empty, over-long or oddly spelled stream ids."""
    if not isinstance(stream_id, str) or not stream_id:
        raise InvalidInput(field, "must be a non-empty string")
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_STREAM_ID_LENGTH} characters")
    if not STREAM_ID_PATTERN.match(stream_id):
        raise InvalidInput(
            field, "may contain only letters, digits, '_', '.', ':' and '-', starting alphanumeric"
        )
    return stream_id


@dataclass(frozen=True)
class _Prepared:
    ids: list[UUID]
    types: list[str]
    versions: list[int]
    data: list[str]
    metadata: list[str]
    occurred: list[str]  # canonical_time: sent as text (see _APPEND_ONE)
    digests: list[bytes]


def _parse(events: Sequence[NewEvent]) -> list[dict[str, Any]]:
    """Validate every event against the catalogue; its payload as it will be stored (in
    clear still). Raises on the first problem, before anything reaches the database."""
    payloads: list[dict[str, Any]] = []
    seen: set[UUID] = set()
    for index, new in enumerate(events):
        if not isinstance(new, NewEvent):
            raise InvalidInput(f"events[{index}]", "must be a NewEvent")
        try:
            event = parse_event(new.type, new.data)
        except InvalidInput as exc:
            raise exc.under(f"events[{index}]") from None
        if new.event_id in seen:
            raise InvalidInput(f"events[{index}].event_id", "appears twice in one append")
        seen.add(new.event_id)
        # ``model_dump(mode="json")`` without its per-call Python overhead (the store's hot
        # path: every event appended passes here).
        payloads.append(event.__pydantic_serializer__.to_python(event, mode="json"))
    return payloads


def _seal(stream_id: str, key: DataKey, event_id: UUID, payload: dict[str, Any]) -> None:
    """Replace each personal part of ``payload`` by its sealed form, in place."""
    for place, holder, name in personal_places(payload):
        try:
            plaintext = orjson.dumps(holder[name], option=orjson.OPT_SORT_KEYS)
        except TypeError:
            raise InvalidInput(place, "holds a number too large to store") from None
        holder[name] = {
            "sealed": ALGORITHM,
            "kid": key.kid,
            "ct": key.seal(plaintext, stream_id=stream_id, event_id=event_id, place=place),
        }


def _prepare(
    stream_id: str,
    expected_version: int,
    events: Sequence[NewEvent],
    payloads: list[dict[str, Any]],
) -> _Prepared:
    """Each event's stored JSON and digest (its personal parts sealed already); what a
    batch shares (metadata, each type's version, the stream id as JSON) worked out once."""
    out = _Prepared([], [], [], [], [], [], [])
    metadata_cache: dict[int, str] = {}  # a batch usually shares one metadata object
    types: dict[str, tuple[int, str]] = {}  # type -> (schema version, as a JSON string)
    stream_json = json_string(stream_id)
    for index, (new, payload) in enumerate(zip(events, payloads, strict=True)):
        try:
            data_json = canonical_json(payload)
        except TypeError:  # orjson: an integer beyond 64 bits
            raise InvalidInput(
                f"events[{index}].data", "holds a number too large to store"
            ) from None
        metadata_json = metadata_cache.get(id(new.metadata))
        if metadata_json is None:
            metadata = new.metadata
            metadata_json = canonical_json(
                metadata.__pydantic_serializer__.to_python(metadata, mode="json")
            )
            metadata_cache[id(new.metadata)] = metadata_json
        type_name = new.type
        known = types.get(type_name)
        if known is None:
            known = types[type_name] = (
                event_class(type_name).schema_version,
                json_string(type_name),
            )
        schema_version, type_json = known
        out.ids.append(new.event_id)
        out.types.append(type_name)
        out.versions.append(schema_version)
        out.data.append(data_json)
        out.metadata.append(metadata_json)
        occurred_text = canonical_time(new.occurred_at)
        out.occurred.append(occurred_text)
        out.digests.append(
            digest_of(
                data_json,
                new.event_id,
                metadata_json,
                occurred_text,
                schema_version,
                stream_json,
                expected_version + index + 1,
                type_json,
            )
        )
    return out


# The common case of ``ifss_append`` for one event, as one statement: inserted only when the
# stream is at the expected version, its chain extended the same way (sha256 of the previous
# chain hash, empty for a new stream, and the digest). No row back: ``ifss_append`` decides.
# A quarter less work for PostgreSQL than the PL/pgSQL function per single event (measured:
# docs/benchmarks.md). Here and for ``ifss_append``, the times go as text (the digest's
# canonical text, worked out anyway) and PostgreSQL casts them: asyncpg's binary encoder
# for ``timestamptz`` costs the appending process about 0.8 µs more per value.
_APPEND_ONE = """
WITH head AS (
    SELECT stream_version, chain_hash FROM events WHERE stream_id = $1
     ORDER BY stream_version DESC LIMIT 1
)
INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata,
                    occurred_at, content_digest, chain_hash)
SELECT $1, $2::bigint + 1, $3, $4, $5, $6::jsonb, $7::jsonb, $8::text::timestamptz, $9::bytea,
       sha256(coalesce((SELECT chain_hash FROM head), ''::bytea) || $9::bytea)
 WHERE coalesce((SELECT stream_version FROM head), 0) = $2::bigint
RETURNING global_position AS out_position, stream_version AS out_version"""

# How long a referral's claim on its family holds before its referral is recorded: as long
# as a case workflow waits for its referral (workflows.case_workflow.REFERRAL_WAIT).
CLAIM_UNRECORDED = timedelta(minutes=10)

_UUID_IN_DETAIL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EventStore:
    """Append to and read from the ``events`` table of one schema."""

    def __init__(self, pool: asyncpg.Pool, keyring: Keyring) -> None:
        self._pool = pool
        self.keyring = keyring
        self._channel: str | None = None
        self._notifying: asyncio.Task[None] | None = None
        self._notify_again = False

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        connection: Conn | None = None,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` if it is at ``expected_version``.

        Raises ``InvalidInput`` (nothing written), ``StreamVersionConflict`` (the stream
        moved on; not retryable) or ``EventIdReused``. Appending events whose ids are all
        stored already with identical content returns the stored result: a retry is a no-op.
        With ``connection``, the append joins that connection's open transaction and the
        caller calls ``notify_readers()`` after committing.
        """
        validate_stream_id(stream_id)
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise InvalidInput("expected_version", "must be an integer")
        if expected_version < 0:
            raise InvalidInput("expected_version", "must be 0 (new stream) or more")
        if not events:
            raise InvalidInput("events", "must contain at least one event")
        if len(events) > MAX_EVENTS_PER_APPEND:
            raise InvalidInput("events", f"at most {MAX_EVENTS_PER_APPEND} events per append")
        if expected_version + len(events) > MAX_STREAM_VERSION:
            raise InvalidInput(
                "expected_version",
                f"with {len(events)} event(s) appended is more than a stream can hold "
                f"(versions go up to {MAX_STREAM_VERSION})",
            )
        payloads = _parse(events)
        executor = connection if connection is not None else self._pool
        if any(has_personal(p) for p in payloads):
            family = next(
                (p["family_id"] for p in payloads if isinstance(p.get("family_id"), str)), None
            )
            try:
                key = await self.keyring.key_for_stream(executor, stream_id, family)
            except PersonalDataErased as exc:
                raise StoreRefused(str(exc)) from None
            for new, payload in zip(events, payloads, strict=True):
                _seal(stream_id, key, new.event_id, payload)
        prepared = _prepare(stream_id, expected_version, events, payloads)
        for attempt in (1, 2):
            try:
                rows = None
                if len(events) == 1 and attempt == 1:
                    # One event at the version expected: a plain insert. Anything else (the
                    # stream moved on, a retry, a race lost) falls to ifss_append, which
                    # tells a retry from a conflict.
                    rows = await executor.fetch(
                        _APPEND_ONE,
                        stream_id,
                        expected_version,
                        prepared.ids[0],
                        prepared.types[0],
                        prepared.versions[0],
                        prepared.data[0],
                        prepared.metadata[0],
                        prepared.occurred[0],
                        prepared.digests[0],
                    )
                if not rows:
                    rows = await executor.fetch(
                        "SELECT out_position, out_version FROM ifss_append($1, $2, $3, $4, $5,"
                        " $6::jsonb[], $7::jsonb[], $8::text[]::timestamptz[], $9)",
                        stream_id,
                        expected_version,
                        prepared.ids,
                        prepared.types,
                        prepared.versions,
                        prepared.data,
                        prepared.metadata,
                        prepared.occurred,
                        prepared.digests,
                    )
            except asyncpg.PostgresError as exc:
                sqlstate = getattr(exc, "sqlstate", None)
                if sqlstate == "IF001":
                    actual = int(getattr(exc, "detail", "0") or 0)
                    raise StreamVersionConflict(stream_id, expected_version, actual) from None
                if sqlstate == "IF002":
                    raise EventIdReused(UUID(getattr(exc, "detail", ""))) from None
                if not isinstance(exc, asyncpg.UniqueViolationError):
                    raise
                if attempt == 1 and connection is None:
                    # A concurrent writer won the race; if it was this same append (a
                    # retry running twice), the second attempt finds it stored and succeeds.
                    continue
                if exc.constraint_name == "events_event_id_key":
                    found = _UUID_IN_DETAIL.search(getattr(exc, "detail", "") or "")
                    raise EventIdReused(
                        UUID(found.group(0)) if found else prepared.ids[0]
                    ) from None
                actual = await self.stream_version(stream_id)
                raise StreamVersionConflict(stream_id, expected_version, actual) from None
            if connection is None:
                self.notify_readers()
            ordered = sorted((r["out_version"], r["out_position"]) for r in rows)
            return AppendResult(version=ordered[-1][0], positions=[p for _, p in ordered])
        raise AssertionError("unreachable")

    async def append_at_end(
        self, stream_id: str, events: Sequence[NewEvent], *, attempts: int = 20
    ) -> AppendResult:
        """Append at the stream's end, whatever its version: for streams many writers share
        (access logs, list reads, the family and retention records), where the order among
        them does not matter. Retries a lost race; raises ``StreamVersionConflict`` after
        ``attempts``."""
        for _ in range(attempts - 1):
            try:
                return await self.append(stream_id, await self.stream_version(stream_id), events)
            except StreamVersionConflict:
                continue
        return await self.append(stream_id, await self.stream_version(stream_id), events)

    def notify_readers(self) -> None:
        """Wake listening readers soon. Coalesced: at most one NOTIFY in flight, plus one
        more if appends committed while it was in flight, so none is left unannounced."""
        if self._notifying is not None and not self._notifying.done():
            self._notify_again = True
            return
        self._notifying = asyncio.get_running_loop().create_task(self._send_notifications())

    async def _send_notifications(self) -> None:
        # One connection held while wake-ups keep coming (sustained writes), rather than one
        # borrowed, reset and returned per wake-up: a pool's release is a round trip too.
        try:
            channel = await self.channel()
            async with self._pool.acquire() as conn:
                while True:
                    self._notify_again = False
                    await conn.execute("SELECT pg_notify($1, '')", channel)
                    if not self._notify_again:
                        return
                    # Under sustained writes, one wake-up per few milliseconds is plenty.
                    await asyncio.sleep(NOTIFY_INTERVAL_SECONDS)
        except Exception as exc:  # a lost hint only delays readers until their next poll
            log.warning("notify_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        """Wait for a pending wake-up to go out (call before closing the pool)."""
        if self._notifying is not None:
            await self._notifying

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version (0 when it has no events)."""
        version = await self._pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
            stream_id,
        )
        return int(version)

    async def read_stream(
        self,
        stream_id: str,
        after_version: int = 0,
        *,
        types: Sequence[str] | None = None,
        before_version: int | None = None,
    ) -> list[RecordedEvent]:
        """The stream's events with a version above ``after_version`` (and below
        ``before_version``), in order; with ``types``, only events of those types."""
        validate_stream_id(stream_id)
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 "
            "AND ($3::bigint IS NULL OR stream_version < $3) "
            "AND ($4::text[] IS NULL OR type = ANY($4::text[])) "
            "ORDER BY stream_version",
            stream_id,
            after_version,
            before_version,
            list(types) if types is not None else None,
        )
        return [_row_to_event(r) for r in rows]

    async def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        *,
        connection: Conn | None = None,
        proofs: bool = True,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events after the event at ``after_position``, in commit-safe order.

        Order is (transaction id, global position), and only transactions below the
        visibility watermark are returned, so no later commit can land behind a reader.
        Pass the ``global_position`` of the last event handled as the next ``after_position``.
        With ``connection``, the read runs there (a projector reads inside its transaction).
        Without ``proofs``, each event's content digest and chain hash are left empty.
        """
        if limit < 1:
            raise InvalidInput("limit", "must be at least 1")
        executor = connection if connection is not None else self._pool
        columns = _COLUMNS if proofs else _COLUMNS_WITHOUT_PROOFS
        rows = await executor.fetch(
            # ORDER BY names the table's columns: a bare `transaction_id` would bind to the
            # bigint output alias and turn an index walk into a sort of the whole table.
            f"""SELECT {columns} FROM events e
                WHERE (e.transaction_id, e.global_position) > (
                        coalesce((SELECT c.transaction_id FROM events c
                                   WHERE c.global_position = $1), '0'::xid8), $1)
                  AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY e.transaction_id, e.global_position
                LIMIT $2""",
            after_position,
            limit,
        )
        return [_row_to_event(r) for r in rows]

    async def read_recorded_by(
        self,
        moment: datetime,
        types: Collection[str],
        *,
        prefix: str,
        after_position: int = 0,
        limit: int = 5000,
    ) -> list[RecordedEvent]:
        """Up to ``limit`` events of ``types`` in streams starting with ``prefix`` that were
        recorded by ``moment``, after ``after_position``, in global order (each stream's
        events in their own order): what a report "as of" that moment folds."""
        if limit < 1:
            raise InvalidInput("limit", "must be at least 1")
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM events
                WHERE global_position > $1 AND recorded_at <= $2 AND type = ANY($3::text[])
                  AND starts_with(stream_id, $4)
                ORDER BY global_position
                LIMIT $5""",
            after_position,
            moment,
            list(types),
            prefix,
            limit,
        )
        return [_row_to_event(r) for r in rows]

    async def has_pending(self) -> bool:
        """True when committed events wait above the watermark (an older writer is still
        open): a reader should look again shortly rather than sleep a full poll interval."""
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM events "
                "WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))"
            )
        )

    async def latest_case_of_family(self, family_id: str, *, excluding: str) -> str | None:
        """The case id of the family's most recent referral other than ``excluding``."""
        case_id = await self._pool.fetchval(
            "SELECT data ->> 'case_id' FROM events WHERE type = 'ReferralReceived' "
            "AND data ->> 'family_id' = $1 AND data ->> 'case_id' <> $2 "
            "ORDER BY global_position DESC LIMIT 1",
            family_id,
            excluding,
        )
        return str(case_id) if case_id is not None else None

    async def open_episode_of(self, family_id: str) -> str | None:
        """The case whose episode for ``family_id`` is open (referred and not ended), if
        any: a read, claiming nothing (the referral's own claim decides)."""
        case_id = await self._pool.fetchval(
            "SELECT r.data ->> 'case_id' FROM events r WHERE r.type = 'ReferralReceived' "
            "AND r.data ->> 'family_id' = $1 AND NOT EXISTS (SELECT 1 FROM events e "
            "WHERE e.stream_id = r.stream_id AND e.type = 'EpisodeEnded') "
            "ORDER BY r.global_position DESC LIMIT 1",
            family_id,
        )
        return str(case_id) if case_id is not None else None

    async def team_known(self, team_id: str) -> bool:
        """Whether families may be referred to ``team_id`` (see ``team_known``)."""
        return await team_known(self._pool, team_id)

    async def family_known_as(
        self,
        family_id: str,
        *,
        executor: Conn | None = None,
        unrecorded_for: timedelta = CLAIM_UNRECORDED,
    ) -> str | None:
        """The family's id as already on record when only another spelling of
        ``family_id`` is ("FAM-201" for "fam-201"), else None: family ids are compared
        without regard to case (migration 0016). On record: a referral names it, or a
        claim holds it whose referral is recorded or still may be (``unrecorded_for``, as
        ``claim_family``); a claim whose referral never landed has let go. A spelling on
        record itself is never refused: a family split by case before this rule keeps
        both its spellings."""
        spelling = await (executor or self._pool).fetchval(
            """WITH known AS (
                SELECT c.family_id FROM family_episodes c
                 WHERE lower(c.family_id) = lower($1)
                   AND (c.claimed_at > now() - $2::interval
                        OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = 'case-' || c.case_id
                                      AND e.type = 'ReferralReceived'))
                UNION ALL
                SELECT data ->> 'family_id' FROM events
                 WHERE type = 'ReferralReceived' AND lower(data ->> 'family_id') = lower($1))
            SELECT CASE WHEN bool_or(family_id = $1) THEN NULL ELSE min(family_id) END
              FROM known""",
            family_id,
            unrecorded_for,
        )
        return str(spelling) if spelling is not None else None

    async def claim_family(
        self, family_id: str, case_id: str, *, unrecorded_for: timedelta = CLAIM_UNRECORDED
    ) -> str | None:
        """Make ``case_id`` the family's open episode, unless another case holds it: then
        return that case's id and claim nothing. A case holds its family while its episode
        is open (referral recorded, no end), or, before its referral is recorded, for
        ``unrecorded_for`` after claiming (a referral whose append failed lets go then).
        Atomic under concurrent referrals of one family (the claim is a row, taken or moved
        in one transaction, under a lock on the id folded to lower case); a retry by the
        same case succeeds again. Raises ``FamilyKnownOtherwise`` (nothing claimed) when
        the family is on record under another spelling."""
        holds_sql = (
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM events WHERE stream_id = $1 "
            "AND type = 'ReferralReceived') THEN NOT EXISTS (SELECT 1 FROM events "
            "WHERE stream_id = $1 AND type = 'EpisodeEnded') ELSE $2 > now() - $3::interval END"
        )
        async with self._pool.acquire() as conn, conn.transaction():
            # Two spellings of one family racing wait for each other here: the second sees
            # the first's claim and is refused.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('ifss-family-claim:' || lower($1)))",
                family_id,
            )
            spelling = await self.family_known_as(
                family_id, executor=conn, unrecorded_for=unrecorded_for
            )
            if spelling is not None:
                raise FamilyKnownOtherwise(family_id, spelling)
            while True:
                row = await conn.fetchrow(
                    "SELECT case_id, claimed_at FROM family_episodes WHERE family_id = $1 "
                    "FOR UPDATE",
                    family_id,
                )
                if row is None:
                    # Episodes opened before claims existed: the family's latest referral.
                    latest = await self.latest_case_of_family(family_id, excluding=case_id)
                    if latest is not None and await conn.fetchval(
                        holds_sql, f"case-{latest}", None, unrecorded_for
                    ):
                        return str(latest)
                    taken = await conn.fetchval(
                        "INSERT INTO family_episodes (family_id, case_id) VALUES ($1, $2) "
                        "ON CONFLICT (family_id) DO NOTHING RETURNING case_id",
                        family_id,
                        case_id,
                    )
                    if taken is not None:
                        return None
                    continue  # claimed meanwhile by a concurrent referral: look again
                holder, claimed_at = str(row["case_id"]), row["claimed_at"]
                if holder != case_id and await conn.fetchval(
                    holds_sql, f"case-{holder}", claimed_at, unrecorded_for
                ):
                    return holder
                if holder != case_id:
                    await conn.execute(
                        "UPDATE family_episodes SET case_id = $2, claimed_at = now() "
                        "WHERE family_id = $1",
                        family_id,
                        case_id,
                    )
                return None

    async def count(self, type_name: str) -> int:
        """How many events of one type are stored (status pages, benchmarks)."""
        return int(
            await self._pool.fetchval("SELECT count(*) FROM events WHERE type = $1", type_name)
        )

    async def channel(self) -> str:
        """The NOTIFY channel this schema's appends signal on."""
        if self._channel is None:
            schema = await self._pool.fetchval("SELECT current_schema()")
            self._channel = f"ifss_events:{schema}"
        return self._channel

    async def verify(self, stream_id: str | None = None) -> VerifyReport:
        """Recompute every stream's hash chain; report the first broken link."""
        if stream_id is not None:
            validate_stream_id(stream_id)
        streams = 0
        checked = 0
        current: str | None = None
        expected_version = 0
        previous_hash = b""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            query = f"SELECT {_COLUMNS} FROM events " + (
                "WHERE stream_id = $1 ORDER BY stream_version"
                if stream_id is not None
                else "ORDER BY stream_id, stream_version"
            )
            args = (stream_id,) if stream_id is not None else ()
            async for row in conn.cursor(query, *args, prefetch=2000):
                event = _row_to_event(row)
                if event.stream_id != current:
                    current = event.stream_id
                    streams += 1
                    expected_version = 0
                    previous_hash = b""
                expected_version += 1
                broken = _check_link(event, expected_version, previous_hash)
                if broken is not None:
                    return VerifyReport(streams, checked, broken)
                previous_hash = event.chain_hash
                checked += 1
        return VerifyReport(streams, checked, None)


async def team_known(executor: Conn | asyncpg.Pool, team_id: str) -> bool:
    """Whether families may be referred to ``team_id``: an admin registered it, or (a team
    from before registration) key workers joined it."""
    known: bool = await executor.fetchval(
        "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1 "
        "AND type IN ('TeamRegistered', 'TeamKeyWorkerJoined'))",
        f"team-{team_id}",
    )
    return known


async def team_named_alike(executor: Conn | asyncpg.Pool, team_id: str) -> str | None:
    """A registered team whose id differs from ``team_id`` only in case (``Cardiff`` and
    ``cardiff`` would name one team twice), or None."""
    found: str | None = await executor.fetchval(
        "SELECT substr(stream_id, 6) FROM events WHERE type = 'TeamRegistered' "
        "AND lower(stream_id) = lower($1) AND stream_id <> $1 LIMIT 1",
        f"team-{team_id}",
    )
    return found


def _check_link(
    event: RecordedEvent, expected_version: int, previous_hash: bytes
) -> BrokenLink | None:
    if event.stream_version != expected_version:
        return BrokenLink(
            event.stream_id,
            expected_version,
            None,
            f"version {expected_version} is missing (next stored is {event.stream_version}): "
            "an event was deleted",
        )
    digest = content_digest(
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        event_id=event.event_id,
        type_name=event.type,
        schema_version=event.schema_version,
        data_json=canonical_json(event.stored_data),
        metadata_json=canonical_json(json.loads(event.metadata_json)),
        occurred_at=event.occurred_at,
    )
    if digest != event.content_digest:
        return BrokenLink(
            event.stream_id,
            event.stream_version,
            event.global_position,
            "content does not match its digest: the row was edited",
        )
    if chain_link(previous_hash, digest) != event.chain_hash:
        return BrokenLink(
            event.stream_id,
            event.stream_version,
            event.global_position,
            "hash does not follow from the previous event: the chain was altered",
        )
    return None
