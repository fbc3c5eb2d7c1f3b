"""Alert rules, pure: which alerts the events just decided raise, and which they clear.

Each rule reacts to a fact the lifecycle already records (a deadline event, a closure, a
status change), so an alert is raised exactly once per occurrence: it is decided with the
events that cause it and appended with them, never again by a retry or a replay. Clearing
facts (the meeting happened, a session took place, the review was completed) resolve the
open alert, so nobody is reminded about a problem that is gone.

Escalation is a deadline (``acknowledge_by``) in ``workflows.lifecycle``; the family
waitlisted too long is the team workflow's rule (``workflows.team``); delivery is
``workflows.delivery``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.policy import ProgrammePolicy
from events.vocabulary import (
    STATUS_RANK,
    AlertResolution,
    AlertRule,
    AlertSeverity,
    ClosureKind,
)

SEVERITY = {
    AlertRule.FIRST_MEETING_OVERDUE: AlertSeverity.HIGH,
    AlertRule.NO_CONTACT: AlertSeverity.HIGH,
    AlertRule.INTENSIVE_ENDING: AlertSeverity.LOW,
    AlertRule.INTENSIVE_OVERRUN: AlertSeverity.MEDIUM,
    AlertRule.REVIEW_OVERDUE: AlertSeverity.MEDIUM,
    AlertRule.GOAL_REGRESSED: AlertSeverity.MEDIUM,
    AlertRule.UNPLANNED_EXIT: AlertSeverity.MEDIUM,
    AlertRule.CHILD_STATUS_ESCALATED: AlertSeverity.HIGH,
    AlertRule.CONSENT_WITHDRAWN: AlertSeverity.MEDIUM,
    AlertRule.REVIEW_DUE_SOON: AlertSeverity.LOW,
    AlertRule.BOOSTER_OVERDUE: AlertSeverity.MEDIUM,
    AlertRule.WAITLISTED_TOO_LONG: AlertSeverity.MEDIUM,
}
# Rules a supervisor is told about too (the rest go to the key worker).
TO_SUPERVISORS = {
    AlertRule.INTENSIVE_OVERRUN,
    AlertRule.UNPLANNED_EXIT,
    AlertRule.CHILD_STATUS_ESCALATED,
    AlertRule.CONSENT_WITHDRAWN,
    AlertRule.WAITLISTED_TOO_LONG,
}


class OpenAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_id: str
    rule: AlertRule
    subject: str | None = None
    to_key_worker: str | None = None
    to_supervisors: bool = False
    severity: AlertSeverity | None = None
    acknowledge_by: datetime | None = None
    acknowledged: bool = False
    escalated: bool = False


def severity_of(policy: ProgrammePolicy, rule: AlertRule) -> AlertSeverity:
    """The rule's severity, unless the policy overrides it."""
    return policy.alert_severity.get(rule, SEVERITY[rule])


def escalates(policy: ProgrammePolicy, alert: OpenAlert) -> bool:
    """Whether ``alert`` goes up to the supervisors if nobody acknowledges it in time: not
    when they have it already, and not for the severities the policy leaves as reminders."""
    return (
        not alert.to_supervisors
        and not alert.acknowledged
        and not alert.escalated
        and alert.acknowledge_by is not None
        and alert.severity in policy.escalate_severities
    )


def ack_window(policy: ProgrammePolicy, severity: AlertSeverity) -> timedelta:
    hours = {
        AlertSeverity.HIGH: policy.alert_ack_hours_high,
        AlertSeverity.MEDIUM: policy.alert_ack_hours_medium,
        AlertSeverity.LOW: policy.alert_ack_hours_low,
    }[severity]
    return timedelta(hours=hours)


def triggers(event: DomainEvent) -> tuple[AlertRule, str | None] | None:
    """The rule ``event`` sets off, and its subject (None: no alert)."""
    match event:
        case ev.FirstMeetingOverdue():
            return AlertRule.FIRST_MEETING_OVERDUE, None
        case ev.NoContactThresholdPassed():
            return AlertRule.NO_CONTACT, None
        case ev.IntensivePhaseEndApproaching():
            return AlertRule.INTENSIVE_ENDING, None
        case ev.IntensivePhaseOverrun():
            return AlertRule.INTENSIVE_OVERRUN, None
        case ev.FollowUpReviewOverdue():
            return AlertRule.REVIEW_OVERDUE, event.review_id
        case ev.FollowUpReviewApproaching():
            return AlertRule.REVIEW_DUE_SOON, event.review_id
        case ev.BoosterOverdue():
            return AlertRule.BOOSTER_OVERDUE, event.booster_id
        case ev.BoosterScheduled() if event.review_id is not None:  # not an offered one
            return AlertRule.GOAL_REGRESSED, event.booster_id
        case ev.IntensivePhaseClosed() if event.kind is ClosureKind.UNPLANNED:
            return AlertRule.UNPLANNED_EXIT, None
        case ev.ChildStatusChanged() if (
            STATUS_RANK[event.status] > STATUS_RANK[event.previous_status]
        ):
            return AlertRule.CHILD_STATUS_ESCALATED, event.child_id
        case ev.ConsentWithdrawn():
            return AlertRule.CONSENT_WITHDRAWN, event.scope.value
    return None


