"""Team allocation rules: limits, waitlist order, back-fill."""

from __future__ import annotations

from datetime import date

from events import catalogue as ev
from workflows import team
from workflows.team import TeamState


def run(state: TeamState, events: list[ev.DomainEvent]) -> TeamState:
    return team.apply_all(state, events)


def test_allocates_to_the_worker_with_most_room_and_waitlists_when_full() -> None:
    state = TeamState(team_id="cardiff")
    state = run(state, team.join(state, "kw-a", 1))
    state = run(state, team.join(state, "kw-b", 2))
    outcomes = []
    for n in range(5):
        events = team.request_allocation(state, f"c{n}", 3, date(2026, 1, n + 1))
        outcomes.append(events[0])
        state = run(state, events)
    assert [type(e).__name__ for e in outcomes] == ["TeamCaseAllocated"] * 3 + [
        "TeamCaseWaitlisted"
    ] * 2
    assert all(len(w.cases) <= w.caseload_limit for w in state.key_workers.values())
    assert [f.case_id for f in state.waitlist] == ["c3", "c4"]


def test_waitlist_orders_by_priority_then_referral_date_and_back_fills() -> None:
    state = TeamState(team_id="t")
    state = run(state, team.join(state, "kw-a", 1))
    state = run(state, team.request_allocation(state, "c0", 3, date(2026, 1, 1)))
    state = run(state, team.request_allocation(state, "late-urgent", 1, date(2026, 1, 9)))
    events = team.request_allocation(state, "early-routine", 3, date(2026, 1, 2))
    assert events == [
        ev.TeamCaseWaitlisted(
            case_id="early-routine", priority=3, referred_on=date(2026, 1, 2), position=2
        )
    ]
    state = run(state, events)
    released = team.release(state, "c0")
    assert released[1] == ev.TeamCaseAllocated(
        case_id="late-urgent", key_worker_id="kw-a", from_waitlist=True
    )
    state = run(state, released)
    assert [f.case_id for f in state.waitlist] == ["early-routine"]


def test_repeated_messages_change_nothing() -> None:
    state = TeamState(team_id="t")
    state = run(state, team.join(state, "kw-a", 2))
    state = run(state, team.request_allocation(state, "c1", 3, date(2026, 1, 1)))
    assert team.request_allocation(state, "c1", 3, date(2026, 1, 1)) == []
    assert team.join(state, "kw-a", 2) == []
    state = run(state, team.release(state, "c1"))
    assert team.release(state, "c1") == []


def test_a_new_worker_takes_waiting_families() -> None:
    state = TeamState(team_id="t")
    state = run(state, team.request_allocation(state, "c1", 2, date(2026, 1, 1)))
    events = team.join(state, "kw-new", 3)
    assert [type(e).__name__ for e in events] == ["TeamKeyWorkerJoined", "TeamCaseAllocated"]


def test_a_leaving_worker_gets_no_new_families() -> None:
    state = TeamState(team_id="t")
    state = run(state, team.join(state, "kw-a", 3))
    state = run(state, team.leave(state, "kw-a"))
    assert (
        type(team.request_allocation(state, "c1", 3, date(2026, 1, 1))[0]).__name__
        == "TeamCaseWaitlisted"
    )


