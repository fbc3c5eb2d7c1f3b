"""A long intensive phase continues as new and keeps a whole stream."""

from __future__ import annotations

import pytest

from tests.temporal_harness import SUP, Harness

pytestmark = pytest.mark.integration

SESSIONS = 3000


@pytest.mark.long
@pytest.mark.timeout(600)  # 3,000 updates, one after another: about four minutes here
async def test_three_thousand_sessions_survive_continue_as_new(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await h.refer("c1", max_history_events=2000)
    await h.do("c1", "accept", actor=SUP)
    await h.settle("c1", "allocated")
    first_run = (await h.client.get_workflow_handle("case-c1").describe()).run_id
    at = await h.now()
    await h.do("c1", "record_first_meeting", held_at=at)
    await h.do(
        "c1",
        "agree_goal",
        goal_id="g1",
        category="parenting",
        description="Bedtime routine",
        baseline=3,
        target=8,
    )
    await h.do(
        "c1",
        "agree_goal",
        goal_id="g2",
        category="health",
        description="GP visits",
        baseline=3,
        target=8,
    )
    for n in range(SESSIONS):
        await h.do(
            "c1",
            "record_session",
            session_id=f"s{n}",
            held_at=at,
            kind="phone",
            duration_minutes=15,
        )
    view = await h.view("c1")
    assert view.sessions == SESSIONS
    last_run = (await h.client.get_workflow_handle("case-c1").describe()).run_id
    assert last_run != first_run, "the workflow never continued as new"
    closed = await h.do("c1", "close_intensive_phase", kind="planned", actor=SUP)
    assert closed.events[0] == "IntensivePhaseClosed"
    stream = await h.stream("c1")
    assert [e.stream_version for e in stream] == list(range(1, len(stream) + 1))
    assert [e.type for e in stream].count("SessionRecorded") == SESSIONS
    assert len({e.event_id for e in stream}) == len(stream)
