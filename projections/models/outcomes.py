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
    ev.SessionRecorded,
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


def _day(moment: datetime) -> str:
    return local_day(moment).isoformat()


def new_facts(case_id: str) -> dict[str, Any]:
    """An episode with nothing recorded yet (an as-of fold of a case not yet referred)."""
    return {
        "case_id": case_id,
        "referred_on": None,
        "goals": {},
        "reviews": {},
        "children": {},
        "entries": {},
        "sessions": 0,
        "boosters_scheduled": 0,
        "boosters_delivered": 0,
        "boosters_lapsed": 0,
        "maintenance_contacts": 0,
        "handovers": 0,
        "transfers": 0,
        "adults": 0,
        "programme": "ifss",
        "plans": [],
        "measures": {},
        "feedback": [],
        "purchases": [],
        "joint_work": {},
    }


def fold_facts(f: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
    """The episode's facts after ``event`` (``f`` is changed in place and returned)."""
    t, d, at = event.type, event.data, event.occurred_at
    if t == "ReferralReceived":
        f.update(
            family_id=d["family_id"],
            team_id=d["team_id"],
            referral_team_id=d["team_id"],
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
        )
        for child in d.get("children") or []:
            f["children"][child["child_id"]] = {
                "unborn": child.get("expected_on") is not None,
                "at_referral": child.get("statutory_status", "none"),
                "history": [[child.get("statutory_status", "none"), d["received_on"], "referral"]],
            }
        f["entries"][str(event.stream_version)] = ["ReferralReceived", None]
    elif t == "CaseImported":
        f.update(imported=True, source_system=d["source_system"])
    elif t == "ReferralAccepted":
        f.update(decision="accepted", decided_at=at.isoformat(), decided_on=_day(at))
    elif t == "ReferralRejected":
        f.update(
            decision="rejected",
            decided_at=at.isoformat(),
            decided_on=_day(at),
            rejection_reason=d["reason"],
            rejected_by_rule=d.get("rule"),
        )
    elif t == "FamilyWaitlisted":
        f.setdefault("waitlisted_on", _day(at))
    elif t == "KeyWorkerAllocated":
        f.setdefault("allocated_on", _day(at))
        f["team_id"] = d["team_id"]
    elif t == "FirstMeetingHeld":
        f.update(first_meeting_at=d["held_at"])
    elif t == "GoalAgreed":
        f["goals"][d["goal_id"]] = {
            "category": d["category"],
            "baseline": d["baseline"],
            "target": d["target"],
            "agreed_on": _day(at),
            "closing": None,
            "reviews": {},
        }
        f["entries"][str(event.stream_version)] = ["GoalAgreed", d["goal_id"]]
    elif t == "SessionRecorded":
        f["sessions"] += 1
    elif t == "GoalsScored":
        for s in d["scores"]:
            goal = f["goals"].get(s["goal_id"])
            if goal is not None and d["stage"] == "closing":
                goal["closing"] = s["score"]
    elif t == "ExtensionDecided":
        if d["approved"]:
            f["extended"] = True
    elif t == "IntensivePhaseClosed":
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
    elif t == "FamilyWithdrew":
        f["withdrawn"] = {"reason": d["reason"], "on": _day(at)}
    elif t == "FamilyTransferred":
        f["team_id"] = d["team_id"]
        f["transfers"] += 1
    elif t == "KeyWorkerChanged":
        f["handovers"] += 1
    elif t == "FollowUpReviewScheduled":
        f["reviews"][str(d["month"])] = {"status": "scheduled", "due_on": d["due_on"]}
        f.setdefault("review_ids", {})[d["review_id"]] = str(d["month"])
    elif t in ("FollowUpReviewCompleted", "FollowUpReviewNotHeld", "FollowUpReviewCancelled"):
        month = str(d["month"])
        review = f["reviews"].setdefault(month, {"due_on": None})
        review["on"] = _day(at)
        if t == "FollowUpReviewCompleted":
            review.update(
                status="held",
                together=d["family_staying_together"],
                substance=d["substance_use_status"],
            )
            for r in d.get("ratings") or []:
                goal = f["goals"].get(r["goal_id"])
                if goal is not None:
                    goal["reviews"][month] = {"rating": r["rating"], "score": r.get("score")}
            for c in d.get("children_statuses") or []:
                _child_status(f, c["child_id"], c["status"], review["on"], "review")
            f["entries"][str(event.stream_version)] = ["FollowUpReviewCompleted", month]
        elif t == "FollowUpReviewNotHeld":
            review.update(status="not_held", reason=d["reason"])
        else:
            review.update(status="cancelled", reason=d["reason"])
    elif t == "FollowUpReviewOverdue":
        review = f["reviews"].get(f.get("review_ids", {}).get(d["review_id"], ""))
        if review is not None and review.get("status") == "scheduled":
            review["status"] = "overdue"
    elif t == "BoosterScheduled":
        f["boosters_scheduled"] += 1
    elif t == "BoosterDelivered":
        f["boosters_delivered"] += 1
    elif t == "BoosterOverdue":
        f["boosters_lapsed"] += 1
    elif t == "MaintenanceContactRecorded":
        f["maintenance_contacts"] += 1
    elif t == "ChildStatusChanged":
        effective = d.get("effective_on") or _day(at)
        _child_status(f, d["child_id"], d["status"], effective, "change")
    elif t == "ChildJoined":
        f["children"][d["child_id"]] = {
            "unborn": d.get("expected_on") is not None,
            "at_referral": None,
            "history": [[d.get("statutory_status", "none"), _day(at), "joined"]],
        }
    elif t == "AdultJoined":
        f["adults"] += 1
    elif t == "PriorityChanged":
        f["priority"] = d["priority"]
    elif t == "EpisodeEnded":
        f["ended"] = {"reason": d["reason"], "on": _day(at)}
    elif t == "EntryCorrected":
        _correct(f, d)
    elif t == "FamilyPlanAgreed":
        f["plans"].append(d["agreed_on"])
    elif t == "MeasuresRecorded":
        stage = f"review-{d['month']}" if d["stage"] == "review" else d["stage"]
        f["measures"][stage] = {
            "on": d["measured_on"],
            "values": {m["code"]: m["value"] for m in d["measures"]},
        }
    elif t == "FeedbackRecorded":
        f["feedback"].append([d["source"], d["rating"], _day(at)])
    elif t == "ServicePurchased":
        f["purchases"].append([d["service"], d["cost_pence"], _day(at)])
    elif t == "JointWorkRecorded":
        work = f["joint_work"].setdefault(d["work_id"], {"service": d["service"]})
        work[d["outcome"]] = _day(at)
    f["last_version"] = event.stream_version
    f["recorded_at"] = event.recorded_at.isoformat()
    return f


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
    entry = f["entries"].get(str(d["corrects_version"]))
    fields = _CORRECTED.get(d["corrects_type"])
    if entry is None or fields is None:
        return
    kind, about = entry
    if kind == "ReferralReceived":
        target = f
    elif kind == "GoalAgreed":
        target = f["goals"].get(about)
    else:
        target = f["reviews"].get(about)
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
        "area",
        "referred_on",
        "facts",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        case_id = case_of(event.stream_id)
        return (case_id,) if case_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        case_id = case_of(event.stream_id)
        assert case_id is not None
        if row is None:
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
            facts.get("area"),
            day_of(facts.get("referred_on")),
            orjson.dumps(facts).decode(),
        )
