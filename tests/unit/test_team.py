"""Team allocation rules: limits, waitlist order, back-fill."""

from __future__ import annotations

import re
from datetime import date

import pytest

from events import catalogue as ev
from events.vocabulary import HandoverReason
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


# --- handover ------------------------------------------------------------------------------


def _team_of(limits: dict[str, int], cases: dict[str, list[str]]) -> TeamState:
    state = TeamState(team_id="t")
    for worker, limit in limits.items():
        state = run(state, team.join(state, worker, limit))
    for worker, held in cases.items():
        for case_id in held:
            state = run(state, [ev.TeamCaseAllocated(case_id=case_id, key_worker_id=worker)])
    return state


def test_reassign_checks_the_receiving_key_worker() -> None:
    state = _team_of({"kw-a": 2, "kw-b": 1, "kw-c": 1}, {"kw-a": ["c1"], "kw-b": ["c2"]})
    state = run(state, team.leave(state, "kw-c"))
    for to, rule in (
        ("kw-b", "kw-b has 1 of 1 families already (no space)"),
        ("kw-z", "no key worker kw-z in team t"),
        ("kw-c", "kw-c has left team t"),
    ):
        with pytest.raises(ValueError, match=re.escape(f"key_worker_id: {rule}")):
            team.reassign(state, "c1", to, HandoverReason.WORKLOAD)
    with pytest.raises(ValueError, match="case_id: team t holds no place for case c9"):
        team.reassign(state, "c9", "kw-a", HandoverReason.WORKLOAD)
    moved = team.reassign(state, "c2", "kw-a", HandoverReason.FAMILY_REQUEST)
    assert moved == [
        ev.TeamCaseReassigned(
            case_id="c2", from_key_worker_id="kw-b", key_worker_id="kw-a", reason="family_request"
        )
    ]
    after = run(state, moved)
    assert after.key_workers["kw-a"].cases == ["c1", "c2"] and after.key_workers["kw-b"].cases == []
    assert team.reassign(after, "c2", "kw-a", HandoverReason.FAMILY_REQUEST) == []  # a retry


def test_a_leavers_families_move_by_priority_then_referral_date() -> None:
    state = _team_of(
        {"kw-l": 5, "kw-x": 3}, {"kw-l": ["old", "urgent", "new", "met"], "kw-x": ["o1", "o2"]}
    )
    families = [
        team.FamilyOnRecord(case_id="old", priority=3, referred_on=date(2026, 1, 1), started=False),
        team.FamilyOnRecord(
            case_id="urgent", priority=1, referred_on=date(2026, 2, 1), started=False
        ),
        team.FamilyOnRecord(case_id="new", priority=3, referred_on=date(2026, 3, 1), started=False),
        team.FamilyOnRecord(case_id="met", priority=2, referred_on=date(2026, 1, 5), started=True),
    ]
    events = team.leave_with_families(state, "kw-l", families)
    assert type(events[0]).__name__ == "TeamKeyWorkerLeft"
    # one place with kw-x: the most urgent family takes it; the rest not met go back to wait
    # in the waitlist's own order; the family whose work began stays with the leaver
    moves = [(type(e).__name__, e.case_id) for e in events[1:]]  # type: ignore[attr-defined]
    assert moves == [
        ("TeamCaseReassigned", "urgent"),
        ("TeamAllocationWithdrawn", "old"),
        ("TeamAllocationWithdrawn", "new"),
    ]
    after = run(state, events)
    assert after.key_workers["kw-l"].cases == ["met"] and not after.key_workers["kw-l"].active
    assert [f.case_id for f in after.waitlist] == ["old", "new"]
    assert [e.position for e in events[2:]] == [1, 2]  # type: ignore[attr-defined]
    # a family the team could not ask about is treated as begun: it is not put back
    unknown = team.leave_with_families(state, "kw-l", [])
    assert [type(e).__name__ for e in unknown[1:]] == ["TeamCaseReassigned"]


def test_a_transferred_family_is_admitted_only_where_it_can_be_served() -> None:
    empty = TeamState(team_id="east")
    with pytest.raises(ValueError, match="team_id: team east has no key workers"):
        team.admit(
            empty,
            "c1",
            "west",
            3,
            date(2026, 1, 1),
            started=False,
            reason=HandoverReason.FAMILY_MOVED,
        )
    full = _team_of({"kw-e": 1}, {"kw-e": ["c0"]})
    with pytest.raises(ValueError, match="a family whose work has begun cannot wait"):
        team.admit(
            full,
            "c1",
            "west",
            3,
            date(2026, 1, 1),
            started=True,
            reason=HandoverReason.FAMILY_MOVED,
        )
    waiting = team.admit(
        full, "c1", "west", 3, date(2026, 1, 1), started=False, reason=HandoverReason.FAMILY_MOVED
    )
    assert [type(e).__name__ for e in waiting] == ["TeamCaseReceived", "TeamCaseWaitlisted"]
    after = run(full, waiting)
    assert team.admission_of(after, "c1") == (None, 1)
    assert (
        team.admit(
            after,
            "c1",
            "west",
            3,
            date(2026, 1, 1),
            started=False,
            reason=HandoverReason.FAMILY_MOVED,
        )
        == []
    )


