"""Importing a case from another system: the row replayed through the rules, each step at
its real date; a bad row refused naming its field, with nothing decided."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from events.envelope import Actor
from events.policy import DEFAULT_POLICY
from events.vocabulary import Role
from tests.factories import import_row
from workflows.lifecycle import CaseState, CommandRejected, Phase, evolve
from workflows.lifecycle.imports import ImportCase, fresh_state, import_events

ADMIN = Actor(id="ad-root", role=Role.ADMIN)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def row(phase: str, **changes: Any) -> dict[str, Any]:
    """A family at ``phase`` with a past dated back from NOW (see ``import_row``)."""
    fields = import_row("imp-1", phase, TODAY) | {"actor": ADMIN}
    del fields["case_id"]
    return fields | changes


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def new_case() -> CaseState:
    return fresh_state("imp-1", DEFAULT_POLICY)


def imported(fields: dict[str, Any], **options: Any) -> tuple[CaseState, list[Any]]:
    state = new_case()
    history = import_events(state, ImportCase.model_validate(fields), NOW, **options)
    for event, at in history:
        state = evolve(state, event, at)
    return state, history


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("referred", Phase.REFERRED),
        ("accepted", Phase.ACCEPTED),
        ("waitlisted", Phase.WAITLISTED),
        ("allocated", Phase.ALLOCATED),
        ("intensive", Phase.INTENSIVE),
        ("follow_up", Phase.FOLLOW_UP),
    ],
)
def test_a_family_at_every_phase_arrives_there_with_its_real_dates(
    phase: str, expected: Phase
) -> None:
    state, history = imported(row(phase), waitlist_position=2)
    assert state.phase is expected
    first, at = history[0]
    assert type(first).__name__ == "CaseImported" and at == NOW
    assert (first.source_system, first.source_record, first.phase) == (
        "legacy-cms",
        "R-imp-1",
        phase,
    )
    late = phase == "follow_up"  # a family in follow-up was referred longer ago
    assert state.referred_on == TODAY - timedelta(days=90 if late else 45)
    assert all(at < NOW for _, at in history[1:])  # the history keeps its own dates
    if expected is Phase.WAITLISTED:
        assert state.waitlist_position == 2
    if expected in (Phase.ALLOCATED, Phase.INTENSIVE, Phase.FOLLOW_UP):
        assert state.key_worker_id == "kw-a"
        allocated = TODAY - timedelta(days=84 if late else 35)
        assert state.allocated_at == datetime.combine(allocated, time(12), tzinfo=UTC)
    if expected is Phase.INTENSIVE:
        assert len(state.session_ids) == 3 and set(state.goals) == {"g1"}
        assert state.intensive_started_on == TODAY - timedelta(days=30)
    if expected is Phase.FOLLOW_UP:
        assert state.closed_on == TODAY - timedelta(days=45)
        done = [r for r in state.reviews.values() if r.month == 1]
        assert done and done[0].status.value == "completed"
        assert sorted(r.month for r in state.reviews.values()) == [1, 3, 6, 12]


@pytest.mark.parametrize(
    ("changes", "phase", "field"),
    [
        ({"accepted_on": ago(50)}, "accepted", "accepted_on"),
        ({"allocated_on": ago(41)}, "allocated", "allocated_on"),
        ({"first_meeting_at": f"{ago(-200)}T10:00:00Z"}, "intensive", "first_meeting_at"),
        ({"scores": [{"goal_id": "g1", "score": 5, "scored_on": ago(31)}]}, "intensive",
         "scores[0].scored_on"),
        ({"scores": [{"goal_id": "g9", "score": 5, "scored_on": ago(20)}]}, "intensive",
         "scores[0].goal_id"),
        ({"sessions": [{"session_id": "s0", "held_at": f"{ago(33)}T10:00:00Z",
                        "kind": "home_visit", "duration_minutes": 90}]}, "intensive",
         "sessions[0]"),
        ({"reviews": [{"month": 2, "held_on": ago(12), "family_staying_together": True,
                       "substance_use_status": "reduced"}]}, "follow_up", "reviews[0].month"),
        ({"earlier_episode": {"record_id": "R-0", "ended_on": ago(40)}}, "referred",
         "received_on"),
        ({"area": "vale"}, "referred", "area"),
        ({"children": [{"child_id": "ch1", "age_band": "unborn"}]}, "referred",
         "children.0.expected_on"),
        # The rules of today (edge rules) hold for an import as for a referral made now.
        ({"adults": [{"person_id": "ch1", "relationship": "mother"}]}, "referred",
         "adults.0.person_id"),
        ({"children": [{"child_id": "ch1", "expected_on": "1900-01-01"}]}, "referred",
         "children.0.expected_on"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_naming_its_field(
    changes: dict[str, Any], phase: str, field: str
) -> None:
    with pytest.raises(CommandRejected) as refused:
        imported(row(phase, **changes))
    assert refused.value.field == field, refused.value


def test_a_goal_is_scored_once_at_closure_in_an_import_too() -> None:
    fields = row("follow_up")
    fields["closure"]["closing_scores"] = [
        {"goal_id": "g1", "score": 7},
        {"goal_id": "g1", "score": 2},
    ]
    with pytest.raises(CommandRejected) as refused:
        imported(fields)
    assert refused.value.field == "closure.closing_scores[1].goal_id"
    assert refused.value.rule == "goal g1 is scored twice in one list"


def test_an_earlier_episode_there_makes_the_import_a_re_referral() -> None:
    _, history = imported(
        row("referred", earlier_episode={"record_id": "R-0", "ended_on": ago(200)})
    )
    first = history[0][0]
    assert (first.earlier_record, first.earlier_ended_on) == ("R-0", TODAY - timedelta(days=200))
    _, plain = imported(row("referred"))
    assert plain[0][0].earlier_record is None


@pytest.mark.parametrize(
    ("changes", "phase", "message"),
    [
        ({"phase": "ended"}, "referred", "phase"),
        ({"accepted_on": None}, "accepted", "accepted_on: required for a family at phase accepted"),
        ({"closure": None}, "follow_up", "closure: required"),
        ({"key_worker_id": "kw-a"}, "accepted", "key_worker_id: only for a family at phase"),
        ({"goals": []}, "referred", None),
        ({"sessions": [{"session_id": "s1", "held_at": f"{ago(25)}T10:00:00Z",
                        "kind": "home_visit", "duration_minutes": True}]}, "intensive",
         "duration_minutes"),
    ],
)  # fmt: skip
def test_a_row_of_the_wrong_shape_is_refused_before_any_rule(
    changes: dict[str, Any], phase: str, message: str | None
) -> None:
    fields = row(phase) | changes
    if message is None:
        ImportCase.model_validate(fields)  # an empty list is no claim about a phase
        return
    with pytest.raises(ValidationError, match=message):
        ImportCase.model_validate(fields)


def test_numbers_are_taken_as_the_api_takes_them() -> None:
    # JSON has one kind of number: 90.0 minutes is 90 (as through the API); true is not one.
    fields = row("follow_up")
    fields["sessions"][0]["duration_minutes"] = 90.0
    fields["reviews"][0]["month"] = 1.0
    state, history = imported(fields)
    [first] = [e for e, _ in history if type(e).__name__ == "SessionRecorded"][:1]
    assert first.duration_minutes == 90 and type(first.duration_minutes) is int
    assert 1 in {r.month for r in state.reviews.values() if r.done}
    for bad in (True, "90", 90.5):
        fields["sessions"][0]["duration_minutes"] = bad
        with pytest.raises(ValidationError, match=r"sessions\.0\.duration_minutes"):
            ImportCase.model_validate(fields)


def test_only_an_admin_imports_and_only_into_a_new_case() -> None:
    fields = row("referred", actor=Actor(id="sup-evans", role=Role.SUPERVISOR))
    with pytest.raises(CommandRejected, match="only an admin") as refused:
        imported(fields)
    assert refused.value.kind == "forbidden"
    state, _ = imported(row("referred"))
    with pytest.raises(CommandRejected, match="exists already"):
        import_events(state, ImportCase.model_validate(row("referred")), NOW)


def test_a_family_with_an_open_episode_or_an_unknown_team_is_refused() -> None:
    with pytest.raises(CommandRejected) as open_episode:
        imported(row("referred"), open_case_id="c-77")
    assert open_episode.value.field == "family_id"
    assert "c-77" in open_episode.value.rule
    with pytest.raises(CommandRejected) as unknown:
        imported(row("referred"), team_known=False)
    assert unknown.value.field == "team_id"


@pytest.mark.parametrize(
    ("changes", "phase", "field", "rule"),
    [
        ({"consent_to_follow_up": False}, "follow_up", "phase", "ended episode is not imported"),
        ({"referral_grounds": []}, "referred", "referral_grounds", "rules reject"),
        ({"consent_to_referral": False}, "referred", "consent_to_referral", "rules reject"),
        ({"sessions": [{"session_id": "s9", "held_at": f"{ago(-3)}T10:00:00Z",
                        "kind": "phone", "duration_minutes": 20}]}, "intensive",
         "sessions[0].held_at", "cannot be in the future"),
        ({"sessions": [{"session_id": "s9", "held_at": f"{ago(40)}T10:00:00Z",
                        "kind": "phone", "duration_minutes": 20}]}, "follow_up", "sessions[0]",
         "cannot be after the closure"),
        ({"closure": {"closed_on": ago(45), "kind": "unplanned"}}, "follow_up",
         "closure.unplanned_reason", ""),
    ],
)  # fmt: skip
def test_a_history_that_ends_runs_ahead_or_breaks_a_command_s_own_rule_is_refused(
    changes: dict[str, Any], phase: str, field: str, rule: str
) -> None:
    with pytest.raises(CommandRejected) as refused:
        imported(row(phase, **changes))
    assert refused.value.field == field, refused.value
    assert rule in refused.value.rule


def test_a_step_dated_today_happened_by_now() -> None:
    state, history = imported(row("accepted", accepted_on=TODAY.isoformat()))
    assert state.accepted_at == NOW and all(at <= NOW for _, at in history)


def test_a_family_accepted_allocated_and_met_on_one_morning_imports() -> None:
    # Known by their day, acceptance and allocation stand at noon; the family was met at
    # 10:00 that day: they stand at the meeting instead (it was refused as "before the
    # referral was accepted").
    day = ago(30)
    met = f"{day}T10:00:00Z"
    same_day = {"received_on": day, "accepted_on": day, "allocated_on": day}
    state, history = imported(row("intensive", **same_day, first_meeting_at=met))
    assert state.phase is Phase.INTENSIVE
    assert state.accepted_at == state.first_meeting_at == datetime.fromisoformat(met)
    times = [at for _, at in history[1:]]  # after CaseImported, recorded now
    assert times == sorted(times)
    # Met the evening before the acceptance day (in Wales): still before it, refused.
    with pytest.raises(CommandRejected, match="first_meeting_at: cannot be before allocated_on"):
        imported(row("intensive", **same_day, first_meeting_at=f"{ago(31)}T20:00:00Z"))


def test_a_moment_written_in_utc_falls_on_its_day_in_wales() -> None:
    # A legacy system that keeps UTC writes 00:30 on a summer morning in Wales as 23:30 the
    # evening before. Met at 00:30 on the day of allocation: it was refused as "before the
    # allocation" (compared in the offset written); it is the allocation's day in Wales.
    met = f"{ago(36)}T23:30:00Z"  # 00:30 BST on ago(35), the allocation's day
    state, _ = imported(row("intensive", first_meeting_at=met))
    assert state.phase is Phase.INTENSIVE and state.first_meeting_at is not None
    with pytest.raises(CommandRejected, match="first_meeting_at: cannot be before allocated_on"):
        imported(row("intensive", first_meeting_at=met), days_in_wales=False)  # as recorded
    # Met on the morning of the allocation's day (accepted days before): the allocation
    # stands at the meeting, not at noon after it, so the history runs in order.
    for met_at in (met, f"{ago(35)}T09:00:00Z"):
        state, history = imported(row("intensive", first_meeting_at=met_at))
        assert state.allocated_at == state.first_meeting_at == datetime.fromisoformat(met_at)
        times = [at for _, at in history[1:]]
        assert times == sorted(times)
    # A visit at 00:30 the morning after the closure, written as 23:30 on the closure's day:
    # after the closure in Wales (it was let through as on the closure's day).
    late = row("follow_up")
    late["sessions"][2]["held_at"] = f"{ago(45)}T23:30:00Z"
    with pytest.raises(CommandRejected) as refused:
        imported(late)
    assert refused.value.field == "sessions[2]"
    assert "cannot be after the closure" in refused.value.rule


def test_a_moment_later_today_has_not_happened_yet() -> None:
    # Imported at 09:00: a first meeting or a visit at 23:50 that day is still to come; it
    # was recorded (placed at the import), silencing the first meeting's deadline.
    today = {"received_on": ago(0), "accepted_on": ago(0), "allocated_on": ago(0)}
    evening = f"{TODAY}T23:50:00Z"
    fields = row("intensive", **today, first_meeting_at=evening, goals=[], scores=[])
    fields["sessions"] = []
    with pytest.raises(CommandRejected) as met:
        imported(fields)
    assert (met.value.field, met.value.rule) == ("first_meeting_at", "cannot be in the future")
    early = row("intensive", **today, first_meeting_at=f"{TODAY}T08:00:00Z", goals=[], scores=[])
    early["sessions"] = [
        {"session_id": "s1", "held_at": evening, "kind": "home_visit", "duration_minutes": 60}
    ]
    with pytest.raises(CommandRejected) as visit:
        imported(early)
    assert (visit.value.field, visit.value.rule) == (
        "sessions[0].held_at",
        "cannot be in the future",
    )
    early["sessions"] = []
    state, _ = imported(early)  # met this morning: so far, so good
    assert state.first_meeting_at == datetime.fromisoformat(f"{TODAY}T08:00:00Z")
    # An import recorded before (its history replays so): the evening meeting stood at
    # the import.
    state, _ = imported(fields, days_in_wales=False)
    assert state.first_meeting_at == datetime.fromisoformat(evening)


def test_the_closure_comes_after_its_days_last_visit() -> None:
    # A visit on the evening of the closure's day (BST): the closure, known by its day, was
    # placed at noon, before the visit it closed.
    late = row("follow_up")
    late["sessions"][2]["held_at"] = f"{ago(45)}T21:30:00Z"  # 22:30 in Wales, that day
    _, history = imported(late)
    at = {type(e).__name__: t for e, t in history if type(e).__name__ != "SessionRecorded"}
    visits = [t for e, t in history if type(e).__name__ == "SessionRecorded"]
    assert (
        at["IntensivePhaseClosed"] == max(visits) == datetime.fromisoformat(f"{ago(45)}T21:30:00Z")
    )
    times = [t for _, t in history[1:]]
    assert times == sorted(times)
    # An import recorded before (its history replays so): the closure stood at noon.
    _, before = imported(late, days_in_wales=False)
    closed = [t for e, t in before if type(e).__name__ == "IntensivePhaseClosed"]
    assert closed == [datetime.fromisoformat(f"{ago(45)}T12:00:00Z")]


@pytest.mark.parametrize("doc", ["README.md", "docs/import.md"])
def test_the_documented_example_rows_import(doc: str) -> None:
    """The rows the docs show parse and replay through the rules (the docs stay true)."""
    import json
    import re
    from pathlib import Path

    from workflows.importer import parse

    text = (Path(__file__).parents[2] / doc).read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```json\n(.*?)```", text, re.S) if '"case_id"' in b]
    assert blocks, doc
    for block in blocks:
        rows, problems = parse([json.dumps(json.loads(block))], ADMIN)
        assert problems == [] and len(rows) == 1
        later = datetime(2026, 12, 1, 9, tzinfo=UTC)
        history = import_events(
            fresh_state(rows[0].case_id, DEFAULT_POLICY), rows[0].command, later
        )
        assert type(history[0][0]).__name__ == "CaseImported"


def test_lines_a_file_of_another_system_may_hold() -> None:
    """A byte-order mark before the first line is taken; a key given twice and a line
    nested past any family's shape are each named by line, never the whole file failing."""
    import json

    from workflows.importer import parse

    admin = Actor(id="ad-root", role=Role.ADMIN)
    good = json.dumps(import_row("i1", "referred", TODAY))
    twice = good[:-1] + ', "case_id": "i9"}'
    deep = '{"case_id": "i3", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    rows, problems = parse(["\ufeff" + good, twice, deep, good.replace("i1", "i4")], admin)
    assert [r.line for r in rows] == [1, 4]
    assert [(p.line, p.field, p.rule) for p in problems] == [
        (2, "case_id", "is given twice"),
        (3, "line", "is nested too deeply to be a family"),
    ]


