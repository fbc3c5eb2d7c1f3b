"""What a clumsy user or an attacker sends the API: each gets a 4xx in one shape, naming the
field and the rule; nothing is recorded; the case takes the next command."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api_client import REFERRAL, Api
from tests.temporal_harness import in_follow_up, to_intensive
from workflows.commands import COMMANDS

pytestmark = pytest.mark.integration

PROBLEM_KEYS = {"type", "title", "status", "detail", "field", "rule"}


def problem(response: httpx.Response, status: int, field: str) -> str:
    """Assert ``response`` is a problem document for ``field``; returns its rule."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) == PROBLEM_KEYS, body
    assert body["status"] == status and body["field"] == field, body
    assert body["detail"] == f"{field}: {body['rule']}"
    return str(body["rule"])


GOAL = {"goal_id": "g9", "category": "parenting", "baseline": 2, "target": 8}


async def test_text_that_storage_cannot_hold_is_refused_and_the_case_goes_on(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    before = await api.h.store.stream_version("case-c1")
    for text, what in (
        ("bed\u0000time", "NUL"),
        ("bed\u0007time", "control character"),
        ("   ", "blank"),
    ):
        refused = await api.post(
            "cm-jones", "/cases/c1/commands/agree_goal", {**GOAL, "description": text}
        )
        assert what in problem(refused, 422, "description")
    notes = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_session",
        {
            "session_id": "s1",
            "held_at": (await api.h.now()).isoformat(),
            "kind": "phone",
            "duration_minutes": 20,
            "notes": "called \u0000 back",
        },
    )
    assert "NUL" in problem(notes, 422, "notes")
    # A lone surrogate cannot even be sent as UTF-8; escaped in JSON it is refused too.
    surrogate = await api.http.post(
        "/cases/c1/commands/agree_goal",
        headers={
            "Authorization": f"Bearer {api.tokens['cm-jones']}",
            "Content-Type": "application/json",
        },
        content=b'{"goal_id": "g9", "category": "parenting", "baseline": 2, "target": 8, '
        b'"description": "bed\\ud800time"}',
    )
    assert surrogate.status_code == 422 and surrogate.json()["field"] in ("description", "body")
    # A key given twice is refused, naming it (the last one silently won), nested too.
    for body, key in (
        (b'{"goal_id": "g9", "goal_id": "g10", "category": "parenting", "baseline": 2, '
         b'"target": 8, "description": "Bedtime"}', "goal_id"),
        (b'{"scores": [{"goal_id": "g1", "score": 5, "score": 9}]}', "score"),
    ):  # fmt: skip
        path = "/cases/c1/commands/" + ("agree_goal" if key == "goal_id" else "score_goals")
        twice = await api.http.post(
            path,
            headers={
                "Authorization": f"Bearer {api.tokens['cm-jones']}",
                "Content-Type": "application/json",
            },
            content=body,
        )
        assert problem(twice, 422, key) == "is given twice"
    assert await api.h.store.stream_version("case-c1") == before  # nothing recorded
    # Emoji and Welsh are text like any other, and the case takes the next command at once.
    fine = await api.post(
        "cm-jones",
        "/cases/c1/commands/agree_goal",
        {**GOAL, "description": "Amser gwely 🛏️ erbyn 8pm, bob nos"},
    )
    assert fine.status_code == 200, fine.text


async def test_numbers_dates_and_yes_no_mean_what_they_say(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    now = await api.h.now()
    session = {"session_id": "s1", "held_at": now.isoformat(), "kind": "phone"}
    for value in (True, "90", 90.5):
        refused = await api.post(
            "cm-jones",
            "/cases/c1/commands/record_session",
            {**session, "duration_minutes": value},
        )
        problem(refused, 422, "duration_minutes")
    for held_at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z"):
        refused = await api.post(
            "cm-jones",
            "/cases/c1/commands/record_session",
            {**session, "held_at": held_at, "duration_minutes": 30},
        )
        assert "between 1900 and 2100" in problem(refused, 422, "held_at")
    naive = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_session",
        {**session, "held_at": now.replace(tzinfo=None).isoformat(), "duration_minutes": 30},
    )
    assert "with a zone" in problem(naive, 422, "held_at")
    for received_on in ("0001-01-01", "9999-12-31"):
        refused = await api.post(
            "bs-price",
            "/referrals",
            {"case_id": "c8", "referral": {**REFERRAL, "received_on": received_on}},
        )
        problem(refused, 422, "referral.received_on")
    tomorrow = (now + timedelta(days=2)).date().isoformat()
    future = await api.post(
        "bs-price",
        "/referrals",
        {"case_id": "c8", "referral": {**REFERRAL, "received_on": tomorrow}},
    )
    assert "future" in problem(future, 409, "received_on")  # a date that will come
    yes = await api.post(
        "bs-price",
        "/referrals",
        {"case_id": "c8", "referral": {**REFERRAL, "consent_to_referral": "yes"}},
    )
    problem(yes, 422, "referral.consent_to_referral")
    assert await api.h.store.stream_version("case-c8") == 0


