"""The episode workflow on the time-skipping server, recording into real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus

from events import catalogue as ev
from events.calendar import (
    SERVICE_ZONE,
    add_months,
    is_bank_holiday,
    is_working_day,
    local_day,
)
from events.catalogue import FollowUpReviewDue, FollowUpReviewScheduled
from events.envelope import Actor
from events.vocabulary import Role
from tests.temporal_harness import (
    SUP,
    Harness,
    close_planned,
    complete_review,
    in_follow_up,
    sessions_until,
    sleep_until,
    to_intensive,
    wait_for_type,
)
from workflows.client import CaseNotFound, CommandRefused

pytestmark = pytest.mark.integration


async def test_the_planned_path_referral_to_episode_end(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "c1")
    visits = await sessions_until(h, "c1", started, last_day=28)
    await h.sleep(days=2)  # day 30
    await h.do("c1", "score_goals", scores=[{"goal_id": "g1", "score": 6}])
    closed = await close_planned(h, "c1")
    assert closed.events == ["IntensivePhaseClosed"] + ["FollowUpReviewScheduled"] * 4
    view = await h.view("c1")
    closed_on = (started + timedelta(days=30)).date()
    assert view.closed_on == closed_on
    assert [(r.review_id, r.due_on) for r in view.reviews] == [
        (f"m{m}", add_months(closed_on, m)) for m in (1, 3, 6, 12)
    ]
    for review in view.reviews:
        await sleep_until(h, review.due_on)
        assert (await h.view("c1")).reviews[
            [r.review_id for r in view.reviews].index(review.review_id)
        ].status == "due"
        await complete_review(h, "c1", review.review_id)
    final = await h.view("c1")
    assert final.phase == "ended" and final.end_reason == "follow_up_completed"

    stored = await h.stream("c1")
    assert [e.type for e in stored] == (
        [
            "ReferralReceived",
            "ReferralAccepted",
            "KeyWorkerAllocated",
            "FirstMeetingHeld",
            "GoalAgreed",
            "GoalAgreed",
        ]
        + ["SessionRecorded"] * visits
        + ["GoalsScored", "IntensivePhaseClosed"]
        + ["FollowUpReviewScheduled"] * 4
        # a reminder a week before each review (an alert to the key worker), resolved when
        # the review is completed
        + [
            "FollowUpReviewApproaching",
            "AlertRaised",
            "FollowUpReviewDue",
            "FollowUpReviewCompleted",
            "AlertResolved",
        ]
        * 3
        + [
            "FollowUpReviewApproaching",
            "AlertRaised",
            "FollowUpReviewDue",
            "FollowUpReviewCompleted",
            "EpisodeEnded",
            "AlertResolved",
        ]
    )
    assert [e.stream_version for e in stored] == list(range(1, len(stored) + 1))
    for event in stored:
        if isinstance(event.event, FollowUpReviewDue):
            assert local_day(event.occurred_at) == event.event.due_on  # its day, in Wales
        if isinstance(event.event, ev.FollowUpReviewApproaching):
            assert local_day(event.occurred_at) == event.event.due_on - timedelta(days=7)
        if isinstance(event.event, ev.AlertRaised):
            assert (event.event.rule, event.event.to_key_worker) == ("review_due_soon", "cm-jones")
        if isinstance(event.event, FollowUpReviewScheduled):
            assert event.event.due_on == add_months(closed_on, event.event.month)
    assert stored[-1].occurred_at.date() >= add_months(closed_on, 12)
    assert (
        stored[0].metadata.actor.id == "bs-price" and stored[0].metadata.policy_version == "2026.1"
    )
    assert stored[5].metadata.workflow_id == "case-c1"
    assert all(e.metadata.actor.role == "system" for e in stored if e.type == "FollowUpReviewDue")
    assert (await h.store.verify("case-c1")).intact


async def test_unplanned_exit_with_consent_keeps_follow_up(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")
    result = await h.do(
        "c1", "close_intensive_phase", kind="unplanned", unplanned_reason="family_disengaged"
    )
    assert result.events == ["IntensivePhaseClosed"] + ["FollowUpReviewScheduled"] * 4


async def test_unplanned_exit_without_consent_ends_episode(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1", consent_to_follow_up=False)
    result = await h.do(
        "c1", "close_intensive_phase", kind="unplanned", unplanned_reason="moved_away"
    )
    assert result.events == ["IntensivePhaseClosed", "EpisodeEnded"]
    assert (await h.view("c1")).end_reason == "no_follow_up_consent"


async def test_regression_at_three_months_schedules_a_booster(harness: Harness) -> None:
    h = harness
    reviews = await in_follow_up(h)
    await sleep_until(h, reviews[0].due_on)
    await complete_review(h, "c1", "m1")
    await sleep_until(h, reviews[1].due_on)
    result = await complete_review(h, "c1", "m3", g1="regressed")
    assert result.events == ["FollowUpReviewCompleted", "BoosterScheduled"]
    [booster] = (await h.view("c1")).boosters
    assert booster.goal_ids == ["g1"]
    await h.sleep(days=3)
    done = await h.do(
        "c1", "record_booster", booster_id=booster.booster_id, delivered_at=await h.now()
    )
    assert done.events == ["BoosterDelivered"]
    assert (await h.types("c1"))[-1] == "AlertResolved"  # the regression alert
    await h.sleep(days=30)
    assert "BoosterOverdue" not in await h.types("c1")  # delivered in its window


async def test_a_regression_at_the_last_review_waits_for_its_booster(harness: Harness) -> None:
    h = harness
    reviews = await in_follow_up(h)
    for review in reviews[:3]:
        await sleep_until(h, review.due_on)
        await complete_review(h, "c1", review.review_id)
    await sleep_until(h, reviews[3].due_on)
    result = await complete_review(h, "c1", "m12", g1="regressed")
    assert result.events == ["FollowUpReviewCompleted", "BoosterScheduled"]
    assert (await h.view("c1")).phase == "follow_up"  # open for the booster
    await h.sleep(days=5)
    done = await h.do("c1", "record_booster", booster_id="b-m12", delivered_at=await h.now())
    assert done.events == ["BoosterDelivered", "EpisodeEnded"]
    assert (await h.view("c1")).phase == "ended"


async def test_a_review_not_held_resolves_its_overdue_alert(harness: Harness) -> None:
    h = harness
    reviews = await in_follow_up(h)
    await sleep_until(h, reviews[0].due_on + timedelta(days=15))  # past its 14 days' grace
    assert "FollowUpReviewOverdue" in await h.types("c1")
    result = await h.do(
        "c1",
        "record_review_not_held",
        review_id="m1",
        reason="could_not_contact",
        notes="No answer",
    )
    assert result.events == ["FollowUpReviewNotHeld"]
    stream = await h.stream("c1")
    raised = [e.event for e in stream if e.type == "AlertRaised"]
    [overdue] = [a for a in raised if a.rule == "review_overdue"]  # type: ignore[attr-defined]
    assert stream[-1].type == "AlertResolved"
    assert stream[-1].event.alert_id == overdue.alert_id  # type: ignore[attr-defined]
    view = await h.view("c1")
    assert [r.status for r in view.reviews][:2] == ["not_held", "scheduled"]
    # the next review is held on its own, though the first one never was
    await sleep_until(h, reviews[1].due_on)
    assert (await complete_review(h, "c1", "m3")).events == ["FollowUpReviewCompleted"]


async def test_review_overdue_then_rescheduled(harness: Harness) -> None:
    h = harness
    first = (await in_follow_up(h))[0]
    await sleep_until(h, first.due_on + timedelta(days=14), hours=1)
    assert (await h.view("c1")).reviews[0].status == "overdue"
    new_date = first.due_on + timedelta(days=20)
    result = await h.do(
        "c1",
        "reschedule_review",
        review_id="m1",
        due_on=new_date,
        reason="Family on holiday",
        actor=SUP,
    )
    assert result.events == ["FollowUpReviewRescheduled"]
    assert (await h.view("c1")).reviews[0].status == "scheduled"
    await sleep_until(h, new_date)
    assert (await h.view("c1")).reviews[0].status == "due"
    stream = await h.stream("c1")
    assert [e.type for e in stream][-11:] == [
        "FollowUpReviewApproaching",  # a week before: a reminder to the key worker
        "AlertRaised",
        "FollowUpReviewDue",
        "FollowUpReviewOverdue",
        "AlertResolved",  # the reminder is superseded by ...
        "AlertRaised",  # ... the overdue alert, to the key worker, about m1
        "FollowUpReviewRescheduled",
        "AlertResolved",  # its condition cleared: no more reminders
        "FollowUpReviewApproaching",  # the new date is within the week: reminded at once
        "AlertRaised",
        "FollowUpReviewDue",
    ]
    reminder, superseded, raised, resolved = (stream[i].event for i in (-10, -7, -6, -4))
    assert (reminder.rule, reminder.subject, reminder.severity) == ("review_due_soon", "m1", "low")
    assert (superseded.alert_id, superseded.resolution) == (reminder.alert_id, "superseded")
    assert (raised.rule, raised.subject, raised.to_key_worker) == (
        "review_overdue",
        "m1",
        "cm-jones",
    )
    assert (resolved.alert_id, resolved.resolution) == (raised.alert_id, "condition_cleared")
    assert "AlertEscalated" not in [e.type for e in stream]  # resolved within its window


async def test_extension_approved_postpones_overrun_refused_does_not(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones", limit=2)
    for case_id, approve in (("c-yes", True), ("c-no", False)):
        await to_intensive(h, case_id)
        await h.do(case_id, "request_extension", request_id="x1", days=14, reason="Court hearing")
        await h.do(case_id, "decide_extension", request_id="x1", approved=approve, actor=SUP)
    await h.sleep(days=44)
    assert "IntensivePhaseOverrun" in await h.types("c-no")
    yes = await h.types("c-yes")
    assert "IntensivePhaseOverrun" not in yes and "IntensivePhaseEndApproaching" in yes
    await h.sleep(days=14)
    assert "IntensivePhaseOverrun" in await h.types("c-yes")


async def test_waitlist_and_back_fill_when_two_workers_are_full(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("vale", "kw-a", limit=1)
    await h.add_key_worker("vale", "kw-b", limit=1)
    for n in range(4):
        await h.refer(f"v{n}", team_id="vale", priority=3 if n != 3 else 1)
        await h.do(f"v{n}", "accept", actor=SUP)
    views = {n: await h.settle(f"v{n}", "allocated" if n < 2 else "waitlisted") for n in range(4)}
    assert {views[0].key_worker_id, views[1].key_worker_id} == {"kw-a", "kw-b"}
    assert views[3].waitlist_position == 1  # priority 1 jumps the queue
    # v0's family leaves the intensive phase: the most urgent waiting family takes its place
    await h.do("v0", "record_first_meeting", held_at=await h.now())
    await h.do("v0", "close_intensive_phase", kind="unplanned", unplanned_reason="moved_away")
    back_filled = await h.settle("v3", "allocated")
    assert back_filled.key_worker_id == views[0].key_worker_id
    assert (await h.view("v2")).phase == "waitlisted"
    assert "FamilyWaitlisted" in await h.types("v3")
    team_stream = [e.type for e in await h.store.read_stream("team-vale")]
    assert team_stream.count("TeamCaseAllocated") == 3 and "TeamCaseReleased" in team_stream


async def completes(h: Harness, case_id: str) -> None:
    """The case's workflow completes without time passing."""
    handle = h.client.get_workflow_handle(f"case-{case_id}")
    for _ in range(100):
        if (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"case-{case_id} is still running")


