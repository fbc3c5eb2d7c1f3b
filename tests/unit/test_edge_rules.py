"""The rules found missing by trying the engine as an attacker would (``edge_rules``): each
refuses naming the field and the rule, and an episode begun before them replays as it was
decided."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import catalogue as ev
from events.envelope import Actor
from events.vocabulary import ClosureKind, Role
from tests.case_rules import CM, MON, SUP, Case, intensive_case, referral, session
from workflows import commands as cmd
from workflows.lifecycle.state import CommandRejected


def newest(case: Case) -> Case:
    case.state = case.state.model_copy(
        update={
            "input_bounds": True,
            "coded_profile": True,
            "corrections": True,
            "edge_rules": True,
        }
    )
    return case


def refused(case: Case, command: cmd.Command) -> CommandRejected:
    before = len(case.log)
    with pytest.raises(CommandRejected) as raised:
        case.do(command)
    assert len(case.log) == before  # nothing recorded
    return raised.value


def refused_referral(case: Case, command: cmd.ReferFamily) -> CommandRejected:
    with pytest.raises(CommandRejected) as raised:
        case.refer(command)
    assert case.log == []
    return raised.value


def scores(*pairs: tuple[str, int]) -> list[ev.GoalScore]:
    return [ev.GoalScore(goal_id=goal, score=score) for goal, score in pairs]


def test_a_goal_is_scored_once_per_list() -> None:
    case = newest(intensive_case())
    twice = refused(case, cmd.ScoreGoals(actor=CM, scores=scores(("g1", 5), ("g1", 6))))
    assert (twice.field, twice.rule) == (
        "scores[1].goal_id",
        "goal g1 is scored twice in one list",
    )
    closing = cmd.CloseIntensivePhase(
        actor=SUP, kind=ClosureKind.PLANNED, closing_scores=scores(("g1", 6), ("g2", 7), ("g1", 1))
    )
    assert refused(case, closing).field == "closing_scores[2].goal_id"
    case.do(cmd.ScoreGoals(actor=CM, scores=scores(("g1", 5), ("g2", 6))))


def test_an_episode_begun_before_the_edge_rules_replays_its_duplicate_scores() -> None:
    case = intensive_case()  # no edge_rules: decided as it was
    [scored] = case.do(cmd.ScoreGoals(actor=CM, scores=scores(("g1", 5), ("g1", 6))))
    assert isinstance(scored, ev.GoalsScored) and len(scored.scores) == 2


def test_each_person_is_named_once_in_a_family() -> None:
    adults = [
        {"person_id": "a", "relationship": "mother"},
        {"person_id": "a", "relationship": "father"},
    ]
    twice = refused_referral(newest(Case()), referral(adults=adults))
    assert (twice.field, twice.rule) == ("adults.1.person_id", "a is already in this family")
    child = [{"person_id": "ch1", "relationship": "mother"}]
    same = refused_referral(newest(Case()), referral(adults=child))
    assert same.field == "adults.0.person_id"
    # before the rules: taken as given
    assert Case().refer(referral(adults=adults))


def test_dates_of_people_are_plausible() -> None:
    later = MON.date() + timedelta(days=1)
    adult = [{"person_id": "ad1", "relationship": "mother", "personal": {"name": "Sam"}}]
    adult[0]["personal"]["date_of_birth"] = later.isoformat()  # type: ignore[index]
    unborn_adult = refused_referral(newest(Case()), referral(adults=adult))
    assert unborn_adult.field == "adults.0.personal.date_of_birth"
    assert unborn_adult.rule == f"cannot be after {MON.date()}, the day it is recorded for"
    for expected in (MON.date() - timedelta(days=1), MON.date() + timedelta(days=301)):
        child = {"child_id": "ch1", "statutory_status": "cin", "expected_on": expected}
        far = refused_referral(newest(Case()), referral(children=[child]))
        assert far.field == "children.0.expected_on"
        assert "within 300 days from 2026-01-05" in far.rule
    child = {"child_id": "ch1", "statutory_status": "cin", "expected_on": later}
    assert newest(Case()).refer(referral(children=[child]))
    case = newest(intensive_case())
    joining = cmd.AddAdult(
        actor=CM,
        person_id="ad2",
        relationship="father",
        personal={"name": "Alex", "date_of_birth": (case.now + timedelta(days=2)).date()},
    )
    assert refused(case, joining).field == "personal.date_of_birth"


def test_a_priority_change_says_why_in_words() -> None:
    case = newest(Case())
    case.refer()
    for blank in ("", "   ", "\u200e", "\u00ad\u3164"):
        no_reason = refused(case, cmd.ChangePriority(actor=SUP, priority=1, reason=blank))
        assert (no_reason.field, no_reason.rule) == ("reason", "must say why, in words")
    case.do(cmd.ChangePriority(actor=SUP, priority=1, reason="Child protection plan made"))


def test_a_corrected_area_is_one_of_the_areas_of_wales() -> None:
    case = newest(Case())
    case.refer()
    bad = refused(
        case,
        cmd.CorrectEntry(
            actor=Actor(id="sup-evans", role=Role.SUPERVISOR),
            version=1,
            changes={"area": "atlantis"},
            reason="typing_error",
        ),
    )
    assert bad.field == "changes.area" and "local authority areas of Wales" in bad.rule
    [corrected] = case.do(
        cmd.CorrectEntry(actor=SUP, version=1, changes={"area": "newport"}, reason="typing_error")
    )
    assert isinstance(corrected, ev.EntryCorrected)


def latest(case: Case) -> Case:
    """Today's rules, the UK calendar and late dates' bounds included."""
    case.state = newest(case).state.model_copy(update={"uk_calendar": True, "late_dates": True})
    return case


def test_a_referral_is_dated_within_the_backdating_limit_and_not_after_today_in_wales() -> None:
    from datetime import UTC, date, datetime

    # Dated 1900, it would have gone to the head of the waitlist (ordered by referral date).
    ancient = refused_referral(latest(Case()), referral(received_on=date(1900, 1, 1)))
    assert (ancient.field, ancient.rule) == (
        "received_on",
        "cannot be more than 14 days before it is recorded (backdate_days)",
    )
    assert latest(Case()).refer(referral(received_on=MON.date() - timedelta(days=14)))
    # 23:30 on a winter evening in Wales: tomorrow is in the future (it was "today
    # somewhere" up to 14 hours ahead of UTC).
    late = latest(Case())
    late.now = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    tomorrow = refused_referral(late, referral(received_on=date(2026, 1, 6)))
    assert (tomorrow.field, tomorrow.rule) == ("received_on", "cannot be in the future")
    # Before these rules: decided as it was.
    assert newest(Case()).refer(referral(received_on=date(1900, 1, 1)))


def test_a_closure_is_not_dated_before_the_last_contact_recorded() -> None:
    case = latest(intensive_case())
    case.advance_to(MON + timedelta(days=10))
    session(case, 10)  # held on 15 January
    case.advance_to(MON + timedelta(days=12))
    early = cmd.CloseIntensivePhase(
        actor=SUP, kind=ClosureKind.PLANNED, closed_on=MON.date() + timedelta(days=8)
    )
    assert (refused(case, early).field, refused(case, early).rule) == (
        "closed_on",
        "cannot be before the last contact recorded (2026-01-15)",
    )
    on_the_day = cmd.CloseIntensivePhase(
        actor=SUP, kind=ClosureKind.PLANNED, closed_on=MON.date() + timedelta(days=10)
    )
    assert case.do(on_the_day)
