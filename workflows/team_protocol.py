"""What a case tells its team, typed: one model per message, told apart by ``kind``.

A message of an unknown kind fails to decode (loudly) rather than falling into a default
branch. Fields a message does not have are ignored, so messages recorded by earlier
versions (which carried every field on every kind) still decode in replays.

``team_message`` is the rule of when a case tells its team anything: when the referral is
accepted (a place is wanted), and when the family leaves the phases that hold a place.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.envelope import Actor
from events.policy import ProgrammePolicy
from events.vocabulary import HandoverReason
from workflows import commands as cmd
from workflows.lifecycle import CaseState, Phase


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    team_id: str
    case_id: str


class RequestAllocation(Message):
    """An accepted family wants a key worker (or a place on the waitlist)."""

    kind: Literal["request_allocation"] = "request_allocation"
    priority: int = 3
    referred_on: date
    # The case's policy: a team that is not running yet starts on it.
    policy: ProgrammePolicy | None = None


class ReleaseReason(StrEnum):
    INTENSIVE_PHASE_CLOSED = "intensive_phase_closed"
    EPISODE_ENDED = "episode_ended"
    WITHDRAWN = "withdrawn"  # before the work began: referred, waiting or not yet met
    TRANSFERRED = "transferred"  # to another team, which has admitted the family


class Release(Message):
    """The family no longer holds a place (with a key worker, or on the waitlist)."""

    kind: Literal["release"] = "release"
    reason: ReleaseReason | None = None  # None: recorded before reasons were told
    # The family goes on to follow-up with its key worker, and will say when it ends (so
    # the team can move it with a leaver, or cover it).
    following: bool = False


class Reprioritise(Message):
    """A family waiting for a place (or about to) has a new priority."""

    kind: Literal["reprioritise"] = "reprioritise"
    priority: int


class ReassignCase(BaseModel):
    """A supervisor's handover of a family the team holds (the team checks the space)."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    team_id: str
    case_id: str
    key_worker_id: str
    reason: HandoverReason
    in_follow_up: bool = False  # no place: the team moves it only if it follows it up


class AdmitTransfer(BaseModel):
    """A family moving in from another team (asked of the receiving team)."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    team_id: str
    from_team_id: str
    case_id: str
    priority: int
    referred_on: date
    started: bool  # met by its key worker: it may not wait
    reason: HandoverReason


class AdmitImport(BaseModel):
    """A family imported from another case system, where it stands there (asked of its
    team before the case records its history)."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    team_id: str
    case_id: str
    phase: str  # waitlisted, allocated, intensive or follow_up
    key_worker_id: str | None
    priority: int
    referred_on: date


class Reinstate(Message):
    """A family the team put back on its waitlist had met its key worker meanwhile."""

    kind: Literal["reinstate"] = "reinstate"
    key_worker_id: str


TeamMessage = Annotated[
    RequestAllocation | Release | Reprioritise | Reinstate, Field(discriminator="kind")
]

# What the team tells a case, and the case workflow's signal for each (named, because the
# case workflow imports the team's side; tests/unit/test_commands.py holds them together).
CASE_SIGNALS: dict[type[cmd.Command], str] = {
    cmd.KeyWorkerAssigned: "key_worker_assigned",
    cmd.PlacedOnWaitlist: "placed_on_waitlist",
    cmd.KeyWorkerReassigned: "key_worker_reassigned",
    cmd.ReturnedToWaitlist: "returned_to_waitlist",
    cmd.KeyWorkerCovered: "cover_key_worker",
    cmd.KeyWorkerUncovered: "uncover_key_worker",
    cmd.TransferAdmitted: "transfer_admitted",
}

# The phases in which a family waits for a key worker (its priority orders the waitlist).
WAITING = frozenset({Phase.ACCEPTED, Phase.WAITLISTED})
# The phases in which a family holds a place in its team (or waits for one).
HOLDS_A_PLACE = frozenset({Phase.ACCEPTED, Phase.WAITLISTED, Phase.ALLOCATED, Phase.INTENSIVE})


def team_message(
    before: CaseState, after: CaseState, events: list[DomainEvent]
) -> RequestAllocation | Release | Reprioritise | Reinstate | None:
    """What ``events`` (taking the case from ``before`` to ``after``) tell the team."""
    if after.team_id is None:
        return None
    if any(isinstance(e, ev.CaseImported) for e in events) and after.phase is not Phase.ACCEPTED:
        return None  # the team took the family in before the case recorded its history
    if any(isinstance(e, ev.ReferralAccepted) for e in events):
        assert after.referred_on is not None
        return RequestAllocation(
            team_id=after.team_id,
            case_id=after.case_id,
            priority=after.priority,
            referred_on=after.referred_on,
            policy=after.policy,
        )
    if after.phase in WAITING and any(isinstance(e, ev.PriorityChanged) for e in events):
        return Reprioritise(team_id=after.team_id, case_id=after.case_id, priority=after.priority)
    retained = next((e for e in events if isinstance(e, ev.AllocationRetained)), None)
    if retained is not None:
        return Reinstate(
            team_id=after.team_id, case_id=after.case_id, key_worker_id=retained.key_worker_id
        )
    if after.team_follows_up and before.phase is Phase.FOLLOW_UP and after.phase is Phase.ENDED:
        return Release(
            team_id=after.team_id, case_id=after.case_id, reason=ReleaseReason.EPISODE_ENDED
        )
    if before.team_id not in (None, after.team_id):  # transferred: the first team lets go
        return Release(
            team_id=before.team_id, case_id=after.case_id, reason=ReleaseReason.TRANSFERRED
        )
    if before.phase in HOLDS_A_PLACE and after.phase not in HOLDS_A_PLACE:
        if any(isinstance(e, ev.FamilyWithdrew) for e in events):
            reason = ReleaseReason.WITHDRAWN
        elif after.phase is Phase.ENDED:
            reason = ReleaseReason.EPISODE_ENDED
        else:
            reason = ReleaseReason.INTENSIVE_PHASE_CLOSED
        following = after.team_follows_up and after.phase is Phase.FOLLOW_UP
        return Release(
            team_id=after.team_id, case_id=after.case_id, reason=reason, following=following
        )
    return None