async def test_withdrawals_before_the_work_began_free_places_at_once(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("wyre", "kw-w", limit=1)
    for n in range(4):
        await h.refer(f"w{n}", team_id="wyre")
        await h.do(f"w{n}", "accept", actor=SUP)
    await h.settle("w0", "allocated")
    assert (await h.settle("w1", "waitlisted")).waitlist_position == 1
    # a waiting family withdraws: it leaves the waitlist, and the next moves up
    await h.do("w1", "withdraw", reason="moved_away", notes="Moved to Leeds", actor=SUP)
    assert (await h.view("w1")).phase == "ended"
    await completes(h, "w1")  # with no deadline pending, its workflow still ends at once
    # the allocated family never met its worker (the alert says so): the slot goes to the
    # next waiting family, and the alert is resolved with the episode
    await h.sleep(days=5)
    assert "FirstMeetingOverdue" in await h.types("w0")
    await h.do("w0", "withdraw", reason="could_not_be_contacted", actor=SUP)
    allocated = await h.settle("w2", "allocated")
    assert allocated.key_worker_id == "kw-w"
    assert (await h.view("w3")).phase == "waitlisted"
    assert (await h.types("w0"))[-3:] == ["FamilyWithdrew", "EpisodeEnded", "AlertResolved"]
    [withdrew] = [e for e in await h.stream("w0") if e.type == "FamilyWithdrew"]
    assert withdrew.event.reason == "could_not_be_contacted"
    releases = [e for e in await h.store.read_stream("team-wyre") if e.type == "TeamCaseReleased"]
    assert {(e.event.case_id, e.event.key_worker_id) for e in releases} == {
        ("w1", None),
        ("w0", "kw-w"),
    }
    # an open first-meeting deadline died with the episode; an ended case takes no withdrawal
    with pytest.raises(CommandRefused, match="phase"):
        await h.do("w0", "withdraw", reason="moved_away", actor=SUP)
    # once the work has begun the way out is closing the intensive phase, not a withdrawal
    await h.do("w2", "record_first_meeting", held_at=await h.now())
    with pytest.raises(CommandRefused, match="record a withdrawal before the work began"):
        await h.do("w2", "withdraw", reason="did_not_engage", actor=SUP)


async def test_a_waiting_family_made_urgent_is_allocated_first(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("usk", "kw-u", limit=1)
    for n in range(3):
        await h.refer(f"u{n}", team_id="usk")
        await h.do(f"u{n}", "accept", actor=SUP)
    await h.settle("u0", "allocated")
    await h.settle("u2", "waitlisted")
    await h.do("u2", "change_priority", priority=1, reason="Child on a CP plan", actor=SUP)
    await wait_for_type(h.store, "team-usk", "TeamCaseReprioritised")  # through its queue
    stream = await h.store.read_stream("team-usk")
    reprioritised = [e for e in stream if e.type == "TeamCaseReprioritised"]
    assert [(e.event.case_id, e.event.priority) for e in reprioritised] == [("u2", 1)]
    await h.do("u0", "withdraw", reason="needs_met_elsewhere", actor=SUP)
    assert (await h.settle("u2", "allocated")).key_worker_id == "kw-u"  # jumped the queue
    assert (await h.view("u1")).phase == "waitlisted"


async def test_concurrent_acceptances_never_exceed_the_limit(harness: Harness) -> None:
    import asyncio

    h = harness
    await h.add_key_worker("bay", "kw-a", limit=2)
    await h.add_key_worker("bay", "kw-b", limit=2)
    for n in range(8):
        await h.refer(f"b{n}", team_id="bay")
    await asyncio.gather(*(h.do(f"b{n}", "accept", actor=SUP) for n in range(8)))
    for _ in range(60):
        views = [await h.view(f"b{n}") for n in range(8)]
        if all(v.phase in ("allocated", "waitlisted") for v in views):
            break
        await h.sleep(seconds=1)
    loads: dict[str, int] = {}
    for v in views:
        if v.key_worker_id:
            loads[v.key_worker_id] = loads.get(v.key_worker_id, 0) + 1
    assert loads == {"kw-a": 2, "kw-b": 2}
    assert sorted(v.phase for v in views) == ["allocated"] * 4 + ["waitlisted"] * 4


async def test_re_referral_links_the_earlier_episode(harness: Harness) -> None:
    h = harness
    await h.refer("first", family_id="fam-9", referral_grounds=[])  # rejected at once
    result = await h.refer("second", family_id="fam-9")
    assert result.events == ["ReferralReceived"]
    assert (await h.view("second")).previous_case_id == "first"
    [received] = await h.stream("second")
    assert received.event.previous_case_id == "first"  # type: ignore[attr-defined]


async def test_a_family_with_an_open_episode_is_not_referred_again(harness: Harness) -> None:
    h = harness
    await h.refer("open-1", family_id="fam-10")
    with pytest.raises(CommandRefused, match="family fam-10 has an open episode \\(case open-1\\)"):
        await h.refer("open-2", family_id="fam-10")
    assert await h.stream("open-2") == []  # nothing recorded
    # Family ids do not differ by case alone: another spelling is refused, naming the one
    # on record, open episode or not.
    with pytest.raises(CommandRefused, match="family_id: family FAM-10 is on record as fam-10"):
        await h.refer("open-2", family_id="FAM-10")
    assert await h.stream("open-2") == []
    with pytest.raises(CaseNotFound):  # its workflow waits for a corrected referral: no case
        await h.view("open-2")
    await h.do("open-1", "withdraw", reason="needs_met_elsewhere", actor=SUP)
    with pytest.raises(CommandRefused, match="on record as fam-10"):
        await h.refer("open-2", family_id="Fam-10")
    await h.refer("open-3", family_id="fam-10")  # ended: referred again, and linked
    assert (await h.view("open-3")).previous_case_id == "open-1"
    # Nor do a person's ids (the referral's child ch1, adult ad1): refused by the
    # workflow's validator, nothing recorded, and the case takes the next command.
    before = len(await h.stream("open-3"))
    with pytest.raises(CommandRefused, match="child_id: CH1 is ch1 in this family"):
        await h.do("open-3", "add_child", child_id="CH1", actor=SUP)
    with pytest.raises(CommandRefused, match="person_id: AD1 is ad1 in this family"):
        await h.do("open-3", "add_adult", person_id="AD1", relationship="aunt", actor=SUP)
    assert len(await h.stream("open-3")) == before
    await h.do("open-3", "add_child", child_id="ch2", actor=SUP)


async def test_worker_replaced_mid_episode_completes_without_gaps(
    time_skipping_env,
    store,  # type: ignore[no-untyped-def]
) -> None:
    from workers.temporal import build_worker

    # No workflow cache: the test server never expires a dead worker's sticky queue (a real
    # server falls back after 5 s), and replaying every task from history is the stricter test.
    queue = "tq-replaced"
    h = Harness(env=time_skipping_env, store=store, task_queue=queue)
    async with build_worker(time_skipping_env.client, queue, store, max_cached_workflows=0):
        await h.add_key_worker("cardiff", "cm-jones")
        started = await to_intensive(h, "c1")
        await sessions_until(h, "c1", started, last_day=12)
    # the first worker is gone; a new one takes over the same task queue
    async with build_worker(time_skipping_env.client, queue, store, max_cached_workflows=0):
        await sessions_until(h, "c1", started, first_day=16, last_day=28)
        await close_planned(h, "c1")
    stored = await h.stream("c1")
    assert [e.stream_version for e in stored] == list(range(1, len(stored) + 1))
    assert len({e.event_id for e in stored}) == len(stored)
    assert [e.type for e in stored].count("SessionRecorded") == 7
    assert [e.type for e in stored][-5:] == ["IntensivePhaseClosed"] + [
        "FollowUpReviewScheduled"
    ] * 4


async def test_alerts_are_recorded_with_their_cause_and_resolved_when_it_clears(
    harness: Harness,
) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await h.refer("c1")
    await h.do("c1", "accept", actor=SUP)
    await h.settle("c1", "allocated")
    await h.sleep(days=5)  # past the first-meeting target (2 working days)
    await h.do("c1", "record_first_meeting", held_at=await h.now())
    await h.do("c1", "change_child_status", child_id="ch1", status="cpr", actor=SUP)
    stream = await h.stream("c1")
    types = [e.type for e in stream]
    cause = types.index("FirstMeetingOverdue")
    assert types[cause + 1] == "AlertRaised"  # in the same append as its cause
    raised = stream[cause + 1].event
    assert isinstance(raised, ev.AlertRaised)
    assert (raised.rule, raised.severity, raised.to_key_worker) == (
        "first_meeting_overdue",
        "high",
        "cm-jones",
    )
    assert raised.acknowledge_by == stream[cause].occurred_at + timedelta(hours=24)
    held = types.index("FirstMeetingHeld")
    resolved = stream[held + 1].event
    assert isinstance(resolved, ev.AlertResolved) and resolved.alert_id == raised.alert_id
    escalated = stream[-1].event
    assert isinstance(escalated, ev.AlertRaised)
    assert (escalated.rule, escalated.subject, escalated.to_supervisors_of_team) == (
        "child_status_escalated",
        "ch1",
        "cardiff",
    )
    assert types.count("AlertRaised") == 2  # once each, however often the workflow replays

    other = Actor(id="cm-other", role=Role.CASE_MANAGER)
    with pytest.raises(CommandRefused, match="only the key worker it was sent to"):
        await h.do("c1", "acknowledge_alert", alert_id=escalated.alert_id, actor=other)
    with pytest.raises(CommandRefused, match=f"no open alert {raised.alert_id}"):
        await h.do("c1", "acknowledge_alert", alert_id=raised.alert_id)  # resolved already
    done = await h.do("c1", "acknowledge_alert", alert_id=escalated.alert_id)
    assert done.events == ["AlertAcknowledged"]
    with pytest.raises(CommandRefused, match="acknowledged already"):
        await h.do("c1", "acknowledge_alert", alert_id=escalated.alert_id, actor=SUP)
    acknowledged = (await h.stream("c1"))[-1]
    assert acknowledged.metadata.actor.id == "cm-jones"
    assert (await h.store.verify("case-c1")).intact


async def _sleep_to(h: Harness, moment: Any) -> None:
    await h.sleep(seconds=max((moment - await h.now()).total_seconds(), 0))


async def test_an_unacknowledged_alert_escalates_once_an_acknowledged_one_does_not(
    harness: Harness,
) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones", limit=2)
    for case_id in ("c1", "c2"):
        await h.refer(case_id)
        await h.do(case_id, "accept", actor=SUP)
    views = [await h.settle(case_id, "allocated") for case_id in ("c1", "c2")]
    due_at = max(v.first_meeting_due_at for v in views if v.first_meeting_due_at)
    await _sleep_to(h, due_at + timedelta(hours=1))
    raised = {}
    for case_id in ("c1", "c2"):
        stream = await h.stream(case_id)
        [alert] = [e for e in stream if e.type == "AlertRaised"]
        raised[case_id] = alert
    await h.do("c2", "acknowledge_alert", alert_id=raised["c2"].event.alert_id)
    acknowledge_by = raised["c1"].event.acknowledge_by
    await _sleep_to(h, acknowledge_by - timedelta(minutes=5))
    assert "AlertEscalated" not in await h.types("c1")  # not before its time
    await h.sleep(days=10)
    c1 = await h.stream("c1")
    [escalated] = [e for e in c1 if e.type == "AlertEscalated"]  # exactly once
    assert (
        escalated.event.alert_id,
        escalated.event.to_supervisors_of_team,
        escalated.event.reason,
    ) == (raised["c1"].event.alert_id, "cardiff", "not_acknowledged")
    # at the right workflow time (a timer fires at its moment, give or take the task's run)
    assert acknowledge_by <= escalated.occurred_at < acknowledge_by + timedelta(minutes=1)
    assert escalated.metadata.actor.role == "system"
    assert "AlertEscalated" not in await h.types("c2")
    # a supervisor can still acknowledge the escalated alert; the meeting then resolves it
    await h.do("c1", "acknowledge_alert", alert_id=raised["c1"].event.alert_id, actor=SUP)
    await h.do("c1", "record_first_meeting", held_at=await h.now())
    assert (await h.types("c1"))[-2:] == ["FirstMeetingHeld", "AlertResolved"]


async def test_a_booster_not_delivered_in_its_window_raises_one_alert(harness: Harness) -> None:
    h = harness
    reviews = await in_follow_up(h)
    await sleep_until(h, reviews[0].due_on)
    await complete_review(h, "c1", "m1", g1="regressed")
    [booster] = (await h.view("c1")).boosters
    await sleep_until(h, booster.due_by, hours=23)
    assert "BoosterOverdue" not in await h.types("c1")
    await h.sleep(days=5)
    stream = await h.stream("c1")
    types = [e.type for e in stream]
    assert types.count("BoosterOverdue") == 1
    at = types.index("BoosterOverdue")
    overdue, alert = stream[at], stream[at + 1].event
    window_closed = datetime.combine(
        booster.due_by + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    )
    assert window_closed <= overdue.occurred_at < window_closed + timedelta(minutes=1)
    assert (alert.rule, alert.subject, alert.to_key_worker) == (
        "booster_overdue",
        booster.booster_id,
        "cm-jones",
    )
    done = await h.do(
        "c1", "record_booster", booster_id=booster.booster_id, delivered_at=await h.now()
    )
    assert done.events == ["BoosterDelivered"]
    # both the regression alert and the overdue one clear: no more reminders
    assert (await h.types("c1"))[-3:] == ["BoosterDelivered", "AlertResolved", "AlertResolved"]


async def test_a_family_waitlisted_too_long_alerts_the_supervisors_once(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("vale", "kw-a", limit=1)
    for case_id in ("v1", "v2"):
        await h.refer(case_id, team_id="vale")
        await h.do(case_id, "accept", actor=SUP)
    await h.settle("v2", "waitlisted")
    await h.sleep(days=27)
    assert "AlertRaised" not in [e.type for e in await h.store.read_stream("team-vale")]
    await h.sleep(days=5)
    team_stream = await h.store.read_stream("team-vale")
    [raised] = [e for e in team_stream if e.type == "AlertRaised"]
    assert (raised.event.rule, raised.event.subject, raised.event.to_supervisors_of_team) == (
        "waitlisted_too_long",
        "v2",
        "vale",
    )
    handle = h.client.get_workflow_handle("team-vale")
    from temporalio.client import WorkflowUpdateFailedError

    from workflows.team_io import AcknowledgeTeamAlert

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "acknowledge_alert",
            AcknowledgeTeamAlert(actor=Actor(id="cm-jones", role=Role.CASE_MANAGER), alert_id="a1"),
        )
    await handle.execute_update(
        "acknowledge_alert", AcknowledgeTeamAlert(actor=SUP, alert_id=raised.event.alert_id)
    )
    await h.do("v1", "record_first_meeting", held_at=await h.now())
    await h.do("v1", "close_intensive_phase", kind="unplanned", unplanned_reason="moved_away")
    await h.settle("v2", "allocated")
    await h.sleep(days=60)
    types = [e.type for e in await h.store.read_stream("team-vale")]
    assert types.count("AlertRaised") == 1
    # allocated from the waitlist: the alert resolves in the same append
    assert types[-5:] == [
        "AlertRaised",
        "AlertAcknowledged",
        "TeamCaseReleased",
        "TeamCaseAllocated",
        "AlertResolved",
    ]


def _next_autumn_change(after: date) -> date:
    """The last Sunday of October (clocks go back in the UK; no bank holiday near it)."""
    year = after.year
    while True:
        end = date(year, 10, 31)
        sunday = end - timedelta(days=(end.weekday() + 1) % 7)
        if sunday > after + timedelta(days=7):
            return sunday
        year += 1


def _next_bank_holiday_after_a_working_day(after: date) -> tuple[date, date]:
    """(a working day, the bank holiday right after it) at least a week after ``after``."""
    day = after + timedelta(days=8)
    while not (is_bank_holiday(day) and is_working_day(day - timedelta(days=1))):
        day += timedelta(days=1)
    return day - timedelta(days=1), day


async def _allocated_at(h: Harness, case_id: str, day: date, hours: float) -> datetime:
    await sleep_until(h, day, hours)
    await h.refer(case_id)
    await h.do(case_id, "accept", actor=SUP)
    await h.settle(case_id, "allocated")
    [allocated] = [e.event for e in await h.stream(case_id) if e.type == "KeyWorkerAllocated"]
    return allocated.first_meeting_due_at  # type: ignore[no-any-return]


async def test_a_first_meeting_deadline_skips_a_bank_holiday(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones", limit=3)
    eve, holiday = _next_bank_holiday_after_a_working_day((await h.now()).date())
    due = await _allocated_at(h, "bh1", eve, hours=10)
    due_day = local_day(due)
    assert due_day > holiday  # never on the holiday itself
    days = [eve + timedelta(days=n) for n in range(1, (due_day - eve).days + 1)]
    assert sum(is_working_day(d) for d in days) == 2  # two working days, the holiday skipped
    assert (
        due.astimezone(SERVICE_ZONE).hour
        == datetime.combine(eve, datetime.min.time(), tzinfo=UTC)
        .replace(hour=10)
        .astimezone(SERVICE_ZONE)
        .hour
    )


async def test_a_deadline_across_the_clock_change_keeps_its_local_time(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones", limit=3)
    sunday = _next_autumn_change((await h.now()).date())
    friday = sunday - timedelta(days=2)
    due = await _allocated_at(h, "dst1", friday, hours=8)  # 09:00 BST on the Friday
    assert local_day(due) == sunday + timedelta(days=2)  # the Tuesday
    local = due.astimezone(SERVICE_ZONE)
    assert (local.hour, local.utcoffset()) == (9, timedelta(0))  # 09:00 GMT, not 08:00
    # the overdue alert fires then, not an hour early
    await sleep_until(h, sunday + timedelta(days=2), hours=8.5)
    assert "FirstMeetingOverdue" not in await h.types("dst1")
    await sleep_until(h, sunday + timedelta(days=2), hours=9.5)
    assert "FirstMeetingOverdue" in await h.types("dst1")


async def test_a_review_moves_only_when_a_supervisor_approves(harness: Harness) -> None:
    h = harness
    reviews = await in_follow_up(h)
    m1 = reviews[0]
    await sleep_until(h, m1.due_on + timedelta(days=15))
    stream = await h.stream("c1")
    [overdue] = [
        e.event for e in stream if e.type == "AlertRaised" and e.event.rule == "review_overdue"
    ]
    later = local_day(await h.now()) + timedelta(days=3)
    # the key worker may not move it; they ask, and the overdue alert stands meanwhile
    with pytest.raises(CommandRefused, match="request_review_move"):
        await h.do("c1", "reschedule_review", review_id="m1", due_on=later, reason="Away")
    await h.do("c1", "request_review_move", review_id="m1", due_on=later, reason="Away")
    await h.sleep(days=1)
    resolved = [e.event.alert_id for e in await h.stream("c1") if e.type == "AlertResolved"]
    assert overdue.alert_id not in resolved
    assert (await h.view("c1")).reviews[0].status == "overdue"
    done = await h.do("c1", "decide_review_move", review_id="m1", approved=True, actor=SUP)
    assert done.events[:2] == ["FollowUpReviewMoveDecided", "FollowUpReviewRescheduled"]
    resolved = [e.event.alert_id for e in await h.stream("c1") if e.type == "AlertResolved"]
    assert overdue.alert_id in resolved  # the move cleared it
    assert (await h.view("c1")).reviews[0].due_on == later
    # too far from the statutory date: refused, naming the limit
    far = reviews[1].due_on + timedelta(days=60)
    with pytest.raises(CommandRefused, match="must be within 28 days"):
        await h.do("c1", "request_review_move", review_id="m3", due_on=far, reason="Away")
