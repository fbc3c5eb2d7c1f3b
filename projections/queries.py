"""Reading the read models (CLI and API), and recording who read a case's record.

Every function takes a pool and returns plain rows (dicts) or pydantic models; the callers
decide how to show them. Access control is the caller's job (the API checks roles; the
CLI runs on the server as an operator) but recording a read is done here, so that no
reader of a case history can forget it.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel, PrivateAttr

from events.catalogue import CaseRecordViewed, CasesListed
from events.envelope import Actor, EventMetadata
from events.keys import open_personal, sealed_key_ids
from events.records import NewEvent, upcast_to_current
from events.store import EventStore
from projections.describe import metadata_of, sentence
from projections.models import coded, fold_summary

Row = dict[str, Any]


class HistoryEntry(BaseModel):
    stream_version: int
    type: str
    description: str
    actor_id: str
    actor_role: str
    occurred_at: datetime
    recorded_at: datetime
    policy_version: str | None
    # The event's coded data (never its personal parts), for the pages' Welsh timeline;
    # not part of the API's answer.
    _data: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self._data


def history_csv(entries: list[HistoryEntry]) -> str:
    """A history as CSV, one row per event (for spreadsheets and case file exports)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["version", "occurred_at", "recorded_at", "actor", "role", "type", "what", "policy"]
    )
    for e in entries:
        writer.writerow(
            [
                e.stream_version,
                e.occurred_at.isoformat(),
                e.recorded_at.isoformat(),
                e.actor_id,
                e.actor_role,
                e.type,
                e.description,
                e.policy_version or "",
            ]
        )
    return out.getvalue()


async def list_cases(
    pool: asyncpg.Pool,
    *,
    phase: str | None = None,
    key_worker_id: str | None = None,
    team_id: str | None = None,
    overdue: bool | None = None,
    limit: int = 500,
    with_cover: bool = False,
    after: tuple[datetime, str] | None = None,
) -> list[Row]:
    """Cases from ``case_summary``, most recently changed first (then by id). ``with_cover``:
    the key worker's cases and those they cover today. ``after``: the ``(updated_at,
    case_id)`` of the last case of the page before (the next page follows it)."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("phase", phase), ("team_id", team_id)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if key_worker_id is not None:
        args.append(key_worker_id)
        where.append(worker_clause("", len(args), with_cover))
    if overdue is not None:
        flag = (
            "(first_meeting_overdue OR no_contact_overdue OR intensive_overrun OR review_overdue)"
        )
        where.append(flag if overdue else f"NOT {flag}")
    if after is not None:
        args.extend(after)
        at, case = len(args) - 1, len(args)
        where.append(f"(updated_at < ${at} OR (updated_at = ${at} AND case_id > ${case}))")
    args.append(limit)
    sql = (
        f"SELECT *, {PERSONAL_DATA} FROM case_summary"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY updated_at DESC, case_id LIMIT ${len(args)}"
    )
    return [_public(dict(r)) for r in await pool.fetch(sql, *args)]


# Whether the case's family's personal data was erased (the erasures read model).
PERSONAL_DATA = (
    "CASE WHEN EXISTS (SELECT 1 FROM erased_cases e WHERE e.case_id = case_summary.case_id) "
    "THEN 'erased' ELSE 'kept' END AS personal_data"
)

# Today where the service works: a cover lasts to the end of its last day there.
TODAY = "(now() AT TIME ZONE 'Europe/London')::date"


def worker_clause(prefix: str, arg: int, with_cover: bool) -> str:
    """Rows of case_summary (aliased ``prefix``) held by key worker ``$arg``; with
    ``with_cover``, also those they cover today."""
    own = f"{prefix}key_worker_id = ${arg}"
    if not with_cover:
        return own
    return f"({own} OR ({prefix}cover_key_worker_id = ${arg} AND {prefix}cover_until >= {TODAY}))"


def _public(row: Row) -> Row:
    row.pop("pending_reviews", None)
    return row


async def case_summary(pool: asyncpg.Pool, case_id: str) -> Row | None:
    row = await pool.fetchrow(
        f"SELECT *, {PERSONAL_DATA} FROM case_summary WHERE case_id = $1", case_id
    )
    return _public(dict(row)) if row else None


async def history(pool: asyncpg.Pool, case_id: str) -> list[HistoryEntry]:
    """The case's timeline as projected (current), each event in a sentence."""
    rows = await pool.fetch(
        "SELECT stream_version, type, schema_version, data::text AS data, actor_id, "
        "actor_role, occurred_at, recorded_at, policy_version FROM case_timeline "
        "WHERE case_id = $1 ORDER BY stream_version",
        case_id,
    )
    return [
        _entry(
            r["stream_version"],
            r["type"],
            upcast_to_current(
                r["type"], r["schema_version"], orjson.loads(r["data"]), r["occurred_at"]
            ),
            {"id": r["actor_id"], "role": r["actor_role"]},
            r["occurred_at"],
            r["recorded_at"],
            r["policy_version"],
        )
        for r in rows
    ]