def test_a_line_not_in_utf8_is_that_lines_problem_not_the_files() -> None:
    """Lines read as bytes are decoded one by one: a row exported as Latin-1 is reported
    with its line and the first byte that is not UTF-8; the rows around it still parse, a
    byte-order mark before the first line is taken, and an over-long line is still named."""
    import json

    from workflows.importer import MAX_LINE_BYTES, parse

    good = json.dumps(import_row("i1", "referred", TODAY)).encode()
    latin = good.replace(b'"i1"', b'"i2"').replace(b'"fam-i1"', b'"caf\xe9"')  # Latin-1
    assert b"\xe9" in latin
    at = latin.index(b"\xe9") + 1
    long = b'{"case_id": "i5", "x": "' + b"a" * MAX_LINE_BYTES + b'"}'
    big = b'{"case_id": "i6", "priority": ' + b"9" * 5000 + b"}"
    joined = b"\xef\xbb\xbf" + good.replace(b'"i1"', b'"i7"')  # a second export's mark
    lines = [b"\xef\xbb\xbf" + good, latin, b"  \r", long, good.replace(b'"i1"', b'"i4"')]
    rows, problems = parse([*lines, big, joined], ADMIN)
    assert [r.line for r in rows] == [1, 5, 7]
    assert [(p.line, p.field, p.rule) for p in problems] == [
        (2, "line", f"is not UTF-8 text (byte {at} of the line)"),
        (4, "line", f"must be at most {MAX_LINE_BYTES} bytes"),
        (6, "line", "holds a number too long to read"),
    ]
