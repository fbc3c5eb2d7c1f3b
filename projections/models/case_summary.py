"""case_summary: one row per case, the fold also serving "as of" reads."""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, Row
from projections.models.common import CASE_EVENTS, case_of, day_of, moment_of, names

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
        "cover_key_worker_id",
        "cover_until",
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
    if t == "CaseImported":  # the row begins with the imported referral that follows
        return row
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
            referred_on=day_of(d["received_on"]),
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
            first_meeting_due_at=moment_of(d["first_meeting_due_at"]),
        )
    elif t == "EntryCorrected" and d["corrects_type"] == "ReferralReceived":
        for change in d["changes"]:
            r[change["field"]] = change["value"]
    elif t == "KeyWorkerChanged":
        r.update(key_worker_id=d["key_worker_id"], cover_key_worker_id=None, cover_until=None)
    elif t == "AllocationWithdrawn":
        r.update(
            phase="waitlisted",
            key_worker_id=None,
            allocated_at=None,
            first_meeting_due_at=None,
            first_meeting_overdue=False,
            priority=d["priority"],
            cover_key_worker_id=None,
            cover_until=None,
        )
    elif t == "FamilyTransferred":
        r.update(
            team_id=d["team_id"],
            key_worker_id=d.get("key_worker_id"),
            cover_key_worker_id=None,
            cover_until=None,
        )
        if r["phase"] != "intensive":
            waiting = d.get("key_worker_id") is None
            r.update(
                phase="waitlisted" if waiting else "allocated",
                allocated_at=None if waiting else at,
                waitlisted_at=at if waiting else r["waitlisted_at"],
                first_meeting_due_at=moment_of(d.get("first_meeting_due_at")),
                first_meeting_overdue=False,
            )
    elif t == "KeyWorkerCoverArranged":
        r.update(cover_key_worker_id=d["cover_key_worker_id"], cover_until=day_of(d["until"]))
    elif t == "KeyWorkerCoverEnded":
        r.update(cover_key_worker_id=None, cover_until=None)
    elif t == "FirstMeetingHeld":
        held = moment_of(d["held_at"])
        r.update(
            phase="intensive",
            first_meeting_at=held,
            last_contact_at=held,
            first_meeting_overdue=False,
            intensive_ends_on=day_of(d["intensive_ends_on"]),
        )
    elif t == "SessionRecorded":
        held = moment_of(d["held_at"])
        r["sessions"] += 1
        if r["last_contact_at"] is None or (held and held > r["last_contact_at"]):
            r["last_contact_at"] = held
        r["no_contact_overdue"] = False
    elif t == "ExtensionDecided":
        if d["approved"] and d.get("new_end_on"):
            r.update(intensive_ends_on=day_of(d["new_end_on"]), intensive_overrun=False)
    elif t == "IntensivePhaseClosed":
        r.update(
            phase="follow_up",
            closed_on=day_of(d["closed_on"]),
            closure_kind=d["kind"],
            no_contact_overdue=False,
            intensive_overrun=False,
        )
    elif t in (
        "FollowUpReviewScheduled",
        "FollowUpReviewRescheduled",
        "FollowUpReviewOverdue",
        "FollowUpReviewCompleted",
        "FollowUpReviewNotHeld",
        "FollowUpReviewCancelled",
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
    elif t in ("FollowUpReviewCompleted", "FollowUpReviewNotHeld", "FollowUpReviewCancelled"):
        pending.pop(review_id, None)
        r["review_overdue"] = False
    upcoming = min(pending.items(), key=lambda item: (item[1], item[0]), default=None)
    r["next_review_id"] = upcoming[0] if upcoming else None
    r["next_review_due_on"] = day_of(upcoming[1]) if upcoming else None
    r["pending_reviews"] = orjson.dumps(pending, option=orjson.OPT_SORT_KEYS).decode()
