"""The read models. Each fold is a pure function of (row, event), also used for "as of".

| projection | from | one row per |
| --- | --- | --- |
| case_summary | case streams | case |
| case_timeline | case streams | event, in plain English |
| caseload | team streams (key workers) + case_summary | key worker (a query joins them) |
| waitlist | team streams | waiting family |
| review_schedule | case streams | follow-up review |
| access_log | access streams | read of a case's record |
| alerts | case, team and delivery streams | alert (the inbox) |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

import orjson

from events import catalogue as ev
from events.catalogue import DomainEvent, all_event_types
from events.db import Conn
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, LogProjection, Projection, Row
from projections.describe import metadata_of


def case_of(stream_id: str, prefix: str = "case-") -> str | None:
    return stream_id[len(prefix) :] if stream_id.startswith(prefix) else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def names(*classes: type[DomainEvent]) -> frozenset[str]:
    """The stored type names of catalogue classes (a read model declares the classes)."""
    return frozenset(c.type_name() for c in classes)


# Every event of a case's own stream, as the catalogue declares it: a new case event is
# in the summary's and the timeline's dispatch without anyone adding it to a list.
CASE_EVENTS = names(*(c for c in all_event_types() if c.stream == "case"))


# Events whose effect on the summary does not depend on their payload (not parsed).
SUMMARY_IGNORES_PAYLOAD = names(
    ev.ReferralAccepted,
    ev.FamilyWaitlisted,
    ev.FirstMeetingOverdue,
    ev.GoalAgreed,
    ev.NoContactThresholdPassed,
    ev.GoalsScored,
    ev.ExtensionRequested,
    ev.IntensivePhaseEndApproaching,
    ev.IntensivePhaseOverrun,
    ev.FollowUpReviewDue,
    ev.BoosterScheduled,
    ev.BoosterDelivered,
    ev.ChildStatusChanged,
    ev.ConsentRecorded,
    ev.ConsentWithdrawn,
    ev.AlertRaised,
    ev.AlertAcknowledged,
    ev.AlertResolved,
    ev.AlertEscalated,
    ev.FollowUpReviewApproaching,
    ev.BoosterOverdue,
)


# --- case_summary ------------------------------------------------------------------------


class CaseSummary(KeyedProjection):
    name: ClassVar[str] = "case_summary"
    tables: ClassVar[tuple[str, ...]] = ("case_summary",)
    handles: ClassVar[frozenset[str]] = CASE_EVENTS
    key: ClassVar[tuple[str, ...]] = ("case_id",)
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "family_id",
        "team_id",
        "area",
        "referring_agency",
        "priority",
        "phase",
        "key_worker_id",
        "policy_version",
        "referred_on",
        "decision",
        "decided_at",
        "rejection_reason",
        "waitlisted_at",
        "allocated_at",
        "first_meeting_due_at",
        "first_meeting_at",
        "intensive_ends_on",
        "last_contact_at",
        "sessions",
        "goals",
        "closed_on",
        "closure_kind",
        "next_review_id",
        "next_review_due_on",
        "first_meeting_overdue",
        "no_contact_overdue",
        "intensive_overrun",
        "review_overdue",
        "previous_case_id",
        "end_reason",
        "pending_reviews",
        "version",
        "updated_at",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        case_id = case_of(event.stream_id)
        return (case_id,) if case_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        return fold_summary(row, event)


def fold_summary(row: Row | None, event: RecordedEvent) -> Row | None:
    at = event.occurred_at
    t = event.type
    if t in SUMMARY_IGNORES_PAYLOAD:  # most of an episode: only version and time move
        if row is None:
            raise ValueError(f"{t} before the case's referral")
        row["version"], row["updated_at"] = event.stream_version, at
        if t == "ReferralAccepted":
            row.update(phase="accepted", decision="accepted", decided_at=at)
        elif t == "FamilyWaitlisted":
            row.update(phase="waitlisted", waitlisted_at=at)
        elif t == "FirstMeetingOverdue":
            row["first_meeting_overdue"] = True
        elif t == "GoalAgreed":
            row["goals"] += 1
        elif t == "NoContactThresholdPassed":
            row["no_contact_overdue"] = True
        elif t == "IntensivePhaseOverrun":
            row["intensive_overrun"] = True
        return row
    d = event.data
    if t == "ReferralReceived":
        r: Row = dict.fromkeys(CaseSummary.columns)
        r.update(
            case_id=d["case_id"],
            family_id=d["family_id"],
            team_id=d["team_id"],
            area=d["area"],
            referring_agency=d["referring_agency"],
            priority=d["priority"],
            phase="referred",
            policy_version=d["policy_version"],
            referred_on=_d(d["received_on"]),
            sessions=0,
            goals=0,
            first_meeting_overdue=False,
            no_contact_overdue=False,
            intensive_overrun=False,
            review_overdue=False,
            previous_case_id=d.get("previous_case_id"),
            pending_reviews="{}",
        )
        r["version"], r["updated_at"] = event.stream_version, at
        return r
    if row is None:
        raise ValueError(f"{t} before the case's referral")
    r = row
    r["version"], r["updated_at"] = event.stream_version, at
    if t == "ReferralRejected":
        r.update(decision="rejected", decided_at=at, rejection_reason=d["reason"])
    elif t == "KeyWorkerAllocated":  # the deadline as the case's rules decided it
        r.update(
            phase="allocated",
            key_worker_id=d["key_worker_id"],
            team_id=d["team_id"],
            allocated_at=at,
            first_meeting_due_at=_dt(d["first_meeting_due_at"]),
        )
    elif t == "FirstMeetingHeld":
        held = _dt(d["held_at"])
        r.update(
            phase="intensive",
            first_meeting_at=held,
            last_contact_at=held,
            first_meeting_overdue=False,
            intensive_ends_on=_d(d["intensive_ends_on"]),
        )
    elif t == "SessionRecorded":
        held = _dt(d["held_at"])
        r["sessions"] += 1
        if r["last_contact_at"] is None or (held and held > r["last_contact_at"]):
            r["last_contact_at"] = held
        r["no_contact_overdue"] = False
    elif t == "ExtensionDecided":
        if d["approved"] and d.get("new_end_on"):
            r.update(intensive_ends_on=_d(d["new_end_on"]), intensive_overrun=False)
    elif t == "IntensivePhaseClosed":
        r.update(
            phase="follow_up",
            closed_on=_d(d["closed_on"]),
            closure_kind=d["kind"],
            no_contact_overdue=False,
            intensive_overrun=False,
        )
    elif t in (
        "FollowUpReviewScheduled",
        "FollowUpReviewRescheduled",
        "FollowUpReviewOverdue",
        "FollowUpReviewCompleted",
    ):
        _track_review(r, t, d)
    elif t == "EpisodeEnded":
        r.update(
            phase="ended",
            end_reason=d["reason"],
            next_review_id=None,
            next_review_due_on=None,
            review_overdue=False,
            pending_reviews="{}",
        )
    return r


def _track_review(r: Row, t: str, d: dict[str, Any]) -> None:
    """Keep the pending reviews (id -> due date) and point at the earliest one."""
    pending: dict[str, str] = orjson.loads(r["pending_reviews"] or "{}")
    review_id = d["review_id"]
    if t in ("FollowUpReviewScheduled", "FollowUpReviewRescheduled"):
        pending[review_id] = d["due_on"]
        if t == "FollowUpReviewRescheduled" and r["next_review_id"] == review_id:
            r["review_overdue"] = False
    elif t == "FollowUpReviewOverdue":
        r["review_overdue"] = True
    elif t == "FollowUpReviewCompleted":
        pending.pop(review_id, None)
        r["review_overdue"] = False
    upcoming = min(pending.items(), key=lambda item: (item[1], item[0]), default=None)
    r["next_review_id"] = upcoming[0] if upcoming else None
    r["next_review_due_on"] = _d(upcoming[1]) if upcoming else None
    r["pending_reviews"] = orjson.dumps(pending, option=orjson.OPT_SORT_KEYS).decode()


# --- review_schedule ---------------------------------------------------------------------


REVIEW_EVENTS = names(
    ev.FollowUpReviewScheduled,
    ev.FollowUpReviewRescheduled,
    ev.FollowUpReviewDue,
    ev.FollowUpReviewOverdue,
    ev.FollowUpReviewCompleted,
)


class ReviewSchedule(KeyedProjection):
    name: ClassVar[str] = "review_schedule"
    tables: ClassVar[tuple[str, ...]] = ("review_schedule",)
    handles: ClassVar[frozenset[str]] = REVIEW_EVENTS
    key: ClassVar[tuple[str, ...]] = ("case_id", "review_id")
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "review_id",
        "month",
        "due_on",
        "original_due_on",
        "status",
        "rescheduled",
        "completed_at",
        "regressed_goals",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        case_id = case_of(event.stream_id)
        return (case_id, event.data["review_id"]) if case_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        d, t = event.data, event.type
        if t == "FollowUpReviewScheduled":
            due = _d(d["due_on"])
            return {
                "case_id": case_of(event.stream_id),
                "review_id": d["review_id"],
                "month": d["month"],
                "due_on": due,
                "original_due_on": due,
                "status": "scheduled",
                "rescheduled": False,
                "completed_at": None,
                "regressed_goals": 0,
            }
        if row is None:
            raise ValueError(f"{t} for a review never scheduled")
        r = row
        if t == "FollowUpReviewRescheduled":
            r.update(due_on=_d(d["due_on"]), status="scheduled", rescheduled=True)
        elif t == "FollowUpReviewDue":
            r["status"] = "due"
        elif t == "FollowUpReviewOverdue":
            r["status"] = "overdue"
        elif t == "FollowUpReviewCompleted":
            r.update(
                status="completed",
                completed_at=event.occurred_at,
                regressed_goals=sum(1 for x in d["ratings"] if x["rating"] == "regressed"),
            )
        return r


# --- team: key workers and the waitlist --------------------------------------------------


class KeyWorkers(KeyedProjection):
    """The caseload read model: who can hold families, and how many; a query joins it with
    case_summary to count families by phase against each limit."""

    name: ClassVar[str] = "caseload"
    tables: ClassVar[tuple[str, ...]] = ("key_workers",)
    handles: ClassVar[frozenset[str]] = names(ev.TeamKeyWorkerJoined, ev.TeamKeyWorkerLeft)
    key: ClassVar[tuple[str, ...]] = ("team_id", "key_worker_id")
    columns: ClassVar[tuple[str, ...]] = ("team_id", "key_worker_id", "caseload_limit", "active")

    def key_of(self, event: RecordedEvent) -> Key | None:
        team_id = case_of(event.stream_id, "team-")
        return (team_id, event.data["key_worker_id"]) if team_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        team_id, worker = self.key_of(event) or (None, None)
        if event.type == "TeamKeyWorkerJoined":
            return {
                "team_id": team_id,
                "key_worker_id": worker,
                "caseload_limit": event.data["caseload_limit"],
                "active": True,
            }
        if row is None:
            raise ValueError("a key worker left who never joined")
        return {**row, "active": False}


class Waitlist(KeyedProjection):
    name: ClassVar[str] = "waitlist"
    tables: ClassVar[tuple[str, ...]] = ("waitlist",)
    handles: ClassVar[frozenset[str]] = names(
        ev.TeamCaseWaitlisted, ev.TeamCaseAllocated, ev.TeamCaseReleased
    )
    key: ClassVar[tuple[str, ...]] = ("case_id",)
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "team_id",
        "priority",
        "referred_on",
        "waitlisted_at",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        return (event.data["case_id"],) if event.stream_id.startswith("team-") else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        if event.type == "TeamCaseWaitlisted":
            d = event.data
            return {
                "case_id": d["case_id"],
                "team_id": case_of(event.stream_id, "team-"),
                "priority": d["priority"],
                "referred_on": _d(d["referred_on"]),
                "waitlisted_at": event.occurred_at,
            }
        return None  # allocated or released: off the list


# --- logs: timeline and access -----------------------------------------------------------


class CaseTimeline(Projection):
    """One row per case event: who, when, under which policy, and the coded payload
    (``personal`` parts removed). The sentence is written at read time (``sentence``), so
    this projection is a single ``INSERT ... SELECT`` per batch, done by PostgreSQL."""

    name: ClassVar[str] = "case_timeline"
    tables: ClassVar[tuple[str, ...]] = ("case_timeline",)
    handles: ClassVar[frozenset[str]] = CASE_EVENTS

    async def apply(
        self, conn: Conn, events: Sequence[RecordedEvent], tables: Mapping[str, str]
    ) -> None:
        positions = [
            e.global_position
            for e in events
            if e.type in self.handles and e.stream_id.startswith("case-")
        ]
        if not positions:
            return
        await conn.execute(
            f"""INSERT INTO {tables[self.tables[0]]}
                    (global_position, case_id, stream_version, event_id, type, schema_version,
                     data, actor_id, actor_role, occurred_at, recorded_at, policy_version)
                SELECT e.global_position, substr(e.stream_id, 6), e.stream_version,
                       e.event_id, e.type, e.schema_version, {CODED_PAYLOAD},
                       coalesce(e.metadata -> 'actor' ->> 'id', 'system'),
                       coalesce(e.metadata -> 'actor' ->> 'role', 'system'),
                       e.occurred_at, e.recorded_at, e.metadata ->> 'policy_version'
                  FROM events e WHERE e.global_position = ANY($1::bigint[])""",
            positions,
        )


# The payload without personal parts: the top-level one, and each child's and adult's.
CODED_PAYLOAD = """(CASE WHEN e.type = 'ReferralReceived' THEN
        (e.data - 'personal')
        || jsonb_build_object(
             'children', (SELECT coalesce(jsonb_agg(c - 'personal'), '[]'::jsonb)
                            FROM jsonb_array_elements(e.data -> 'children') c),
             'adults', (SELECT coalesce(jsonb_agg(a - 'personal'), '[]'::jsonb)
                          FROM jsonb_array_elements(coalesce(e.data -> 'adults', '[]')) a))
      ELSE e.data - 'personal' END)"""


def coded(data: dict[str, Any]) -> dict[str, Any]:
    """``CODED_PAYLOAD`` in Python (for "as of" reads straight from the events)."""
    out = {k: v for k, v in data.items() if k != "personal"}
    for part in ("children", "adults"):
        if part in out:
            out[part] = [{k: v for k, v in x.items() if k != "personal"} for x in out[part]]
    return out


class AccessLog(LogProjection):
    name: ClassVar[str] = "access_log"
    tables: ClassVar[tuple[str, ...]] = ("access_log",)
    handles: ClassVar[frozenset[str]] = names(ev.CaseRecordViewed)
    columns: ClassVar[tuple[str, ...]] = (
        "global_position",
        "case_id",
        "actor_id",
        "actor_role",
        "view",
        "interface",
        "as_of",
        "allowed",
        "viewed_at",
    )

    def row_of(self, event: RecordedEvent) -> tuple[Any, ...] | None:
        d = event.data
        actor = metadata_of(event).get("actor") or {}
        return (
            event.global_position,
            d["case_id"],
            actor.get("id", "?"),
            actor.get("role", "?"),
            d["view"],
            d["interface"],
            _dt(d.get("as_of")),
            d.get("allowed", True),
            event.occurred_at,
        )


# --- alerts ------------------------------------------------------------------------------

ALERT_EVENTS = names(
    ev.AlertRaised,
    ev.AlertAcknowledged,
    ev.AlertEscalated,
    ev.AlertResolved,
    ev.AlertDelivered,
    ev.AlertDeliveryFailed,
)


def alert_ref(stream_id: str, alert_id: str) -> str:
    """An alert's id across the service: the stream that raised it and its id there."""
    return f"{stream_id}:{alert_id}"


