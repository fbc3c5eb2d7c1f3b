"""Deadline rules in the running workflow: each alert fires once, at its workflow time, in
the same append as its cause; it does not fire when the condition is met in time; and it
resolves when the condition clears."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from events import catalogue as ev
from tests.temporal_harness import SUP, Harness, close_planned, sessions_until, to_intensive
from workflows.lifecycle import midnight

pytestmark = pytest.mark.integration


async def visit(h: Harness, case_id: str, session_id: str) -> None:
    await h.do(
        case_id,
        "record_session",
        session_id=session_id,
        held_at=await h.now(),
        kind="home_visit",
        duration_minutes=60,
    )


async def sleep_to(h: Harness, moment: datetime) -> None:
    await h.sleep(seconds=max((moment - await h.now()).total_seconds(), 0))


def fired_at(actual: datetime, deadline: datetime) -> bool:
    """A timer fires at its deadline (the workflow's clock reads a few ms later)."""
    return deadline <= actual < deadline + timedelta(minutes=1)


def raised(stored: list[Any], rule: str) -> list[tuple[int, ev.AlertRaised]]:
    return [
        (i, e.event)
        for i, e in enumerate(stored)
        if isinstance(e.event, ev.AlertRaised) and e.event.rule == rule
    ]


async def test_no_contact_fires_once_seven_days_after_the_last_visit_and_not_before(
    harness: Harness,
) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "c1")  # the first meeting is the first contact
    await sleep_to(h, started + timedelta(days=6, hours=23))
    await visit(h, "c1", "s1")  # in time: an hour before the threshold
    [session] = [e.event for e in await h.stream("c1") if isinstance(e.event, ev.SessionRecorded)]
    last_visit = session.held_at
    assert "NoContactThresholdPassed" not in await h.types("c1")

    await sleep_to(h, last_visit + timedelta(days=7, hours=2))
    stored = await h.stream("c1")
    passed = [i for i, e in enumerate(stored) if e.type == "NoContactThresholdPassed"]
    assert len(passed) == 1
    assert fired_at(stored[passed[0]].occurred_at, last_visit + timedelta(days=7))
    [(at, alert)] = raised(stored, "no_contact")
    assert at == passed[0] + 1  # recorded in the same append as its cause
    assert (alert.severity, alert.to_key_worker, alert.to_supervisors_of_team) == (
        "high",
        "cm-jones",
        None,
    )
    assert alert.acknowledge_by == stored[passed[0]].occurred_at + timedelta(hours=24)

    await visit(h, "c1", "s2")  # contact again: the condition clears
    await h.sleep(days=6)  # less than another seven days: nothing new
    stored = await h.stream("c1")
    assert [e.type for e in stored].count("NoContactThresholdPassed") == 1
    assert len(raised(stored, "no_contact")) == 1
    visited = next(i for i, e in enumerate(stored) if e.type == "SessionRecorded" and i > at)
    resolution = stored[visited + 1].event
    assert isinstance(resolution, ev.AlertResolved) and resolution.alert_id == alert.alert_id
    assert not any(
        isinstance(e.event, ev.AlertEscalated) and e.event.alert_id == alert.alert_id
        for e in stored
    )  # resolved before its acknowledgement window closed: never escalated


async def test_day_35_reminder_and_overrun_fire_at_midnight_and_overrun_clears_at_closure(
    harness: Harness,
) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "c1")
    start_day = started.date()
    await sessions_until(h, "c1", started, last_day=44)  # a visit every 4 days: no gaps
    stored = await h.stream("c1")

    approaching = [e for e in stored if e.type == "IntensivePhaseEndApproaching"]
    assert len(approaching) == 1
    assert fired_at(approaching[0].occurred_at, midnight(start_day + timedelta(days=35)))
    [(at, ending)] = raised(stored, "intensive_ending")
    assert stored[at - 1].type == "IntensivePhaseEndApproaching"
    assert (ending.severity, ending.to_key_worker) == ("low", "cm-jones")

    overrun = [e for e in stored if e.type == "IntensivePhaseOverrun"]
    assert len(overrun) == 1
    assert fired_at(overrun[0].occurred_at, midnight(start_day + timedelta(days=43)))
    [(at, alert)] = raised(stored, "intensive_overrun")
    assert stored[at - 1].type == "IntensivePhaseOverrun"
    assert (alert.severity, alert.to_key_worker, alert.to_supervisors_of_team) == (
        "medium",
        "cm-jones",
        "cardiff",
    )

    closed = await close_planned(h, "c1")
    assert closed.events[0] == "IntensivePhaseClosed"
    stored = await h.stream("c1")
    resolved = {e.event.alert_id for e in stored if isinstance(e.event, ev.AlertResolved)}
    assert {ending.alert_id, alert.alert_id} <= resolved
    assert len(raised(stored, "intensive_overrun")) == 1


def history_counts(history: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in history.events:
        kind = event.WhichOneof("attributes").removesuffix("_event_attributes")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


async def test_a_command_that_leaves_the_next_deadline_keeps_the_timer_armed(
    harness: Harness,
) -> None:
    """The steady deadline timer: agreeing a goal moves no deadline, so the loop's timer
    stays armed; a visit moves the no-contact deadline, so it is re-armed; and the visit's
    deadline still fires on time."""
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "c1")
    handle = h.client.get_workflow_handle("case-c1")
    before = history_counts(await handle.fetch_history())
    await h.do(
        "c1",
        "agree_goal",
        goal_id="g9",
        category="parenting",
        description="measurable goal",
        baseline=2,
        target=7,
    )
    after_goal = history_counts(await handle.fetch_history())
    assert after_goal.get("timer_canceled", 0) == before.get("timer_canceled", 0)
    assert after_goal.get("timer_started", 0) == before.get("timer_started", 0)

    await sleep_to(h, started + timedelta(days=2))
    await visit(h, "c1", "s1")
    after_visit = history_counts(await handle.fetch_history())
    assert after_visit["timer_canceled"] == after_goal.get("timer_canceled", 0) + 1
    [session] = [e.event for e in await h.stream("c1") if isinstance(e.event, ev.SessionRecorded)]
    await sleep_to(h, session.held_at + timedelta(days=7, minutes=30))
    stored = await h.stream("c1")
    passed = [i for i, e in enumerate(stored) if e.type == "NoContactThresholdPassed"]
    assert len(passed) == 1
    assert fired_at(stored[passed[0]].occurred_at, session.held_at + timedelta(days=7))
    [(at, _)] = raised(stored, "no_contact")
    assert at == passed[0] + 1


async def test_a_new_case_records_one_patch_marker(harness: Harness) -> None:
    """Every patch at once (``rules-of-2026-11-27-pm``): one marker and one search-attribute
    update in a new case's first task, not one of each per patch; none asked later."""
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await h.refer("c1")
    await h.do("c1", "accept", actor=SUP)
    history = await h.client.get_workflow_handle("case-c1").fetch_history()
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.WhichOneof("attributes") == "marker_recorded_event_attributes"
    ]
    assert len(markers) == 1
    assert b'"rules-of-2026-11-27-pm"' in markers[0].details["patch-data"].payloads[0].data
