"""Across the episode: children's statutory status, consent, alerts, and ending the
episode."""

from __future__ import annotations

from datetime import datetime, timedelta

from events import catalogue as ev
from events.bounds import MAX_PEOPLE
from events.catalogue import DomainEvent
from events.vocabulary import (
    ConsentScope,
    EpisodeEndReason,
    EscalationReason,
    Role,
)
from workflows import commands as cmd
from workflows.lifecycle.guards import RECORDERS, not_too_long_ago, require_phase, require_role
from workflows.lifecycle.profile import UNBORN_WITHIN_DAYS, age_band, one_spelling_each
from workflows.lifecycle.state import CaseState, CommandRejected, Decider, Phase, day_of


def _child_status(state: CaseState, c: cmd.ChangeChildStatus, now: datetime) -> list[DomainEvent]:
    require_role(c, RECORDERS, "change a child's status")
    previous = state.children.get(c.child_id)
    if previous is None:
        raise CommandRejected("child_id", "no child {child_id} in this family", child_id=c.child_id)
    if previous is c.status:
        raise CommandRejected(
            "status", "child {child_id} is already {status}", child_id=c.child_id, status=c.status
        )
    today = day_of(state, now)
    effective = c.effective_on or today  # given: checked; left out, it is simply today
    if c.effective_on is not None and c.effective_on > today:
        raise CommandRejected("effective_on", "cannot be in the future")
    not_too_long_ago(state, effective, now, "effective_on")
    if c.effective_on is not None and state.referred_on and c.effective_on < state.referred_on:
        raise CommandRejected(
            "effective_on",
            "cannot be before the referral was received ({referred_on})",
            referred_on=state.referred_on,
        )
    return [
        ev.ChildStatusChanged(
            child_id=c.child_id, previous_status=previous, status=c.status, effective_on=effective
        )
    ]


def _person(state: CaseState, person_id: str | None) -> None:
    if person_id is not None and person_id not in state.adults and person_id not in state.children:
        raise CommandRejected(
            "person_id", "no person {person_id} in this family", person_id=person_id
        )


def _consent(state: CaseState, c: cmd.RecordConsent, now: datetime) -> list[DomainEvent]:
    require_role(c, RECORDERS, "record consent")
    _person(state, c.person_id)
    if _consent_of(state, c.person_id, c.scope) is True:
        if _by(state, c):
            raise CommandRejected(
                "scope",
                "consent to {scope} is already recorded for {person_id}",
                scope=c.scope,
                person_id=c.person_id,
            )
        raise CommandRejected("scope", "consent to {scope} is already recorded", scope=c.scope)
    refusing = state.refusing(c.scope)
    if c.person_id is None and refusing:
        raise CommandRejected(
            "person_id",
            "consent to {scope} stays withdrawn while {people} withdraw it; "
            "record their own consent (person_id)",
            scope=c.scope,
            people=list(refusing),
        )
    return [ev.ConsentRecorded(scope=c.scope, given_by_person_id=c.person_id)]


def _consent_of(state: CaseState, person_id: str | None, scope: ConsentScope) -> bool | None:
    """A person's own answer for ``scope`` (None: not stated), or the family's (and the
    family's alone in episodes before answers were kept per person)."""
    if person_id is None or not state.consent_per_person:
        return state.consents.get(scope)
    return state.person_consents.get(person_id, {}).get(scope)


def _by(state: CaseState, c: cmd.RecordConsent | cmd.WithdrawConsent) -> bool:
    """Whether a refusal names the person (answers kept per person)."""
    return bool(c.person_id and state.consent_per_person)


def _withdraw(state: CaseState, c: cmd.WithdrawConsent, now: datetime) -> list[DomainEvent]:
    require_role(c, RECORDERS, "record a withdrawal of consent")
    _person(state, c.person_id)
    if _consent_of(state, c.person_id, c.scope) is False:
        if _by(state, c):
            raise CommandRejected(
                "scope",
                "consent to {scope} is already withdrawn for {person_id}",
                scope=c.scope,
                person_id=c.person_id,
            )
        raise CommandRejected("scope", "consent to {scope} is already withdrawn", scope=c.scope)
    events: list[DomainEvent] = [
        ev.ConsentWithdrawn(scope=c.scope, withdrawn_by_person_id=c.person_id)
    ]
    if (
        state.follow_up_rules
        and c.scope is ConsentScope.FOLLOW_UP
        and state.phase is Phase.FOLLOW_UP
    ):  # no more reviews or boosters: the ones not yet held are cancelled, and it ends
        events += [
            ev.FollowUpReviewCancelled(review_id=r.review_id, month=r.month)
            for r in sorted(state.reviews.values(), key=lambda r: r.month)
            if not r.done
        ]
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.NO_FOLLOW_UP_CONSENT))
    return events