class Alerts(KeyedProjection):
    """The inbox: one row per alert, with who acknowledged it and every delivery outcome."""

    name: ClassVar[str] = "alerts"
    tables: ClassVar[tuple[str, ...]] = ("alerts",)
    handles: ClassVar[frozenset[str]] = ALERT_EVENTS
    key: ClassVar[tuple[str, ...]] = ("alert_ref",)
    columns: ClassVar[tuple[str, ...]] = (
        "alert_ref",
        "stream_id",
        "alert_id",
        "case_id",
        "team_id",
        "rule",
        "severity",
        "subject",
        "to_key_worker",
        "to_supervisors_of_team",
        "raised_at",
        "acknowledge_by",
        "acknowledged_at",
        "acknowledged_by",
        "escalated_at",
        "escalation_reason",
        "resolved_at",
        "resolution",
        "deliveries",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        d = event.data
        if event.type in ("AlertDelivered", "AlertDeliveryFailed"):
            return (alert_ref(d["stream_id"], d["alert_id"]),)
        if event.stream_id.startswith(("case-", "team-")):
            return (alert_ref(event.stream_id, d["alert_id"]),)
        return None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        return fold_alert(row, event)


def fold_alert(row: Row | None, event: RecordedEvent) -> Row | None:
    d, t, at = event.data, event.type, event.occurred_at
    if t == "AlertRaised":
        return {
            "alert_ref": alert_ref(event.stream_id, d["alert_id"]),
            "stream_id": event.stream_id,
            "alert_id": d["alert_id"],
            "case_id": case_of(event.stream_id),
            "team_id": case_of(event.stream_id, "team-") or d.get("to_supervisors_of_team"),
            "rule": d["rule"],
            "severity": d["severity"],
            "subject": d.get("subject"),
            "to_key_worker": d.get("to_key_worker"),
            "to_supervisors_of_team": d.get("to_supervisors_of_team"),
            "raised_at": at,
            "acknowledge_by": _dt(d["acknowledge_by"]),
            "acknowledged_at": None,
            "acknowledged_by": None,
            "escalated_at": None,
            "escalation_reason": None,
            "resolved_at": None,
            "resolution": None,
            "deliveries": "[]",
        }
    if row is None:
        return None  # nothing happens to an alert before it is raised
    if t == "AlertAcknowledged":
        actor = metadata_of(event).get("actor") or {}
        row["acknowledged_at"], row["acknowledged_by"] = at, actor.get("id")
    elif t == "AlertEscalated":
        row["escalated_at"], row["escalation_reason"] = at, d["reason"]
        row["to_supervisors_of_team"] = d["to_supervisors_of_team"]
        row["team_id"] = row["team_id"] or d["to_supervisors_of_team"]
    elif t == "AlertResolved":
        row["resolved_at"], row["resolution"] = at, d["resolution"]
    elif t in ("AlertDelivered", "AlertDeliveryFailed"):
        deliveries = orjson.loads(row["deliveries"] or "[]")
        deliveries.append(
            {
                "at": at.isoformat(),
                "recipient": d["recipient"],
                "channel": d["channel"],
                "escalation": d.get("escalation", False),
                "delivered": t == "AlertDelivered",
                "attempts": d.get("attempts"),
            }
        )
        row["deliveries"] = orjson.dumps(deliveries).decode()
    return row


PROJECTIONS: tuple[Projection, ...] = (
    CaseSummary(),
    CaseTimeline(),
    KeyWorkers(),
    Waitlist(),
    ReviewSchedule(),
    AccessLog(),
    Alerts(),
)
BY_NAME: dict[str, Projection] = {p.name: p for p in PROJECTIONS}