def test_cover_is_bounded() -> None:
    state = _team_of({"kw-a": 2, "kw-b": 2}, {"kw-a": ["c1"]})
    today = date(2026, 6, 1)
    cases = [
        ("kw-z", "kw-b", today, "key_worker_id: no key worker kw-z"),
        ("kw-a", "kw-z", today, "cover_key_worker_id: no key worker kw-z"),
        ("kw-a", "kw-a", today, "cover_key_worker_id: a key worker cannot cover themselves"),
        ("kw-a", "kw-b", date(2026, 5, 31), "until: 2026-05-31 has passed"),
        ("kw-a", "kw-b", date(2026, 12, 2), "until: a cover lasts at most 183 days"),
    ]
    for absent, cover, until, rule in cases:
        with pytest.raises(ValueError, match=re.escape(rule)):
            team.set_cover(state, absent, cover, until, today)
    events = team.set_cover(state, "kw-a", "kw-b", date(2026, 6, 14), today)
    after = run(state, events)
    assert after.covers["kw-a"].cover_key_worker_id == "kw-b"
    assert team.set_cover(after, "kw-a", "kw-b", date(2026, 6, 14), today) == []


def test_the_team_follows_families_in_follow_up_until_their_end() -> None:
    state = _team_of({"kw-a": 1, "kw-b": 1}, {"kw-a": ["c1"]})
    closed = team.release(state, "c1", following=True)
    state = run(state, closed)
    assert state.following == {"c1": "kw-a"} and state.key_workers["kw-a"].cases == []
    assert state.families_of("kw-a") == ["c1"]
    # no place held: any active key worker takes it, even one who is full
    state = run(state, team.request_allocation(state, "c2", 3, date(2026, 1, 1)))
    moved = team.reassign(state, "c1", "kw-b", HandoverReason.WORKLOAD, in_follow_up=True)
    state = run(state, moved)
    assert state.following == {"c1": "kw-b"}
    # a family in follow-up the team never followed: nothing to move
    assert team.reassign(state, "c9", "kw-b", HandoverReason.WORKLOAD, in_follow_up=True) == []
    # a leaver's follow-up families go to whoever has fewest families
    state = run(state, team.join(state, "kw-c", 2))
    left = team.leave_with_families(state, "kw-b", [])
    assert [(type(e).__name__, getattr(e, "key_worker_id", None)) for e in left] == [
        ("TeamKeyWorkerLeft", "kw-b"),
        ("TeamCaseReassigned", "kw-c"),
    ]
    state = run(state, left)
    ended = team.release(state, "c1")
    assert [type(e).__name__ for e in ended] == ["TeamCaseReleased"]
    assert run(state, ended).following == {}


def test_a_family_met_meanwhile_is_reinstated_with_its_key_worker() -> None:
    state = _team_of({"kw-l": 2}, {"kw-l": ["c1"]})
    family = team.FamilyOnRecord(
        case_id="c1", priority=3, referred_on=date(2026, 1, 1), started=False
    )
    state = run(state, team.leave_with_families(state, "kw-l", [family]))
    assert [f.case_id for f in state.waitlist] == ["c1"]
    # a new key worker joins and takes it from the waitlist before the case's word arrives
    state = run(state, team.join(state, "kw-n", 1))
    assert state.key_workers["kw-n"].cases == ["c1"]
    back = team.reinstate(state, "c1", "kw-l")
    assert [type(e).__name__ for e in back] == ["TeamCaseReinstated"]
    state = run(state, back)
    assert state.key_workers["kw-l"].cases == ["c1"] and state.key_workers["kw-n"].cases == []
    assert team.reinstate(state, "c1", "kw-l") == []  # told twice


def test_a_leaver_stops_covering_and_nobody_away_covers() -> None:
    state = _team_of({"kw-a": 2, "kw-b": 2, "kw-c": 2}, {"kw-a": ["c1"]})
    today = date(2026, 6, 1)
    state = run(state, team.set_cover(state, "kw-a", "kw-b", date(2026, 6, 20), today))
    with pytest.raises(ValueError, match="kw-a is away themselves"):
        team.set_cover(state, "kw-b", "kw-a", date(2026, 6, 10), today)
    left = team.leave(state, "kw-b", ends_covers=True)
    assert left == [
        ev.TeamKeyWorkerLeft(key_worker_id="kw-b"),
        ev.TeamCoverEnded(key_worker_id="kw-a", cover_key_worker_id="kw-b"),
    ]
    assert run(state, left).covers == {}
    assert team.leave(state, "kw-b") == [ev.TeamKeyWorkerLeft(key_worker_id="kw-b")]  # older


def test_a_team_is_registered_once_and_known_from_then_on() -> None:
    state = TeamState(team_id="vale")
    assert not state.known
    with pytest.raises(team.TeamRefusal, match="team_id: no team vale is registered") as refused:
        team.require_known(state)
    assert refused.value.kind == "invalid"
    state = run(state, team.register(state, "Vale IFSS", "vale"))
    assert (state.name, state.area, state.known) == ("Vale IFSS", "vale", True)
    assert team.require_known(state) == []
    with pytest.raises(team.TeamRefusal, match="already registered") as again:
        team.register(state, "Vale IFSS", "vale")
    assert again.value.kind == "conflict"


def test_a_team_from_before_registration_is_known_by_its_key_workers() -> None:
    state = TeamState(team_id="old")
    state = run(state, team.join(state, "kw-a", 2))
    assert state.known and state.name is None
    assert team.require_known(state) == []
