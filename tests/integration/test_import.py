"""Importing cases already open in another system, on real PostgreSQL and the
time-skipping Temporal server: families at every phase, each then driven to its next
deadline and command; overdue items raised once; a bad file reported by line and field
with nothing of a bad row recorded, all or none as the admin chose."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from events.envelope import EventMetadata
from events.records import NewEvent
from events.vocabulary import OverdueOnImport
from identity.users import add_user
from tests.factories import PHASES, referral
from tests.factories import import_row as family
from tests.projector_harness import catch_up
from tests.temporal_harness import ADMIN, SUP, Harness, sleep_until
from workflows import client as cases
from workflows.importer import ImportReport, import_rows
from workflows.lifecycle.imports import ImportCase

pytestmark = pytest.mark.integration


async def add_key_worker(h: Harness, key_worker_id: str = "kw-a", *, limit: int = 3) -> None:
    """A key worker of cardiff: a case manager of the team (a user), given families."""
    await add_user(h.store.pool, key_worker_id, "case_manager", "cardiff")
    await h.add_key_worker("cardiff", key_worker_id, limit=limit)


async def run_import(h: Harness, rows: list[dict[str, Any]], **options: Any) -> ImportReport:
    lines = [json.dumps(r) for r in rows]
    return await import_rows(
        lines,
        ADMIN,
        client=h.client,
        store=h.store,
        task_queue=h.task_queue,
        **{"all_or_none": True, **options},
    )


async def test_open_families_at_every_phase_carry_on_from_where_they_were(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    h = harness
    await add_key_worker(h, limit=1)
    today = (await h.now()).date()
    # The accepted family first: the team allocates it now, as it would any acceptance,
    # and kw-a is full. The others arrive where they stood.
    accepted = await run_import(h, [family("i-accepted", "accepted", today)])
    assert accepted.imported == ["i-accepted"]
    await h.settle("i-accepted", "allocated")
    rows = [family(f"i-{p}", p, today) for p in PHASES if p != "accepted"]
    report = await run_import(h, rows)
    assert report.problems == [] and report.imported == [r["case_id"] for r in rows]

    first = await h.stream("i-follow_up")
    assert first[0].type == "CaseImported" and first[0].metadata.actor == ADMIN
    assert first[0].data["source_record"] == "R-i-follow_up"
    assert first[1].type == "ReferralReceived"
    assert first[1].occurred_at.date() == today - timedelta(days=90)  # its real date

    # The team holds each family where it stood: kw-a has the allocated and the intensive
    # family (past the limit of 1: it was so already) and follows the one in follow-up.
    team = await cases.team_view(h.client, "cardiff")
    assert team.key_workers["kw-a"].cases == ["i-accepted", "i-allocated", "i-intensive"]
    assert team.following["i-follow_up"] == "kw-a"
    waitlisted = await h.view("i-waitlisted")
    assert waitlisted.phase == "waitlisted" and waitlisted.waitlist_position == 1

    # Deadlines already past at import are raised once, by the case itself.
    await h.sleep(hours=1)
    assert (await h.types("i-allocated")).count("FirstMeetingOverdue") == 1
    assert (await h.types("i-intensive")).count("NoContactThresholdPassed") == 1
    await h.sleep(days=2)
    assert (await h.types("i-allocated")).count("FirstMeetingOverdue") == 1
    assert (await h.types("i-intensive")).count("NoContactThresholdPassed") == 1
    # Under the default policy they are quiet: in the inbox, not delivered (no storm).
    [overdue] = [e for e in await h.stream("i-allocated") if e.type == "AlertRaised"]
    assert overdue.data["rule"] == "first_meeting_overdue" and overdue.data["quiet"] is True
    # The history itself raised nothing: what was late there is history, not an alert.
    imported = await h.stream("i-intensive")
    assert not any(e.type == "AlertRaised" and e.occurred_at.date() < today for e in imported)

    # The read models show them as they stand, with their real dates.
    await catch_up(pool, h.store)
    rows_now = {
        r["case_id"]: r
        for r in await pool.fetch("SELECT case_id, phase, referred_on FROM case_summary")
    }
    assert {c: r["phase"] for c, r in rows_now.items()} == {
        "i-accepted": "allocated",
        "i-referred": "referred",
        "i-allocated": "allocated",
        "i-intensive": "intensive",
        "i-follow_up": "follow_up",
        "i-waitlisted": "waitlisted",
    }
    assert rows_now["i-follow_up"]["referred_on"] == today - timedelta(days=90)
    history = await pool.fetch(
        "SELECT type FROM case_timeline WHERE case_id = 'i-follow_up' ORDER BY stream_version"
    )
    assert history[0]["type"] == "CaseImported"

    # Each goes on with its next command.
    await h.do("i-referred", "accept", actor=SUP)
    await h.settle("i-referred", "waitlisted")  # kw-a is full
    waiting = (await cases.team_view(h.client, "cardiff")).waitlist
    assert sorted(f.case_id for f in waiting) == ["i-referred", "i-waitlisted"]
    met = await h.do("i-allocated", "record_first_meeting", held_at=await h.now())
    assert met.events[0] == "FirstMeetingHeld"
    session = await h.do(
        "i-intensive",
        "record_session",
        session_id="s9",
        held_at=await h.now(),
        kind="home_visit",
        duration_minutes=60,
    )
    assert session.events[0] == "SessionRecorded"
    view = await h.view("i-follow_up")
    three = next(r for r in view.reviews if r.month == 3)
    await sleep_until(h, three.due_on)
    held = await h.do(
        "i-follow_up",
        "complete_review",
        review_id=three.review_id,
        ratings={"g1": "maintained"},
        family_staying_together=True,
        substance_use_status="reduced",
    )
    assert held.events[0] == "FollowUpReviewCompleted"
    # The accepted family (allocated by the team at import) meets its key worker; the
    # waiting family has waited past the policy's limit (a team alert, once) and a
    # supervisor makes it more urgent.
    met = await h.do("i-accepted", "record_first_meeting", held_at=await h.now())
    assert met.events[0] == "FirstMeetingHeld"
    waited = [
        e for e in await h.store.read_stream("team-cardiff")
        if e.type == "AlertRaised" and e.data["subject"] == "i-waitlisted"
    ]  # fmt: skip
    assert [e.data["rule"] for e in waited] == ["waitlisted_too_long"]
    urgent = await h.do(
        "i-waitlisted", "change_priority", priority=1, reason="Risk rose", actor=SUP
    )
    assert urgent.events[0] == "PriorityChanged"
    # What falls due after the import alerts as any alert does (delivered).
    later = [e for e in await h.stream("i-follow_up") if e.type == "AlertRaised"]
    assert later and not any(e.data["quiet"] for e in later)


async def test_a_bad_file_is_reported_by_line_and_field_and_nothing_of_it_recorded(
    harness: Harness,
) -> None:
    h = harness
    await add_key_worker(h)
    # In the team's roster from before key workers had to be its case managers or
    # supervisors: a clerk and someone who is no user at all.
    await add_user(h.store.pool, "bs-clerk", "business_support", "cardiff")
    await h.add_key_worker("cardiff", "bs-clerk", limit=3)
    await h.add_key_worker("cardiff", "kw-ghost", limit=3)
    await h.refer("open-1", family_id="fam-taken")  # a family with an open episode
    await h.refer("open-2", family_id="fam-spelt")  # and one spelt otherwise in the file
    today = (await h.now()).date()
    good = family("g-1", "allocated", today)
    rows = [
        good,
        family("b-phase", "referred", today) | {"phase": "closed"},
        family("b-order", "accepted", today, accepted_on=(today - timedelta(days=60)).isoformat()),
        family(
            "b-score",
            "intensive",
            today,
            scores=[
                {"goal_id": "g1", "score": 5, "scored_on": (today - timedelta(31)).isoformat()}
            ],
        ),
        family("b-team", "referred", today, team_id="cardif"),
        family("b-worker", "allocated", today, key_worker_id="kw-nobody"),
        family("b-open", "referred", today, family_id="fam-taken"),
        family("b-twice", "referred", today, family_id="fam-g-1"),
        family("g-1", "referred", today, family_id="fam-other"),  # the same case id again
        family("b-actor", "referred", today) | {"actor": {"id": "x", "role": "admin"}},
        family("b-policy", "referred", today) | {"overdue_alerts": "deliver"},
        family("b-clerk", "allocated", today, key_worker_id="bs-clerk"),
        family("b-ghost", "intensive", today, key_worker_id="kw-ghost"),
        family("b-spelt", "referred", today, family_id="FAM-SPELT"),
        family("b-twice-spelt", "referred", today, family_id="FAM-G-1"),  # as line 1's
    ]
    lines = [json.dumps(r) for r in rows] + ["{not json", "", '"a string"']
    report = await import_rows(
        lines, ADMIN, client=h.client, store=h.store, task_queue=h.task_queue, all_or_none=True
    )
    assert [(p.line, p.field) for p in report.problems] == [
        (2, "phase"),
        (3, "accepted_on"),
        (4, "scores[0].scored_on"),
        (5, "team_id"),
        (6, "key_worker_id"),
        (7, "family_id"),
        (8, "family_id"),
        (9, "case_id"),
        (10, "actor"),
        (11, "overdue_alerts"),
        (12, "key_worker_id"),
        (13, "key_worker_id"),
        (14, "family_id"),
        (15, "family_id"),
        (16, "line"),
        (18, "line"),
    ]
    assert "no team cardif is registered" in report.problems[3].rule
    assert "case open-1" in report.problems[5].rule
    assert "bs-clerk has the role business_support" in report.problems[10].rule
    assert "no user kw-ghost" in report.problems[11].rule
    assert "family FAM-SPELT is on record as fam-spelt" in report.problems[12].rule
    assert "the same family as line 1" in report.problems[13].rule
    assert report.imported == [] and report.rows == 17
    for row in rows:  # all or none: not even the good row
        assert await h.stream(row["case_id"]) == []

    # The admin's other choice: the good rows only.
    chosen = await import_rows(
        lines, ADMIN, client=h.client, store=h.store, task_queue=h.task_queue, all_or_none=False
    )
    assert chosen.imported == ["g-1"] and len(chosen.problems) == 16
    assert (await h.types("g-1"))[:2] == ["CaseImported", "ReferralReceived"]
    for row in rows[1:]:
        if row["case_id"] != "g-1":  # line 9 repeats the good row's case id
            assert await h.stream(row["case_id"]) == []

    # Again: the row is now a case that exists; nothing is recorded twice.
    again = await import_rows(
        [json.dumps(good)],
        ADMIN,
        client=h.client,
        store=h.store,
        task_queue=h.task_queue,
        all_or_none=True,
    )
    assert [(p.line, p.field) for p in again.problems] == [(1, "case_id")]
    assert (await h.types("g-1")).count("CaseImported") == 1


async def test_only_an_admin_imports_and_nothing_is_recorded_otherwise(harness: Harness) -> None:
    h = harness
    await add_key_worker(h)
    fields = family("x-1", "referred", (await h.now()).date())
    del fields["case_id"]
    as_supervisor = ImportCase.model_validate({**fields, "actor": SUP})
    with pytest.raises(cases.CommandForbidden, match="only an admin"):
        await cases.import_case(h.client, "x-1", as_supervisor, task_queue=h.task_queue)
    assert await h.stream("x-1") == []


async def test_the_workflow_takes_each_moment_on_its_day_in_wales(harness: Harness) -> None:
    """A file written in another offset: the family met at 06:00 UTC on the allocation's
    day, written as 20:00 the evening before at UTC-10. The workflow's import (under its
    patch) reads the allocation's day in Wales, where it was refused as "before the
    allocation" by the offset written."""
    h = harness
    await add_key_worker(h)
    fields = family("tz-1", "intensive", (await h.now()).date())
    allocated = date.fromisoformat(fields["allocated_on"])
    fields["first_meeting_at"] = f"{allocated - timedelta(days=1)}T20:00:00-10:00"
    report = await run_import(h, [fields])
    assert report.problems == [] and report.imported == ["tz-1"]
    view = await h.view("tz-1")
    met = datetime.fromisoformat(fields["first_meeting_at"])
    assert view.phase == "intensive" and view.first_meeting_at == met
    # The allocation, known by its day, stands at the meeting that morning (not at noon).
    at = {e.type: e.occurred_at for e in await h.stream("tz-1")}
    assert at["KeyWorkerAllocated"] == at["FirstMeetingHeld"] == met


