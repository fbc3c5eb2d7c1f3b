"""Intake and allocation: a referral received, accepted or rejected, a key worker
assigned or a place on the waitlist."""

from __future__ import annotations

from datetime import datetime

from events import catalogue as ev
from events.bounds import is_blank
from events.catalogue import DomainEvent
from events.programmes import PROGRAMMES
from events.vocabulary import (
    EpisodeEndReason,
    RejectionReason,
)
from workflows import commands as cmd
from workflows.lifecycle.guards import (
    DECIDERS,
    RECORDERS,
    TODAY_SOMEWHERE,
    not_too_long_ago,
    require_phase,
    require_role,
)
from workflows.lifecycle.profile import (
    banded_children,
    checked_adults,
    checked_area,
    checked_expected,
    one_spelling_each,
)
from workflows.lifecycle.state import (
    CaseState,
    CommandRejected,
    Decider,
    Phase,
    day_of,
    working_days_after,
)
from workflows.wording import one_of

# The rules that reject a referral on receipt (named on the rejection they record).
NEEDS_A_GROUND = "referral-needs-a-statutory-ground"
NEEDS_CONSENT = "referral-needs-consent"


def spelled_otherwise(family_id: str, known_as: str) -> CommandRejected:
    """The refusal of ``family_id`` for a family on record as ``known_as``."""
    return CommandRejected(
        "family_id",
        "family {family_id} is on record as {known_as} (family ids do not differ by "
        "case alone); use {known_as}",
        family_id=family_id,
        known_as=known_as,
    )


def refer(
    state: CaseState,
    command: cmd.ReferFamily,
    previous_case_id: str | None,
    now: datetime,
    open_case_id: str | None = None,
    team_known: bool = True,
    known_as: str | None = None,
) -> list[DomainEvent]:
    """The first events of an episode; a referral without an eligible ground, or without
    consent, is received and then rejected with that reason. A family whose episode in
    ``open_case_id`` is still open is not referred again; nor is one to a team nobody
    registered (``team_known``), nor one whose id is on record spelled in another case
    (``known_as``: family ids are compared without regard to case)."""
    require_phase(state, {Phase.NEW}, "refer a family")
    require_role(command, RECORDERS, "record a referral")
    if not team_known:
        raise CommandRejected(
            "team_id",
            "no team {team_id} is registered; check the spelling, or ask an admin "
            "to register it (ifss team register)",
            "invalid",
            team_id=command.team_id,
        )
    if known_as is not None:
        raise spelled_otherwise(command.family_id, known_as)
    if open_case_id is not None:
        raise CommandRejected(
            "family_id",
            "family {family_id} has an open episode (case {case_id}); "
            "end or withdraw it before referring the family again",
            family_id=command.family_id,
            case_id=open_case_id,
        )
    if state.late_dates:  # today in Wales; late, within the policy's limit
        if command.received_on > day_of(state, now):
            raise CommandRejected("received_on", "cannot be in the future")
        not_too_long_ago(state, command.received_on, now, "received_on")
    elif state.input_bounds and command.received_on > (now + TODAY_SOMEWHERE).date():
        raise CommandRejected("received_on", "cannot be in the future")
    checked_area(state, command.area)
    for i, child in enumerate(command.children):
        checked_expected(state, child.expected_on, command.received_on, f"children.{i}.expected_on")
    checked_adults(state, command.children, command.adults, command.received_on)
    one_spelling_each(
        state,
        [(f"children.{i}.child_id", c.child_id) for i, c in enumerate(command.children)]
        + [(f"adults.{i}.person_id", a.person_id) for i, a in enumerate(command.adults)],
    )
    if command.programme not in PROGRAMMES:
        raise CommandRejected(
            "programme",
            "no programme {programme} is defined (the programmes are {programmes})",
            "invalid",
            programme=command.programme,
            programmes=one_of(sorted(PROGRAMMES)),
        )
    eligible = PROGRAMMES[command.programme].eligible_grounds
    received = ev.ReferralReceived(
        case_id=state.case_id,
        family_id=command.family_id,
        team_id=command.team_id,
        area=command.area,
        referring_agency=command.referring_agency,
        referral_grounds=command.referral_grounds,
        presenting_needs=command.presenting_needs,
        children=banded_children(state, command.children, command.received_on),
        adults=command.adults,
        consent_to_referral=command.consent_to_referral,
        consent_to_information_sharing=command.consent_to_information_sharing,
        consent_to_follow_up=command.consent_to_follow_up,
        priority=command.priority,
        received_on=command.received_on,
        policy_version=state.policy.version,
        policy_digest=state.policy.digest,
        previous_case_id=previous_case_id,
        programme=command.programme,
        language_preference=command.language_preference,
        personal=command.personal,
    )
    events: list[DomainEvent] = [received]
    if not eligible.intersection(command.referral_grounds):
        reason, rule = RejectionReason.NO_ELIGIBLE_GROUND, NEEDS_A_GROUND
    elif not command.consent_to_referral:
        reason, rule = RejectionReason.NO_CONSENT, NEEDS_CONSENT
    else:
        return events
    # The rule decided, not the person who recorded the referral: the case records the
    # rejection (and the end it brings) as the system's, naming the rule.
    events += [
        ev.ReferralRejected(reason=reason, rule=rule),
        ev.EpisodeEnded(reason=EpisodeEndReason.REFERRAL_REJECTED),
    ]
    return events


