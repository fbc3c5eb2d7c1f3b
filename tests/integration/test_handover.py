"""Handover on the time-skipping server: a family to another key worker, a leaver's
families moved, a transfer between teams, temporary cover; capacity checked by the team."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from events.calendar import local_day
from tests.temporal_harness import SUP, Harness, to_intensive
from workflows import client as cases
from workflows.case_io import CaseView
from workflows.client import CommandConflict, CommandForbidden, CommandRefused
from workflows.team_io import HandOverLeaver, SetCover

pytestmark = pytest.mark.integration


async def view_until(h: Harness, case_id: str, **expected: object) -> CaseView:
    """The case once the team's notice is recorded (signals are asynchronous): its view as
    soon as it shows ``expected``, or as it is after 100 s of skipped time."""
    for _ in range(100):
        view = await h.view(case_id)
        if all(getattr(view, k) == v for k, v in expected.items()):
            break
        await h.sleep(seconds=1)
    return view


async def following_until(
    h: Harness, team_id: str, check: Callable[[dict[str, str]], bool]
) -> dict[str, str]:
    """The team's families in follow-up once ``check`` holds for them (or after 100 s)."""
    for _ in range(100):
        following = (await cases.team_view(h.client, team_id)).following
        if check(following):
            break
        await h.sleep(seconds=1)
    return following


async def key_worker_of(h: Harness, case_id: str, expected: str | None) -> str | None:
    return (await view_until(h, case_id, key_worker_id=expected)).key_worker_id


async def team_stream(h: Harness, team_id: str) -> list[str]:
    return [e.type for e in await h.store.read_stream(f"team-{team_id}")]


async def test_a_supervisor_hands_a_family_to_a_key_worker_with_space(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="temporalio.activity")
    h = harness
    await h.add_key_worker("mon", "kw-a", limit=2)
    await h.add_key_worker("mon", "kw-b", limit=1)
    await h.add_key_worker("mon", "kw-c", limit=1)
    for n in range(3):
        await h.refer(f"m{n}", team_id="mon")
        await h.do(f"m{n}", "accept", actor=SUP)
    views = [await h.settle(f"m{n}", "allocated") for n in range(3)]
    holders = {v.case_id: v.key_worker_id for v in views}
    on_a = [c for c, w in holders.items() if w == "kw-a"]
    assert len(on_a) == 1
    case = on_a[0]
    # the first meeting is overdue: the alert is kw-a's, and follows the family
    await h.sleep(days=5)
    assert "FirstMeetingOverdue" in await h.types(case)
    # refusals: a key worker only, to someone with space, in this team, not the same one
    before = len(await h.stream(case))
    with pytest.raises(CommandForbidden, match=r"actor\.role"):
        await h.do(case, "reassign", key_worker_id="kw-b", reason="workload")
    with pytest.raises(CommandConflict, match="kw-b has 1 of 1 families already"):
        await h.do(case, "reassign", key_worker_id="kw-b", reason="workload", actor=SUP)
    with pytest.raises(CommandRefused, match="no key worker kw-z in team mon") as unknown:
        await h.do(case, "reassign", key_worker_id="kw-z", reason="workload", actor=SUP)
    assert not isinstance(unknown.value, CommandConflict)  # invalid as written: 422, not 409
    with pytest.raises(CommandConflict, match="kw-a is the family's key worker already"):
        await h.do(case, "reassign", key_worker_id="kw-a", reason="workload", actor=SUP)
    assert len(await h.stream(case)) == before  # nothing recorded by a refusal
    # The team's refusals are answers, not faults: no warning with a traceback in the log.
    failed = [r for r in caplog.records if "Completing activity as failed" in r.getMessage()]
    assert failed and all(r.levelno < logging.WARNING for r in failed)
    # kw-b's family is moved to kw-a (who has room for two), then kw-a's family to kw-b
    on_b = next(c for c, w in holders.items() if w == "kw-b")
    await h.do(on_b, "reassign", key_worker_id="kw-a", reason="family_request", actor=SUP)
    moved = await h.do(
        case,
        "reassign",
        key_worker_id="kw-b",
        reason="conflict_of_interest",
        notes="Neighbour",
        actor=SUP,
    )
    assert moved.events[:2] == ["KeyWorkerChanged", "AlertRedirected"]
    view = await h.view(case)
    assert view.key_worker_id == "kw-b"
    [changed] = [e for e in await h.stream(case) if e.type == "KeyWorkerChanged"]
    assert (changed.event.previous_key_worker_id, changed.event.reason) == (
        "kw-a",
        "conflict_of_interest",
    )
    assert changed.metadata.actor.id == SUP.id
    [redirect] = [e for e in await h.stream(case) if e.type == "AlertRedirected"]
    assert redirect.event.to_key_worker == "kw-b"
    state = await cases.team_view(h.client, "mon")
    assert case in state.key_workers["kw-b"].cases and on_b in state.key_workers["kw-a"].cases
    assert (await team_stream(h, "mon")).count("TeamCaseReassigned") == 2
    # the team's notice of the same handover arrives later and records nothing twice
    await h.sleep(seconds=5)
    assert [e.type for e in await h.stream(case)].count("KeyWorkerChanged") == 1