def clears(event: DomainEvent, alert: OpenAlert) -> bool:
    """Whether ``event`` means ``alert``'s condition no longer holds."""
    match event:
        # Met; or no key worker to meet any more; or a new deadline in another team.
        case ev.FirstMeetingHeld() | ev.AllocationWithdrawn() | ev.FamilyTransferred():
            return alert.rule is AlertRule.FIRST_MEETING_OVERDUE
        case ev.SessionRecorded():
            return alert.rule is AlertRule.NO_CONTACT
        case ev.ExtensionDecided() if event.approved:
            return alert.rule in (AlertRule.INTENSIVE_ENDING, AlertRule.INTENSIVE_OVERRUN)
        case ev.IntensivePhaseClosed():
            return alert.rule in (
                AlertRule.NO_CONTACT,
                AlertRule.INTENSIVE_ENDING,
                AlertRule.INTENSIVE_OVERRUN,
            )
        case (
            ev.FollowUpReviewCompleted()
            | ev.FollowUpReviewNotHeld()
            | ev.FollowUpReviewCancelled()
            | ev.FollowUpReviewRescheduled()
        ):
            return (
                alert.rule in (AlertRule.REVIEW_OVERDUE, AlertRule.REVIEW_DUE_SOON)
                and alert.subject == event.review_id
            )
        case ev.BoosterDelivered():
            return (
                alert.rule in (AlertRule.GOAL_REGRESSED, AlertRule.BOOSTER_OVERDUE)
                and alert.subject == event.booster_id
            )
        case ev.ConsentRecorded():
            return alert.rule is AlertRule.CONSENT_WITHDRAWN and alert.subject == event.scope
    return False


def supersedes(event: DomainEvent, alert: OpenAlert) -> bool:
    """Whether ``event`` raises a graver alert about the same thing (the reminder that a
    review is coming is replaced by the alert that it is overdue)."""
    return (
        isinstance(event, ev.FollowUpReviewOverdue)
        and alert.rule is AlertRule.REVIEW_DUE_SOON
        and alert.subject == event.review_id
    )


def alerts_for(
    events: list[DomainEvent],
    *,
    open_alerts: dict[str, OpenAlert],
    raised_so_far: int,
    key_worker_id: str | None,
    team_id: str | None,
    policy: ProgrammePolicy,
    at: datetime,
    quiet: bool = False,
) -> list[DomainEvent]:
    """The ``AlertRaised`` / ``AlertResolved`` events that follow from ``events``
    (``quiet``: raised for items overdue at an import, not to be delivered)."""
    out: list[DomainEvent] = []
    still_open = dict(open_alerts)
    raised = raised_so_far
    for event in events:
        if isinstance(event, ev.EpisodeEnded):
            for alert_id in list(still_open):
                out.append(
                    ev.AlertResolved(alert_id=alert_id, resolution=AlertResolution.EPISODE_ENDED)
                )
                del still_open[alert_id]
            continue
        for alert_id, alert in list(still_open.items()):
            if clears(event, alert) or supersedes(event, alert):
                resolution = (
                    AlertResolution.SUPERSEDED
                    if supersedes(event, alert)
                    else AlertResolution.CONDITION_CLEARED
                )
                out.append(ev.AlertResolved(alert_id=alert_id, resolution=resolution))
                del still_open[alert_id]
        fired = triggers(event)
        if fired is None:
            continue
        rule, subject = fired
        raised += 1
        alert_id = f"a{raised}"
        severity = severity_of(policy, rule)
        to_worker = key_worker_id if rule not in TO_SUPERVISORS or key_worker_id else None
        out.append(
            ev.AlertRaised(
                alert_id=alert_id,
                rule=rule,
                severity=severity,
                subject=subject,
                to_key_worker=to_worker,
                to_supervisors_of_team=team_id if rule in TO_SUPERVISORS or not to_worker else None,
                acknowledge_by=at + ack_window(policy, severity),
                quiet=quiet,
            )
        )
        still_open[alert_id] = OpenAlert(
            alert_id=alert_id, rule=rule, subject=subject, severity=severity
        )
    return out
