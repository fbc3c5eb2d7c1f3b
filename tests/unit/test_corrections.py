"""Corrections: a named earlier entry superseded, never edited; only fields that set no
deadline; each value checked by the entry's own rules."""

from __future__ import annotations

import pytest

from events import catalogue as ev
from events.vocabulary import CorrectionReason
from tests.case_rules import CM, Case, intensive_case
from workflows import commands as cmd
from workflows.lifecycle import CommandRejected


def corrections_case() -> Case:
    case = Case()
    case.state = case.state.model_copy(update={"corrections": True})
    built = intensive_case()
    for at, event in built.log:  # the same episode, remembered from its first entry
        case._apply([event], at)
    case.now = built.now
    case.do(
        cmd.RecordSession(
            actor=CM, session_id="s1", held_at=case.now, kind="home_visit", duration_minutes=60
        )
    )
    return case


def version_of(case: Case, type_name: str) -> int:
    return next(v for v, (_, e) in enumerate(case.log, 1) if type(e).__name__ == type_name)


def correct(case: Case, version: int, **changes: object) -> list[ev.DomainEvent]:
    return case.do(
        cmd.CorrectEntry(
            actor=CM, version=version, changes=changes, reason=CorrectionReason.TYPING_ERROR
        )
    )


def test_a_goal_corrected_keeps_its_entry_and_takes_the_new_values() -> None:
    case = corrections_case()
    goal_version = version_of(case, "GoalAgreed")
    goal_id = case.log[goal_version - 1][1].goal_id  # type: ignore[attr-defined]
    [corrected] = correct(case, goal_version, baseline=3)
    assert corrected == ev.EntryCorrected(
        corrects_version=goal_version,
        corrects_type="GoalAgreed",
        changes=[ev.FieldCorrection(field="baseline", value=3)],
        reason=CorrectionReason.TYPING_ERROR,
    )
    assert case.state.goals[goal_id].baseline == 3
    assert isinstance(case.log[goal_version - 1][1], ev.GoalAgreed)  # the entry stands


def test_what_cannot_be_corrected_is_refused_by_name() -> None:
    case = corrections_case()
    session = version_of(case, "SessionRecorded")
    refusals = [
        (999, {"kind": "phone"}, "version: no correctable entry 999"),
        (version_of(case, "KeyWorkerAllocated"), {"key_worker_id": "x"}, "no correctable entry"),
        (session, {"held_at": "2026-01-01"}, "held_at cannot be corrected on a SessionRecorded"),
        (session, {"duration_minutes": 0}, "changes.duration_minutes:"),
        (session, {"kind": "seance"}, "changes.kind:"),
        (session, {"duration_minutes": True}, "changes.duration_minutes:"),
    ]
    for version, changes, rule in refusals:
        with pytest.raises(CommandRejected, match=rule):
            correct(case, version, **changes)
    assert [type(e).__name__ for e in correct(case, session, duration_minutes=90)] == [
        "EntryCorrected"
    ]


def test_episodes_before_corrections_have_nothing_to_correct() -> None:
    case = intensive_case()
    with pytest.raises(CommandRejected, match="no correctable entry"):
        correct(case, 1, area="newport")


def test_a_corrected_number_is_read_as_the_commands_read_it() -> None:
    """``90.0`` is 90 (JSON has one kind of number), as ``record_session`` takes it; a
    fraction, ``true`` for a number or ``"90"`` still go to the field's own rule or fail."""
    from pydantic import ValidationError

    def changes(value: object) -> dict[str, object]:
        command = cmd.CorrectEntry.model_validate(
            {
                "actor": CM,
                "version": 3,
                "changes": {"duration_minutes": value},
                "reason": "typing_error",
            }
        )
        return dict(command.changes)

    assert changes(90.0) == {"duration_minutes": 90}
    assert type(changes(90.0)["duration_minutes"]) is int
    with pytest.raises(ValidationError, match="a whole number, or a code"):
        changes(90.5)
    assert changes(True) == {"duration_minutes": True}  # the session's rule refuses it
    case = corrections_case()
    [corrected] = correct(case, version_of(case, "SessionRecorded"), duration_minutes=90.0)
    assert isinstance(corrected, ev.EntryCorrected)
    assert corrected.changes == [ev.FieldCorrection(field="duration_minutes", value=90)]