def _accept(state: CaseState, c: cmd.AcceptReferral, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.REFERRED}, "accept a referral")
    require_role(c, DECIDERS, "accept a referral")
    return [ev.ReferralAccepted()]


def _reject(state: CaseState, c: cmd.RejectReferral, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.REFERRED}, "reject a referral")
    require_role(c, DECIDERS, "reject a referral")
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    return [
        ev.ReferralRejected(reason=c.reason, personal=personal),
        ev.EpisodeEnded(reason=EpisodeEndReason.REFERRAL_REJECTED),
    ]


# Before the intensive work begins, a family can leave from any of these phases.
BEFORE_START = {Phase.REFERRED, Phase.ACCEPTED, Phase.WAITLISTED, Phase.ALLOCATED}


def _withdraw(state: CaseState, c: cmd.WithdrawFamily, now: datetime) -> list[DomainEvent]:
    require_role(c, DECIDERS, "record that a family withdrew")
    require_phase(state, BEFORE_START, "record a withdrawal before the work began")
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    return [
        ev.FamilyWithdrew(reason=c.reason, personal=personal),
        ev.EpisodeEnded(reason=EpisodeEndReason.WITHDRAWN_BEFORE_START),
    ]


def _priority(state: CaseState, c: cmd.ChangePriority, now: datetime) -> list[DomainEvent]:
    require_role(c, DECIDERS, "change a family's priority")
    if state.edge_rules and is_blank(c.reason):
        raise CommandRejected("reason", "must say why, in words", "invalid")
    if c.priority == state.priority:
        raise CommandRejected(
            "priority", "the family's priority is {priority} already", priority=c.priority
        )
    return [
        ev.PriorityChanged(
            previous=state.priority, priority=c.priority, personal=ev.NotesPersonal(notes=c.reason)
        )
    ]


def _assigned(state: CaseState, c: cmd.KeyWorkerAssigned, now: datetime) -> list[DomainEvent]:
    if state.phase not in {Phase.ACCEPTED, Phase.WAITLISTED} or c.team_id not in (
        None,
        state.team_id,
    ):
        return []  # the family left (or moved team) meanwhile; the team is told by the release
    assert state.team_id is not None
    return [
        ev.KeyWorkerAllocated(
            key_worker_id=c.key_worker_id,
            team_id=state.team_id,
            from_waitlist=c.from_waitlist,
            first_meeting_due_at=working_days_after(
                state, now, state.policy.first_meeting_working_days
            ),
        )
    ]


def _waitlisted(state: CaseState, c: cmd.PlacedOnWaitlist, now: datetime) -> list[DomainEvent]:
    if state.phase is not Phase.ACCEPTED or c.team_id not in (None, state.team_id):
        return []
    assert state.team_id is not None
    return [ev.FamilyWaitlisted(team_id=state.team_id, priority=c.priority, position=c.position)]


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.AcceptReferral: _accept,
    cmd.RejectReferral: _reject,
    cmd.WithdrawFamily: _withdraw,
    cmd.ChangePriority: _priority,
    cmd.KeyWorkerAssigned: _assigned,
    cmd.PlacedOnWaitlist: _waitlisted,
}
