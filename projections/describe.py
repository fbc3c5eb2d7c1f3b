"""Each event in plain English, for the supervisor's timeline.

Only coded fields are used: nothing from an event's ``personal`` parts (names, notes)
reaches a description, so the timeline can be shown, exported and kept without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from events.records import RecordedEvent

ROLE_WORDS = {
    "case_manager": "Key worker",
    "supervisor": "Supervisor",
    "business_support": "Business support",
    "auditor": "Auditor",
    "admin": "Administrator",
}


SESSION_WORDS = {
    "home_visit": "a home visit",
    "phone": "a phone call",
    "out_of_hours": "an out-of-hours visit",
    "group": "a group session",
}


def words(code: object) -> str:
    """``home_visit`` → ``home visit``."""
    return str(code).replace("_", " ")


def metadata_of(event: RecordedEvent) -> dict[str, Any]:
    meta: dict[str, Any] = orjson.loads(event.metadata_json)
    return meta


def who(meta: dict[str, Any]) -> str:
    actor = meta.get("actor") or {}
    role = actor.get("role", "system")
    if role == "system":
        return "The engine"
    return f"{ROLE_WORDS.get(role, words(role).capitalize())} {actor.get('id', '?')}"


def _day(value: str) -> str:
    return value[:10]


def _when(value: str) -> str:
    return value[:16].replace("T", " ")


def _scores(scores: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['goal_id']} {s['score']}/10" for s in scores)


Describer = Callable[[str, dict[str, Any]], str]

DESCRIBE: dict[str, Describer] = {
    "ReferralReceived": lambda w, d: (
        f"{w} recorded a referral from {words(d['referring_agency'])} "
        f"({', '.join(words(g) for g in d['referral_grounds'])}; "
        f"{len(d['children'])} child(ren), priority {d['priority']}, team {d['team_id']})"
        + (f"; re-referral after case {d['previous_case_id']}" if d.get("previous_case_id") else "")
    ),
    "CaseImported": lambda w, d: (
        f"{w} imported the case from {d['source_system']} (record {d['source_record']}), "
        f"where it had reached {words(d['phase'])}; what follows is its history there"
    ),
    "ReferralAccepted": lambda w, d: f"{w} accepted the referral",
    "ReferralRejected": lambda w, d: (
        f"{w} rejected the referral: {words(d['reason'])}"
        + (f" (by the rule {d['rule']})" if d.get("rule") else "")
    ),
    "FamilyWithdrew": lambda w, d: (
        f"{w} recorded that the family withdrew before the work began: {words(d['reason'])}"
    ),
    "FamilyWaitlisted": lambda w, d: (
        f"No key worker had space: waitlisted at position {d['position']} "
        f"(priority {d['priority']})"
    ),
    "KeyWorkerAllocated": lambda w, d: (
        f"Key worker {d['key_worker_id']} allocated"
        + (" from the waitlist" if d.get("from_waitlist") else "")
    ),
    "FollowUpReviewMoveRequested": lambda w, d: (
        f"{w} asked to move review {d['review_id']} to {_day(d['due_on'])}"
    ),
    "FollowUpReviewMoveDecided": lambda w, d: (
        f"{w} {'approved' if d['approved'] else 'refused'} moving review {d['review_id']} "
        f"to {_day(d['due_on'])}"
    ),
    "EntryCorrected": lambda w, d: (
        f"{w} corrected entry {d['corrects_version']} ({d['corrects_type']}): "
        + ", ".join(f"{c['field']} is {c['value']}" for c in d["changes"])
        + f" ({words(d['reason'])})"
    ),
    "KeyWorkerChanged": lambda w, d: (
        f"{w} handed the family from key worker {d['previous_key_worker_id']} to "
        f"{d['key_worker_id']}: {words(d['reason'])}"
    ),
    "AllocationWithdrawn": lambda w, d: (
        f"Key worker {d['previous_key_worker_id']} left before the first meeting and nobody "
        f"had space: back on the waitlist at position {d['position']} (priority {d['priority']})"
    ),
    "AllocationRetained": lambda w, d: (
        f"The family had met key worker {d['key_worker_id']} before the waitlist return "
        "reached it: it stays with them"
    ),
    "FamilyTransferred": lambda w, d: (
        f"{w} moved the family from team {d['from_team_id']} to team {d['team_id']} "
        f"({words(d['reason'])}): "
        + (
            f"key worker {d['key_worker_id']}"
            if d.get("key_worker_id")
            else f"waitlisted at position {d.get('position')}"
        )
    ),
    "KeyWorkerCoverArranged": lambda w, d: (
        f"Key worker {d['cover_key_worker_id']} covers the family's key worker until "
        f"{_day(d['until'])}"
    ),
    "KeyWorkerCoverEnded": lambda w, d: f"Cover by {d['cover_key_worker_id']} ended",
    "FirstMeetingHeld": lambda w, d: f"{w} held the first meeting on {_when(d['held_at'])}",
    "FirstMeetingOverdue": lambda w, d: (
        f"First meeting overdue: it was due by {_when(d['due_at'])}"
    ),
    "GoalAgreed": lambda w, d: (
        f"{w} agreed goal {d['goal_id']} ({words(d['category'])}), "
        f"baseline {d['baseline']}/10, target {d['target']}/10"
    ),
    "SessionRecorded": lambda w, d: (
        f"{w} recorded {SESSION_WORDS.get(d['kind'], words(d['kind']))}, "
        f"{d['duration_minutes']} min, on {_when(d['held_at'])}"
    ),
    "NoContactThresholdPassed": lambda w, d: (
        f"No contact for {d['days']} days (last on {_day(d['last_contact_at'])})"
    ),
    "GoalsScored": lambda w, d: f"{w} scored goals ({words(d['stage'])}): {_scores(d['scores'])}",
    "ExtensionRequested": lambda w, d: (
        f"{w} requested a {d['days']}-day extension of the intensive phase"
    ),
    "ExtensionDecided": lambda w, d: (
        f"{w} approved a {d['days']}-day extension (now ends {d['new_end_on']})"
        if d["approved"]
        else f"{w} refused the extension"
    ),
    "IntensivePhaseEndApproaching": lambda w, d: (
        f"Intensive phase at day {d['day']}: it ends on {d['ends_on']}"
    ),
    "IntensivePhaseOverrun": lambda w, d: (
        f"Intensive phase overran its end ({d['ends_on']}) without an approved extension"
    ),
    "IntensivePhaseClosed": lambda w, d: (
        f"{w} closed the intensive phase on {d['closed_on']} ({d['kind']}"
        + (f": {words(d['unplanned_reason'])}" if d.get("unplanned_reason") else "")
        + ")"
        + (f"; closing scores {_scores(d['closing_scores'])}" if d.get("closing_scores") else "")
        + (
            f"; onward referrals: {', '.join(words(a) for a in d['onward_referrals'])}"
            if d.get("onward_referrals")
            else ""
        )
        + (
            "; transferred to less formal services"
            if d.get("transferred_to_less_formal_services")
            else ""
        )
    ),
    "FollowUpReviewScheduled": lambda w, d: (
        f"{d['month']}-month review {d['review_id']} scheduled for {d['due_on']}"
    ),
    "FollowUpReviewRescheduled": lambda w, d: (
        f"{w} moved review {d['review_id']} from {d['previous_due_on']} to {d['due_on']}"
    ),
    "FollowUpReviewApproaching": lambda w, d: (
        f"Review {d['review_id']} is due in {d['days']} days or less ({d['due_on']})"
    ),
    "FollowUpReviewDue": lambda w, d: f"Review {d['review_id']} is due today ({d['due_on']})",
    "FollowUpReviewOverdue": lambda w, d: (
        f"Review {d['review_id']} overdue: due {d['due_on']}, {d['grace_days']} days' grace passed"
    ),
    "FollowUpReviewCompleted": lambda w, d: (
        f"{w} completed the {d['month']}-month review: "
        + ", ".join(f"{r['goal_id']} {words(r['rating'])}" for r in d["ratings"])
        + ("; family together" if d["family_staying_together"] else "; family not together")
        + f"; substance use {words(d['substance_use_status'])}"
        + "".join(
            f"; child {c['child_id']} {c['status'].upper()}" for c in d.get("children_statuses", [])
        )
    ),
    "FollowUpReviewNotHeld": lambda w, d: (
        f"{w} recorded that the {d['month']}-month review was not held: {words(d['reason'])}"
    ),
    "FollowUpReviewCancelled": lambda w, d: (
        f"The {d['month']}-month review was cancelled: {words(d['reason'])}"
    ),
    "MaintenanceContactRecorded": lambda w, d: (
        f"{w} kept in touch with the family: {words(d['kind'])} on {_when(d['held_at'])}"
    ),
    "FamilyPlanAgreed": lambda w, d: (
        f"{w} recorded family plan {d['plan_id']}, agreed on {d['agreed_on']}"
    ),
    "MeasuresRecorded": lambda w, d: (
        f"{w} recorded outcome measures at "
        + (f"the {d['month']}-month review" if d.get("month") else words(d["stage"]))
        + f" ({d['measured_on']}): "
        + ", ".join(f"{words(m['code'])} {m['value']}" for m in d.get("measures", []))
    ),
    "FeedbackRecorded": lambda w, d: (
        f"{w} recorded feedback {d['feedback_id']} from the {words(d['source'])}: "
        f"{words(d['rating'])}"
    ),
    "ServicePurchased": lambda w, d: (
        f"{w} recorded spot purchase {d['purchase_id']}: {words(d['service'])} from "
        f"{d['provider']}, £{d['cost_pence'] / 100:,.2f}"
    ),
    "JointWorkRecorded": lambda w, d: (
        f"{w} recorded joint work {d['work_id']} to reach {words(d['service'])}: "
        f"{words(d['outcome'])}"
    ),
    "BoosterScheduled": lambda w, d: (
        f"Booster {d['booster_id']} "
        + ("scheduled" if d.get("review_id") else "offered")
        + f" for {', '.join(d['goal_ids'])} by {d['due_by']}"
    ),
    "BoosterDelivered": lambda w, d: (
        f"{w} delivered booster {d['booster_id']} on {_when(d['delivered_at'])}"
    ),
    "BoosterOverdue": lambda w, d: f"Booster {d['booster_id']} not delivered by {d['due_by']}",
    "PriorityChanged": lambda w, d: (
        f"{w} changed the family's priority from {d['previous']} to {d['priority']}"
    ),
    "ChildJoined": lambda w, d: (
        f"{w} added child {d['child_id']} to the family"
        + (f", expected on {d['expected_on']}" if d.get("expected_on") else "")
        + f" (status {words(d['statutory_status'])})"
    ),
    "AdultJoined": lambda w, d: (
        f"{w} added adult {d['person_id']} to the family ({words(d['relationship'])})"
    ),
    "ChildStatusChanged": lambda w, d: (
        f"{w} changed child {d['child_id']}'s status from "
        f"{d['previous_status'].upper()} to {d['status'].upper()}"
        + (f", from {d['effective_on']}" if d.get("effective_on") else "")
    ),
    "ConsentRecorded": lambda w, d: (
        f"{w} recorded consent to {words(d['scope'])}"
        + (f" given by {d['given_by_person_id']}" if d.get("given_by_person_id") else "")
    ),
    "ConsentWithdrawn": lambda w, d: (
        f"{w} recorded that consent to {words(d['scope'])} was withdrawn"
        + (f" by {d['withdrawn_by_person_id']}" if d.get("withdrawn_by_person_id") else "")
    ),
    "EpisodeEnded": lambda w, d: f"Episode ended: {words(d['reason'])}",
    "AlertRaised": lambda w, d: (
        f"Alert {d['alert_id']} ({d['severity']}): {words(d['rule'])}"
        + (f" ({d['subject']})" if d.get("subject") else "")
        + " — to "
        + " and ".join(
            x
            for x in (
                f"key worker {d['to_key_worker']}" if d.get("to_key_worker") else "",
                f"{d['to_supervisors_of_team']} supervisors"
                if d.get("to_supervisors_of_team")
                else "",
            )
            if x
        )
    ),
    "AlertAcknowledged": lambda w, d: f"{w} acknowledged alert {d['alert_id']}",
    "AlertRedirected": lambda w, d: f"Alert {d['alert_id']} now goes to {d['to_key_worker']}",
    "AlertResolved": lambda w, d: f"Alert {d['alert_id']} resolved: {words(d['resolution'])}",
    "AlertEscalated": lambda w, d: (
        f"Alert {d['alert_id']} escalated to {d['to_supervisors_of_team']} supervisors: "
        f"{words(d['reason'])}"
    ),
    "AlertDelivered": lambda w, d: (
        f"Alert {d['alert_id']} {'escalation ' if d.get('escalation') else ''}delivered to "
        f"{d['recipient']} by {d['channel']}"
        + (f" after {d['attempts']} attempts" if d.get("attempts", 1) > 1 else "")
    ),
    "AlertDeliveryFailed": lambda w, d: (
        f"Alert {d['alert_id']} could not be delivered to {d['recipient']} by {d['channel']}"
    ),
}


def sentence(type_name: str, data: dict[str, Any], actor: dict[str, Any]) -> str:
    """One sentence for an event of ``type_name`` with payload ``data`` (current schema
    version) done by ``actor`` (``{"id": ..., "role": ...}``); falls back to the summary."""
    describer = DESCRIBE.get(type_name)
    if describer is None:
        from events.catalogue import event_class

        return event_class(type_name).summary
    return describer(who({"actor": actor}), data)
