"""Evolving: the state after an event."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.vocabulary import (
    ConsentScope,
    ScoringStage,
)
from workflows.alerts import OpenAlert
from workflows.lifecycle.copying import fork
from workflows.lifecycle.corrections import entry_of
from workflows.lifecycle.state import (
    Booster,
    CaseState,
    Extension,
    Goal,
    Phase,
    Review,
    ReviewStatus,
    day_of,
    measure_key,
)


def evolve(state: CaseState, event: DomainEvent, at: datetime) -> CaseState:
    """The state after ``event``, which occurred at ``at``. Returns a new state."""
    return evolve_all(state, [(event, at)])


def evolve_all(state: CaseState, recorded: Iterable[tuple[DomainEvent, datetime]]) -> CaseState:
    """The state after each event in turn (at its time): a new state, copied once."""
    s = fork(state)
    for event, at in recorded:
        _change(s, event, at)
    return s


def _change(s: CaseState, event: DomainEvent, at: datetime) -> None:
    """Apply ``event`` to ``s`` in place (a copy only ``evolve_all`` holds)."""
    s.version += 1
    if s.corrections and (entry := entry_of(event)) is not None:
        s.entries[s.version] = entry
    match event:
        case ev.ReferralReceived():
            s.phase = Phase.REFERRED
            s.family_id, s.team_id, s.priority = event.family_id, event.team_id, event.priority
            s.referred_on, s.previous_case_id = event.received_on, event.previous_case_id
            s.children = {c.child_id: c.statutory_status for c in event.children}
            s.adults = [a.person_id for a in event.adults]
            s.consents = {
                ConsentScope.REFERRAL: event.consent_to_referral,
                ConsentScope.INFORMATION_SHARING: event.consent_to_information_sharing,
                ConsentScope.FOLLOW_UP: event.consent_to_follow_up,
            }
            s.programme = event.programme
        case ev.ReferralAccepted():
            s.phase, s.accepted_at = Phase.ACCEPTED, at
        case ev.FamilyWaitlisted():
            s.phase, s.waitlist_position = Phase.WAITLISTED, event.position
        case ev.KeyWorkerAllocated():
            s.phase, s.key_worker_id, s.allocated_at = Phase.ALLOCATED, event.key_worker_id, at
            s.waitlist_position = None
            s.first_meeting_due_at = event.first_meeting_due_at
        case ev.KeyWorkerChanged():
            s.key_worker_id = event.key_worker_id
            s.cover_key_worker_id = s.cover_until = None  # the cover was for the previous one
        case ev.AllocationWithdrawn():
            s.phase, s.key_worker_id, s.allocated_at = Phase.WAITLISTED, None, None
            s.waitlist_position, s.priority = event.position, event.priority
            s.first_meeting_due_at, s.first_meeting_overdue = None, False
            s.cover_key_worker_id = s.cover_until = None
        case ev.FamilyTransferred():
            s.team_id, s.key_worker_id = event.team_id, event.key_worker_id
            s.cover_key_worker_id = s.cover_until = None
            if s.phase is not Phase.INTENSIVE:
                waiting = event.key_worker_id is None
                s.phase = Phase.WAITLISTED if waiting else Phase.ALLOCATED
                s.waitlist_position = event.position
                s.allocated_at = None if waiting else at
                s.first_meeting_due_at = event.first_meeting_due_at
                s.first_meeting_overdue = False
        case ev.KeyWorkerCoverArranged():
            s.cover_key_worker_id, s.cover_until = event.cover_key_worker_id, event.until
        case ev.KeyWorkerCoverEnded():
            s.cover_key_worker_id = s.cover_until = None
        case ev.EntryCorrected():
            entry = s.entries.get(event.corrects_version)
            if entry is not None and entry.type == "GoalAgreed" and entry.about in s.goals:
                goal = s.goals[entry.about]
                changed = {change.field: change.value for change in event.changes}
                s.goals[entry.about] = Goal.model_validate({**goal.model_dump(), **changed})
        case ev.AlertRedirected():
            if event.alert_id in s.open_alerts:
                s.open_alerts[event.alert_id].to_key_worker = event.to_key_worker
        case ev.FirstMeetingOverdue():
            s.first_meeting_overdue = True
        case ev.FirstMeetingHeld():
            s.phase, s.first_meeting_at, s.last_contact_at = (
                Phase.INTENSIVE,
                event.held_at,
                event.held_at,
            )
            s.intensive_started_on = day_of(s, event.held_at)
            s.intensive_ends_on = event.intensive_ends_on
        case ev.GoalAgreed():
            s.goals[event.goal_id] = Goal(
                goal_id=event.goal_id,
                category=event.category,
                baseline=event.baseline,
                target=event.target,
            )
        case ev.SessionRecorded():
            s.session_ids.add(event.session_id)
            if s.last_contact_at is None or event.held_at > s.last_contact_at:
                s.last_contact_at = event.held_at
        case ev.NoContactThresholdPassed():
            s.no_contact_flagged_for = event.last_contact_at
        case ev.GoalsScored():
            for score in event.scores:
                s.goals[score.goal_id].latest_score = score.score
                if event.stage is ScoringStage.CLOSURE:
                    s.goals[score.goal_id].closing_score = score.score
        case ev.ExtensionRequested():
            s.extensions[event.request_id] = Extension(request_id=event.request_id, days=event.days)
        case ev.ExtensionDecided():
            s.extensions[event.request_id].approved = event.approved
            if event.approved and event.new_end_on is not None:
                s.intensive_ends_on = event.new_end_on
        case ev.IntensivePhaseEndApproaching():
            s.warning_flagged = True
        case ev.IntensivePhaseOverrun():
            s.overrun_flagged_for = event.ends_on
        case ev.IntensivePhaseClosed():
            s.phase, s.closed_on, s.closure_kind = Phase.FOLLOW_UP, event.closed_on, event.kind
            for score in event.closing_scores:
                s.goals[score.goal_id].closing_score = score.score
                s.goals[score.goal_id].latest_score = score.score
        case ev.FollowUpReviewScheduled():
            s.reviews[event.review_id] = Review(
                review_id=event.review_id,
                month=event.month,
                due_on=event.due_on,
                statutory_on=event.due_on,
            )
        case ev.FollowUpReviewMoveRequested():
            s.reviews[event.review_id].move_requested_to = event.due_on
        case ev.FollowUpReviewMoveDecided():
            s.reviews[event.review_id].move_requested_to = None
        case ev.FollowUpReviewRescheduled():
            review = s.reviews[event.review_id]
            review.due_on, review.status, review.rescheduled = (
                event.due_on,
                ReviewStatus.SCHEDULED,
                True,
            )
            review.move_requested_to = None
        case ev.FollowUpReviewApproaching():
            s.reviews[event.review_id].reminded_for = event.due_on
        case ev.FollowUpReviewDue():
            s.reviews[event.review_id].status = ReviewStatus.DUE
        case ev.FollowUpReviewOverdue():
            s.reviews[event.review_id].status = ReviewStatus.OVERDUE
        case ev.FollowUpReviewCompleted():
            s.reviews[event.review_id].status = ReviewStatus.COMPLETED
        case ev.FollowUpReviewNotHeld():
            s.reviews[event.review_id].status = ReviewStatus.NOT_HELD
        case ev.FollowUpReviewCancelled():
            s.reviews[event.review_id].status = ReviewStatus.CANCELLED
        case ev.MaintenanceContactRecorded():
            s.contact_ids.add(event.contact_id)
        case ev.FamilyPlanAgreed():
            s.plan_ids.add(event.plan_id)
        case ev.MeasuresRecorded():
            s.measured.add(measure_key(event.stage, event.month))
        case ev.FeedbackRecorded():
            s.feedback_ids.add(event.feedback_id)
        case ev.ServicePurchased():
            s.purchase_ids.add(event.purchase_id)
        case ev.JointWorkRecorded():
            s.joint_work[event.work_id] = event.outcome
        case ev.BoosterScheduled():
            s.boosters[event.booster_id] = Booster(
                booster_id=event.booster_id, goal_ids=list(event.goal_ids), due_by=event.due_by
            )
        case ev.BoosterDelivered():
            s.boosters[event.booster_id].delivered_at = event.delivered_at
        case ev.BoosterOverdue():
            s.boosters[event.booster_id].overdue = True
        case ev.ChildStatusChanged():
            s.children[event.child_id] = event.status
        case ev.PriorityChanged():
            s.priority = event.priority
        case ev.ChildJoined():
            s.children[event.child_id] = event.statutory_status
        case ev.AdultJoined():
            s.adults.append(event.person_id)
        case ev.ConsentRecorded():
            if s.consent_per_person and event.given_by_person_id is not None:
                s.person_consents.setdefault(event.given_by_person_id, {})[event.scope] = True
            s.consents[event.scope] = not s.refusing(event.scope)
        case ev.ConsentWithdrawn():
            s.consents[event.scope] = False
            if s.consent_per_person and event.withdrawn_by_person_id is not None:
                person = s.person_consents.setdefault(event.withdrawn_by_person_id, {})
                person[event.scope] = False
        case ev.EpisodeEnded():
            s.phase, s.end_reason = Phase.ENDED, event.reason
        case ev.AlertRaised():
            s.alerts_raised += 1
            s.open_alerts[event.alert_id] = OpenAlert(
                alert_id=event.alert_id,
                rule=event.rule,
                subject=event.subject,
                to_key_worker=event.to_key_worker,
                to_supervisors=event.to_supervisors_of_team is not None,
                severity=event.severity,
                acknowledge_by=event.acknowledge_by,
            )
        case ev.AlertEscalated():
            if event.alert_id in s.open_alerts:
                s.open_alerts[event.alert_id].escalated = True
        case ev.AlertAcknowledged():
            if event.alert_id in s.open_alerts:
                s.open_alerts[event.alert_id].acknowledged = True
        case ev.AlertResolved():
            s.open_alerts.pop(event.alert_id, None)