def _new_person(state: CaseState, person_id: str, field: str) -> None:
    if person_id in state.children or person_id in state.adults:
        raise CommandRejected(field, "{person_id} is already in this family", person_id=person_id)
    one_spelling_each(state, [(field, person_id)])
    if len(state.children) + len(state.adults) >= 2 * MAX_PEOPLE:
        raise CommandRejected(field, "a family holds at most {most} people", most=2 * MAX_PEOPLE)


def _add_child(state: CaseState, c: cmd.AddChild, now: datetime) -> list[DomainEvent]:
    require_role(c, RECORDERS, "add a child to the family")
    _new_person(state, c.child_id, "child_id")
    if c.expected_on is not None:
        today = day_of(state, now)
        if not today <= c.expected_on <= today + timedelta(days=UNBORN_WITHIN_DAYS):
            raise CommandRejected(
                "expected_on",
                "an unborn child is expected between today and {days} days ahead",
                days=UNBORN_WITHIN_DAYS,
            )
    born = c.personal.date_of_birth if c.personal else None
    band = age_band(state, c.age_band, c.expected_on, born, day_of(state, now))
    return [
        ev.ChildJoined(
            child_id=c.child_id,
            statutory_status=c.statutory_status,
            expected_on=c.expected_on,
            age_band=band,
            personal=c.personal,
        )
    ]


def _add_adult(state: CaseState, c: cmd.AddAdult, now: datetime) -> list[DomainEvent]:
    require_role(c, RECORDERS, "add an adult to the family")
    _new_person(state, c.person_id, "person_id")
    born = c.personal.date_of_birth if c.personal else None
    if state.edge_rules and born is not None and born > day_of(state, now):
        raise CommandRejected(
            "personal.date_of_birth",
            "cannot be after {on}, the day it is recorded for",
            "invalid",
            on=day_of(state, now),
        )
    return [ev.AdultJoined(person_id=c.person_id, relationship=c.relationship, personal=c.personal)]


def _escalate(state: CaseState, c: cmd.EscalateAlert, now: datetime) -> list[DomainEvent]:
    require_role(c, {Role.SYSTEM}, "escalate an alert")
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
    require_role(c, {Role.SUPERVISOR}, "close an episode early")
    require_phase(state, {Phase.FOLLOW_UP}, "close the episode")
    return [
        ev.EpisodeEnded(
            reason=EpisodeEndReason.CLOSED_BY_SUPERVISOR, personal=ev.NotesPersonal(notes=c.reason)
        )
    ]


def _acknowledge(state: CaseState, c: cmd.AcknowledgeAlert, now: datetime) -> list[DomainEvent]:
    alert = state.open_alerts.get(c.alert_id)
    if alert is None:
        raise CommandRejected(
            "alert_id", "no open alert {alert_id} in this case", alert_id=c.alert_id
        )
    if alert.acknowledged:
        raise CommandRejected(
            "alert_id", "alert {alert_id} is acknowledged already", alert_id=c.alert_id
        )
    if c.actor.role is not Role.SUPERVISOR and not (
        c.actor.role is Role.CASE_MANAGER and c.actor.id == alert.to_key_worker
    ):
        raise CommandRejected(
            "actor",
            "only the key worker it was sent to, or a supervisor, may acknowledge it",
            "forbidden",
        )
    return [ev.AlertAcknowledged(alert_id=c.alert_id)]


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.ChangeChildStatus: _child_status,
    cmd.AddChild: _add_child,
    cmd.AddAdult: _add_adult,
    cmd.RecordConsent: _consent,
    cmd.WithdrawConsent: _withdraw,
    cmd.EscalateAlert: _escalate,
    cmd.CloseEpisode: _close_episode,
    cmd.AcknowledgeAlert: _acknowledge,
}