async def test_a_leavers_families_move_most_urgent_first(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("tor", "kw-leaver", limit=4)
    for n in range(4):
        await h.refer(f"t{n}", team_id="tor", priority=1 if n == 2 else 3)
        await h.do(f"t{n}", "accept", actor=SUP)
        await h.settle(f"t{n}", "allocated")
    # two families met their worker; two (t2 urgent, t3) not yet
    for n in (0, 1):
        await h.do(f"t{n}", "record_first_meeting", held_at=await h.now())
    # one place elsewhere: it goes to the most urgent family (t2, priority 1)
    await h.add_key_worker("tor", "kw-stayer", limit=1)
    result = await cases.hand_over_leaver(
        h.client, "tor", HandOverLeaver(actor=SUP, key_worker_id="kw-leaver")
    )
    assert result.reassigned == {"t2": "kw-stayer"}
    assert result.waitlisted == {"t3": 1}  # not met yet, nobody had space: back to wait
    assert sorted(result.staying) == ["t0", "t1"]  # work begun: stays until moved
    assert await key_worker_of(h, "t2", "kw-stayer") == "kw-stayer"
    [changed] = [e for e in await h.stream("t2") if e.type == "KeyWorkerChanged"]
    assert changed.event.reason == "key_worker_left"
    assert changed.metadata.actor.id == SUP.id  # who moved the family, on the case too
    back = await h.settle("t3", "waitlisted")
    assert back.key_worker_id is None and back.waitlist_position == 1
    assert "AllocationWithdrawn" in await h.types("t3")
    assert (await h.view("t0")).key_worker_id == "kw-leaver"
    # the leaver takes nobody new; a new key worker takes the waiting family at once
    await h.add_key_worker("tor", "kw-new", limit=3)
    assert (await h.settle("t3", "allocated")).key_worker_id == "kw-new"
    # and a supervisor then moves the begun families from the leaver one by one
    await h.do("t0", "reassign", key_worker_id="kw-new", reason="key_worker_left", actor=SUP)
    assert (await h.view("t0")).key_worker_id == "kw-new"
    # a leaver who is not in the team is refused by name
    with pytest.raises(CommandRefused, match="no key worker kw-ghost"):
        await cases.hand_over_leaver(
            h.client, "tor", HandOverLeaver(actor=SUP, key_worker_id="kw-ghost")
        )


async def test_a_family_transfers_to_another_team(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("east", "kw-e", limit=1)
    await h.add_key_worker("west", "kw-w", limit=1)
    await h.refer("x0", team_id="east")
    await h.do("x0", "accept", actor=SUP)
    await h.settle("x0", "allocated")
    await h.refer("x1", team_id="east")
    await h.do("x1", "accept", actor=SUP)
    await h.settle("x1", "waitlisted")
    # refusals: an unknown team; the same team; a case manager
    with pytest.raises(CommandRefused, match="team_id: no team nowhere is registered"):
        await h.do("x0", "transfer", team_id="nowhere", reason="family_moved", actor=SUP)
    with pytest.raises(CommandConflict, match="in team east already"):
        await h.do("x0", "transfer", team_id="east", reason="family_moved", actor=SUP)
    with pytest.raises(CommandForbidden, match=r"actor\.role"):
        await h.do("x0", "transfer", team_id="west", reason="family_moved")
    # the allocated family moves: kw-w takes it, and east's waiting family gets kw-e
    moved = await h.do("x0", "transfer", team_id="west", reason="family_moved", actor=SUP)
    assert moved.events[0] == "FamilyTransferred"
    view = await h.view("x0")
    assert (view.team_id, view.key_worker_id, view.phase) == ("west", "kw-w", "allocated")
    assert (await h.settle("x1", "allocated")).key_worker_id == "kw-e"
    assert "TeamCaseReceived" in await team_stream(h, "west")
    assert "TeamCaseReleased" in await team_stream(h, "east")
    # a family whose work has begun cannot wait: to a full team it is refused, unchanged
    await h.do("x1", "record_first_meeting", held_at=await h.now())
    with pytest.raises(CommandConflict, match="no key worker in team west has space"):
        await h.do("x1", "transfer", team_id="west", reason="family_moved", actor=SUP)
    assert (await h.view("x1")).team_id == "east"


async def test_cover_sends_alerts_to_the_covering_worker_until_its_end(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "k1")
    await h.add_key_worker("cardiff", "cm-cover")
    today = local_day(started)
    with pytest.raises(CommandRefused, match="cover_key_worker_id: a key worker cannot cover"):
        await cases.set_cover(
            h.client,
            "cardiff",
            SetCover(
                actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-jones", until=today
            ),
        )
    with pytest.raises(CommandConflict, match=r"until: .* has passed"):  # 409, as a clock
        await cases.set_cover(
            h.client,
            "cardiff",
            SetCover(
                actor=SUP,
                key_worker_id="cm-jones",
                cover_key_worker_id="cm-cover",
                until=today - timedelta(days=1),
            ),
        )
    until = today + timedelta(days=20)
    await cases.set_cover(
        h.client,
        "cardiff",
        SetCover(actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-cover", until=until),
    )
    await view_until(h, "k1", cover_key_worker_id="cm-cover")
    view = await h.view("k1")
    assert (view.cover_key_worker_id, view.cover_until) == ("cm-cover", until)
    # nobody visits for 10 days: the no-contact alert goes to the covering key worker
    await h.sleep(days=11)
    [raised] = [e for e in await h.stream("k1") if e.type == "AlertRaised"]
    assert raised.event.to_key_worker == "cm-cover"
    # the cover ends after its last day: the open alert goes back to the key worker
    await h.sleep(days=12)
    types = await h.types("k1")
    assert "KeyWorkerCoverEnded" in types
    redirects = [e.event for e in await h.stream("k1") if e.type == "AlertRedirected"]
    assert redirects[-1].alert_id == raised.event.alert_id
    assert redirects[-1].to_key_worker == "cm-jones"
    assert (await h.view("k1")).cover_key_worker_id is None


async def test_families_in_follow_up_move_with_a_leaver_and_are_covered(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, "f1")
    await h.sleep(days=29)
    await h.do(
        "f1",
        "close_intensive_phase",
        kind="planned",
        closing_scores=[{"goal_id": "g1", "score": 7}, {"goal_id": "g2", "score": 8}],
        closed_on=local_day(started + timedelta(days=28)),
    )
    await following_until(
        h, "cardiff", lambda f: "f1" in f
    )  # the team hears the family goes on to follow-up
    state = await cases.team_view(h.client, "cardiff")
    assert state.following == {"f1": "cm-jones"} and state.key_workers["cm-jones"].cases == []
    await h.add_key_worker("cardiff", "cm-cover", limit=1)
    # cover reaches the family in follow-up too
    until = local_day(await h.now()) + timedelta(days=5)
    await cases.set_cover(
        h.client,
        "cardiff",
        SetCover(actor=SUP, key_worker_id="cm-jones", cover_key_worker_id="cm-cover", until=until),
    )
    await view_until(h, "f1", cover_key_worker_id="cm-cover")
    assert (await h.view("f1")).cover_key_worker_id == "cm-cover"
    # the key worker leaves: the family in follow-up moves (no place needed)
    result = await cases.hand_over_leaver(
        h.client, "cardiff", HandOverLeaver(actor=SUP, key_worker_id="cm-jones")
    )
    assert result.reassigned == {"f1": "cm-cover"} and result.staying == []
    await view_until(h, "f1", key_worker_id="cm-cover")
    view = await h.view("f1")
    assert (view.key_worker_id, view.cover_key_worker_id) == ("cm-cover", None)
    # a supervisor's reassignment in follow-up moves the team's record with it
    await h.add_key_worker("cardiff", "cm-new")
    await h.do("f1", "reassign", key_worker_id="cm-new", reason="workload", actor=SUP)
    assert (await cases.team_view(h.client, "cardiff")).following == {"f1": "cm-new"}
    # the episode ends: the team forgets the family
    await h.do("f1", "close_episode", reason="Moved abroad", actor=SUP)
    await following_until(h, "cardiff", lambda f: not f)
    assert (await cases.team_view(h.client, "cardiff")).following == {}


async def test_a_family_given_to_a_covered_key_worker_is_covered_too(harness: Harness) -> None:
    h = harness
    await h.add_key_worker("pen", "kw-c", limit=1)
    await h.refer("p0", team_id="pen")
    await h.do("p0", "accept", actor=SUP)
    await h.settle("p0", "allocated")  # kw-c is full now
    await h.add_key_worker("pen", "kw-a", limit=2)
    until = local_day(await h.now()) + timedelta(days=7)
    await cases.set_cover(
        h.client,
        "pen",
        SetCover(actor=SUP, key_worker_id="kw-a", cover_key_worker_id="kw-c", until=until),
    )
    await h.refer("p1", team_id="pen")
    await h.do("p1", "accept", actor=SUP)
    assert (await h.settle("p1", "allocated")).key_worker_id == "kw-a"
    await view_until(h, "p1", cover_key_worker_id="kw-c")
    view = await h.view("p1")
    assert (view.cover_key_worker_id, view.cover_until) == ("kw-c", until)
    # the covering key worker leaves: their cover ends at once, for every family
    await cases.hand_over_leaver(h.client, "pen", HandOverLeaver(actor=SUP, key_worker_id="kw-c"))
    await view_until(h, "p1", cover_key_worker_id=None)
    assert (await h.view("p1")).cover_key_worker_id is None
    assert "KeyWorkerCoverEnded" in await h.types("p1")
    assert (await cases.team_view(h.client, "pen")).covers == {}


async def test_commands_sent_to_temporal_in_clear_are_not_the_engine_s(harness: Harness) -> None:
    """Someone who can reach Temporal, without the master key, sends a case a cover notice
    and a command in clear: neither takes effect, and the case goes on."""
    from temporalio.client import Client, WorkflowUpdateFailedError
    from temporalio.contrib.pydantic import pydantic_data_converter

    h = harness
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "k1")
    forger = Client(
        h.client.service_client,
        namespace=h.client.namespace,
        data_converter=pydantic_data_converter,
    )
    handle = forger.get_workflow_handle("case-k1")
    until = local_day(await h.now()) + timedelta(days=30)
    await handle.signal(
        "cover_key_worker",
        {
            "actor": {"id": "system", "role": "system"},
            "key_worker_id": "cm-jones",
            "cover_key_worker_id": "cm-elsewhere",
            "until": until.isoformat(),
        },
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "record_session",
            {
                "actor": {"id": "cm-jones", "role": "case_manager"},
                "session_id": "forged",
                "held_at": (await h.now()).isoformat(),
                "kind": "home_visit",
                "duration_minutes": 60,
            },
        )
    # The engine's own (sealed) commands still work; nothing forged was recorded.
    await h.do(
        "k1",
        "record_session",
        session_id="s1",
        held_at=await h.now(),
        kind="phone",
        duration_minutes=20,
    )
    await h.sleep(seconds=5)
    view = await h.view("k1")
    assert view.cover_key_worker_id is None and view.sessions == 1
    assert "KeyWorkerCoverArranged" not in await h.types("k1")
