"""episode_outcomes: one row per case, the facts the evaluation report counts.

Per goal its trajectory (baseline → closing score → each review's rating and score), per
review whether it was held and what it found, per child the statutory status over time
with effective dates, and the episode's coded milestones (referral, decision, allocation,
first meeting, closure, end). No personal data: only coded fields, so an erasure leaves the
row whole and the anonymous figures survive.

``fold_outcome`` is a pure function of (row, event): the projector folds it live, a rebuild
folds it from position 0, and the report "as of" a moment folds it over the events recorded
by then (``reports.source``), so the three can never disagree. Corrections (``EntryCorrected``)
supersede the fields they name, as they do everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import orjson

from events import catalogue as ev
from events.calendar import local_day
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, Row
from projections.models.common import case_of, day_of, names

OUTCOME_EVENTS = names(
    ev.CaseImported,
    ev.ReferralReceived,
    ev.ReferralAccepted,
    ev.ReferralRejected,
    ev.FamilyWaitlisted,
    ev.KeyWorkerAllocated,
    ev.FirstMeetingHeld,
    ev.GoalAgreed,
    ev.GoalsScored,
    ev.ExtensionDecided,
    ev.IntensivePhaseClosed,
    ev.FamilyWithdrew,
    ev.FamilyTransferred,
    ev.KeyWorkerChanged,
    ev.FollowUpReviewScheduled,
    ev.FollowUpReviewCompleted,
    ev.FollowUpReviewNotHeld,
    ev.FollowUpReviewCancelled,
    ev.FollowUpReviewOverdue,
    ev.BoosterScheduled,
    ev.BoosterDelivered,
    ev.BoosterOverdue,
    ev.MaintenanceContactRecorded,
    ev.ChildStatusChanged,
    ev.ChildJoined,
    ev.AdultJoined,
    ev.PriorityChanged,
    ev.EpisodeEnded,
    ev.EntryCorrected,
    ev.FamilyPlanAgreed,
    ev.MeasuresRecorded,
    ev.FeedbackRecorded,
    ev.ServicePurchased,
    ev.JointWorkRecorded,
)

# Fields a correction of each entry changes here (the others it may name are not counted).
_CORRECTED = {
    "ReferralReceived": {"area": "area", "referring_agency": "agency"},
    "GoalAgreed": {"category": "category", "baseline": "baseline", "target": "target"},
    "FollowUpReviewCompleted": {
        "family_staying_together": "together",
        "substance_use_status": "substance",
    },
}


@lru_cache(maxsize=65536)
def _day(moment: datetime) -> str:
    """The day in Wales at ``moment`` (cached: a rebuild asks for the same moments often)."""
    return local_day(moment).isoformat()


def new_facts(case_id: str) -> dict[str, Any]:
    """An episode with nothing recorded yet (an as-of fold of a case not yet referred)."""
    return {
        "case_id": case_id,
        "referred_on": None,
        "goals": {},
        "reviews": {},
        "children": {},
        "programme": "ifss",
        "plans": [],
        "measures": {},
        "feedback": [],
        "purchases": [],
        "joint_work": {},
    }


def fold_facts(f: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    """The episode's facts after ``event`` (``f`` is changed in place and returned)."""
    fold = _FOLDS.get(event.type)
    if fold is not None:
        fold(f, event.data, event)
    return f