async def test_a_booster_is_not_delivered_before_the_episode_closed(api: Api) -> None:
    await in_follow_up(api.h)
    await api.h.sleep(days=40)
    await api.h.do(
        "c1",
        "complete_review",
        review_id="m1",
        ratings={"g1": "regressed", "g2": "maintained"},
        family_staying_together=True,
        substance_use_status="reduced",
    )
    year_one = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_booster",
        {"booster_id": "b-m1", "delivered_at": "0001-01-01T00:00:00Z"},
    )
    problem(year_one, 422, "delivered_at")
    before_closure = await api.post(
        "cm-jones",
        "/cases/c1/commands/record_booster",
        {"booster_id": "b-m1", "delivered_at": "2000-01-01T00:00:00Z"},
    )
    assert "before the intensive phase closed" in problem(before_closure, 422, "delivered_at")


async def test_bad_paths_and_filters_are_refused_not_crashed(api: Api) -> None:
    for path, field in (
        ("/cases/c1%00", "case_id"),
        ("/cases/c1%00/history", "case_id"),
        ("/cases/" + "x" * 65, "case_id"),
        ("/cases?phase=allocated%00", "phase"),
        ("/cases?phase=nonsense", "phase"),
        ("/cases?team=card%00iff", "team"),
        ("/cases?key_worker=%F0%9F%98%80", "key_worker"),
        ("/reviews?due_before=0001-01-01", "due_before"),
        ("/cases/c1/history?as_of=later", "as_of"),
        ("/cases/c1/history?as_of=2026-01-01T00:00:00", "as_of"),
        ("/cases/c1/history?format=xml", "format"),
        ("/cases?overdue=maybe", "overdue"),
    ):
        response = await api.get("sup-evans", path)
        assert response.status_code == 422, path
        problem(response, 422, field)
    problem(await api.post("cm-jones", "/cases/c1%00/commands/accept", {}), 422, "case_id")
    problem(await api.post("cm-jones", "/alerts/nonsense/acknowledge", {}), 422, "alert_ref")
    for written in ("true", "1.0", "1e3", "+1", " 1", "\u0661"):  # the last an Arabic-Indic 1
        problem(
            await api.post("cm-jones", "/cases/c1/commands/accept", {}, expected_version=written),
            422,
            "expected_version",
        )


async def test_a_query_parameter_or_a_token_given_twice_is_refused(api: Api) -> None:
    """One would silently win: a stale expected_version could pass unseen, or a proxy and
    the API could each read a different credential."""
    await api.h.add_key_worker("cardiff", "cm-jones")
    await api.h.refer("c1")
    token = {"Authorization": f"Bearer {api.tokens['sup-evans']}"}
    twice = await api.http.post(
        "/cases/c1/commands/accept?expected_version=0&expected_version=1", headers=token, json={}
    )
    assert "is given twice" in problem(twice, 422, "expected_version")
    assert (await api.h.view("c1")).phase == "referred"  # nothing recorded
    listed = await api.http.get("/cases?team=cardiff&team=east", headers=token)
    problem(listed, 422, "team")
    odd = await api.http.get("/cases?%00x=1&%00x=2", headers=token)
    assert problem(odd, 422, "\\x00x") == "is given twice"  # escaped, never sent raw
    two = httpx.Headers([("Authorization", token["Authorization"]), ("Authorization", "Bearer x")])
    both = await api.http.post("/cases/c1/commands/accept", headers=two, json={})
    assert "is given twice" in problem(both, 400, "authorization")
    assert (await api.h.view("c1")).phase == "referred"
    accepted = await api.http.post(
        "/cases/c1/commands/accept?expected_version=1", headers=token, json={}
    )
    assert accepted.status_code == 200, accepted.text
    # Whole numbers in other queries are written in digits too.
    problem(await api.http.get("/cases?limit=1.0", headers=token), 422, "limit")
    problem(
        await api.http.get("/reports/evaluation?compare_snapshot=1e3", headers=token),
        422,
        "compare_snapshot",
    )
    assert (await api.http.get("/cases?limit=1", headers=token)).status_code == 200


