"""``fork``: the copy ``evolve`` makes of a state shares nothing that can be changed in
place, and equals a deep copy; every event of a walk of the lifecycle leaves the state it
was applied to as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from events import catalogue as ev
from events.policy import DEFAULT_POLICY
from workflows import team
from workflows.lifecycle import table
from workflows.lifecycle.copying import fork
from workflows.lifecycle.entries import Entry
from workflows.lifecycle.evolve import evolve, evolve_all
from workflows.lifecycle.imports import fresh_state
from workflows.lifecycle.state import Booster, CaseState, Goal, Review


def changeable(value: Any) -> Iterator[Any]:
    """Every object reachable from ``value`` that can be changed in place (a frozen model
    is shared as a whole: nothing assigns to it, or to what it holds)."""
    if isinstance(value, BaseModel):
        if value.model_config.get("frozen"):
            return
        yield value
        for item in value.__dict__.values():
            yield from changeable(item)
    elif isinstance(value, dict):
        yield value
        for item in value.values():
            yield from changeable(item)
    elif isinstance(value, list | set):
        yield value
        for item in value:
            yield from changeable(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from changeable(item)


def shared(a: Any, b: Any) -> list[Any]:
    theirs = {id(x) for x in changeable(b)}
    return [x for x in changeable(a) if id(x) in theirs]


def a_full_state() -> CaseState:
    state = fresh_state("c1", DEFAULT_POLICY)
    state.goals = {"g1": Goal(goal_id="g1", category="parenting", baseline=3, target=8)}
    state.reviews = {
        "r1": Review(review_id="r1", month=1, due_on=date(2026, 3, 1)),
        "r3": Review(review_id="r3", month=3, due_on=date(2026, 5, 1)),
    }
    state.boosters = {"b1": Booster(booster_id="b1", goal_ids=["g1"], due_by=date(2026, 4, 1))}
    state.session_ids = {"s1", "s2"}
    state.adults = ["ad1"]
    state.entries = {1: Entry(type="GoalAgreed", about="g1")}
    state.first_meeting_at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    return state


def test_a_fork_equals_a_deep_copy_and_shares_nothing_changeable() -> None:
    state = a_full_state()
    copied = fork(state)
    assert copied == state.model_copy(deep=True)
    assert copied.model_fields_set == state.model_fields_set
    assert shared(copied, state) == []
    assert copied.policy is state.policy  # frozen: shared


def test_changing_a_fork_leaves_the_original_as_it_was() -> None:
    state = a_full_state()
    before = state.model_copy(deep=True)
    copied = fork(state)
    copied.goals["g1"].latest_score = 7
    copied.reviews["r1"].status = "completed"
    copied.boosters["b1"].goal_ids.append("g2")
    copied.session_ids.add("s3")
    copied.adults.append("ad2")
    copied.entries[2] = Entry(type="SessionRecorded", about="s3")
    assert state == before


def test_a_team_state_forks_as_deeply() -> None:
    state = team.TeamState(team_id="cardiff", policy=DEFAULT_POLICY)
    state.key_workers = {
        "kw1": team.KeyWorkerLoad(key_worker_id="kw1", caseload_limit=3, cases=["c1"])
    }
    state.acknowledged_alerts = {"a1"}
    copied = fork(state)
    assert copied == state.model_copy(deep=True)
    assert shared(copied, state) == []


@pytest.mark.parametrize("value", [None, "x", 3, 2.5, True, date(1, 1, 1), (1, "a"), b"\x00"])
def test_values_that_cannot_change_are_shared(value: Any) -> None:
    assert fork(value) == value


def test_no_event_of_a_walk_changes_the_state_or_the_events_it_is_applied_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    applied: set[str] = set()

    def checked(state: CaseState, recorded: list[tuple[Any, datetime]]) -> CaseState:
        before = state.model_copy(deep=True)
        events = [event.model_dump() for event, _ in recorded]
        after = evolve_all(state, recorded)
        names = [type(event).__name__ for event, _ in recorded]
        assert state == before, names
        assert [event.model_dump() for event, _ in recorded] == events, names
        assert shared(after, state) == [], names
        applied.update(names)
        return after

    monkeypatch.setattr(table, "evolve_all", checked)
    table.explore(limit=60)  # a walk of 60 states applies every kind of event a case takes
    assert {"ReferralReceived", "EntryCorrected", "BoosterDelivered", "EpisodeEnded"} <= applied
    assert len(applied) >= 48


def test_events_applied_together_equal_events_applied_one_by_one() -> None:
    state = fresh_state("c1", DEFAULT_POLICY)
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    recorded = [
        (
            ev.GoalAgreed(goal_id="g1", category="parenting", baseline=3, target=8),
            at,
        ),
        (ev.GoalsScored(scores=[ev.GoalScore(goal_id="g1", score=5)], stage="progress"), at),
        (ev.AdultJoined(person_id="ad2", relationship="father"), at),
    ]
    one_by_one = state
    for event, when in recorded:
        one_by_one = evolve(one_by_one, event, when)
    assert evolve_all(state, recorded) == one_by_one
    assert state == fresh_state("c1", DEFAULT_POLICY)
