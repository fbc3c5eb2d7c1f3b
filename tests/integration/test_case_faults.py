"""Faults between a case and its store, injected by the real PostgreSQL: a trigger on the
events table raises the SQLSTATE a test plans (a deadlock-like transient error, a data
error, a constraint) for as many attempts as it says. No error retries for ever, the case
lock is always released, and the case takes the next command."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from events.catalogue import ReferralAccepted, SessionRecorded, TeamKeyWorkerJoined
from events.vocabulary import GoalCategory, SessionKind
from tests.factories import wrap
from tests.temporal_harness import CM, SUP, Harness, to_intensive
from workflows import client as cases
from workflows import commands as cmd

pytestmark = pytest.mark.integration

FAULTS = """
CREATE SEQUENCE fault_attempts;
CREATE TABLE fault_plan (sqlstate text NOT NULL, times bigint NOT NULL, type text);
CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    plan record;
BEGIN
    SELECT * INTO plan FROM fault_plan LIMIT 1;
    IF FOUND AND NEW.stream_id LIKE 'case-%' AND (plan.type IS NULL OR NEW.type = plan.type)
       AND nextval('fault_attempts') <= plan.times THEN
        RAISE EXCEPTION 'injected fault' USING ERRCODE = plan.sqlstate;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER inject_fault BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION inject_fault();
"""


async def plan_faults(
    pool: asyncpg.Pool, sqlstate: str | None, times: int = 0, *, type_name: str | None = None
) -> None:
    """From now on, the next ``times`` appends to a case stream (of events of ``type_name``
    only, when given) fail with ``sqlstate``."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT to_regclass('fault_plan') IS NOT NULL"):
            await conn.execute(FAULTS)
        await conn.execute("DELETE FROM fault_plan")
        await conn.execute("SELECT setval('fault_attempts', 1, false)")
        if sqlstate is not None:
            await conn.execute(
                "INSERT INTO fault_plan VALUES ($1, $2, $3)", sqlstate, times, type_name
            )


async def ready(h: Harness) -> None:
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")


async def visit(h: Harness, session_id: str) -> Any:
    return await h.do(
        "c1",
        "record_session",
        session_id=session_id,
        held_at=await h.now(),
        kind="phone",
        duration_minutes=10,
    )


async def sessions_stored(h: Harness) -> list[str]:
    return [e.data["session_id"] for e in await h.stream("c1") if e.type == "SessionRecorded"]