async def test_an_as_of_storage_cannot_hold_is_refused_before_it_is_logged(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    await api.settle()
    for as_of in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        refused = await api.get("cm-other", "/cases/c1/history", as_of=as_of)
        problem(refused, 422, "as_of")
    assert await api.h.store.stream_version("access-c1") == 0  # nothing recorded
    ok = await api.get("sup-evans", "/cases/c1/history", as_of="2026-01-01T00:00:00+01:00")
    assert ok.status_code == 200
    await api.settle()
    [entry] = (await api.get("sup-evans", "/cases/c1/access-log")).json()[:1]
    assert entry["as_of"] in ("2025-12-31T23:00:00Z", "2025-12-31T23:00:00+00:00")


async def test_a_case_one_may_not_read_is_as_absent_as_one_that_does_not_exist(
    api: Api,
) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    await api.settle()
    for path in ("/cases/{}", "/cases/{}/history", "/cases/{}/access-log"):
        hidden = await api.get("sup-far", path.format("c1"))
        absent = await api.get("sup-far", path.format("c0"))
        assert problem(hidden, 404, "case_id") == "no case c1"
        assert problem(absent, 404, "case_id") == "no case c0"
    command = await api.post("sup-far", "/cases/c1/commands/record_consent", {"scope": "follow_up"})
    assert problem(command, 404, "case_id") == "no case c1"
    await api.settle()
    refusals = await api.pool.fetch(
        "SELECT actor_id, allowed FROM access_log WHERE case_id = 'c1' ORDER BY global_position"
    )
    assert [(r["actor_id"], r["allowed"]) for r in refusals] == [("sup-far", False)] * 3


async def test_bodies_are_bounded_and_a_stranger_s_body_is_never_read(api: Api) -> None:
    big = b'{"case_id": "c1", "referral": {"x": "' + b"a" * (2 * 1024 * 1024) + b'"}}'
    stranger = await api.http.post(
        "/referrals", content=big, headers={"Content-Type": "application/json"}
    )
    problem(stranger, 401, "authorization")
    signed_in = await api.http.post(
        "/referrals",
        content=big,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api.tokens['bs-price']}",
        },
    )
    assert "1048576 bytes" in problem(signed_in, 413, "body")

    async def chunks() -> Any:  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b"a" * 65536

    streamed = await api.http.post(
        "/referrals",
        content=chunks(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api.tokens['bs-price']}",
        },
    )
    problem(streamed, 413, "body")
    # Lists are bounded too: a referral of a thousand children never reaches Temporal.
    crowd = [{"child_id": f"ch{i}"} for i in range(1000)]
    refused = await api.post(
        "bs-price", "/referrals", {"case_id": "c7", "referral": {**REFERRAL, "children": crowd}}
    )
    problem(refused, 422, "referral.children")
    assert await api.h.store.stream_version("case-c7") == 0


