"""The handover rules as the case records them: who may, from which phases, and the open
alerts following the family (the team's capacity checks are in test_team.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import catalogue as ev
from events.vocabulary import AlertRule, AlertSeverity, HandoverReason
from tests.case_rules import CM, SUP, Case, allocated_case, closed_case
from workflows import commands as cmd
from workflows.lifecycle import CommandRejected, Phase, handover
from workflows.lifecycle.handover import Admission
from workflows.lifecycle.state import start_of


def with_alert(case: Case, to: str = "cm-jones") -> None:
    raised = ev.AlertRaised(
        alert_id="a1",
        rule=AlertRule.NO_CONTACT,
        severity=AlertSeverity.HIGH,
        to_key_worker=to,
        acknowledge_by=case.now + timedelta(hours=4),
    )
    case._apply([raised], case.now)


def test_reassign_is_a_supervisors_and_names_what_is_wrong() -> None:
    case = allocated_case()
    with_alert(case)
    refusals = [
        (cmd.ReassignKeyWorker(actor=CM, key_worker_id="kw-b", reason="workload"), "actor.role"),
        (
            cmd.ReassignKeyWorker(actor=SUP, key_worker_id="cm-jones", reason="workload"),
            "key_worker_id: cm-jones is the family's key worker already",
        ),
    ]
    for command, rule in refusals:
        with pytest.raises(CommandRejected, match=rule.replace(".", r"\.")):
            handover.reassign(case.state, command)
    events = handover.reassign(
        case.state,
        cmd.ReassignKeyWorker(actor=SUP, key_worker_id="kw-b", reason="workload", notes="Leave"),
    )
    assert events == [
        ev.KeyWorkerChanged(
            previous_key_worker_id="cm-jones",
            key_worker_id="kw-b",
            reason=HandoverReason.WORKLOAD,
            personal=ev.NotesPersonal(notes="Leave"),
        ),
        ev.AlertRedirected(alert_id="a1", to_key_worker="kw-b"),
    ]
    case._apply(events, case.now)
    assert case.state.key_worker_id == "kw-b"
    assert case.state.open_alerts["a1"].to_key_worker == "kw-b"


def test_a_family_without_a_key_worker_is_not_reassigned() -> None:
    case = Case()
    case.refer()
    case.do(cmd.AcceptReferral(actor=SUP))
    with pytest.raises(CommandRejected, match="phase"):
        handover.check_reassign(
            case.state, cmd.ReassignKeyWorker(actor=SUP, key_worker_id="kw-b", reason="workload")
        )


def test_a_transfer_records_the_receiving_teams_answer() -> None:
    case = allocated_case()
    command = cmd.TransferFamily(actor=SUP, team_id="east", reason="family_moved")
    with pytest.raises(CommandRejected, match="team_id: the family is in team cardiff already"):
        handover.check_transfer(case.state, command.model_copy(update={"team_id": "cardiff"}))
    waiting = handover.transfer(case.state, command, Admission(position=2), case.now)
    case._apply(waiting, case.now)
    assert (case.state.phase, case.state.team_id, case.state.key_worker_id) == (
        Phase.WAITLISTED,
        "east",
        None,
    )
    assert case.state.waitlist_position == 2 and case.state.first_meeting_due_at is None


def test_a_family_in_its_intensive_work_is_never_waitlisted_by_a_transfer() -> None:
    case = allocated_case()
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    command = cmd.TransferFamily(actor=SUP, team_id="east", reason="family_moved")
    with pytest.raises(CommandRejected, match="waitlisted a family whose work has begun"):
        handover.transfer(case.state, command, Admission(position=1), case.now)
    moved = handover.transfer(case.state, command, Admission(key_worker_id="kw-e"), case.now)
    case._apply(moved, case.now)
    assert (case.state.phase, case.state.key_worker_id) == (Phase.INTENSIVE, "kw-e")
    assert case.state.first_meeting_at is not None  # the work goes on


def test_the_receiving_teams_word_records_a_transfer_the_case_missed() -> None:
    case = allocated_case()
    word = cmd.TransferAdmitted(
        actor=SUP, from_team_id="cardiff", team_id="east", position=1, reason="family_moved"
    )
    assert [type(e).__name__ for e in case.do(word)] == ["FamilyTransferred"]
    assert (case.state.team_id, case.state.phase) == ("east", Phase.WAITLISTED)
    assert case.do(word) == []  # recorded already (by the update, or by this notice)


def test_team_notices_apply_only_to_the_family_as_the_team_knew_it() -> None:
    case = allocated_case()
    back = cmd.ReturnedToWaitlist(
        actor=SUP, previous_key_worker_id="someone-else", position=1, priority=3
    )
    assert case.do(back) == []  # not this family's key worker any more
    assert case.do(back.model_copy(update={"previous_key_worker_id": "cm-jones"})) != []
    assert case.state.phase is Phase.WAITLISTED and case.state.key_worker_id is None
    # another team's allocation, arriving after the family moved, is ignored
    other = cmd.KeyWorkerAssigned(actor=SUP, key_worker_id="kw-x", team_id="newport")
    assert case.do(other) == []
    assert case.do(other.model_copy(update={"team_id": "cardiff"})) != []


def test_cover_sends_alerts_to_the_cover_then_back() -> None:
    case = allocated_case()
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    with_alert(case)
    until = case.now.date() + timedelta(days=3)
    cover = cmd.KeyWorkerCovered(
        actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-cover", until=until
    )
    assert case.do(cover.model_copy(update={"key_worker_id": "kw-z"})) == []  # not theirs
    covered = case.do(cover)
    assert [type(e).__name__ for e in covered] == ["KeyWorkerCoverArranged", "AlertRedirected"]
    assert case.state.alert_recipient == "cm-cover"
    assert case.do(cover) == []  # told twice, recorded once
    # the cover ends when the day after its last begins, in Wales
    fired = case.advance_to(case.now + timedelta(days=5))
    ended = [e for e in fired if isinstance(e, ev.KeyWorkerCoverEnded | ev.AlertRedirected)]
    assert ended[0] == ev.KeyWorkerCoverEnded(cover_key_worker_id="cm-cover")
    assert ev.AlertRedirected(alert_id="a1", to_key_worker="cm-jones") in ended
    assert case.state.alert_recipient == "cm-jones"
    at = next(t for t, e in case.log if isinstance(e, ev.KeyWorkerCoverEnded))
    assert at == start_of(case.state, until + timedelta(days=1))


def test_a_closed_case_is_still_handed_over_in_follow_up() -> None:
    case = closed_case()
    events = handover.reassign(
        case.state, cmd.ReassignKeyWorker(actor=SUP, key_worker_id="kw-b", reason="key_worker_left")
    )
    assert [type(e).__name__ for e in events] == ["KeyWorkerChanged"]  # no place to move


def test_a_family_met_before_the_waitlist_return_arrived_stays_and_says_so() -> None:
    case = allocated_case()
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    back = cmd.ReturnedToWaitlist(
        actor=SUP, previous_key_worker_id="cm-jones", position=1, priority=3
    )
    assert case.do(back) == [ev.AllocationRetained(key_worker_id="cm-jones")]
    assert (case.state.phase, case.state.key_worker_id) == (Phase.INTENSIVE, "cm-jones")


def test_a_cover_ends_early_when_the_covering_key_worker_leaves() -> None:
    case = allocated_case()
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    with_alert(case)
    until = case.now.date() + timedelta(days=10)
    case.do(
        cmd.KeyWorkerCovered(
            actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-cover", until=until
        )
    )
    gone = cmd.KeyWorkerUncovered(actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="x")
    assert case.do(gone) == []  # not this family's cover
    ended = case.do(gone.model_copy(update={"cover_key_worker_id": "cm-cover"}))
    assert ended == [
        ev.KeyWorkerCoverEnded(cover_key_worker_id="cm-cover"),
        ev.AlertRedirected(alert_id="a1", to_key_worker="cm-jones"),
    ]
    assert case.state.cover_key_worker_id is None
