"""The intensive phase: the first meeting, goals, sessions, scores, extensions, and
closing the phase (which schedules the follow-up reviews)."""

from __future__ import annotations

from datetime import datetime, timedelta

from events import catalogue as ev
from events.calendar import add_months
from events.catalogue import DomainEvent
from events.vocabulary import (
    ClosureKind,
    ConsentScope,
    EpisodeEndReason,
    Role,
)
from workflows import commands as cmd
from workflows.lifecycle.guards import (
    PRACTITIONERS,
    not_in_future,
    not_too_long_ago,
    require_phase,
    require_role,
)
from workflows.lifecycle.state import CaseState, CommandRejected, Decider, Phase, day_of


def _first_meeting(state: CaseState, c: cmd.RecordFirstMeeting, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.ALLOCATED}, "record a first meeting")
    require_role(c, PRACTITIONERS, "record a first meeting")
    not_in_future(c.held_at, now, "held_at")
    not_too_long_ago(state, day_of(state, c.held_at), now, "held_at")
    if state.accepted_at is not None and c.held_at < state.accepted_at:
        raise CommandRejected("held_at", "cannot be before the referral was accepted")
    ends_on = day_of(state, c.held_at) + timedelta(days=state.policy.intensive_max_days)
    return [ev.FirstMeetingHeld(held_at=c.held_at, intensive_ends_on=ends_on)]


def _agree_goal(state: CaseState, c: cmd.AgreeGoal, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.INTENSIVE}, "agree a goal")
    require_role(c, PRACTITIONERS, "agree a goal")
    if c.goal_id in state.goals:
        raise CommandRejected("goal_id", "goal {goal_id} is already agreed", goal_id=c.goal_id)
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
    require_phase(state, {Phase.INTENSIVE}, "record a session")
    require_role(c, PRACTITIONERS, "record a session")
    not_in_future(c.held_at, now, "held_at")
    not_too_long_ago(state, day_of(state, c.held_at), now, "held_at")
    if c.session_id in state.session_ids:
        raise CommandRejected(
            "session_id", "session {session_id} is already recorded", session_id=c.session_id
        )
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
    seen: set[str] = set()
    for i, score in enumerate(scores):
        if score.goal_id not in state.goals:
            raise CommandRejected(
                f"{field}[{i}].goal_id", "no goal {goal_id} in this case", goal_id=score.goal_id
            )
        if state.edge_rules and score.goal_id in seen:
            raise CommandRejected(
                f"{field}[{i}].goal_id",
                "goal {goal_id} is scored twice in one list",
                "invalid",
                goal_id=score.goal_id,
            )
        seen.add(score.goal_id)


def _score(state: CaseState, c: cmd.ScoreGoals, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.INTENSIVE}, "score goals")
    require_role(c, PRACTITIONERS, "score goals")
    _known_goals(state, c.scores, "scores")
    return [ev.GoalsScored(stage=c.stage, scores=c.scores)]


def _request_extension(
    state: CaseState, c: cmd.RequestExtension, now: datetime
) -> list[DomainEvent]:
    require_phase(state, {Phase.INTENSIVE}, "request an extension")
    require_role(c, PRACTITIONERS, "request an extension")
    if c.request_id in state.extensions:
        raise CommandRejected(
            "request_id", "extension request {request_id} already exists", request_id=c.request_id
        )
    granted = sum(x.days for x in state.extensions.values() if x.approved)
    if granted + c.days > state.policy.max_extension_days:
        raise CommandRejected(
            "days",
            "extensions may add at most {max_days} days in all ({granted} already approved)",
            max_days=state.policy.max_extension_days,
            granted=granted,
        )
    return [
        ev.ExtensionRequested(
            request_id=c.request_id, days=c.days, personal=ev.NotesPersonal(notes=c.reason)
        )
    ]


def _decide_extension(state: CaseState, c: cmd.DecideExtension, now: datetime) -> list[DomainEvent]:
    require_role(c, {Role.SUPERVISOR}, "decide an extension")
    require_phase(state, {Phase.INTENSIVE}, "decide an extension")
    request = state.extensions.get(c.request_id)
    if request is None:
        raise CommandRejected(
            "request_id", "no extension request {request_id}", request_id=c.request_id
        )
    if request.approved is not None:
        raise CommandRejected(
            "request_id",
            "extension request {request_id} is already decided",
            request_id=c.request_id,
        )
    assert state.intensive_ends_on is not None
    new_end = state.intensive_ends_on + timedelta(days=request.days) if c.approved else None
    return [
        ev.ExtensionDecided(
            request_id=c.request_id,
            approved=c.approved,
            days=request.days if c.approved else 0,
            new_end_on=new_end,
            personal=ev.NotesPersonal(notes=c.reason) if c.reason else None,
        )
    ]


def _close(state: CaseState, c: cmd.CloseIntensivePhase, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.INTENSIVE}, "close the intensive phase")
    require_role(c, PRACTITIONERS, "close the intensive phase")
    _known_goals(state, c.closing_scores, "closing_scores")
    assert state.intensive_started_on is not None
    today = day_of(state, now)
    if c.closed_on is not None:  # recorded late: the day it closed, within the limit
        if c.closed_on > today:
            raise CommandRejected("closed_on", "cannot be in the future")
        if c.closed_on < state.intensive_started_on:
            raise CommandRejected(
                "closed_on",
                "cannot be before the first meeting ({started_on})",
                started_on=state.intensive_started_on,
            )
        not_too_long_ago(state, c.closed_on, now, "closed_on")
        last = state.last_contact_at
        if state.late_dates and last is not None and c.closed_on < day_of(state, last):
            raise CommandRejected(
                "closed_on",
                "cannot be before the last contact recorded ({last_on})",
                last_on=day_of(state, last),
            )
        today = c.closed_on
    days_in = (today - state.intensive_started_on).days
    if (
        c.kind is ClosureKind.PLANNED
        and days_in < state.policy.intensive_min_days
        and c.actor.role is not Role.SUPERVISOR
    ):
        raise CommandRejected(
            "kind",
            "a planned closure before day {min_days} (now day {days_in}) needs a supervisor",
            min_days=state.policy.intensive_min_days,
            days_in=days_in,
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
    consented = state.consents.get(ConsentScope.FOLLOW_UP, False)
    follow_up = c.kind is ClosureKind.PLANNED or (
        state.policy.unplanned_exit_follow_up and consented
    )
    if state.follow_up_rules and not consented:
        follow_up = False  # no review without consent, planned or not
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


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.RecordFirstMeeting: _first_meeting,
    cmd.AgreeGoal: _agree_goal,
    cmd.RecordSession: _session,
    cmd.ScoreGoals: _score,
    cmd.DecideExtension: _decide_extension,
    cmd.CloseIntensivePhase: _close,
    cmd.RequestExtension: _request_extension,
}
