"""The case-team protocol: typed messages, and the rule of when a case tells its team."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from events.envelope import Actor
from events.vocabulary import ClosureKind, EpisodeEndReason, RejectionReason
from tests.case_rules import CM, SUP, Case, allocated_case, intensive_case, session
from workflows import commands as cmd
from workflows.lifecycle import CaseState, Phase
from workflows.team_protocol import (
    Release,
    ReleaseReason,
    RequestAllocation,
    TeamMessage,
    team_message,
)


def told(case: Case, command: cmd.Command) -> RequestAllocation | Release | None:
    before: CaseState = case.state
    events = case.do(command)
    return team_message(before, case.state, events)


def test_an_accepted_referral_asks_for_a_place() -> None:
    case = Case()
    case.refer()
    message = told(case, cmd.AcceptReferral(actor=SUP))
    assert message == RequestAllocation(
        team_id="cardiff",
        case_id="c1",
        priority=3,
        referred_on=case.state.referred_on,
        policy=case.state.policy,  # a team not running yet starts on it
    )


def test_leaving_the_intensive_phase_frees_the_place() -> None:
    case = intensive_case()
    case.advance_to(case.now + timedelta(days=30))
    session(case, 30)
    message = told(case, cmd.CloseIntensivePhase(actor=SUP, kind=ClosureKind.PLANNED))
    assert message == Release(
        team_id="cardiff", case_id="c1", reason=ReleaseReason.INTENSIVE_PHASE_CLOSED
    )


def test_an_episode_ending_while_waiting_frees_the_place() -> None:
    case = Case()
    case.refer()
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.PlacedOnWaitlist(actor=Actor.system(), position=1, priority=3))
    before = case.state
    ended = case.state.model_copy(
        update={"phase": Phase.ENDED, "end_reason": EpisodeEndReason.CLOSED_BY_SUPERVISOR}
    )
    assert team_message(before, ended, []) == Release(
        team_id="cardiff", case_id="c1", reason=ReleaseReason.EPISODE_ENDED
    )


def test_other_facts_tell_the_team_nothing() -> None:
    case = allocated_case()
    assert told(case, cmd.RecordFirstMeeting(actor=CM, held_at=case.now)) is None
    rejected = Case()
    rejected.refer()
    assert (
        told(rejected, cmd.RejectReferral(actor=SUP, reason=RejectionReason.OUTSIDE_AREA)) is None
    )


def test_messages_are_told_apart_by_kind_and_unknown_kinds_fail_loudly() -> None:
    adapter: TypeAdapter[TeamMessage] = TypeAdapter(TeamMessage)
    # As recorded before the protocol was typed: every field on every kind.
    old_release = {
        "team_id": "t",
        "kind": "release",
        "case_id": "c1",
        "priority": 3,
        "referred_on": None,
    }
    assert adapter.validate_python(old_release) == Release(team_id="t", case_id="c1")
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        adapter.validate_python({"team_id": "t", "kind": "transfer", "case_id": "c1"})