async def test_a_transient_error_is_retried_and_the_command_recorded_once(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    await ready(harness)
    await plan_faults(pool, "40001", times=3)  # serialization failure, three times
    result = await visit(harness, "s1")
    assert result.events == ["SessionRecorded"]
    assert await sessions_stored(harness) == ["s1"]
    assert await pool.fetchval("SELECT last_value FROM fault_attempts") >= 4  # it did retry


@pytest.mark.parametrize(
    ("sqlstate", "name"),
    [("22P05", "UntranslatableCharacterError"), ("23514", "CheckViolationError")],
)
async def test_a_permanent_error_fails_the_command_at_once_and_frees_the_case(
    harness: Harness, pool: asyncpg.Pool, sqlstate: str, name: str
) -> None:
    await ready(harness)
    version = await harness.store.stream_version("case-c1")
    await plan_faults(pool, sqlstate, times=1_000_000)
    for session_id in ("s1", "s2"):  # the second is not stuck behind the first
        started = time.monotonic()
        with pytest.raises(cases.StoreFailure, match=f"refused the write \\({name}"):
            await visit(harness, session_id)
        assert time.monotonic() - started < 10  # not retried
    assert await pool.fetchval("SELECT last_value FROM fault_attempts") == 2  # once each
    assert await harness.store.stream_version("case-c1") == version
    await plan_faults(pool, None)
    assert (await visit(harness, "s3")).events == ["SessionRecorded"]
    assert await sessions_stored(harness) == ["s3"]


async def test_a_store_that_never_answers_fails_the_command_within_its_bound(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    await ready(harness)
    version = await harness.store.stream_version("case-c1")
    await plan_faults(pool, "57014", times=1_000_000)  # statement timeout, every time
    command = asyncio.create_task(visit(harness, "s1"))
    for _ in range(40):  # skip past the five-minute retry bound
        if command.done():
            break
        await harness.sleep(seconds=30)
    with pytest.raises(cases.StoreUnavailable, match="not confirmed"):
        await command
    assert await harness.store.stream_version("case-c1") == version
    await plan_faults(pool, None)
    assert (await visit(harness, "s2")).events == ["SessionRecorded"]
    assert await sessions_stored(harness) == ["s2"]


async def test_deadlines_wait_out_a_store_outage_and_the_case_lives_on(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    await harness.add_key_worker("cardiff", "cm-jones")
    await harness.refer("c1")
    await harness.do("c1", "accept", actor=SUP)
    view = await harness.settle("c1", "allocated")
    assert view.first_meeting_due_at is not None
    await harness.sleep(
        seconds=(view.first_meeting_due_at - await harness.now()).total_seconds() - 60
    )
    await plan_faults(pool, "57P01", times=1_000_000)  # the server is shutting down, for good
    for _ in range(6):  # the first meeting falls overdue; its event cannot be stored
        await harness.sleep(minutes=5)
    handle = harness.client.get_workflow_handle("case-c1")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert "FirstMeetingOverdue" not in await harness.types("c1")
    await plan_faults(pool, None)
    await harness.sleep(minutes=2)  # the loop tries again every minute
    assert await harness.types("c1") == [
        "ReferralReceived",
        "ReferralAccepted",
        "KeyWorkerAllocated",
        "FirstMeetingOverdue",
        "AlertRaised",
    ]
    met = await harness.do("c1", "record_first_meeting", held_at=await harness.now())
    assert met.events[0] == "FirstMeetingHeld"


async def test_events_the_case_has_not_seen_are_read_back_before_it_goes_on(
    harness: Harness,
) -> None:
    await ready(harness)
    version = await harness.store.stream_version("case-c1")
    # As an append whose answer was lost would leave it: stored, but not applied.
    stored = SessionRecorded(
        session_id="s-lost",
        held_at=await harness.now(),
        kind=SessionKind.HOME_VISIT,
        duration_minutes=60,
    )
    await harness.store.append("case-c1", version, [wrap(stored, at=await harness.now())])
    with pytest.raises(cases.VersionConflict, match="moved on"):
        await visit(harness, "s1")
    view = await harness.view("c1")
    assert view.version == version + 1 and view.sessions == 1  # caught up with the store
    assert (await visit(harness, "s1")).events == ["SessionRecorded"]
    assert await sessions_stored(harness) == ["s-lost", "s1"]
    assert (await harness.store.verify("case-c1")).intact


async def test_text_that_bypassed_validation_on_the_way_in_cannot_wedge_the_case(
    harness: Harness,
) -> None:
    await ready(harness)
    version = await harness.store.stream_version("case-c1")
    # A caller that skips the model's checks (model_construct) reaches the workflow itself.
    poisoned = cmd.AgreeGoal.model_construct(
        actor=CM,
        expected_version=None,
        goal_id="g9",
        category=GoalCategory.PARENTING,
        description="bed\u0000time",
        baseline=2,
        target=8,
    )
    started = time.monotonic()
    with pytest.raises(cases.CommandRefused, match="description: must not contain the NUL"):
        await cases.send_command(harness.client, "c1", "agree_goal", poisoned)
    # Sent past the client's checks too, the workflow refuses to decode it: not stuck.
    handle = harness.client.get_workflow_handle("case-c1")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("agree_goal", poisoned)
    assert time.monotonic() - started < 10
    assert await harness.store.stream_version("case-c1") == version
    assert (await visit(harness, "s1")).events == ["SessionRecorded"]


async def test_an_accept_that_landed_unseen_still_gets_the_family_a_key_worker(
    harness: Harness,
) -> None:
    await harness.add_key_worker("cardiff", "cm-jones")
    await harness.refer("c1")
    # As an accept whose answer was lost would leave it: stored, not yet applied by the case.
    now = await harness.now()
    await harness.store.append("case-c1", 1, [wrap(ReferralAccepted(), at=now)])
    with pytest.raises(cases.VersionConflict, match="case_id: the case moved on"):
        await harness.do("c1", "withdraw_consent", scope="follow_up", actor=SUP)
    # Catching up carried out what the accept sets in motion: the team allocates.
    view = await harness.settle("c1", "allocated")
    assert view.key_worker_id == "cm-jones"
    assert (await harness.store.verify("case-c1")).intact


async def test_the_team_catches_up_with_its_own_stream_before_deciding(
    harness: Harness,
) -> None:
    await harness.add_key_worker("cardiff", "cm-jones", limit=1)
    team_version = await harness.store.stream_version("team-cardiff")
    now = await harness.now()
    joined = TeamKeyWorkerJoined(key_worker_id="cm-late", caseload_limit=2)
    await harness.store.append("team-cardiff", team_version, [wrap(joined, at=now)])
    with pytest.raises(cases.VersionConflict, match="moved on"):
        await harness.add_key_worker("cardiff", "cm-other")
    team = await cases.team_view(harness.client, "cardiff")
    assert set(team.key_workers) == {"cm-jones", "cm-late"}  # read back from the stream
    await harness.add_key_worker("cardiff", "cm-other")
    # Two families: the first goes to cm-jones (limit 1), the second to one of the others.
    for case_id in ("c1", "c2"):
        await harness.refer(case_id)
        await harness.do(case_id, "accept", actor=SUP)
        await harness.settle(case_id, "allocated")
    assert (await harness.store.verify("team-cardiff")).intact


async def test_a_team_notice_the_case_cannot_record_waits_and_is_not_lost(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    await harness.add_key_worker("cardiff", "cm-jones")
    await harness.refer("c1")
    await plan_faults(pool, "42501", times=1_000_000)  # permission denied: permanent
    with pytest.raises(cases.StoreFailure):
        await harness.do("c1", "accept", actor=SUP)
    # From here the allocation cannot be recorded (planned before the acceptance: the team
    # allocates as soon as it hears of it, and its notice must find the store refusing).
    await plan_faults(pool, "42501", times=1_000_000, type_name="KeyWorkerAllocated")
    await harness.do("c1", "accept", actor=SUP)
    handle = harness.client.get_workflow_handle("case-c1")
    for _ in range(10):  # ten minutes: tried again every minute, never in a tight loop
        await harness.sleep(minutes=1)
    length = len((await handle.fetch_history()).events)
    assert length < 400, length
    assert (await harness.view("c1")).phase == "accepted"
    await plan_faults(pool, None)
    view = await harness.settle("c1", "allocated")
    assert view.key_worker_id == "cm-jones"
    assert [e.type for e in await harness.stream("c1")].count("KeyWorkerAllocated") == 1
