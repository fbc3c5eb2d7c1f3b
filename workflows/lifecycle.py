"""The lifecycle of one family's episode as pure rules, without I/O or Temporal.

* ``decide(state, command, now)`` returns the events a command causes, or raises
  ``CommandRejected`` naming the field and the rule (then nothing is recorded);
* ``evolve(state, event, at)`` returns the state after an event;
* ``due(state, now)`` returns the events that deadlines cause by ``now`` and
  ``next_wakeup(state)`` when the next deadline falls. Timers are derived from state, so
  rescheduling moves a timer and meeting a condition cancels it, with nothing to forget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from events import catalogue as ev
from events.calendar import add_months, add_working_days
from events.catalogue import DomainEvent
from events.policy import ProgrammePolicy
from events.vocabulary import (
    ClosureKind,
    ConsentScope,
    EpisodeEndReason,
    EscalationReason,
    GoalCategory,
    GoalRating,
    RejectionReason,
    Role,
    ScoringStage,
    StatutoryStatus,
)
from workflows import commands as cmd
from workflows.alerts import OpenAlert
from workflows.alerts import escalates as alert_escalates

# Why a command was refused: the actor may not do it (``forbidden``); the case's state or
# the clock is against it now, though the same command may succeed later (``conflict``);
# or it can never succeed as written (``invalid``).
RefusalKind = Literal["forbidden", "conflict", "invalid"]


class CommandRejected(Exception):
    """A command refused by the rules; nothing is recorded. Names the field and the rule."""

    def __init__(self, field: str, rule: str, kind: RefusalKind = "conflict") -> None:
        self.field = field
        self.rule = rule
        self.kind = kind
        super().__init__(f"{field}: {rule}")


class Phase(StrEnum):
    NEW = "new"
    REFERRED = "referred"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    ALLOCATED = "allocated"
    INTENSIVE = "intensive"
    FOLLOW_UP = "follow_up"
    ENDED = "ended"


class ReviewStatus(StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    OVERDUE = "overdue"
    COMPLETED = "completed"


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_id: str
    category: GoalCategory
    baseline: int
    target: int
    latest_score: int | None = None
    closing_score: int | None = None


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_id: str
    month: int
    due_on: date
    status: ReviewStatus = ReviewStatus.SCHEDULED
    rescheduled: bool = False
    reminded_for: date | None = None  # the due date a "due soon" reminder went out for


class Booster(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booster_id: str
    goal_ids: list[str]
    due_by: date
    delivered_at: datetime | None = None
    overdue: bool = False


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str
    days: int
    approved: bool | None = None


class CaseState(BaseModel):
    """Everything the rules need to know about one episode."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    policy: ProgrammePolicy
    phase: Phase = Phase.NEW
    version: int = 0
    family_id: str | None = None
    team_id: str | None = None
    priority: int = 3
    referred_on: date | None = None
    previous_case_id: str | None = None
    children: dict[str, StatutoryStatus] = {}
    adults: list[str] = []
    consents: dict[ConsentScope, bool] = {}
    accepted_at: datetime | None = None
    key_worker_id: str | None = None
    allocated_at: datetime | None = None
    waitlist_position: int | None = None
    first_meeting_due_at: datetime | None = None
    first_meeting_at: datetime | None = None
    first_meeting_overdue: bool = False
    last_contact_at: datetime | None = None
    no_contact_flagged_for: datetime | None = None
    intensive_started_on: date | None = None
    intensive_ends_on: date | None = None
    warning_flagged: bool = False
    overrun_flagged_for: date | None = None
    goals: dict[str, Goal] = {}
    session_ids: set[str] = set()
    extensions: dict[str, Extension] = {}
    closed_on: date | None = None
    closure_kind: ClosureKind | None = None
    reviews: dict[str, Review] = {}
    boosters: dict[str, Booster] = {}
    end_reason: EpisodeEndReason | None = None
    open_alerts: dict[str, OpenAlert] = {}
    alerts_raised: int = 0
    # Episodes started before these timers existed run (and replay) without them.
    alert_timers: bool = False
    # Likewise the rules that bound input against the case (set when first deciding).
    input_bounds: bool = False

    @property
    def ended(self) -> bool:
        return self.phase is Phase.ENDED

    def next_review(self) -> Review | None:
        """The earliest review not yet completed."""
        open_reviews = [r for r in self.reviews.values() if r.status is not ReviewStatus.COMPLETED]
        return min(open_reviews, key=lambda r: r.month, default=None)


