"""The HTTP API against real PostgreSQL and the time-skipping Temporal server: every
endpoint's happy path, each error status, the role x endpoint matrix, the access log."""

from __future__ import annotations

import asyncio
import base64
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from events.errors import InvalidInput
from identity.users import TOKEN_PREFIX, list_tokens, revoke_token, set_user_active
from tests.api_client import REFERRAL, Api
from tests.temporal_harness import SUP, to_intensive

pytestmark = pytest.mark.integration


async def test_happy_paths(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    created = await api.post("bs-price", "/referrals", {"case_id": "c9", "referral": REFERRAL})
    assert created.status_code == 201, created.text
    assert created.json()["events"] == ["ReferralReceived"]
    accepted = await api.post("sup-evans", "/cases/c9/commands/accept", {})
    assert accepted.status_code == 200 and accepted.json()["events"] == ["ReferralAccepted"]
    await api.h.settle("c9", "allocated")
    met = await api.post(
        "cm-jones",
        "/cases/c9/commands/record_first_meeting",
        {"held_at": (await api.h.now()).isoformat()},
    )
    assert met.status_code == 200, met.text
    await api.settle()

    listing = await api.get("cm-jones", "/cases")
    assert [c["case_id"] for c in listing.json()] == ["c9"]
    assert listing.json()[0]["phase"] == "intensive"
    assert (await api.get("sup-evans", "/cases", phase="intensive")).json()[0]["case_id"] == "c9"
    summary = await api.get("cm-jones", "/cases/c9")
    assert summary.status_code == 200 and summary.json()["key_worker_id"] == "cm-jones"

    history = (await api.get("sup-evans", "/cases/c9/history")).json()
    assert [e["type"] for e in history["entries"]] == [
        "ReferralReceived",
        "ReferralAccepted",
        "KeyWorkerAllocated",
        "FirstMeetingHeld",
    ]
    assert history["entries"][0]["actor_id"] == "bs-price"
    as_csv = await api.get("sup-evans", "/cases/c9/history", format="csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0].startswith("version,occurred_at")
    first = history["entries"][1]["recorded_at"]
    then = (await api.get("au-khan", "/cases/c9/history", as_of=first)).json()
    assert [e["type"] for e in then["entries"]] == ["ReferralReceived", "ReferralAccepted"]
    assert then["summary"]["phase"] == "accepted"

    await api.settle()
    log = (await api.get("sup-evans", "/cases/c9/access-log")).json()
    assert [(e["actor_id"], e["view"]) for e in log] == [
        ("cm-jones", "list:cases"),  # list reads name every case they returned
        ("sup-evans", "list:cases"),
        ("cm-jones", "summary"),
        ("sup-evans", "history"),
        ("sup-evans", "history"),
        ("au-khan", "history"),
    ]
    assert log[-1]["as_of"] is not None

    assert (await api.get("cm-jones", "/reviews", due_before="2030-01-01")).json() == []
    assert (await api.get("sup-evans", "/waitlist")).json() == []
    [load] = (await api.get("cm-jones", "/caseload")).json()
    assert load["in_intensive_phase"] == 1 and load["caseload_limit"] == 3
    ics = await api.get("cm-jones", "/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and "fam-9" not in ics.text


async def test_error_statuses(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    await api.settle()
    assert (await api.get(None, "/cases")).status_code == 401
    api.tokens["nobody"] = "ifss_bad_token"
    assert (await api.get("nobody", "/cases")).status_code == 401
    # A case the caller may not read answers exactly as one that does not exist.
    hidden, absent = await api.get("cm-other", "/cases/c1"), await api.get("cm-other", "/cases/c0")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == {**absent.json(), "detail": "case_id: no case c1", "rule": "no case c1"}
    assert (await api.get("cm-jones", "/cases/zz")).status_code == 404
    assert (await api.get("sup-evans", "/cases/c1/history", as_of="later")).status_code == 422
    unknown = await api.post("cm-jones", "/cases/c1/commands/fly", {})
    assert unknown.status_code == 404 and "unknown command" in unknown.json()["detail"]
    missing = await api.post("sup-evans", "/cases/zz/commands/accept", {})
    assert missing.status_code == 404
    refused = await api.post(
        "cm-jones", "/cases/c1/commands/decide_extension", {"request_id": "x", "approved": True}
    )
    assert refused.status_code == 403  # the rules, for this actor
    assert "only supervisor may decide an extension" in refused.json()["detail"]
    bad = await api.post(
        "cm-jones",
        "/cases/c1/commands/agree_goal",
        {"goal_id": "g9", "category": "parenting", "description": "x", "baseline": 11, "target": 8},
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("baseline:")
    spoof = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_consent",
        {"scope": "follow_up", "actor": {"id": "sup-evans", "role": "supervisor"}},
    )
    assert spoof.status_code == 422 and spoof.json()["field"] == "actor"
    assert "set from your token" in spoof.json()["rule"]
    stale = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_consent",
        {"scope": "follow_up"},
        expected_version=1,
    )
    assert stale.status_code == 409 and "expected_version" in stale.json()["detail"]
    taken = await api.post("bs-price", "/referrals", {"case_id": "c1", "referral": REFERRAL})
    assert taken.status_code == 409
    invalid = await api.post(
        "bs-price", "/referrals", {"case_id": "c2", "referral": {**REFERRAL, "children": []}}
    )
    assert invalid.status_code == 422 and invalid.json()["detail"].startswith("referral.children")
    other_team = await api.post(
        "bs-price", "/referrals", {"case_id": "c3", "referral": {**REFERRAL, "team_id": "newport"}}
    )
    assert other_team.status_code == 403
    assert (
        await api.post("au-khan", "/referrals", {"case_id": "c4", "referral": REFERRAL})
    ).status_code == 403
    assert (await api.get("cm-jones", "/cases", team="newport")).status_code == 403
    # The family of c1 (fam-c1), referred again under another spelling: 409, naming it.
    spelt = await api.post(
        "bs-price", "/referrals", {"case_id": "c5", "referral": {**REFERRAL, "family_id": "FAM-C1"}}
    )
    assert spelt.status_code == 409, spelt.text
    assert spelt.json()["detail"].startswith("family_id: family FAM-C1 is on record as fam-c1")
    # Nothing was recorded by any refusal: the stream is as to_intensive left it.
    assert [e.type for e in await api.h.stream("c1")][-1] == "GoalAgreed"
    assert await api.h.store.stream_version("case-c2") == 0
    assert await api.h.store.stream_version("case-c5") == 0


async def test_a_revoked_token_is_refused_at_once_and_stays_listed(api: Api) -> None:
    assert (await api.get("cm-jones", "/cases")).status_code == 200
    revoked = await revoke_token(api.pool, api.tokens["cm-jones"])  # the whole token works too
    assert revoked.user_id == "cm-jones" and revoked.revoked_at is not None
    assert (await api.get("cm-jones", "/cases")).status_code == 401
    assert (await api.get("sup-evans", "/cases")).status_code == 200  # only that token
    [listed] = await list_tokens(api.pool, "cm-jones")
    assert (listed.token_id, listed.revoked_at) == (revoked.token_id, revoked.revoked_at)
    # Never the secret (it may itself hold "_": cut after the prefix and the id, not at the
    # last "_", which left a one-letter "secret" found in any repr now and then).
    secret = api.tokens["cm-jones"].removeprefix(TOKEN_PREFIX).split("_", 1)[1]
    assert len(secret) >= 40 and secret not in repr(listed)
    with pytest.raises(InvalidInput, match=f"token_id: token {revoked.token_id} was revoked"):
        await revoke_token(api.pool, revoked.token_id)
    with pytest.raises(InvalidInput, match="token_id: no token 0000"):
        await revoke_token(api.pool, "0000")
    with pytest.raises(InvalidInput, match="user_id: no user nobody"):
        await list_tokens(api.pool, "nobody")


async def test_a_deactivated_user_is_refused_and_their_tokens_revoked(api: Api) -> None:
    await set_user_active(api.pool, "cm-jones", False)
    assert (await api.get("cm-jones", "/cases")).status_code == 401
    assert (await api.get("cm-other", "/cases")).status_code == 200
    with pytest.raises(InvalidInput, match="user_id: user cm-jones is inactive already"):
        await set_user_active(api.pool, "cm-jones", False)
    await set_user_active(api.pool, "cm-jones", True)
    # Their tokens were revoked, not only refused: back, they need a new one.
    assert (await api.get("cm-jones", "/cases")).status_code == 401
    listed = await list_tokens(api.pool, "cm-jones")
    assert listed and all(t.revoked_at is not None for t in listed)
    with pytest.raises(InvalidInput, match="user_id: no user nobody"):
        await set_user_active(api.pool, "nobody", False)


MATRIX = {
    #            summary history access-log command
    "cm-jones": (200, 200, 403, 200),
    "cm-other": (404, 404, 404, 404),  # not theirs to read: as if it did not exist
    "sup-evans": (200, 200, 200, 200),
    "sup-far": (404, 404, 404, 404),
    "bs-price": (200, 200, 403, 403),
    "au-khan": (200, 200, 200, 403),
    "ad-root": (200, 200, 200, 403),
}


async def test_role_by_endpoint_matrix_and_every_read_is_logged(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    await api.settle()
    sessions = itertools.count()
    reads: list[tuple[str, str, bool]] = []
    for user, expected in MATRIX.items():
        got = (
            (await api.get(user, "/cases/c1")).status_code,
            (await api.get(user, "/cases/c1/history")).status_code,
            (await api.get(user, "/cases/c1/access-log")).status_code,
            (
                await api.post(
                    user,
                    "/cases/c1/commands/record_session",
                    {
                        "session_id": f"s{next(sessions)}",
                        "held_at": (await api.h.now()).isoformat(),
                        "kind": "phone",
                        "duration_minutes": 20,
                    },
                )
            ).status_code,
        )
        assert got == expected, user
        for view, status in zip(("summary", "history", "access_log"), got, strict=False):
            reads.append((user, view, status == 200))
    await api.settle()
    log = await api.pool.fetch(
        "SELECT actor_id, view, allowed FROM access_log WHERE case_id = 'c1' "
        "ORDER BY global_position"
    )
    assert [(r["actor_id"], r["view"], r["allowed"]) for r in log] == reads


async def test_a_case_under_its_own_policy_shows_its_own_deadlines_everywhere(api: Api) -> None:
    from events.policy import DEFAULT_POLICY
    from workflows.client import adopt_team_policy, team_view
    from workflows.team_io import AdoptTeamPolicy

    policy = DEFAULT_POLICY.model_copy(
        update={
            "version": "test.slow",
            "first_meeting_working_days": 5,
            "intensive_max_days": 56,
            "caseload_limit": 1,
        }
    )
    # A supervisor puts the registered team on a slower policy: one family per key worker.
    await adopt_team_policy(api.h.client, "cardiff", AdoptTeamPolicy(actor=SUP, policy=policy))
    await api.h.refer("c1", policy=policy)
    await api.h.do("c1", "accept", actor=SUP)
    await api.h.settle("c1", "waitlisted")
    await api.h.add_key_worker("cardiff", "cm-jones", limit=None)
    view = await api.h.settle("c1", "allocated")
    assert view.first_meeting_due_at is not None
    allocated = next(e for e in await api.h.stream("c1") if e.type == "KeyWorkerAllocated")
    assert (view.first_meeting_due_at - allocated.occurred_at).days >= 7  # 5 working days
    await api.settle()
    summary = (await api.get("cm-jones", "/cases/c1")).json()
    assert summary["first_meeting_due_at"] == view.first_meeting_due_at.isoformat().replace(
        "+00:00", "Z"
    )
    calendar = (await api.get("cm-jones", "/calendar.ics")).text
    assert view.first_meeting_due_at.strftime("%Y%m%dT%H%M%S") in calendar
    held = await api.h.now()
    await api.h.do("c1", "record_first_meeting", held_at=held)
    await api.settle()
    listed = (await api.get("cm-jones", "/cases")).json()[0]
    assert listed["intensive_ends_on"] == (held.date() + timedelta(days=56)).isoformat()
    assert (await api.h.view("c1")).intensive_ends_on == held.date() + timedelta(days=56)

    # The team's allocation follows its policy: the key worker is full at one family.
    await api.h.refer("c2", policy=policy)
    await api.h.do("c2", "accept", actor=SUP)
    await api.h.settle("c2", "waitlisted")
    await api.settle()
    [load] = (await api.get("sup-evans", "/caseload")).json()
    assert (load["caseload_limit"], load["in_intensive_phase"]) == (1, 1)
    assert [w["case_id"] for w in (await api.get("sup-evans", "/waitlist")).json()] == ["c2"]
    team = await team_view(api.h.client, "cardiff")
    assert team.policy == policy and team.key_workers["cm-jones"].follows_policy

    # A supervisor puts the team on the default policy: the key worker on the policy's
    # limit takes three, and the waiting family is allocated.
    await adopt_team_policy(
        api.h.client, "cardiff", AdoptTeamPolicy(actor=SUP, policy=DEFAULT_POLICY)
    )
    await api.h.settle("c2", "allocated")
    team_events = [e.type for e in await api.h.store.read_stream("team-cardiff")]
    assert team_events.count("TeamPolicyAdopted") == 3
    # Registered, on the default policy before its first decision, then the slower one.
    assert team_events[:3] == ["TeamRegistered", "TeamPolicyAdopted", "TeamPolicyAdopted"]
    await api.settle()
    [load] = (await api.get("sup-evans", "/caseload")).json()
    assert load["caseload_limit"] == DEFAULT_POLICY.caseload_limit


async def test_one_registry_the_same_names_and_defaults_as_the_cli(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await api.h.refer("c1")
    await api.h.do("c1", "accept", actor=SUP)
    for _ in range(100):  # wait in real time: the server's clock must not run ahead of ours
        if (await api.h.view("c1")).phase == "allocated":
            break
        await asyncio.sleep(0.05)
    # The CLI's spelling works; a time left out is now, as in the CLI.
    done = await api.post("cm-jones", "/cases/c1/commands/record-first-meeting", {})
    assert done.status_code == 200, done.text
    [met] = [e for e in await api.h.stream("c1") if e.type == "FirstMeetingHeld"]
    assert abs((met.event.held_at - datetime.now(UTC)).total_seconds()) < 60


async def test_handover_over_http(api: Api) -> None:
    """Reassign through the case's command route; a leaver and a cover through the team's
    routes, for its own supervisor only; the covering key worker reads the family, then
    not once the cover has ended."""
    h = api.h
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")
    await h.add_key_worker("cardiff", "cm-other", limit=1)
    path = "/teams/cardiff/key-workers/cm-jones"
    # a case manager, or another team's supervisor, may not; nothing is recorded
    until = (await h.now()).date() + timedelta(days=3)
    body = {"cover_key_worker_id": "cm-other", "until": until.isoformat()}
    for user in ("cm-jones", "sup-far"):
        refused = await api.post(user, f"{path}/cover", body)
        assert refused.status_code == 403 and refused.json()["field"] == "team_id"
    bad = await api.post("sup-evans", f"{path}/cover", {**body, "until": "9999-12-31"})
    assert bad.status_code == 422 and bad.json()["field"] == "until"
    extra = await api.post("sup-evans", f"{path}/cover", {**body, "why": 1})
    assert extra.status_code == 422 and extra.json()["field"] == "why"
    ghost = await api.post("sup-evans", f"{path}/cover", {**body, "cover_key_worker_id": "kw-x"})
    assert ghost.status_code == 422 and "no key worker kw-x" in ghost.json()["detail"]
    unknown = await api.post("sup-evans", "/teams/nowhere/key-workers/cm-jones/cover", body)
    assert unknown.status_code == 403  # not their team
    assert (await api.get("cm-other", "/cases/c1")).status_code == 404
    covered = await api.post("sup-evans", f"{path}/cover", body)
    assert covered.status_code == 200, covered.text
    for _ in range(50):
        if (await h.view("c1")).cover_key_worker_id == "cm-other":
            break
        await h.sleep(seconds=1)
    await api.settle()
    assert (await api.get("cm-other", "/cases/c1")).status_code == 200
    assert [c["case_id"] for c in (await api.get("cm-other", "/cases")).json()] == ["c1"]
    session = await api.post(
        "cm-other",
        "/cases/c1/commands/record_session",
        {
            "session_id": "s1",
            "kind": "phone",
            "duration_minutes": 20,
            "held_at": (await h.now()).isoformat(),
        },
    )
    assert session.status_code == 200, session.text
    # the supervisor hands the family to cm-other for good: the cover is over with it
    moved = await api.post(
        "sup-evans",
        "/cases/c1/commands/reassign",
        {"key_worker_id": "cm-other", "reason": "workload"},
    )
    assert moved.status_code == 200 and moved.json()["events"][0] == "KeyWorkerChanged"
    full = await api.post(
        "sup-evans",
        "/cases/c1/commands/reassign",
        {"key_worker_id": "cm-jones", "reason": "bogus"},
    )
    assert full.status_code == 422 and full.json()["field"] == "reason"
    await api.settle()
    assert (await api.get("cm-jones", "/cases/c1")).status_code == 404
    # cm-jones leaves: nothing to move; an unknown key worker is named
    left = await api.post("sup-evans", f"{path}/leave", {})
    assert left.status_code == 200 and left.json()["staying"] == [], left.text
    nobody = await api.post("sup-evans", "/teams/cardiff/key-workers/kw-x/leave", {})
    assert nobody.status_code == 422 and "no key worker kw-x" in nobody.json()["detail"]


async def test_who_may_be_a_key_worker(api: Api) -> None:
    """An existing, active case manager or supervisor of the team: the one rule the CLI's
    add-worker and the import apply."""
    from identity.users import key_worker_refusal

    assert await key_worker_refusal(api.pool, "cm-jones", "cardiff") is None
    assert await key_worker_refusal(api.pool, "sup-evans", "cardiff") is None
    refusals = {
        "kw-ghost": "no user kw-ghost (an admin adds them first: ifss users add)",
        "bs-price": "bs-price has the role business_support; a key worker is a case manager "
        "or supervisor",
        "au-khan": "au-khan has the role auditor; a key worker is a case manager or supervisor",
        "sup-far": "sup-far belongs to team newport, not cardiff",
    }
    for user_id, rule in refusals.items():
        assert await key_worker_refusal(api.pool, user_id, "cardiff") == rule
    await set_user_active(api.pool, "cm-other", False)
    assert await key_worker_refusal(api.pool, "cm-other", "cardiff") == (
        "user cm-other is deactivated"
    )


async def test_the_case_list_comes_a_page_at_a_time(api: Api) -> None:
    """Past a page (500 by default), the list says where the next page is (it stopped at
    500 without a word); each page follows on from the last, none repeats or skips."""
    for n in range(5):
        await api.h.refer(f"p{n}")
    await api.settle()
    seen: list[str] = []
    path: str | None = "/cases?limit=2"
    pages = 0
    while path is not None:
        page = await api.get("ad-root", path)
        assert page.status_code == 200, page.text
        seen += [c["case_id"] for c in page.json()]
        pages += 1
        link = page.headers.get("link")
        path = link.split(">")[0].removeprefix("<") if link else None
        assert link is None or link.endswith('rel="next"')
    assert pages == 3 and sorted(seen) == [f"p{n}" for n in range(5)]
    everything = await api.get("ad-root", "/cases")
    assert [c["case_id"] for c in everything.json()] == seen and "link" not in everything.headers
    nul = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00 c\x001").decode()
    for query, field in (("after=bm90LWEtY3Vyc29y", "after"), ("after=%%%", "after"),
                         (f"after={nul}", "after"),
                         ("limit=0", "limit"), ("limit=501", "limit"), ("limit=true", "limit")):  # fmt: skip
        bad = await api.get("ad-root", f"/cases?{query}")
        assert bad.status_code == 422 and bad.json()["field"] == field, (query, bad.text)


async def test_people_are_named_once_and_the_last_admin_stays(api: Api) -> None:
    from identity.users import add_user

    refusals = [
        (("system", "admin", None), "user_id: system is the engine's own name in the records"),
        (("SYSTEM", "admin", None), "user_id: system is the engine's own name in the records"),
        (("au-2", "auditor", "cardiff"), "team: an auditor belongs to no team"),
        (("ad-2", "admin", "cardiff"), "team: an admin belongs to no team"),
        (("CM-JONES", "case_manager", "cardiff"), "user_id: user cm-jones exists already"),
    ]
    for args, rule in refusals:
        with pytest.raises(InvalidInput, match=rule):
            await add_user(api.pool, *args)
    last = await api.post("ad-root", "/users/ad-root/active", {"active": False})
    assert last.status_code == 422, last.text
    assert last.json()["rule"] == "ad-root is the last active admin; add another admin first"
    assert (await api.get("ad-root", "/cases")).status_code == 200  # still in
    # A key the client made up is named with what cannot be printed escaped.
    body = {"case_id": "c1", "referral": {**REFERRAL, "a\x00\x1b": 1}}
    odd = await api.post("bs-price", "/referrals", body)
    assert odd.status_code == 422 and odd.json()["field"] == "referral.a\\x00\\x1b", odd.text


async def test_a_deactivated_key_worker_takes_no_new_families(api: Api) -> None:
    """Deactivating a key worker stops their teams allocating to them (their families stay
    until moved, and a leave that keeps them names them); a reactivated one rejoins only
    when a supervisor adds them again."""
    from workflows.client import team_view

    h = api.h
    await h.add_key_worker("cardiff", "cm-jones", limit=3)
    await to_intensive(h, "c1")
    await h.add_key_worker("cardiff", "cm-other", limit=3)
    await api.settle()
    off = await api.post("ad-root", "/users/cm-jones/active", {"active": False})
    assert off.status_code == 200, off.text
    assert off.json() == {"active": False, "left_teams": ["cardiff"]}
    assert (await api.get("cm-jones", "/cases")).status_code == 401
    worker = (await team_view(h.client, "cardiff")).key_workers["cm-jones"]
    assert not worker.active and worker.cases == ["c1"]  # the family stays until moved
    await h.refer("c2", team_id="cardiff")
    await h.do("c2", "accept", actor=SUP)
    for _ in range(50):
        if (await h.view("c2")).key_worker_id is not None:
            break
        await h.sleep(seconds=1)
    assert (await h.view("c2")).key_worker_id == "cm-other"
    # the leave a supervisor records later names the family that stays
    kept = await api.post(
        "sup-evans", "/teams/cardiff/key-workers/cm-jones/leave", {"move_families": False}
    )
    assert kept.status_code == 200 and kept.json()["staying"] == ["c1"], kept.text
    # already inactive: refused, and nothing else happens
    again = await api.post("ad-root", "/users/cm-jones/active", {"active": False})
    assert again.status_code == 409 and again.json()["field"] == "user_id", again.text
    back = await api.post("ad-root", "/users/cm-jones/active", {"active": True})
    assert back.status_code == 200 and back.json() == {"active": True, "left_teams": []}


async def test_the_edge_rules_hold_in_a_running_episode(api: Api) -> None:
    """Rules added after episodes began (``edge_rules``) apply to an episode begun now:
    refused naming the field, nothing recorded."""
    h = api.h
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")
    before = len(await h.stream("c1"))
    twice = await api.post(
        "cm-jones",
        "/cases/c1/commands/score_goals",
        {"scores": [{"goal_id": "g1", "score": 5}, {"goal_id": "g1", "score": 6}]},
    )
    assert twice.status_code == 422 and twice.json()["field"] == "scores[1].goal_id", twice.text
    unseen = await api.post(
        "sup-evans", "/cases/c1/commands/change_priority", {"priority": 1, "reason": "\u200e"}
    )
    assert unseen.status_code == 422 and unseen.json()["field"] == "reason", unseen.text
    assert len(await h.stream("c1")) == before


async def test_a_correction_names_its_entry_and_shows_in_the_history(api: Api) -> None:
    h = api.h
    await h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(h, "c1")
    await h.do(
        "c1",
        "record_session",
        session_id="s1",
        held_at=await h.now(),
        kind="home_visit",
        duration_minutes=60,
    )
    await api.settle()
    history = (await api.get("sup-evans", "/cases/c1/history")).json()["entries"]
    [session] = [e for e in history if e["type"] == "SessionRecorded"]
    body = {"version": session["stream_version"], "changes": {"duration_minutes": 90}}
    bad = await api.post(
        "cm-jones",
        "/cases/c1/commands/correct_entry",
        {**body, "reason": "typing_error", "changes": {"held_at": "x"}},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "changes", bad.text
    missing = await api.post(
        "cm-jones", "/cases/c1/commands/correct_entry", {**body, "version": 999, "reason": "other"}
    )
    assert missing.status_code == 422 and missing.json()["field"] == "version"
    done = await api.post(
        "cm-jones", "/cases/c1/commands/correct_entry", {**body, "reason": "typing_error"}
    )
    assert done.status_code == 200 and done.json()["events"] == ["EntryCorrected"], done.text
    await api.settle()
    after = (await api.get("sup-evans", "/cases/c1/history")).json()["entries"]
    assert [e for e in after if e["type"] == "SessionRecorded"] == [session]  # never edited
    [fix] = [e for e in after if e["type"] == "EntryCorrected"]
    assert fix["actor_id"] == "cm-jones"
    assert fix["description"] == (
        f"Key worker cm-jones corrected entry {session['stream_version']} (SessionRecorded): "
        "duration_minutes is 90 (typing error)"
    )