def _entry(
    version: int,
    type_name: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
    policy_version: str | None,
) -> HistoryEntry:
    entry = HistoryEntry.model_construct(
        stream_version=version,
        type=type_name,
        description=sentence(type_name, data, actor),
        actor_id=actor.get("id", "system"),
        actor_role=actor.get("role", "system"),
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        policy_version=policy_version,
    )
    entry._data = data
    return entry


async def history_as_of(
    store: EventStore, case_id: str, as_of: datetime
) -> tuple[list[HistoryEntry], Row | None]:
    """What the system knew about the case at ``as_of``: the events recorded by then,
    described and folded with the same code as the live models (so nothing recorded later,
    even about earlier moments, shows)."""
    events = [e for e in await store.read_stream(f"case-{case_id}") if e.recorded_at <= as_of]
    entries, summary = [], None
    for event in events:
        meta = metadata_of(event)
        entries.append(
            _entry(
                event.stream_version,
                event.type,
                coded(event.data),
                meta.get("actor") or {},
                event.occurred_at,
                event.recorded_at,
                meta.get("policy_version"),
            )
        )
        summary = fold_summary(summary, event)
    if summary is not None:  # as known then: erased only if the erasure was recorded by then
        erased = await store.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM erased_cases WHERE case_id = $1 AND erased_at <= $2)",
            case_id,
            as_of,
        )
        summary["personal_data"] = "erased" if erased else "kept"
    return entries, _public(summary) if summary else None


async def case_exists(pool: asyncpg.Pool, case_id: str) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)", f"case-{case_id}"
        )
    )


async def access_log(pool: asyncpg.Pool, case_id: str, latest: int | None = None) -> list[Row]:
    """Who looked at the case, oldest first (``latest``: only the most recent so many)."""
    rows = await pool.fetch(
        "SELECT * FROM (SELECT actor_id, actor_role, view, interface, as_of, allowed, "
        "viewed_at, purpose, reason, global_position FROM access_log WHERE case_id = $1 "
        "ORDER BY global_position DESC LIMIT $2) r ORDER BY global_position",
        case_id,
        latest,
    )
    return [{k: v for k, v in r.items() if k != "global_position"} for r in rows]


async def personal_record(store: EventStore, case_id: str) -> list[Row]:
    """Every personal part of the case's events, opened (``"erased"`` where the family's key
    was destroyed): for the people allowed, after the read is recorded."""
    events = [
        e for e in await store.read_stream(f"case-{case_id}") if sealed_key_ids(e.stored_data)
    ]
    opened = await open_personal(
        store.keyring, store.pool, [(e.stream_id, e.event_id, e.stored_data) for e in events]
    )
    entries: list[Row] = []
    for event, data in zip(events, opened, strict=True):
        people = [
            {"id": m.get("child_id") or m.get("person_id"), "personal": m["personal"]}
            for group in ("children", "adults")
            for m in data.get(group) or []
            if isinstance(m, dict) and m.get("personal") is not None
        ]
        for key in ("child_id", "person_id"):  # a child or adult who joined later
            if (
                key in data
                and data.get("personal") is not None
                and event.type != "ReferralReceived"
            ):
                people.append({"id": data[key], "personal": data["personal"]})
                data = {**data, "personal": None}
        entries.append(
            {
                "stream_version": event.stream_version,
                "type": event.type,
                "occurred_at": event.occurred_at,
                "personal": data.get("personal"),
                "people": people,
            }
        )
    return entries