async def test_of_commands_sent_at_one_expected_version_exactly_one_is_recorded(
    api: Api,
) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    version = await api.h.store.stream_version("case-c1")
    now = (await api.h.now()).isoformat()
    answers = await asyncio.gather(
        *(
            api.post(
                "cm-jones",
                "/cases/c1/commands/record_session",
                {"session_id": f"s{i}", "held_at": now, "kind": "phone", "duration_minutes": 5},
                expected_version=version,
            )
            for i in range(8)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 7, [a.text for a in answers]
    for conflict in (a for a in answers if a.status_code == 409):
        assert "is at version" in problem(conflict, 409, "expected_version")
    assert await api.h.store.stream_version("case-c1") == version + 1
    # The case goes on; the next command at the new version is recorded.
    after = await api.post(
        "cm-jones",
        "/cases/c1/commands/withdraw_consent",
        {"scope": "follow_up"},
        expected_version=version + 1,
    )
    assert after.status_code == 200, after.text


async def test_every_error_is_documented_in_the_openapi(api: Api) -> None:
    schema = (await api.http.get("/openapi.json")).json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"401", "413", "422"} <= statuses, (method, path)
            for status in statuses - {"200", "201"}:
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
    history = schema["paths"]["/cases/{case_id}/history"]["get"]["responses"]["200"]["content"]
    assert set(history) == {"application/json", "text/csv"}
    calendar = schema["paths"]["/calendar.ics"]["get"]["responses"]["200"]["content"]
    assert set(calendar) == {"text/calendar"}
    for name in COMMANDS:  # each command has its own operation, its body typed
        command = schema["paths"][f"/cases/{{case_id}}/commands/{name}"]["post"]
        assert {"403", "404", "409", "503"} <= set(command["responses"])
        body = command["requestBody"]["content"]["application/json"]["schema"]
        assert body["$ref"].endswith("Fields"), name


async def test_what_else_an_attacker_tried(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1")
    headers = {"Authorization": f"Bearer {api.tokens['bs-price']}"}
    # Case ids a URL cannot carry.
    for case_id in (".", "..", "-x"):
        refused = await api.post(
            "bs-price", "/referrals", {"case_id": case_id, "referral": REFERRAL}
        )
        problem(refused, 422, "case_id")
    # Invisible text is blank; a coded list names each item once.
    blank = await api.post(
        "cm-jones", "/cases/c1/commands/agree_goal", {**GOAL, "description": "\u200b \u200b"}
    )
    assert "blank" in problem(blank, 422, "description")
    twice = await api.post(
        "bs-price",
        "/referrals",
        {"case_id": "c6", "referral": {**REFERRAL, "referral_grounds": ["mental_disorder"] * 2}},
    )
    problem(twice, 422, "referral.referral_grounds")
    # A body that is not JSON, or not JSON at all.
    text = await api.http.post(
        "/referrals", content=b"case_id=c6", headers={**headers, "Content-Type": "text/plain"}
    )
    problem(text, 415, "content-type")
    broken = await api.http.post(
        "/referrals",
        content=b'{"case_id": "c6",',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert "is not valid JSON (at character" in problem(broken, 422, "body")
    # An unknown key of 5,000 characters is not echoed back whole.
    long_key = await api.post(
        "cm-jones", "/cases/c1/commands/withdraw_consent", {"scope": "follow_up", "k" * 5000: 1}
    )
    assert len(long_key.json()["field"]) < 300
    assert await api.h.store.stream_version("case-c6") == 0


async def test_acknowledging_takes_no_body(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(api.h, "c1", children=[{"child_id": "ch1", "statutory_status": "cin"}])
    await api.post(
        "sup-evans", "/cases/c1/commands/change_child_status", {"child_id": "ch1", "status": "cpr"}
    )
    await api.settle()
    [alert] = (await api.get("cm-jones", "/alerts")).json()
    ref = alert["alert_ref"]
    with_body = await api.post("cm-jones", f"/alerts/{ref}/acknowledge", {"x": 1})
    assert "no body" in problem(with_body, 422, "body")
    assert (await api.post("cm-jones", f"/alerts/{ref}/acknowledge", {})).status_code == 200


async def test_a_body_that_trickles_in_is_answered_408_and_nothing_recorded(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that sends part of a body and then little or nothing does not hold its
    connection for ever: the body must arrive whole in time (here made short)."""
    from api import guards

    monkeypatch.setattr(guards, "BODY_SECONDS", 0.5)

    async def trickle() -> Any:
        yield b'{"case_id": "c1", '
        await asyncio.sleep(2)
        yield b'"referral": {}}'

    slow = await api.http.post(
        "/referrals",
        content=trickle(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {api.tokens['bs-price']}",
        },
    )
    assert "did not arrive within 0.5 seconds" in problem(slow, 408, "body")
    assert slow.headers.get("connection") == "close"
    assert await api.h.stream("c1") == []
    # A body sent whole at once is unaffected, however long the route then takes.
    whole = await api.post(
        "bs-price", "/referrals", {"case_id": "c2", "referral": {**REFERRAL, "family_id": "f2"}}
    )
    assert whole.status_code == 201, whole.text


async def test_a_database_that_does_not_answer_is_a_503_not_a_crash(api: Api) -> None:
    """The database gone (here: a pool whose server refuses connections): the token lookup
    and the reads answer 503 with Retry-After, as handled answers (the server re-raised
    them before, logging each as a crash with its traceback)."""
    import asyncpg

    from api.app import create_app
    from api.deps import Services

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    gone = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{port}/x", min_size=0)
    try:
        app = create_app(Services(gone, api.h.store, api.h.client, api.h.task_queue))
        transport = httpx.ASGITransport(app=app)  # re-raises what the app re-raises
        async with httpx.AsyncClient(transport=transport, base_url="http://ifss") as http:
            for path in ("/cases", "/teams"):
                answer = await http.get(
                    path, headers={"Authorization": f"Bearer {api.tokens['sup-evans']}"}
                )
                problem(answer, 503, "store")
                assert answer.headers["retry-after"] == "30"
    finally:
        await gone.close()