def test_a_family_waiting_too_long_raises_one_alert_to_the_supervisors() -> None:
    from datetime import UTC, datetime, timedelta

    import pytest

    from events.policy import DEFAULT_POLICY

    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    state = TeamState(team_id="vale", alert_timers=True)
    state = team.apply_all(state, team.join(state, "kw-a", 1), at)
    state = team.apply_all(state, team.request_allocation(state, "v1", 3, date(2026, 3, 1)), at)
    state = team.apply_all(state, team.request_allocation(state, "v2", 3, date(2026, 3, 1)), at)
    limit = at + timedelta(days=DEFAULT_POLICY.waitlist_max_days)
    assert team.next_wakeup(state, DEFAULT_POLICY) == limit
    assert team.due_alerts(state, DEFAULT_POLICY, limit - timedelta(seconds=1)) == []
    [alert] = team.due_alerts(state, DEFAULT_POLICY, limit)
    assert isinstance(alert, ev.AlertRaised)
    assert (alert.rule, alert.subject, alert.to_supervisors_of_team, alert.to_key_worker) == (
        "waitlisted_too_long",
        "v2",
        "vale",
        None,
    )
    state = team.apply_all(state, [alert], limit)
    assert team.due_alerts(state, DEFAULT_POLICY, limit + timedelta(days=60)) == []  # once
    assert team.acknowledge(state, "a1") == [ev.AlertAcknowledged(alert_id="a1")]
    with pytest.raises(ValueError, match="alert_id: no open alert a9"):
        team.acknowledge(state, "a9")
    released = team.release(state, "v1")  # v2 is back-filled: its alert clears
    assert [type(e).__name__ for e in released] == ["TeamCaseReleased", "TeamCaseAllocated"]
    [resolved] = team.resolved_alerts(state, released)
    assert (resolved.alert_id, resolved.resolution) == ("a1", "condition_cleared")


def test_teams_without_the_timers_flag_raise_nothing() -> None:
    from datetime import UTC, datetime, timedelta

    from events.policy import DEFAULT_POLICY

    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    state = TeamState(team_id="vale")
    state = team.apply_all(state, team.request_allocation(state, "v1", 3, date(2026, 3, 1)), at)
    assert team.due_alerts(state, DEFAULT_POLICY, at + timedelta(days=365)) == []


def test_a_key_worker_without_a_limit_of_their_own_follows_the_team_policy() -> None:
    from events.policy import DEFAULT_POLICY

    one_each = DEFAULT_POLICY.model_copy(update={"version": "t.1", "caseload_limit": 1})
    state = TeamState(team_id="t")
    state = run(state, team.adopt_policy(state, one_each))
    assert team.adopt_policy(state, one_each) == []  # already on it
    state = run(state, team.join(state, "kw-policy", None))
    state = run(state, team.join(state, "kw-own", 1))
    assert (state.key_workers["kw-policy"].caseload_limit, team.policy_of(state)) == (1, one_each)
    for n in range(3):
        state = run(state, team.request_allocation(state, f"c{n}", 3, date(2026, 1, n + 1)))
    assert [f.case_id for f in state.waitlist] == ["c2"]

    two_each = one_each.model_copy(update={"version": "t.2", "caseload_limit": 2})
    events = team.adopt_policy(state, two_each)
    assert events == [
        ev.TeamPolicyAdopted(policy=two_each, digest=two_each.digest),
        ev.TeamKeyWorkerJoined(key_worker_id="kw-policy", caseload_limit=2, from_policy=True),
        ev.TeamCaseAllocated(case_id="c2", key_worker_id="kw-policy", from_waitlist=True),
    ]  # the worker with a limit of their own keeps it
    state = run(state, events)
    assert state.key_workers["kw-own"].caseload_limit == 1 and state.waitlist == []


def test_a_team_started_before_policies_were_recorded_runs_on_the_default() -> None:
    from events.policy import DEFAULT_POLICY

    state = TeamState(team_id="t")
    assert team.policy_of(state) == DEFAULT_POLICY
    [joined] = team.join(state, "kw-a", None)
    assert joined == ev.TeamKeyWorkerJoined(
        key_worker_id="kw-a", caseload_limit=DEFAULT_POLICY.caseload_limit, from_policy=True
    )


def test_a_waiting_family_made_more_urgent_moves_up_the_waitlist() -> None:
    state = TeamState(team_id="t")
    state = run(state, team.join(state, "kw-a", 1))
    for n, case_id in enumerate(["c0", "first", "second"]):
        state = run(state, team.request_allocation(state, case_id, 3, date(2026, 1, n + 1)))
    assert team.reprioritise(state, "second", 3) == []  # no change
    assert team.reprioritise(state, "c0", 1) == []  # not waiting: allocated
    moved = team.reprioritise(state, "second", 1)
    assert moved == [ev.TeamCaseReprioritised(case_id="second", priority=1)]
    state = run(state, moved)
    released = team.release(state, "c0")
    assert released[1] == ev.TeamCaseAllocated(
        case_id="second", key_worker_id="kw-a", from_waitlist=True
    )
