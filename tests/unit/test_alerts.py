"""Alert rules, without infrastructure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.policy import DEFAULT_POLICY
from workflows.alerts import OpenAlert, alerts_for

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def run(
    events: list[DomainEvent],
    open_alerts: dict[str, OpenAlert] | None = None,
    raised: int = 0,
    key_worker: str | None = "cm-jones",
) -> list[Any]:
    return alerts_for(
        events,
        open_alerts=open_alerts or {},
        raised_so_far=raised,
        key_worker_id=key_worker,
        team_id="cardiff",
        policy=DEFAULT_POLICY,
        at=AT,
    )


TRIGGERS = [
    (ev.FirstMeetingOverdue(due_at=AT), "first_meeting_overdue", "high", None, False),
    (ev.NoContactThresholdPassed(last_contact_at=AT, days=7), "no_contact", "high", None, False),
    (
        ev.IntensivePhaseEndApproaching(day=35, ends_on=date(2026, 3, 9)),
        "intensive_ending",
        "low",
        None,
        False,
    ),
    (ev.IntensivePhaseOverrun(ends_on=date(2026, 3, 1)), "intensive_overrun", "medium", None, True),
    (
        ev.FollowUpReviewOverdue(review_id="m3", due_on=date(2026, 2, 1), grace_days=14),
        "review_overdue",
        "medium",
        "m3",
        False,
    ),
    (
        ev.BoosterScheduled(
            booster_id="b1", goal_ids=["g1"], review_id="m3", due_by=date(2026, 3, 16)
        ),
        "goal_regressed",
        "medium",
        "b1",
        False,
    ),
    (
        ev.IntensivePhaseClosed(
            kind="unplanned", unplanned_reason="moved_away", closed_on=date(2026, 3, 2)
        ),
        "unplanned_exit",
        "medium",
        None,
        True,
    ),
    (
        ev.ChildStatusChanged(child_id="ch1", previous_status="cin", status="cpr"),
        "child_status_escalated",
        "high",
        "ch1",
        True,
    ),
    (ev.ConsentWithdrawn(scope="follow_up"), "consent_withdrawn", "medium", "follow_up", True),
    (
        ev.FollowUpReviewApproaching(review_id="m6", due_on=date(2026, 3, 9), days=7),
        "review_due_soon",
        "low",
        "m6",
        False,
    ),
    (
        ev.BoosterOverdue(booster_id="b2", due_by=date(2026, 3, 1)),
        "booster_overdue",
        "medium",
        "b2",
        False,
    ),
]


@pytest.mark.parametrize(("event", "rule", "severity", "subject", "supervisors"), TRIGGERS)
def test_each_rule_raises_one_alert(
    event: DomainEvent, rule: str, severity: str, subject: str | None, supervisors: bool
) -> None:
    [alert] = run([event], raised=4)
    assert isinstance(alert, ev.AlertRaised)
    assert (alert.alert_id, alert.rule, alert.severity, alert.subject) == (
        "a5",
        rule,
        severity,
        subject,
    )
    assert alert.to_key_worker == "cm-jones"
    assert alert.to_supervisors_of_team == ("cardiff" if supervisors else None)
    hours = {"high": 24, "medium": 72, "low": 168}[severity]
    assert alert.acknowledge_by == AT + timedelta(hours=hours)


def test_facts_that_raise_nothing() -> None:
    assert run([ev.ChildStatusChanged(child_id="ch1", previous_status="cpr", status="cin")]) == []
    assert run([ev.IntensivePhaseClosed(kind="planned", closed_on=date(2026, 3, 2))]) == []
    assert run([ev.ReferralAccepted()]) == []


def test_without_a_key_worker_the_supervisors_are_told() -> None:
    [alert] = run([ev.ConsentWithdrawn(scope="referral")], key_worker=None)
    assert alert.to_key_worker is None and alert.to_supervisors_of_team == "cardiff"


CLEARING = [
    (
        "first_meeting_overdue",
        None,
        ev.FirstMeetingHeld(held_at=AT, intensive_ends_on=AT.date() + timedelta(days=42)),
    ),
    (
        "no_contact",
        None,
        ev.SessionRecorded(session_id="s9", held_at=AT, kind="phone", duration_minutes=10),
    ),
    ("intensive_overrun", None, ev.ExtensionDecided(request_id="x", approved=True, days=14)),
    ("intensive_ending", None, ev.IntensivePhaseClosed(kind="planned", closed_on=date(2026, 3, 2))),
    (
        "review_overdue",
        "m3",
        ev.FollowUpReviewRescheduled(
            review_id="m3", previous_due_on=date(2026, 2, 1), due_on=date(2026, 3, 9)
        ),
    ),
    ("goal_regressed", "b1", ev.BoosterDelivered(booster_id="b1", delivered_at=AT)),
    ("consent_withdrawn", "follow_up", ev.ConsentRecorded(scope="follow_up")),
    (
        "review_due_soon",
        "m6",
        ev.FollowUpReviewCompleted(
            review_id="m6",
            month=6,
            ratings=[{"goal_id": "g1", "rating": "maintained"}],
            family_staying_together=True,
            substance_use_status="not_applicable",
        ),
    ),
    ("booster_overdue", "b2", ev.BoosterDelivered(booster_id="b2", delivered_at=AT)),
]


@pytest.mark.parametrize(("rule", "subject", "event"), CLEARING)
def test_the_condition_clearing_resolves_the_alert(
    rule: str, subject: str | None, event: DomainEvent
) -> None:
    alert = OpenAlert(alert_id="a1", rule=rule, subject=subject)  # type: ignore[arg-type]
    [resolved] = run([event], {"a1": alert}, raised=1)
    assert isinstance(resolved, ev.AlertResolved)
    assert (resolved.alert_id, resolved.resolution) == ("a1", "condition_cleared")


def test_only_the_matching_subject_is_resolved() -> None:
    alert = OpenAlert(alert_id="a1", rule="review_overdue", subject="m1")  # type: ignore[arg-type]
    done = ev.FollowUpReviewRescheduled(
        review_id="m3", previous_due_on=date(2026, 2, 1), due_on=date(2026, 3, 9)
    )
    assert run([done], {"a1": alert}, raised=1) == []
    refused = ev.ExtensionDecided(request_id="x", approved=False, days=0)
    overrun = OpenAlert(alert_id="a2", rule="intensive_overrun")  # type: ignore[arg-type]
    assert run([refused], {"a2": overrun}, raised=2) == []


def test_the_episode_ending_resolves_everything_open() -> None:
    open_alerts = {
        "a1": OpenAlert(alert_id="a1", rule="unplanned_exit"),  # type: ignore[arg-type]
        "a2": OpenAlert(alert_id="a2", rule="review_overdue", subject="m6"),  # type: ignore[arg-type]
    }
    resolved = run([ev.EpisodeEnded(reason="closed_by_supervisor")], open_alerts, raised=2)
    assert [(r.alert_id, r.resolution) for r in resolved] == [
        ("a1", "episode_ended"),
        ("a2", "episode_ended"),
    ]


def test_ids_count_on_within_one_batch() -> None:
    alerts = run(
        [
            ev.IntensivePhaseClosed(kind="unplanned", closed_on=date(2026, 3, 2)),
            ev.ConsentWithdrawn(scope="follow_up"),
        ],
        raised=7,
    )
    assert [a.alert_id for a in alerts] == ["a8", "a9"]


def test_an_overdue_review_supersedes_its_reminder() -> None:
    reminder = OpenAlert(alert_id="a1", rule="review_due_soon", subject="m1")  # type: ignore[arg-type]
    overdue = ev.FollowUpReviewOverdue(review_id="m1", due_on=date(2026, 2, 1), grace_days=14)
    resolved, raised = run([overdue], {"a1": reminder}, raised=1)
    assert (resolved.alert_id, resolved.resolution) == ("a1", "superseded")
    assert (raised.alert_id, raised.rule) == ("a2", "review_overdue")


def test_the_policy_can_change_a_rules_severity() -> None:
    policy = DEFAULT_POLICY.model_copy(update={"alert_severity": {"review_due_soon": "high"}})
    [alert] = alerts_for(
        [ev.FollowUpReviewApproaching(review_id="m1", due_on=date(2026, 3, 9), days=7)],
        open_alerts={},
        raised_so_far=0,
        key_worker_id="cm-jones",
        team_id="cardiff",
        policy=policy,
        at=AT,
    )
    assert (alert.severity, alert.acknowledge_by) == ("high", AT + timedelta(hours=24))


def test_an_unknown_rule_in_the_policy_is_refused() -> None:
    from pydantic import ValidationError

    from events.policy import ProgrammePolicy

    with pytest.raises(ValidationError, match=r"alert_severity\.no_such_rule"):
        ProgrammePolicy.model_validate({"alert_severity": {"no_such_rule": "high"}})


# --- escalation and the new deadlines (pure lifecycle) ------------------------------------


def test_escalation_is_a_deadline_for_unacknowledged_alerts_only() -> None:
    from workflows.lifecycle import CaseState, due, evolve, next_wakeup

    state = CaseState(case_id="c1", policy=DEFAULT_POLICY, alert_timers=True, team_id="cardiff")
    [raised] = run([ev.FirstMeetingOverdue(due_at=AT)])
    state = evolve(state, raised, AT)
    assert next_wakeup(state) == AT + timedelta(hours=24)
    assert due(state, AT + timedelta(hours=23)) == []
    [escalated] = due(state, AT + timedelta(hours=24))
    assert isinstance(escalated, ev.AlertEscalated)
    assert (escalated.alert_id, escalated.to_supervisors_of_team, escalated.reason) == (
        "a1",
        "cardiff",
        "not_acknowledged",
    )
    after = evolve(state, escalated, AT + timedelta(hours=24))
    assert due(after, AT + timedelta(days=30)) == []  # once
    acknowledged = evolve(state, ev.AlertAcknowledged(alert_id="a1"), AT)
    assert due(acknowledged, AT + timedelta(days=30)) == []


def test_reminders_and_supervisor_alerts_do_not_escalate() -> None:
    from workflows.lifecycle import CaseState, due, evolve

    state = CaseState(case_id="c1", policy=DEFAULT_POLICY, alert_timers=True, team_id="cardiff")
    for event in run(
        [
            ev.IntensivePhaseEndApproaching(day=35, ends_on=date(2026, 3, 9)),  # low
            ev.ConsentWithdrawn(scope="follow_up"),  # supervisors have it already
        ]
    ):
        state = evolve(state, event, AT)
    assert len(state.open_alerts) == 2
    assert due(state, AT + timedelta(days=30)) == []


def test_without_the_timers_flag_no_new_deadlines() -> None:
    from workflows.lifecycle import CaseState, due, evolve

    state = CaseState(case_id="c1", policy=DEFAULT_POLICY, team_id="cardiff")  # old episode
    [raised] = run([ev.FirstMeetingOverdue(due_at=AT)])
    state = evolve(state, raised, AT)
    assert due(state, AT + timedelta(days=30)) == []


def test_escalation_after_a_failed_delivery_happens_once() -> None:
    from events.envelope import Actor
    from workflows.commands import EscalateAlert
    from workflows.lifecycle import CaseState, CommandRejected, Phase, decide, evolve

    state = CaseState(case_id="c1", policy=DEFAULT_POLICY, team_id="cardiff", phase=Phase.ALLOCATED)
    [raised] = run([ev.FirstMeetingOverdue(due_at=AT)])
    state = evolve(state, raised, AT)
    [escalated] = decide(state, EscalateAlert(actor=Actor.system(), alert_id="a1"), AT)
    assert isinstance(escalated, ev.AlertEscalated) and escalated.reason == "delivery_failed"
    state = evolve(state, escalated, AT)
    assert decide(state, EscalateAlert(actor=Actor.system(), alert_id="a1"), AT) == []
    assert decide(state, EscalateAlert(actor=Actor.system(), alert_id="a9"), AT) == []
    person = Actor(id="cm-jones", role="case_manager")  # type: ignore[arg-type]
    with pytest.raises(CommandRejected, match="only system may escalate"):
        decide(state, EscalateAlert(actor=person, alert_id="a1"), AT)