async def record_list_read(
    store: EventStore, actor: Actor, *, view: str, interface: str, rows: list[Row]
) -> list[Row]:
    """``rows`` (a list read's answer), after recording one ``CasesListed`` naming every
    case in them (nothing when none) in the reader's own stream ``reads-<user>`` (one writer
    per person: no contention across readers)."""
    case_ids = [str(r["case_id"]) for r in rows if r.get("case_id")]
    if not case_ids:
        return rows
    stream = f"reads-{actor.id}"
    event = CasesListed(view=view, interface=interface, case_ids=case_ids)
    metadata = EventMetadata(actor=actor, correlation_id=uuid.uuid4())
    new = NewEvent.of(
        event, event_id=uuid.uuid4(), metadata=metadata, occurred_at=datetime.now(UTC)
    )
    await store.append_at_end(stream, [new])  # the same person reading in two tabs at once
    return rows


async def record_access(
    store: EventStore,
    case_id: str,
    actor: Actor,
    *,
    view: str,
    interface: str,
    as_of: datetime | None = None,
    allowed: bool = True,
    purpose: str | None = None,
    reason: str | None = None,
) -> None:
    """Append ``CaseRecordViewed`` to ``access-<case_id>`` (never to the case's own stream,
    which keeps its single writer). Readers race on this stream: retry on a conflict."""
    stream = f"access-{case_id}"
    event = CaseRecordViewed(
        case_id=case_id,
        view=view,
        interface=interface,
        as_of=as_of,
        allowed=allowed,
        purpose=purpose,
        reason=reason,
    )
    metadata = EventMetadata(actor=actor, correlation_id=uuid.uuid4())
    new = NewEvent.of(
        event, event_id=uuid.uuid4(), metadata=metadata, occurred_at=datetime.now(UTC)
    )
    await store.append_at_end(stream, [new])


async def reviews_due(
    pool: asyncpg.Pool,
    due_before: date,
    *,
    key_worker_id: str | None = None,
    team_id: str | None = None,
    with_cover: bool = False,
) -> list[Row]:
    """Follow-up reviews not yet completed, due before ``due_before`` (overdue included)."""
    args: list[Any] = [due_before]
    where = ["r.status <> 'completed'", "r.due_on < $1", "c.phase <> 'ended'"]
    if key_worker_id is not None:
        args.append(key_worker_id)
        where.append(worker_clause("c.", len(args), with_cover))
    if team_id is not None:
        args.append(team_id)
        where.append(f"c.team_id = ${len(args)}")
    rows = await pool.fetch(
        "SELECT r.case_id, r.review_id, r.month, r.due_on, r.original_due_on, r.status, "
        "r.rescheduled, c.team_id, c.key_worker_id FROM review_schedule r "
        "JOIN case_summary c USING (case_id) WHERE "
        + " AND ".join(where)
        + " ORDER BY r.due_on, r.case_id, r.month",
        *args,
    )
    return [dict(r) for r in rows]


async def teams(pool: asyncpg.Pool) -> list[Row]:
    """The registered teams (what a referral may name), by id."""
    rows = await pool.fetch(
        "SELECT team_id, team_name, area, registered_at FROM teams ORDER BY team_id"
    )
    return [dict(r) for r in rows]


async def waitlist(
    pool: asyncpg.Pool, team_id: str | None = None, today: date | None = None
) -> list[Row]:
    """Waiting families in allocation order (priority, then referral date), with position
    and days waiting."""
    rows = await pool.fetch(
        """SELECT case_id, team_id, priority, referred_on, waitlisted_at,
                  row_number() OVER (PARTITION BY team_id
                                     ORDER BY priority, referred_on, case_id) AS position
             FROM waitlist WHERE $1::text IS NULL OR team_id = $1
            ORDER BY team_id, position""",
        team_id,
    )
    day = today or date.today()
    return [
        {**dict(r), "days_waiting": max((day - r["waitlisted_at"].date()).days, 0)} for r in rows
    ]


