"""Retention and erasure of a family's personal data.

Rules are policy data (``ProgrammePolicy.retention_years_after_end`` and
``retention_looked_after_until_age``): a family's personal data is kept while any episode
is open, then for a number of years after its last episode ended; when a child of the
family was ever looked after (LAC), until that child's 75th birthday (statute), or for good
when no date of birth is on record to count from. Erasure destroys the family's data keys
(the sealed parts can never be opened again; the ciphertext and the hash chain stay) and
records ``FamilyDataErased`` in the family's stream, in one transaction; a request before
the end is recorded (``FamilyErasureRefused``) and refused with the rule that keeps it.
Coded facts (phases, dates, reasons, scores) are never erased: anonymous KPIs survive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from events.calendar import local_day
from events.catalogue import FamilyDataErased, FamilyErasureRefused
from events.envelope import Actor, EventMetadata
from events.keys import destroy_family_keys, open_personal
from events.policy import ProgrammePolicy
from events.records import NewEvent
from events.store import EventStore

KEEP_OPEN = "retention-while-an-episode-is-open"
KEEP_YEARS = "retention-years-after-the-last-episode"
KEEP_LOOKED_AFTER = "retention-looked-after-child-to-75"
KEEP_LOOKED_AFTER_NO_BIRTH = "retention-looked-after-child-without-date-of-birth"
NOTHING = "retention-no-personal-data"


@dataclass(frozen=True)
class FamilyFacts:
    """What retention is decided on (coded facts, and looked-after children's birthdays)."""

    family_id: str
    case_ids: tuple[str, ...]
    open_cases: tuple[str, ...]
    last_ended_on: date | None
    looked_after_births: tuple[date | None, ...]  # one per child ever looked after
    erased: bool


@dataclass(frozen=True)
class Retention:
    """Until when the family's personal data is kept, and by which rule; ``until`` None
    with a rule: kept for now without a date (an open episode, no date of birth)."""

    rule: str
    until: date | None

    def ended(self, today: date) -> bool:
        return self.until is not None and self.until <= today


def _add_years(day: date, years: int) -> date:
    if day.year + years > date.max.year:  # a date of birth typed as 9999: kept for good
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def retention_of(facts: FamilyFacts, policy: ProgrammePolicy) -> Retention:
    """The rule keeping the family's personal data, and until when (a pure rule)."""
    if facts.open_cases:
        return Retention(KEEP_OPEN, None)
    if facts.last_ended_on is None:
        return Retention(NOTHING, date.min)
    after_end = _add_years(facts.last_ended_on, policy.retention_years_after_end)
    if not facts.looked_after_births:
        return Retention(KEEP_YEARS, after_end)
    if any(born is None for born in facts.looked_after_births):
        return Retention(KEEP_LOOKED_AFTER_NO_BIRTH, None)
    birthdays = [
        _add_years(born, policy.retention_looked_after_until_age)
        for born in facts.looked_after_births
        if born is not None
    ]
    until = max([after_end, *birthdays])
    return Retention(KEEP_LOOKED_AFTER if until > after_end else KEEP_YEARS, until)


def family_stream(family_id: str) -> str:
    return f"family-{family_id}"


async def family_facts(store: EventStore, family_id: str) -> FamilyFacts | None:
    """The family's facts from the store (None: no referral names it). Looked-after
    children's dates of birth are opened from their sealed parts (the engine's own read)."""
    pool = store.pool
    rows = await pool.fetch(
        "SELECT r.data ->> 'case_id' AS case_id, "
        "(SELECT max(e.occurred_at) FROM events e WHERE e.stream_id = r.stream_id "
        " AND e.type = 'EpisodeEnded') AS ended_at "
        "FROM events r WHERE r.type = 'ReferralReceived' AND r.data ->> 'family_id' = $1 "
        "ORDER BY r.global_position",
        family_id,
    )
    if not rows:
        return None
    cases = tuple(str(r["case_id"]) for r in rows)
    streams = [f"case-{c}" for c in cases]
    ended = [r["ended_at"] for r in rows if r["ended_at"] is not None]
    # A child id is the case's own code ("ch1" in two episodes may be two children): key
    # each by its case's stream.
    looked_after = {
        (str(r["stream_id"]), str(r["child_id"]))
        for r in await pool.fetch(
            "SELECT DISTINCT e.stream_id, c.value ->> 'child_id' AS child_id FROM events e, "
            "jsonb_array_elements(CASE WHEN jsonb_typeof(e.data -> 'children') = 'array' "
            "THEN e.data -> 'children' ELSE jsonb_build_array(e.data) END) AS c(value) "
            "WHERE e.stream_id = ANY($1) AND e.type IN ('ReferralReceived', 'ChildJoined', "
            "'ChildStatusChanged') AND (c.value ->> 'statutory_status' = 'lac' "
            "OR c.value ->> 'status' = 'lac')",
            streams,
        )
    }
    births: dict[tuple[str, str], date | None] = {child: None for child in looked_after}
    if looked_after:
        sealed = await pool.fetch(
            "SELECT stream_id, event_id, data FROM events WHERE stream_id = ANY($1) "
            "AND type IN ('ReferralReceived', 'ChildJoined') ORDER BY global_position",
            streams,
        )
        opened = await open_personal(
            store.keyring, pool, [(r["stream_id"], r["event_id"], _json(r["data"])) for r in sealed]
        )
        for row, data in zip(sealed, opened, strict=True):
            for child in data.get("children") or [data]:
                key = (str(row["stream_id"]), str(child.get("child_id")))
                personal = child.get("personal")
                if key in births and isinstance(personal, dict) and personal.get("date_of_birth"):
                    births[key] = date.fromisoformat(personal["date_of_birth"])
    # Erased: an erasure was recorded and no live key is left (a family referred again
    # after an erasure has a new live key, and its new data is kept and erased anew).
    erased = bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND type = $2) "
            "AND NOT EXISTS (SELECT 1 FROM family_keys WHERE family_id = $3 "
            "AND wrapped IS NOT NULL)",
            family_stream(family_id),
            FamilyDataErased.__name__,
            family_id,
        )
    )
    return FamilyFacts(
        family_id=family_id,
        case_ids=cases,
        open_cases=tuple(c for c, r in zip(cases, rows, strict=True) if r["ended_at"] is None),
        last_ended_on=local_day(max(ended)) if ended else None,
        looked_after_births=tuple(births[c] for c in sorted(births)),
        erased=erased,
    )


