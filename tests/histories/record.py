"""Record the histories of released workflow shapes into tests/histories/*.json.

Run after a deliberate, released change to a workflow (``python -m tests.histories.record``);
``tests/integration/test_replay.py`` replays every saved history, so a change that would
break running cases fails CI. Keep old files: cases started on old code still run.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.common import bench_database
from events.calendar import local_day
from events.db import create_pool
from events.envelope import Actor
from events.store import EventStore
from events.vocabulary import Role
from identity.users import add_user
from tests.factories import import_row as family
from tests.keys import keyring
from tests.temporal_harness import (
    ADMIN,
    SUP,
    Harness,
    close_planned,
    complete_review,
    running_worker,
    sessions_until,
    sleep_until,
    to_intensive,
)
from workers.embedded import temporal_test_server_path
from workers.temporal import register_search_attributes
from workflows import client as cases
from workflows.importer import import_rows
from workflows.team_io import HandOverLeaver, SetCover

HERE = Path(__file__).parent
# v7: the follow-up rules (patch): review windows, not held, boosters hold the episode.
# v8: handover: cover, reassignment, a transfer between teams, a leaver's families moved.
# v9: review moves asked and decided, a correction, the team following its follow-ups.
# v10: teams registered; a case imported from another system (its team admits it), quiet
# alerts for what was overdue at import; a referral rejected by a named rule.
# v11: the edge rules (patch): each goal scored once per list, each person once, plausible
# dates, a priority change's reason in words, a corrected area from the list.
# v12: dates recorded late (patch): a referral's day within its limit, a closure not before
# the last contact, a measure's day not after today in Wales.
# v13: an import's moments on their day in Wales (patch), and a meeting on the morning of
# the allocation's day.
# v14: every patch at once (one marker, rules-of-2026-11-27) and the steady deadline timer.
# v15: a person's id that differs by case alone refused (patch), and every patch at once
# under the newer marker rules-of-2026-11-27-pm.
VERSION = "v15"


async def episodes(h: Harness) -> list[str]:
    """Drive the shapes worth keeping; returns the workflow ids to save."""
    await h.add_key_worker("cardiff", "cm-jones", limit=1)
    started = await to_intensive(h, "planned")
    await imported(h)
    await h.refer("waiting", priority=1)
    await h.do("waiting", "accept", actor=SUP)
    await h.settle("waiting", "waitlisted")
    await h.refer("withdrawn")
    await h.do("withdrawn", "accept", actor=SUP)
    await h.settle("withdrawn", "waitlisted")
    await h.do("withdrawn", "withdraw", reason="moved_away", notes="Moved away", actor=SUP)
    await sessions_until(h, "planned", started, last_day=28)
    [session] = [e for e in await h.stream("planned") if e.type == "SessionRecorded"][:1]
    await h.do(
        "planned",
        "correct_entry",
        version=session.stream_version,
        changes={"duration_minutes": 75},
        reason="typing_error",
    )
    await h.do("planned", "request_extension", request_id="x1", days=7, reason="School holidays")
    await h.do("planned", "decide_extension", request_id="x1", approved=False, actor=SUP)
    await h.sleep(days=3)  # "waiting" now waits past the policy's 28 days: a team alert
    await close_planned(h, "planned")
    await h.settle("waiting", "allocated")  # back-filled
    await handovers(h)
    await h.do("waiting", "record_first_meeting", held_at=await h.now())
    await cases.hand_over_leaver(
        h.client, "cardiff", HandOverLeaver(actor=SUP, key_worker_id="cm-cover")
    )
    while (await h.view("waiting")).key_worker_id != "cm-jones":
        await h.sleep(seconds=1)
    await h.do("waiting", "close_intensive_phase", kind="unplanned", unplanned_reason="moved_away")
    for review_id in ("m1", "m3", "m6", "m12"):  # each on its (possibly moved) date
        [review] = [r for r in (await h.view("planned")).reviews if r.review_id == review_id]
        await sleep_until(h, review.due_on, hours=10 if review.month != 6 else 24 * 15)
        if review.month == 6:  # the key worker asks to move the last review; approved
            [m12] = [r for r in (await h.view("planned")).reviews if r.review_id == "m12"]
            later = m12.due_on + timedelta(days=21)
            await h.do(
                "planned", "request_review_move", review_id="m12", due_on=later, reason="Away"
            )
            await h.do("planned", "decide_review_move", review_id="m12", approved=True, actor=SUP)
        if review.month == 1:  # the family could not be reached for the first one
            await h.do("planned", "record_review_not_held", review_id="m1", reason="declined")
            continue
        regressed = "regressed" if review.month in (3, 12) else "maintained"
        await complete_review(h, "planned", review.review_id, g1=regressed)
    await h.do("planned", "record_booster", booster_id="b-m12", delivered_at=await h.now())
    await h.refer("rejected", referral_grounds=[])
    await h.settle("planned", "ended")
    return [
        "case-imported",
        "case-planned",
        "case-waiting",
        "case-rejected",
        "case-withdrawn",
        "case-moving",
        "team-cardiff",
        "team-east",
    ]


async def imported(h: Harness) -> None:
    """A family imported in its intensive work (with kw-imp): not seen for longer than
    the policy allows, so the deadline loop raises that once, quietly; then a session."""
    await add_user(h.store.pool, "kw-imp", "case_manager", "cardiff")
    await h.add_key_worker("cardiff", "kw-imp", limit=1)
    row = family("imported", "intensive", local_day(await h.now()))
    row["key_worker_id"] = "kw-imp"
    # Met on the allocation's morning, written in another offset (v13: its day in Wales).
    allocated = date.fromisoformat(row["allocated_on"])
    row["first_meeting_at"] = f"{allocated - timedelta(days=1)}T20:00:00-10:00"
    lines = [json.dumps(row)]
    report = await import_rows(
        lines, ADMIN, client=h.client, store=h.store, task_queue=h.task_queue, all_or_none=True
    )
    assert report.imported == ["imported"], report.problems
    await h.sleep(hours=1)  # the deadline loop raises what is overdue, quietly
    await h.do(
        "imported",
        "record_session",
        session_id="s-now",
        held_at=await h.now(),
        kind="phone",
        duration_minutes=20,
        actor=Actor(id="kw-imp", role=Role.CASE_MANAGER),
    )


async def handovers(h: Harness) -> None:
    """Cover for cm-jones, then "waiting" handed to cm-cover; "moving" transferred to east."""
    await h.add_key_worker("cardiff", "cm-cover", limit=1)
    await h.add_key_worker("east", "kw-e", limit=2)
    until = local_day(await h.now()) + timedelta(days=10)
    cover = SetCover(
        actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-cover", until=until
    )
    await cases.set_cover(h.client, "cardiff", cover)
    while (await h.view("waiting")).cover_key_worker_id != "cm-cover":
        await h.sleep(seconds=1)
    await h.do("waiting", "reassign", key_worker_id="cm-cover", reason="workload", actor=SUP)
    await h.refer("moving")
    await h.do("moving", "accept", actor=SUP)
    await h.settle("moving", "allocated")
    await h.do("moving", "transfer", team_id="east", reason="family_moved", actor=SUP)
    await h.do("moving", "withdraw", reason="needs_met_elsewhere", actor=SUP)


async def main() -> None:
    async with bench_database() as (dsn, schema):
        pool = await create_pool(dsn, schema=schema)
        store = EventStore(pool, keyring())
        env = await WorkflowEnvironment.start_time_skipping(
            # In clear: saved histories are replayed by every later run, whatever its key
            # (production histories are sealed: workflows.codec passes old clear ones through).
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(temporal_test_server_path()),
        )
        await register_search_attributes(env.client)
        try:
            async with running_worker(env, store) as h:
                for workflow_id in await episodes(h):
                    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                    path = HERE / f"{VERSION}-{workflow_id}.json"
                    path.write_text(history.to_json(), encoding="utf-8")
                    print(f"wrote {path} ({len(history.events)} events)")
        finally:
            await store.aclose()
            await pool.close()
            await env.shutdown()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))
    asyncio.run(main())
