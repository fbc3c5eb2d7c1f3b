"""Refused commands: a clear message, and neither the stream nor the history gains anything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from events.calendar import local_day
from tests.temporal_harness import SUP, Harness, to_intensive
from workflows.client import CaseNotFound, CommandRefused, send_command
from workflows.commands import AcceptReferral

pytestmark = pytest.mark.integration


# The time-skipping server has no speculative workflow tasks, so the task that ran a refused
# update's validator is written to history (a real server drops it: see the e2e test on the
# dev server). Everything else must be unchanged.
TASK_BOOKKEEPING = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


async def footprint(h: Harness, case_id: str) -> tuple[int, int]:
    """(history events other than workflow-task bookkeeping, events in the stream)."""
    history = await h.client.get_workflow_handle(f"case-{case_id}").fetch_history()
    meaningful = [e for e in history.events if e.event_type not in TASK_BOOKKEEPING]
    return len(meaningful), len(await h.stream(case_id))


async def intensive(h: Harness) -> None:
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")


async def closed(h: Harness) -> None:
    await intensive(h)
    await h.do("c1", "close_intensive_phase", kind="planned", actor=SUP)


CASES: list[tuple[str, Any, str, dict[str, Any], str]] = [
    (
        "measures outside the programme's range",
        intensive,
        "record_measures",
        dict(stage="referral", measures={"school_attendance": 140}),
        "measures.school_attendance: must be between 0 and 100",
    ),
    (
        "joint work obtained before it was requested",
        intensive,
        "record_joint_work",
        dict(work_id="j1", service="housing", outcome="obtained"),
        "outcome: joint work j1 was never requested: record the request first",
    ),
    (
        "measures at closure before the closure",
        intensive,
        "record_measures",
        dict(stage="closure", measures={"substance_use": 1}),
        "phase: cannot record outcome measures while the case is intensive (needs follow_up)",
    ),
    (
        "review before closure",
        intensive,
        "complete_review",
        dict(
            review_id="m1",
            ratings={"g1": "maintained", "g2": "maintained"},
            family_staying_together=True,
            substance_use_status="reduced",
        ),
        "phase: cannot complete a review while the case is intensive (needs follow_up)",
    ),
    (
        "goal after closure",
        closed,
        "agree_goal",
        dict(goal_id="g3", category="health", description="GP registration", baseline=1, target=8),
        "phase: cannot agree a goal while the case is follow_up (needs intensive)",
    ),
    (
        "duplicate goal",
        intensive,
        "agree_goal",
        dict(goal_id="g1", category="health", description="again", baseline=1, target=8),
        "goal_id: goal g1 is already agreed",
    ),
    (
        "extension decided by a case manager",
        intensive,
        "decide_extension",
        dict(request_id="x1", approved=True),
        "actor.role: only supervisor may decide an extension",
    ),
    (
        "closing twice",
        closed,
        "close_intensive_phase",
        dict(kind="planned", actor=SUP),
        "phase: cannot close the intensive phase while the case is follow_up (needs intensive)",
    ),
    (
        "child not in the family",
        intensive,
        "change_child_status",
        dict(child_id="ch9", status="lac"),
        "child_id: no child ch9 in this family",
    ),
    (
        "reschedule into the past",
        closed,
        "reschedule_review",
        dict(review_id="m1", due_on="2020-01-01", reason="typo", actor=SUP),
        "due_on: must be a date after today",
    ),
    (
        "a key worker moves a review",
        closed,
        "reschedule_review",
        dict(review_id="m1", due_on="2099-01-01", reason="x"),
        "actor.role: only supervisor may reschedule a review (a key worker asks: "
        "request_review_move)",
    ),
    (
        "unknown review",
        closed,
        "reschedule_review",
        dict(review_id="m2", due_on="2099-01-01", reason="x", actor=SUP),
        "review_id: no review m2 in this case",
    ),
]


@pytest.mark.parametrize(
    ("label", "setup", "name", "fields", "message"), CASES, ids=[c[0] for c in CASES]
)
async def test_refused_command_records_nothing(
    harness: Harness, label: str, setup: Any, name: str, fields: dict[str, Any], message: str
) -> None:
    await setup(harness)
    before = await footprint(harness, "c1")
    with pytest.raises(CommandRefused) as refused:
        await harness.do("c1", name, **fields)
    assert str(refused.value) == message
    assert await footprint(harness, "c1") == before


async def test_out_of_range_score_is_refused_even_bypassing_the_client(harness: Harness) -> None:
    await intensive(harness)
    before = await footprint(harness, "c1")
    raw = {
        "actor": {"id": "cm-jones", "role": "case_manager"},
        "goal_id": "g3",
        "category": "health",
        "description": "GP",
        "baseline": 11,
        "target": 5,
    }
    with pytest.raises(WorkflowUpdateFailedError):
        await harness.client.get_workflow_handle("case-c1").execute_update("agree_goal", raw)
    assert (await footprint(harness, "c1"))[1] == before[1]


async def test_unknown_case(harness: Harness) -> None:
    with pytest.raises(CaseNotFound, match="no case nobody"):
        await send_command(harness.client, "nobody", "accept", AcceptReferral(actor=SUP))
    with pytest.raises(CaseNotFound):
        await harness.view("nobody")


async def test_referring_an_existing_case_id_again(harness: Harness) -> None:
    await harness.refer("c1")
    with pytest.raises(CommandRefused, match="case_id: case c1 already exists"):
        await harness.refer("c1")
    assert len(await harness.stream("c1")) == 1


async def test_the_id_of_a_case_that_ended_is_not_taken_again(harness: Harness) -> None:
    await harness.refer("c1", referral_grounds=[])  # rejected by the rule: the episode ends
    await harness.sleep(seconds=1)
    before = len(await harness.stream("c1"))
    with pytest.raises(CommandRefused, match="case_id: case c1 already exists"):
        await harness.refer("c1", family_id="fam-other")
    assert len(await harness.stream("c1")) == before


async def test_referral_with_duplicate_child_ids_is_refused(harness: Harness) -> None:
    children = [{"child_id": "ch1"}, {"child_id": "ch1"}]
    with pytest.raises(ValidationError, match="child ids must be unique"):  # the model's rule
        await harness.refer("c1", children=children)
    assert await harness.stream("c1") == []


async def test_command_after_the_episode_ended(harness: Harness) -> None:
    await harness.refer("c1", referral_grounds=[])  # rejected: the workflow completes
    await harness.sleep(seconds=1)
    with pytest.raises(CommandRefused, match="phase"):
        await harness.do("c1", "accept", actor=SUP)


async def test_wrong_command_name_for_the_model(harness: Harness) -> None:
    with pytest.raises(CommandRefused, match="command: unknown command 'approve'"):
        await send_command(harness.client, "c1", "approve", AcceptReferral(actor=SUP))


async def test_concurrent_conflicting_commands_one_wins_the_other_is_refused_cleanly(
    harness: Harness,
) -> None:
    """Both validators pass against the same state; the second handler, deciding after the
    first has recorded, refuses: the caller gets the rule, the workflow task does not fail."""
    import asyncio

    h = harness
    await intensive(h)
    goal = dict(goal_id="g3", category="housing", description="Rent paid", baseline=2, target=8)
    outcomes = await asyncio.gather(
        h.do("c1", "agree_goal", **goal), h.do("c1", "agree_goal", **goal), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, CommandRefused)]
    assert len(refused) == 1 and "g3" in str(refused[0]), outcomes
    assert [e.type for e in await h.stream("c1")].count("GoalAgreed") == 3
    history = await h.client.get_workflow_handle("case-c1").fetch_history()
    assert not [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert (await h.view("c1")).phase == "intensive"  # and the case carries on


async def test_a_referral_outside_the_local_authorities_or_with_a_contradicted_age_band_records_nothing(
    harness: Harness,
) -> None:
    with pytest.raises(CommandRefused, match="area: must be one of the local authority areas"):
        await harness.refer("c1", area="vale")
    # A referral is dated within the backdating limit: today, and a child of five.
    today = local_day(await harness.now())
    born = {"name": "Seren", "date_of_birth": (today - timedelta(days=5 * 365 + 2)).isoformat()}
    contradicted = [{"child_id": "ch1", "age_band": "under_1", "personal": born}]
    with pytest.raises(CommandRefused, match=r"children\.0\.age_band: is under_1 but the date"):
        await harness.refer("c1", children=contradicted, received_on=today.isoformat())
    assert await harness.stream("c1") == []
    # Right, the band is worked out from the date of birth and recorded in clear, coded.
    await harness.refer(
        "c1",
        area="vale_of_glamorgan",
        children=[{"child_id": "ch1", "personal": born}],
        received_on=today.isoformat(),
        language_preference="welsh",
    )
    [received] = await harness.stream("c1")
    assert received.data["area"] == "vale_of_glamorgan"
    assert received.data["language_preference"] == "welsh"
    assert received.data["children"][0]["age_band"] == "5_to_9"