async def caseload(pool: asyncpg.Pool, team_id: str | None = None) -> list[Row]:
    """Per key worker: families by phase against the limit (intensive-phase families, i.e.
    allocated or intensive, count against it)."""
    rows = await pool.fetch(
        """SELECT k.team_id, k.key_worker_id, k.caseload_limit, k.active,
                  count(c.case_id) FILTER (WHERE c.phase = 'allocated') AS allocated,
                  count(c.case_id) FILTER (WHERE c.phase = 'intensive') AS intensive,
                  count(c.case_id) FILTER (WHERE c.phase = 'follow_up') AS follow_up
             FROM key_workers k
             LEFT JOIN case_summary c
               ON c.team_id = k.team_id AND c.key_worker_id = k.key_worker_id
            WHERE $1::text IS NULL OR k.team_id = $1
            GROUP BY k.team_id, k.key_worker_id, k.caseload_limit, k.active
            ORDER BY k.team_id, k.key_worker_id""",
        team_id,
    )
    return [{**dict(r), "in_intensive_phase": r["allocated"] + r["intensive"]} for r in rows]


# --- alerts (the inbox) ------------------------------------------------------------------

ALERT_COLUMNS = """a.alert_ref, a.case_id, coalesce(a.team_id, s.team_id) AS team_id, a.rule,
    a.severity, a.subject, a.to_key_worker, a.to_supervisors_of_team, a.raised_at,
    a.acknowledge_by, a.acknowledged_at, a.acknowledged_by, a.escalated_at,
    a.escalation_reason, a.resolved_at, a.resolution, a.deliveries"""


class AlertsRefused(Exception):
    """This role has no inbox."""


def _alert_scope(user_id: str, role: str, team_id: str | None) -> tuple[str, list[Any]]:
    """Which alerts a user sees: a case manager their own (sent to them as key worker), a
    supervisor their team's, an auditor or admin every one."""
    if role == "case_manager":
        return "a.to_key_worker = $1", [user_id]
    if role == "supervisor":
        return "coalesce(a.team_id, s.team_id) = $1", [team_id]
    if role in ("auditor", "admin"):
        return "true", []
    raise AlertsRefused(f"role: a {role} has no alert inbox")


async def alerts_for_user(
    pool: asyncpg.Pool,
    user_id: str,
    role: str,
    team_id: str | None,
    *,
    include_closed: bool = False,
    alert_ref: str | None = None,
) -> list[Row]:
    """The user's alerts, most urgent first: open ones (not acknowledged, not resolved)
    unless ``include_closed``."""
    where, params = _alert_scope(user_id, role, team_id)
    clauses = [where]
    if not include_closed:
        clauses.append("a.acknowledged_at IS NULL AND a.resolved_at IS NULL")
    if alert_ref is not None:
        params.append(alert_ref)
        clauses.append(f"a.alert_ref = ${len(params)}")
    rows = await pool.fetch(
        f"""SELECT {ALERT_COLUMNS}
              FROM alerts a LEFT JOIN case_summary s ON s.case_id = a.case_id
             WHERE {" AND ".join(clauses)}
             ORDER BY (a.resolved_at IS NULL AND a.acknowledged_at IS NULL) DESC,
                      CASE a.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
                      a.raised_at""",
        *params,
    )
    out = []
    for r in rows:
        row = dict(r)
        row["deliveries"] = orjson.loads(row["deliveries"] or "[]")
        out.append(row)
    return out


async def alerts_of_case(pool: asyncpg.Pool, case_id: str) -> list[Row]:
    """Every alert raised on one case, newest first (the case page; the caller has
    already checked the reader may see the case)."""
    rows = await pool.fetch(
        f"""SELECT {ALERT_COLUMNS}
              FROM alerts a LEFT JOIN case_summary s ON s.case_id = a.case_id
             WHERE a.case_id = $1 ORDER BY a.raised_at DESC LIMIT 200""",
        case_id,
    )
    return [{**dict(r), "deliveries": orjson.loads(r["deliveries"] or "[]")} for r in rows]
