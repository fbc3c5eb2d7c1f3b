"""The rules found missing by trying the engine as an attacker would (``edge_rules``): each
refuses naming the field and the rule, and an episode begun before them replays as it was
decided."""

from __future__ import annotations

from datetime import timedelta

import pytest

from events import catalogue as ev
from events.envelope import Actor
from events.vocabulary import ClosureKind, Role
from tests.case_rules import CM, MON, SUP, Case, intensive_case, referral
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