def _on_referral_received(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.update(
        family_id=d["family_id"],
        team_id=d["team_id"],
        area=d["area"],
        agency=d["referring_agency"],
        grounds=list(d.get("referral_grounds") or []),
        needs=list(d.get("presenting_needs") or []),
        priority=d.get("priority", 3),
        referred_on=d["received_on"],
        previous_case_id=d.get("previous_case_id"),
        programme=d.get("programme", "ifss"),
        consent_to_follow_up=d.get("consent_to_follow_up", True),
        adults=len(d.get("adults") or []),
        language=d.get("language_preference"),
    )
    for child in d.get("children") or []:
        f["children"][child["child_id"]] = {
            "unborn": child.get("expected_on") is not None,
            "band": child.get("age_band"),
            "at_referral": child.get("statutory_status", "none"),
            "history": [[child.get("statutory_status", "none"), d["received_on"], "referral"]],
        }
    f["v"] = event.stream_version  # what a correction names


def _on_case_imported(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.update(imported=True, source_system=d["source_system"])
    if d.get("earlier_record"):  # a re-referral there: its earlier episode stayed behind
        f["earlier_record"] = d["earlier_record"]


def _on_referral_accepted(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.update(
        decision="accepted",
        decided_on=_day(event.occurred_at),
    )


def _on_referral_rejected(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.update(
        decision="rejected",
        decided_on=_day(event.occurred_at),
        rejection_reason=d["reason"],
        rejected_by_rule=d.get("rule"),
    )


def _on_family_waitlisted(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.setdefault("waitlisted_on", _day(event.occurred_at))


def _on_key_worker_allocated(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.setdefault("allocated_on", _day(event.occurred_at))
    _team(f, d["team_id"])


def _on_first_meeting_held(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f.update(first_meeting_at=d["held_at"])


def _on_goal_agreed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["goals"][d["goal_id"]] = {
        "category": d["category"],
        "baseline": d["baseline"],
        "target": d["target"],
        "agreed_on": _day(event.occurred_at),
        "closing": None,
        "reviews": {},
    }
    f["goals"][d["goal_id"]]["v"] = event.stream_version


def _on_goals_scored(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    for s in d["scores"]:
        goal = f["goals"].get(s["goal_id"])
        if goal is not None and d["stage"] == "closing":
            goal["closing"] = s["score"]


def _on_extension_decided(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    if d["approved"]:
        f["extended"] = True


def _on_intensive_phase_closed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["closure"] = {
        "kind": d["kind"],
        "reason": d.get("unplanned_reason"),
        "on": d["closed_on"],
        "onward_referrals": len(d.get("onward_referrals") or []),
        "less_formal": bool(d.get("transferred_to_less_formal_services")),
    }
    for s in d.get("closing_scores") or []:
        goal = f["goals"].get(s["goal_id"])
        if goal is not None:
            goal["closing"] = s["score"]


def _on_family_withdrew(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["withdrawn"] = {"reason": d["reason"], "on": _day(event.occurred_at)}


def _on_family_transferred(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    _team(f, d["team_id"])
    f["transfers"] = f.get("transfers", 0) + 1


def _on_key_worker_changed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["handovers"] = f.get("handovers", 0) + 1


def _on_follow_up_review_scheduled(
    f: dict[str, Any], d: dict[str, Any], event: RecordedEvent
) -> None:
    f["reviews"][str(d["month"])] = {"status": "scheduled", "due_on": d["due_on"]}
    f.setdefault("review_ids", {})[d["review_id"]] = str(d["month"])


def _on_follow_up_review_completed(
    f: dict[str, Any], d: dict[str, Any], event: RecordedEvent
) -> None:
    month = str(d["month"])
    review = f["reviews"].setdefault(month, {"due_on": None})
    review["on"] = _day(event.occurred_at)
    t = event.type
    if t == "FollowUpReviewCompleted":
        review.update(
            status="held",
            together=d["family_staying_together"],
            substance=d["substance_use_status"],
        )
        for r in d.get("ratings") or []:
            goal = f["goals"].get(r["goal_id"])
            if goal is not None:
                rated = goal["reviews"][month] = {"rating": r["rating"]}
                if r.get("score") is not None:
                    rated["score"] = r["score"]
        for c in d.get("children_statuses") or []:
            _child_status(f, c["child_id"], c["status"], review["on"], "review")
        review["v"] = event.stream_version
    elif t == "FollowUpReviewNotHeld":
        review.update(status="not_held", reason=d["reason"])
    else:
        review.update(status="cancelled", reason=d["reason"])


def _on_follow_up_review_overdue(
    f: dict[str, Any], d: dict[str, Any], event: RecordedEvent
) -> None:
    review = f["reviews"].get(f.get("review_ids", {}).get(d["review_id"], ""))
    if review is not None and review.get("status") == "scheduled":
        review["status"] = "overdue"


def _on_booster_scheduled(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["boosters_scheduled"] = f.get("boosters_scheduled", 0) + 1


def _on_booster_delivered(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["boosters_delivered"] = f.get("boosters_delivered", 0) + 1


def _on_booster_overdue(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["boosters_lapsed"] = f.get("boosters_lapsed", 0) + 1


def _on_maintenance_contact_recorded(
    f: dict[str, Any], d: dict[str, Any], event: RecordedEvent
) -> None:
    f["maintenance_contacts"] = f.get("maintenance_contacts", 0) + 1


def _on_child_status_changed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    effective = d.get("effective_on") or _day(event.occurred_at)
    _child_status(f, d["child_id"], d["status"], effective, "change")


def _on_child_joined(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["children"][d["child_id"]] = {
        "unborn": d.get("expected_on") is not None,
        "band": d.get("age_band"),
        "at_referral": None,
        "history": [[d.get("statutory_status", "none"), _day(event.occurred_at), "joined"]],
    }


def _on_adult_joined(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["adults"] = f.get("adults", 0) + 1


def _on_priority_changed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["priority"] = d["priority"]


def _on_episode_ended(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["ended"] = {"reason": d["reason"], "on": _day(event.occurred_at)}


def _on_entry_corrected(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    _correct(f, d)


def _on_family_plan_agreed(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["plans"].append(d["agreed_on"])


def _on_measures_recorded(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    stage = f"review-{d['month']}" if d["stage"] == "review" else d["stage"]
    f["measures"][stage] = {
        "on": d["measured_on"],
        "values": {m["code"]: m["value"] for m in d["measures"]},
    }


def _on_feedback_recorded(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["feedback"].append([d["source"], d["rating"], _day(event.occurred_at)])


def _on_service_purchased(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    f["purchases"].append([d["service"], d["cost_pence"], _day(event.occurred_at)])


def _on_joint_work_recorded(f: dict[str, Any], d: dict[str, Any], event: RecordedEvent) -> None:
    work = f["joint_work"].setdefault(d["work_id"], {"service": d["service"]})
    work[d["outcome"]] = _day(event.occurred_at)


_FOLDS: dict[str, Any] = {
    "ReferralReceived": _on_referral_received,
    "CaseImported": _on_case_imported,
    "ReferralAccepted": _on_referral_accepted,
    "ReferralRejected": _on_referral_rejected,
    "FamilyWaitlisted": _on_family_waitlisted,
    "KeyWorkerAllocated": _on_key_worker_allocated,
    "FirstMeetingHeld": _on_first_meeting_held,
    "GoalAgreed": _on_goal_agreed,
    "GoalsScored": _on_goals_scored,
    "ExtensionDecided": _on_extension_decided,
    "IntensivePhaseClosed": _on_intensive_phase_closed,
    "FamilyWithdrew": _on_family_withdrew,
    "FamilyTransferred": _on_family_transferred,
    "KeyWorkerChanged": _on_key_worker_changed,
    "FollowUpReviewScheduled": _on_follow_up_review_scheduled,
    "FollowUpReviewCompleted": _on_follow_up_review_completed,
    "FollowUpReviewNotHeld": _on_follow_up_review_completed,
    "FollowUpReviewCancelled": _on_follow_up_review_completed,
    "FollowUpReviewOverdue": _on_follow_up_review_overdue,
    "BoosterScheduled": _on_booster_scheduled,
    "BoosterDelivered": _on_booster_delivered,
    "BoosterOverdue": _on_booster_overdue,
    "MaintenanceContactRecorded": _on_maintenance_contact_recorded,
    "ChildStatusChanged": _on_child_status_changed,
    "ChildJoined": _on_child_joined,
    "AdultJoined": _on_adult_joined,
    "PriorityChanged": _on_priority_changed,
    "EpisodeEnded": _on_episode_ended,
    "EntryCorrected": _on_entry_corrected,
    "FamilyPlanAgreed": _on_family_plan_agreed,
    "MeasuresRecorded": _on_measures_recorded,
    "FeedbackRecorded": _on_feedback_recorded,
    "ServicePurchased": _on_service_purchased,
    "JointWorkRecorded": _on_joint_work_recorded,
}


def _team(f: dict[str, Any], team_id: str) -> None:
    """The family's team now; the team it was referred to is kept once they differ."""
    if team_id != f.get("team_id"):
        f.setdefault("referral_team_id", f.get("team_id"))
        f["team_id"] = team_id


def _child_status(f: dict[str, Any], child_id: str, status: str, on: str, source: str) -> None:
    child = f["children"].setdefault(
        child_id, {"unborn": False, "at_referral": None, "history": []}
    )
    history = child["history"]
    if history and history[-1][0] == status:
        return  # a review that finds the status unchanged adds nothing
    history.append([status, on, source])
    history.sort(key=lambda h: h[1])


def _correct(f: dict[str, Any], d: dict[str, Any]) -> None:
    """A correction supersedes the fields it names of the entry at ``corrects_version``
    (each entry the report counts keeps its version as ``v``)."""
    fields = _CORRECTED.get(d["corrects_type"])
    if fields is None:
        return
    version = d["corrects_version"]
    target: dict[str, Any] | None
    if d["corrects_type"] == "ReferralReceived":
        target = f if f.get("v") == version else None
    else:
        kept = f["goals"] if d["corrects_type"] == "GoalAgreed" else f["reviews"]
        target = next((x for x in kept.values() if x.get("v") == version), None)
    if target is None:
        return
    for change in d["changes"]:
        name = fields.get(change["field"])
        if name is not None:
            target[name] = change["value"]


class EpisodeOutcomes(KeyedProjection):
    name: ClassVar[str] = "episode_outcomes"
    tables: ClassVar[tuple[str, ...]] = ("episode_outcomes",)
    handles: ClassVar[frozenset[str]] = OUTCOME_EVENTS
    key: ClassVar[tuple[str, ...]] = ("case_id",)
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "team_id",
        "referral_team_id",
        "area",
        "referred_on",
        "facts",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        case_id = case_of(event.stream_id)
        return (case_id,) if case_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        if row is None:
            case_id = case_of(event.stream_id)
            assert case_id is not None
            row = {"case_id": case_id, "facts": new_facts(case_id)}
        fold_facts(row["facts"], event)
        return row

    def loaded(self, record: Any) -> Row:
        return {"case_id": record["case_id"], "facts": orjson.loads(record["facts"])}

    def stored(self, row: Row) -> tuple[Any, ...]:
        facts = row["facts"]
        return (
            facts["case_id"],
            facts.get("team_id"),
            facts.get("referral_team_id", facts.get("team_id")),
            facts.get("area"),
            day_of(facts.get("referred_on")),
            orjson.dumps(facts).decode(),
        )