def midnight(day: date) -> datetime:
    """Deadlines fall at the start of a day, UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


# --- deciding --------------------------------------------------------------------------


def _require_phase(state: CaseState, allowed: set[Phase], what: str) -> None:
    if state.phase not in allowed:
        names = " or ".join(sorted(p.value for p in allowed))
        raise CommandRejected(
            "phase", f"cannot {what} while the case is {state.phase.value} (needs {names})"
        )


def _require_role(command: cmd.Command, roles: set[Role], what: str) -> None:
    if command.actor.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise CommandRejected("actor.role", f"only {names} may {what}", "forbidden")


def _not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + timedelta(minutes=5):
        raise CommandRejected(field, "cannot be in the future")


# A date is "today" somewhere on Earth up to 14 hours ahead of UTC.
TODAY_SOMEWHERE = timedelta(hours=14)


DECIDERS = {Role.CASE_MANAGER, Role.SUPERVISOR}
PRACTITIONERS = {Role.CASE_MANAGER, Role.SUPERVISOR}
RECORDERS = {Role.CASE_MANAGER, Role.SUPERVISOR, Role.BUSINESS_SUPPORT}


def refer(
    state: CaseState, command: cmd.ReferFamily, previous_case_id: str | None, now: datetime
) -> list[DomainEvent]:
    """The first events of an episode; a referral without an eligible ground, or without
    consent, is received and then rejected with that reason."""
    _require_phase(state, {Phase.NEW}, "refer a family")
    _require_role(command, RECORDERS, "record a referral")
    if state.input_bounds and command.received_on > (now + TODAY_SOMEWHERE).date():
        raise CommandRejected("received_on", "cannot be in the future")
    received = ev.ReferralReceived(
        case_id=state.case_id,
        family_id=command.family_id,
        team_id=command.team_id,
        area=command.area,
        referring_agency=command.referring_agency,
        referral_grounds=command.referral_grounds,
        presenting_needs=command.presenting_needs,
        children=command.children,
        adults=command.adults,
        consent_to_referral=command.consent_to_referral,
        consent_to_information_sharing=command.consent_to_information_sharing,
        consent_to_follow_up=command.consent_to_follow_up,
        priority=command.priority,
        received_on=command.received_on,
        policy_version=state.policy.version,
        policy_digest=state.policy.digest,
        previous_case_id=previous_case_id,
        personal=command.personal,
    )
    events: list[DomainEvent] = [received]
    if not command.referral_grounds:
        reason = RejectionReason.NO_ELIGIBLE_GROUND
    elif not command.consent_to_referral:
        reason = RejectionReason.NO_CONSENT
    else:
        return events
    events += [
        ev.ReferralRejected(reason=reason),
        ev.EpisodeEnded(reason=EpisodeEndReason.REFERRAL_REJECTED),
    ]
    return events


def decide(state: CaseState, command: cmd.Command, now: datetime) -> list[DomainEvent]:
    """The events ``command`` causes in ``state`` at ``now``; raises ``CommandRejected``."""
    if state.phase is Phase.NEW:
        raise CommandRejected("case_id", f"no case {state.case_id} has been referred")
    if state.ended and isinstance(command, cmd.EscalateAlert):
        return []
    if state.ended and not isinstance(command, cmd.KeyWorkerAssigned | cmd.PlacedOnWaitlist):
        raise CommandRejected("phase", "the episode has ended; refer the family again instead")
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise CommandRejected("command", f"unknown command {type(command).__name__}")
    return handler(state, command, now)


def _accept(state: CaseState, c: cmd.AcceptReferral, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.REFERRED}, "accept a referral")
    _require_role(c, DECIDERS, "accept a referral")
    return [ev.ReferralAccepted()]


def _reject(state: CaseState, c: cmd.RejectReferral, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.REFERRED}, "reject a referral")
    _require_role(c, DECIDERS, "reject a referral")
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    return [
        ev.ReferralRejected(reason=c.reason, personal=personal),
        ev.EpisodeEnded(reason=EpisodeEndReason.REFERRAL_REJECTED),
    ]


def _assigned(state: CaseState, c: cmd.KeyWorkerAssigned, now: datetime) -> list[DomainEvent]:
    if state.phase not in {Phase.ACCEPTED, Phase.WAITLISTED}:
        return []  # the family left meanwhile; the team is told by the release
    assert state.team_id is not None
    return [
        ev.KeyWorkerAllocated(
            key_worker_id=c.key_worker_id,
            team_id=state.team_id,
            from_waitlist=c.from_waitlist,
            first_meeting_due_at=add_working_days(now, state.policy.first_meeting_working_days),
        )
    ]


def _waitlisted(state: CaseState, c: cmd.PlacedOnWaitlist, now: datetime) -> list[DomainEvent]:
    if state.phase is not Phase.ACCEPTED:
        return []
    assert state.team_id is not None
    return [ev.FamilyWaitlisted(team_id=state.team_id, priority=c.priority, position=c.position)]


def _first_meeting(state: CaseState, c: cmd.RecordFirstMeeting, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.ALLOCATED}, "record a first meeting")
    _require_role(c, PRACTITIONERS, "record a first meeting")
    _not_in_future(c.held_at, now, "held_at")
    if state.accepted_at is not None and c.held_at < state.accepted_at:
        raise CommandRejected("held_at", "cannot be before the referral was accepted")
    ends_on = c.held_at.date() + timedelta(days=state.policy.intensive_max_days)
    return [ev.FirstMeetingHeld(held_at=c.held_at, intensive_ends_on=ends_on)]


def _agree_goal(state: CaseState, c: cmd.AgreeGoal, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.INTENSIVE}, "agree a goal")
    _require_role(c, PRACTITIONERS, "agree a goal")
    if c.goal_id in state.goals:
        raise CommandRejected("goal_id", f"goal {c.goal_id} is already agreed")
    return [
        ev.GoalAgreed(
            goal_id=c.goal_id,
            category=c.category,
            baseline=c.baseline,
            target=c.target,
            personal=ev.NotesPersonal(notes=c.description),
        )
    ]


def _session(state: CaseState, c: cmd.RecordSession, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.INTENSIVE}, "record a session")
    _require_role(c, PRACTITIONERS, "record a session")
    _not_in_future(c.held_at, now, "held_at")
    if c.session_id in state.session_ids:
        raise CommandRejected("session_id", f"session {c.session_id} is already recorded")
    if state.first_meeting_at is not None and c.held_at < state.first_meeting_at:
        raise CommandRejected("held_at", "cannot be before the first meeting")
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    return [
        ev.SessionRecorded(
            session_id=c.session_id,
            held_at=c.held_at,
            kind=c.kind,
            duration_minutes=c.duration_minutes,
            personal=personal,
        )
    ]


def _known_goals(state: CaseState, scores: list[ev.GoalScore], field: str) -> None:
    for i, score in enumerate(scores):
        if score.goal_id not in state.goals:
            raise CommandRejected(f"{field}[{i}].goal_id", f"no goal {score.goal_id} in this case")


def _score(state: CaseState, c: cmd.ScoreGoals, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.INTENSIVE}, "score goals")
    _require_role(c, PRACTITIONERS, "score goals")
    _known_goals(state, c.scores, "scores")
    return [ev.GoalsScored(stage=c.stage, scores=c.scores)]


def _request_extension(
    state: CaseState, c: cmd.RequestExtension, now: datetime
) -> list[DomainEvent]:
    _require_phase(state, {Phase.INTENSIVE}, "request an extension")
    _require_role(c, PRACTITIONERS, "request an extension")
    if c.request_id in state.extensions:
        raise CommandRejected("request_id", f"extension request {c.request_id} already exists")
    granted = sum(x.days for x in state.extensions.values() if x.approved)
    if granted + c.days > state.policy.max_extension_days:
        raise CommandRejected(
            "days",
            f"extensions may add at most {state.policy.max_extension_days} days in all "
            f"({granted} already approved)",
        )
    return [
        ev.ExtensionRequested(
            request_id=c.request_id, days=c.days, personal=ev.NotesPersonal(notes=c.reason)
        )
    ]


def _decide_extension(state: CaseState, c: cmd.DecideExtension, now: datetime) -> list[DomainEvent]:
    _require_role(c, {Role.SUPERVISOR}, "decide an extension")
    _require_phase(state, {Phase.INTENSIVE}, "decide an extension")
    request = state.extensions.get(c.request_id)
    if request is None:
        raise CommandRejected("request_id", f"no extension request {c.request_id}")
    if request.approved is not None:
        raise CommandRejected("request_id", f"extension request {c.request_id} is already decided")
    assert state.intensive_ends_on is not None
    new_end = state.intensive_ends_on + timedelta(days=request.days) if c.approved else None
    return [
        ev.ExtensionDecided(
            request_id=c.request_id,
            approved=c.approved,
            days=request.days if c.approved else 0,
            new_end_on=new_end,
        )
    ]


def _close(state: CaseState, c: cmd.CloseIntensivePhase, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.INTENSIVE}, "close the intensive phase")
    _require_role(c, PRACTITIONERS, "close the intensive phase")
    _known_goals(state, c.closing_scores, "closing_scores")
    today = now.date()
    assert state.intensive_started_on is not None
    days_in = (today - state.intensive_started_on).days
    if (
        c.kind is ClosureKind.PLANNED
        and days_in < state.policy.intensive_min_days
        and c.actor.role is not Role.SUPERVISOR
    ):
        raise CommandRejected(
            "kind",
            f"a planned closure before day {state.policy.intensive_min_days} "
            f"(now day {days_in}) needs a supervisor",
        )
    events: list[DomainEvent] = [
        ev.IntensivePhaseClosed(
            kind=c.kind,
            unplanned_reason=c.unplanned_reason,
            closing_scores=c.closing_scores,
            onward_referrals=c.onward_referrals,
            transferred_to_less_formal_services=c.transferred_to_less_formal_services,
            closed_on=today,
        )
    ]
    follow_up = c.kind is ClosureKind.PLANNED or (
        state.policy.unplanned_exit_follow_up and state.consents.get(ConsentScope.FOLLOW_UP, False)
    )
    if not follow_up:
        return [*events, ev.EpisodeEnded(reason=EpisodeEndReason.NO_FOLLOW_UP_CONSENT)]
    for month in state.policy.follow_up_months:
        events.append(
            ev.FollowUpReviewScheduled(
                review_id=f"m{month}",
                month=month,
                due_on=add_months(today, month),
            )
        )
    return events


def _complete_review(state: CaseState, c: cmd.CompleteReview, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.FOLLOW_UP}, "complete a review")
    _require_role(c, PRACTITIONERS, "complete a review")
    review = state.reviews.get(c.review_id)
    if review is None:
        raise CommandRejected("review_id", f"no review {c.review_id} in this case")
    if review.status is ReviewStatus.COMPLETED:
        raise CommandRejected("review_id", f"review {c.review_id} is already completed")
    first_open = state.next_review()
    if first_open is not None and first_open.review_id != review.review_id:
        raise CommandRejected("review_id", f"complete review {first_open.review_id} first")
    missing = sorted(set(state.goals) - set(c.ratings))
    if missing:
        raise CommandRejected("ratings", f"every goal must be rated; missing {', '.join(missing)}")
    unknown = sorted(set(c.ratings) - set(state.goals))
    if unknown:
        raise CommandRejected("ratings", f"no goal {', '.join(unknown)} in this case")
    ratings = [ev.GoalReviewRating(goal_id=g, rating=r) for g, r in sorted(c.ratings.items())]
    events: list[DomainEvent] = [
        ev.FollowUpReviewCompleted(
            review_id=review.review_id,
            month=review.month,
            ratings=ratings,
            family_staying_together=c.family_staying_together,
            substance_use_status=c.substance_use_status,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]
    regressed = [g for g, r in sorted(c.ratings.items()) if r is GoalRating.REGRESSED]
    if regressed:
        events.append(
            ev.BoosterScheduled(
                booster_id=f"b-{review.review_id}",
                goal_ids=regressed,
                review_id=review.review_id,
                due_by=now.date() + timedelta(days=state.policy.booster_window_days),
            )
        )
    remaining = [
        r
        for r in state.reviews.values()
        if r.status is not ReviewStatus.COMPLETED and r.review_id != review.review_id
    ]
    if not remaining:
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED))
    return events


def _reschedule(state: CaseState, c: cmd.RescheduleReview, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.FOLLOW_UP}, "reschedule a review")
    _require_role(c, PRACTITIONERS, "reschedule a review")
    review = state.reviews.get(c.review_id)
    if review is None:
        raise CommandRejected("review_id", f"no review {c.review_id} in this case")
    if review.status is ReviewStatus.COMPLETED:
        raise CommandRejected("review_id", f"review {c.review_id} is already completed")
    if c.due_on <= now.date():
        raise CommandRejected("due_on", "must be a date after today")
    if c.due_on == review.due_on:
        raise CommandRejected("due_on", "is the date the review is already due")
    return [
        ev.FollowUpReviewRescheduled(
            review_id=c.review_id,
            previous_due_on=review.due_on,
            due_on=c.due_on,
            personal=ev.NotesPersonal(notes=c.reason),
        )
    ]


def _booster(state: CaseState, c: cmd.RecordBooster, now: datetime) -> list[DomainEvent]:
    _require_phase(state, {Phase.FOLLOW_UP}, "record a booster")
    _require_role(c, PRACTITIONERS, "record a booster")
    _not_in_future(c.delivered_at, now, "delivered_at")
    booster = state.boosters.get(c.booster_id)
    if booster is None:
        raise CommandRejected("booster_id", f"no booster {c.booster_id} is scheduled")
    if booster.delivered_at is not None:
        raise CommandRejected("booster_id", f"booster {c.booster_id} is already delivered")
    delivered_on = c.delivered_at.astimezone(UTC).date()  # closed_on is a UTC date too
    if state.input_bounds and state.closed_on is not None and delivered_on < state.closed_on:
        raise CommandRejected(
            "delivered_at", "cannot be before the intensive phase closed", "invalid"
        )
    return [
        ev.BoosterDelivered(
            booster_id=c.booster_id,
            delivered_at=c.delivered_at,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]


def _child_status(state: CaseState, c: cmd.ChangeChildStatus, now: datetime) -> list[DomainEvent]:
    _require_role(c, RECORDERS, "change a child's status")
    previous = state.children.get(c.child_id)
    if previous is None:
        raise CommandRejected("child_id", f"no child {c.child_id} in this family")
    if previous is c.status:
        raise CommandRejected("status", f"child {c.child_id} is already {c.status.value}")
    return [ev.ChildStatusChanged(child_id=c.child_id, previous_status=previous, status=c.status)]


def _person(state: CaseState, person_id: str | None) -> None:
    if person_id is not None and person_id not in state.adults and person_id not in state.children:
        raise CommandRejected("person_id", f"no person {person_id} in this family")


def _consent(state: CaseState, c: cmd.RecordConsent, now: datetime) -> list[DomainEvent]:
    _require_role(c, RECORDERS, "record consent")
    _person(state, c.person_id)
    if state.consents.get(c.scope) is True:
        raise CommandRejected("scope", f"consent to {c.scope.value} is already recorded")
    return [ev.ConsentRecorded(scope=c.scope, given_by_person_id=c.person_id)]


def _withdraw(state: CaseState, c: cmd.WithdrawConsent, now: datetime) -> list[DomainEvent]:
    _require_role(c, RECORDERS, "record a withdrawal of consent")
    _person(state, c.person_id)
    if state.consents.get(c.scope) is False:
        raise CommandRejected("scope", f"consent to {c.scope.value} is already withdrawn")
    return [ev.ConsentWithdrawn(scope=c.scope, withdrawn_by_person_id=c.person_id)]


def _escalate(state: CaseState, c: cmd.EscalateAlert, now: datetime) -> list[DomainEvent]:
    _require_role(c, {Role.SYSTEM}, "escalate an alert")
    alert = state.open_alerts.get(c.alert_id)
    if alert is None or alert.escalated or alert.to_supervisors or state.team_id is None:
        return []  # resolved meanwhile, or already with the supervisors: nothing to do
    return [
        ev.AlertEscalated(
            alert_id=c.alert_id,
            to_supervisors_of_team=state.team_id,
            reason=EscalationReason.DELIVERY_FAILED,
        )
    ]


def _close_episode(state: CaseState, c: cmd.CloseEpisode, now: datetime) -> list[DomainEvent]:
    _require_role(c, {Role.SUPERVISOR}, "close an episode early")
    _require_phase(state, {Phase.FOLLOW_UP}, "close the episode")
    return [ev.EpisodeEnded(reason=EpisodeEndReason.CLOSED_BY_SUPERVISOR)]


Decider = Callable[[CaseState, Any, datetime], list[DomainEvent]]


def _acknowledge(state: CaseState, c: cmd.AcknowledgeAlert, now: datetime) -> list[DomainEvent]:
    alert = state.open_alerts.get(c.alert_id)
    if alert is None:
        raise CommandRejected("alert_id", f"no open alert {c.alert_id} in this case")
    if alert.acknowledged:
        raise CommandRejected("alert_id", f"alert {c.alert_id} is acknowledged already")
    if c.actor.role is not Role.SUPERVISOR and not (
        c.actor.role is Role.CASE_MANAGER and c.actor.id == alert.to_key_worker
    ):
        raise CommandRejected(
            "actor",
            "only the key worker it was sent to, or a supervisor, may acknowledge it",
            "forbidden",
        )
    return [ev.AlertAcknowledged(alert_id=c.alert_id)]


_HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.AcceptReferral: _accept,
    cmd.AcknowledgeAlert: _acknowledge,
    cmd.RejectReferral: _reject,
    cmd.KeyWorkerAssigned: _assigned,
    cmd.PlacedOnWaitlist: _waitlisted,
    cmd.RecordFirstMeeting: _first_meeting,
    cmd.AgreeGoal: _agree_goal,
    cmd.RecordSession: _session,
    cmd.ScoreGoals: _score,
    cmd.RequestExtension: _request_extension,
    cmd.DecideExtension: _decide_extension,
    cmd.CloseIntensivePhase: _close,
    cmd.CompleteReview: _complete_review,
    cmd.RescheduleReview: _reschedule,
    cmd.RecordBooster: _booster,
    cmd.ChangeChildStatus: _child_status,
    cmd.RecordConsent: _consent,
    cmd.WithdrawConsent: _withdraw,
    cmd.CloseEpisode: _close_episode,
    cmd.EscalateAlert: _escalate,
}


# --- deadlines -------------------------------------------------------------------------


def _deadlines(state: CaseState) -> list[tuple[datetime, DomainEvent]]:
    """Every pending deadline with the event it causes when it passes."""
    out: list[tuple[datetime, DomainEvent]] = []
    p = state.policy
    if (
        state.phase is Phase.ALLOCATED
        and state.first_meeting_due_at
        and not state.first_meeting_overdue
    ):
        out.append(
            (state.first_meeting_due_at, ev.FirstMeetingOverdue(due_at=state.first_meeting_due_at))
        )
    if state.phase is Phase.INTENSIVE:
        assert state.intensive_started_on and state.intensive_ends_on and state.last_contact_at
        if state.no_contact_flagged_for != state.last_contact_at:
            out.append(
                (
                    state.last_contact_at + timedelta(days=p.no_contact_days),
                    ev.NoContactThresholdPassed(
                        last_contact_at=state.last_contact_at, days=p.no_contact_days
                    ),
                )
            )
        if not state.warning_flagged:
            out.append(
                (
                    midnight(state.intensive_started_on + timedelta(days=p.intensive_warning_day)),
                    ev.IntensivePhaseEndApproaching(
                        day=p.intensive_warning_day, ends_on=state.intensive_ends_on
                    ),
                )
            )
        if state.overrun_flagged_for != state.intensive_ends_on:
            out.append(
                (
                    midnight(state.intensive_ends_on + timedelta(days=1)),
                    ev.IntensivePhaseOverrun(ends_on=state.intensive_ends_on),
                )
            )
    if state.phase is Phase.FOLLOW_UP:
        for review in state.reviews.values():
            if (
                state.alert_timers
                and review.status is ReviewStatus.SCHEDULED
                and review.reminded_for != review.due_on
            ):
                out.append(
                    (
                        midnight(review.due_on - timedelta(days=p.review_due_soon_days)),
                        ev.FollowUpReviewApproaching(
                            review_id=review.review_id,
                            due_on=review.due_on,
                            days=p.review_due_soon_days,
                        ),
                    )
                )
            if review.status is ReviewStatus.SCHEDULED:
                out.append(
                    (
                        midnight(review.due_on),
                        ev.FollowUpReviewDue(review_id=review.review_id, due_on=review.due_on),
                    )
                )
            elif review.status is ReviewStatus.DUE:
                out.append(
                    (
                        midnight(review.due_on + timedelta(days=p.review_grace_days)),
                        ev.FollowUpReviewOverdue(
                            review_id=review.review_id,
                            due_on=review.due_on,
                            grace_days=p.review_grace_days,
                        ),
                    )
                )
    if state.alert_timers and not state.ended:
        for booster in state.boosters.values():
            if booster.delivered_at is None and not booster.overdue:
                out.append(
                    (
                        midnight(booster.due_by + timedelta(days=1)),
                        ev.BoosterOverdue(booster_id=booster.booster_id, due_by=booster.due_by),
                    )
                )
        for alert in state.open_alerts.values():
            if state.team_id and alert_escalates(p, alert):
                assert alert.acknowledge_by is not None
                out.append(
                    (
                        alert.acknowledge_by,
                        ev.AlertEscalated(
                            alert_id=alert.alert_id,
                            to_supervisors_of_team=state.team_id,
                            reason=EscalationReason.NOT_ACKNOWLEDGED,
                        ),
                    )
                )
    return out


def due(state: CaseState, now: datetime) -> list[DomainEvent]:
    """Events whose deadlines have passed by ``now``, in deadline order."""
    return [event for at, event in sorted(_deadlines(state), key=lambda d: d[0]) if at <= now]


def next_wakeup(state: CaseState) -> datetime | None:
    """When the earliest pending deadline falls (None: nothing to wait for)."""
    return min((at for at, _ in _deadlines(state)), default=None)


# --- evolving --------------------------------------------------------------------------


def evolve(state: CaseState, event: DomainEvent, at: datetime) -> CaseState:
    """The state after ``event``, which occurred at ``at``. Returns a new state."""
    s = state.model_copy(deep=True)
    s.version += 1
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
        case ev.ReferralAccepted():
            s.phase, s.accepted_at = Phase.ACCEPTED, at
        case ev.FamilyWaitlisted():
            s.phase, s.waitlist_position = Phase.WAITLISTED, event.position
        case ev.KeyWorkerAllocated():
            s.phase, s.key_worker_id, s.allocated_at = Phase.ALLOCATED, event.key_worker_id, at
            s.waitlist_position = None
            s.first_meeting_due_at = event.first_meeting_due_at
        case ev.FirstMeetingOverdue():
            s.first_meeting_overdue = True
        case ev.FirstMeetingHeld():
            s.phase, s.first_meeting_at, s.last_contact_at = (
                Phase.INTENSIVE,
                event.held_at,
                event.held_at,
            )
            s.intensive_started_on = event.held_at.date()
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
                review_id=event.review_id, month=event.month, due_on=event.due_on
            )
        case ev.FollowUpReviewRescheduled():
            review = s.reviews[event.review_id]
            review.due_on, review.status, review.rescheduled = (
                event.due_on,
                ReviewStatus.SCHEDULED,
                True,
            )
        case ev.FollowUpReviewApproaching():
            s.reviews[event.review_id].reminded_for = event.due_on
        case ev.FollowUpReviewDue():
            s.reviews[event.review_id].status = ReviewStatus.DUE
        case ev.FollowUpReviewOverdue():
            s.reviews[event.review_id].status = ReviewStatus.OVERDUE
        case ev.FollowUpReviewCompleted():
            s.reviews[event.review_id].status = ReviewStatus.COMPLETED
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
        case ev.ConsentRecorded():
            s.consents[event.scope] = True
        case ev.ConsentWithdrawn():
            s.consents[event.scope] = False
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
    return s