def _json(value: Any) -> dict[str, Any]:
    """A jsonb column as asyncpg returns it (text, without a codec)."""
    loaded: dict[str, Any] = orjson.loads(value) if isinstance(value, str | bytes) else value
    return loaded


async def families_due(store: EventStore, policy: ProgrammePolicy, today: date) -> list[str]:
    """Families whose retention has ended and whose data is not erased yet."""
    candidates = await store.pool.fetch(
        "SELECT DISTINCT r.data ->> 'family_id' AS family_id FROM events r "
        "WHERE r.type = 'ReferralReceived' AND EXISTS (SELECT 1 FROM events e "
        "WHERE e.stream_id = r.stream_id AND e.type = 'EpisodeEnded') "
        "AND EXISTS (SELECT 1 FROM family_keys k WHERE k.family_id = r.data ->> 'family_id' "
        "AND k.wrapped IS NOT NULL) ORDER BY 1"
    )
    due = []
    for row in candidates:
        facts = await family_facts(store, str(row["family_id"]))
        if facts is not None and retention_of(facts, policy).ended(today):
            due.append(facts.family_id)
    return due


class ErasureRefused(Exception):
    """The family's record must still be kept; the message names the rule and the date."""

    def __init__(self, family_id: str, retention: Retention) -> None:
        self.family_id, self.retention = family_id, retention
        until = f" until {retention.until.isoformat()}" if retention.until else ""
        super().__init__(f"family_id: {family_id} must be kept{until} ({retention.rule})")


class NoSuchFamily(LookupError):
    pass


async def erase_family(
    store: EventStore,
    family_id: str,
    actor: Actor,
    policy: ProgrammePolicy,
    *,
    today: date | None = None,
) -> FamilyDataErased:
    """Erase the family's personal data if its retention has ended: its data keys are
    destroyed and ``FamilyDataErased`` recorded, together. Otherwise the request is recorded
    (``FamilyErasureRefused``) and ``ErasureRefused`` raised. An erased family is erased."""
    today = today or local_day(datetime.now(UTC))
    facts = await family_facts(store, family_id)
    if facts is None:
        spelling = await store.family_known_as(family_id)  # ids do not differ by case alone
        raise NoSuchFamily(
            f"family_id: no referral names family {family_id}"
            + (f"; it is on record as {spelling}" if spelling is not None else "")
        )
    retention = retention_of(facts, policy)
    stream = family_stream(family_id)
    metadata = EventMetadata(
        actor=actor, correlation_id=uuid.uuid4(), policy_version=policy.version
    )
    now = datetime.now(UTC)
    if facts.erased:
        return await _last_erasure(store, stream)
    if not retention.ended(today):
        refused = FamilyErasureRefused(
            family_id=family_id, rule=retention.rule, keep_until=retention.until
        )
        await store.append_at_end(
            stream,
            [NewEvent.of(refused, event_id=uuid.uuid4(), metadata=metadata, occurred_at=now)],
        )
        raise ErasureRefused(family_id, retention)
    async with store.pool.acquire() as conn, conn.transaction():
        # The family's lock (also taken when a new stream is tied to its key): no referral
        # can take its live key, and no second erasure run, between this check and commit.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('ifss-family:' || $1))", family_id
        )
        opened_since = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events r WHERE r.type = 'ReferralReceived' "
            "AND r.data ->> 'family_id' = $1 AND NOT EXISTS (SELECT 1 FROM events e "
            "WHERE e.stream_id = r.stream_id AND e.type = 'EpisodeEnded'))",
            family_id,
        )
        if opened_since:
            raise ErasureRefused(family_id, Retention(KEEP_OPEN, None))
        destroyed = await destroy_family_keys(conn, family_id)
        if destroyed == 0 and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1 AND type = $2)",
            stream,
            FamilyDataErased.__name__,
        ):  # a concurrent erasure got there first
            return await _last_erasure(store, stream, conn)
        erased = FamilyDataErased(
            family_id=family_id,
            case_ids=list(facts.case_ids),
            rule=retention.rule,
            keys_destroyed=destroyed,
        )
        new = NewEvent.of(erased, event_id=uuid.uuid4(), metadata=metadata, occurred_at=now)
        version = await conn.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream
        )
        await store.append(stream, int(version), [new], connection=conn)
    store.notify_readers()
    store.keyring.forget()
    return erased


async def _last_erasure(store: EventStore, stream: str, conn: Any = None) -> FamilyDataErased:
    text = await (conn or store.pool).fetchval(
        "SELECT data::text FROM events WHERE stream_id = $1 AND type = $2 "
        "ORDER BY stream_version DESC LIMIT 1",
        stream,
        FamilyDataErased.__name__,
    )
    return FamilyDataErased.model_validate_json(text)