async def test_a_case_id_whose_workflow_is_gone_but_whose_stream_is_not_is_refused(
    harness: Harness,
) -> None:
    """An episode that ended long ago (its workflow past Temporal's retention): its id is
    taken for good; the import is refused before its team is asked anything."""
    h = harness
    await add_key_worker(h)
    old = NewEvent.of(
        referral("ghost"),
        event_id=uuid.uuid4(),
        metadata=EventMetadata(actor=SUP),
        occurred_at=await h.now(),
    )
    await h.store.append("case-ghost", 0, [old])
    team_before = await h.store.stream_version("team-cardiff")
    fields = family("ghost", "allocated", (await h.now()).date())
    del fields["case_id"]
    command = ImportCase.model_validate({**fields, "actor": ADMIN})
    with pytest.raises(cases.CommandConflict, match="case_id: case ghost already exists"):
        await cases.import_case(h.client, "ghost", command, task_queue=h.task_queue)
    assert await h.store.stream_version("case-ghost") == 1
    assert await h.store.stream_version("team-cardiff") == team_before


async def test_overdue_at_import_is_quiet_under_inbox_and_delivered_under_deliver(
    harness: Harness,
) -> None:
    h = harness
    await add_key_worker(h)
    today = (await h.now()).date()
    shifted = today - timedelta(days=90)  # closed 135 days ago: the 3-month review is late
    quiet = await run_import(h, [family("q-inbox", "follow_up", shifted)])
    loud = await run_import(
        h, [family("q-deliver", "follow_up", shifted)], overdue_alerts=OverdueOnImport.DELIVER
    )
    assert quiet.imported == ["q-inbox"] and loud.imported == ["q-deliver"]
    await h.sleep(hours=1)
    for case_id, expected in (("q-inbox", True), ("q-deliver", False)):
        stream = await h.stream(case_id)
        assert stream[0].data["overdue_alerts"] == ("inbox" if expected else "deliver")
        raised = [e.data for e in stream if e.type == "AlertRaised"]
        rules = {a["rule"] for a in raised}
        assert "review_overdue" in rules, rules  # due, then overdue: each raised once
        assert {a["quiet"] for a in raised} == {expected}, raised
