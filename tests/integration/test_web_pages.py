"""The web pages on real PostgreSQL and the time-skipping Temporal server, without a
browser: sign-in and out, CSRF, roles, every page answering, a command's form with its
errors, a double submit recorded once, the referral form, administration. (The journeys in
a real browser, with axe, are in tests/browser.)"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.temporal_harness import to_intensive
from tests.web_client import PASSWORD, Web, hidden
from web.i18n import LONDON

pytestmark = pytest.mark.integration


async def test_sign_in_and_out(web: Web) -> None:
    first = await web.get("cm-jones", "/app/my-work")
    assert first.status_code == 303 and first.headers["location"].startswith("/app/sign-in?next=")
    wrong = await web.sign_in("cm-jones", "not the password at all")
    assert wrong.status_code == 400 and "The user ID or password is not right" in wrong.text
    signed = await web.sign_in("cm-jones")
    assert signed.status_code == 303 and signed.headers["location"] == "/app/my-work"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = await web.get("cm-jones", "/app/my-work")
    assert page.status_code == 200, page.text
    assert "My work" in page.text and 'lang="en"' in page.text
    out = await web.browser("cm-jones").post("/app/sign-out", data=hidden(page.text))
    assert out.status_code == 303
    again = await web.get("cm-jones", "/app/my-work")
    assert again.status_code == 303


async def test_repeated_wrong_passwords_are_slowed_and_logged(web: Web) -> None:
    from structlog.testing import capture_logs

    from web.routes import SIGN_INS_FREE

    with capture_logs() as logs:
        for _ in range(SIGN_INS_FREE + 1):
            refused = await web.sign_in("sup-evans", "not the passphrase at all")
            assert refused.status_code == 400
    repeated = [e for e in logs if e["event"] == "web_sign_ins_repeated"]
    assert len(repeated) == 1 and repeated[0]["log_level"] == "warning"
    assert repeated[0]["actor"] == "sup-evans" and repeated[0]["delay_s"] > 0
    assert repeated[0]["client_ip"] and "not the passphrase" not in str(logs)
    # The right password still signs in (slowed, not locked out).
    assert (await web.sign_in("sup-evans")).status_code == 303


async def test_sign_in_refuses_what_no_user_can_be(web: Web) -> None:
    client = web.browser("cm-jones")
    token = hidden((await client.get("/app/sign-in")).text)["csrf_token"]
    for body in (
        f"csrf_token={token}&user_id=cm-jones%00&password=x",
        f"csrf_token={token}&user_id=cm-%ED%A0%80&password=x",
        f"csrf_token={token}&user_id=cm-jones&password=%ED%A0%80%00",
        f"csrf_token={token}&user_id=" + "x" * 5000 + "&password=" + "y" * 5000,
        f"csrf_token={token}&user_id=&password=",
    ):
        refused = await client.post(
            "/app/sign-in",
            content=body.encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert refused.status_code == 400, (body[:80], refused.status_code)
        assert "There is a problem" in refused.text
    wrong_type = await client.post(
        "/app/sign-in", content=b"{}", headers={"content-type": "application/json"}
    )
    assert wrong_type.status_code == 400  # no CSRF token in it


async def test_pages_answer_for_each_role(web: Web) -> None:
    await intensive_case(web)
    for user, path in [
        ("cm-jones", "/app/my-work"),
        ("cm-jones", "/app/cases"),
        ("sup-evans", "/app/team"),
        ("sup-evans", "/app/cases/c1"),
        ("bs-price", "/app/referrals"),
        ("bs-price", "/app/referrals/new"),
        ("au-khan", "/app/cases/c1"),
        ("ad-root", "/app/admin"),
    ]:
        await web.sign_in(user)
        page = await web.get(user, path)
        assert page.status_code == 200, (user, path, page.text[:3000])


async def intensive_case(web: Web, case_id: str = "c1") -> None:
    """A family of cm-jones's in its intensive phase, with goals g1 and g2, projected."""
    await web.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(web.h, case_id)
    await web.settle()


def boxes(name: str, moment: datetime) -> dict[str, str]:
    """A moment in Wales as a form's day and time boxes for field ``name``."""
    local = moment.astimezone(LONDON)
    return {f"{name}-day": str(local.day), f"{name}-month": str(local.month),
            f"{name}-year": str(local.year), f"{name}-hour": str(local.hour),
            f"{name}-minute": str(local.minute)}  # fmt: skip


async def wales_now(web: Web, name: str = "held_at") -> dict[str, str]:
    """The test server's now (a minute on, so that it is not before what was just
    recorded) in the day and time boxes of field ``name``."""
    await web.h.sleep(minutes=2)
    return boxes(name, await web.h.now())


async def versions(web: Web, case_id: str) -> int:
    return len(await web.h.store.read_stream(f"case-{case_id}"))


async def test_a_refused_form_records_nothing_and_names_the_field(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    before = await versions(web, "c1")
    bad = await web.submit(
        "cm-jones",
        "/app/cases/c1/do/record_session",
        {"session_id": "s1", "kind": "home_visit", "duration_minutes": "many"},
    )
    assert bad.status_code == 400
    assert "There is a problem" in bad.text and 'href="#f-duration-minutes"' in bad.text
    assert "govuk-form-group--error" in bad.text
    assert await versions(web, "c1") == before
    late = await web.submit(
        "cm-jones",
        "/app/cases/c1/do/record_session",
        {"session_id": "s1", "kind": "home_visit", "duration_minutes": "60",
         **boxes("held_at", datetime(2020, 1, 1, 10, tzinfo=LONDON))},
    )  # fmt: skip
    assert late.status_code == 400 and 'href="#f-held-at-day"' in late.text
    # The day boxes: a day that does not exist, or words, are refused in the pages' words.
    for wrong in ({"held_at-day": "31", "held_at-month": "2", "held_at-year": "2026",
                   "held_at-hour": "10", "held_at-minute": "00"},
                  {"held_at-day": "tomorrow", "held_at-month": "", "held_at-year": ""}):  # fmt: skip
        refused = await web.submit(
            "cm-jones", "/app/cases/c1/do/record_session",
            {"session_id": "s1", "kind": "home_visit", "duration_minutes": "60", **wrong},
        )  # fmt: skip
        assert refused.status_code == 400 and 'href="#f-held-at-day"' in refused.text
        assert "Enter a real date and time" in refused.text
        assert 'value="tomorrow"' in refused.text or 'value="31"' in refused.text  # kept
    assert await versions(web, "c1") == before


async def test_a_double_submit_records_once(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    form = await web.get("cm-jones", "/app/cases/c1/do/record_session")
    data = {
        **hidden(form.text),
        "session_id": "s1",
        "kind": "home_visit",
        "duration_minutes": "60",
        **await wales_now(web),  # the test server's clock, not the wall's
    }
    client = web.browser("cm-jones")
    before = await versions(web, "c1")
    first, second = await asyncio.gather(
        client.post("/app/cases/c1/do/record_session", data=data),
        client.post("/app/cases/c1/do/record_session", data=data),
    )
    assert {first.status_code, second.status_code} == {303}, first.text[
        first.text.find("govuk-error-summary__list") :
    ][:600]
    third = await client.post("/app/cases/c1/do/record_session", data=data)
    assert (
        third.status_code == 303
        and third.headers["location"] == "/app/cases/c1?done=record_session"
    )
    types = [e.type for e in (await web.h.store.read_stream("case-c1"))[before:]]
    assert types.count("SessionRecorded") == 1


async def test_posts_without_the_csrf_token_are_refused(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    before = await versions(web, "c1")
    forged = await web.browser("cm-jones").post(
        "/app/cases/c1/do/record_session",
        data={"session_id": "s1", "kind": "home_visit", "duration_minutes": "60",
              "csrf_token": "guessed"},
    )  # fmt: skip
    assert forged.status_code == 400 and "The form could not be used" in forged.text
    assert await versions(web, "c1") == before
    await web.settle()  # nor was the case read for it: no access logged
    assert not await web.pool.fetchval(
        "SELECT count(*) FROM access_log WHERE case_id = 'c1' AND actor_id = 'cm-jones'"
    )
    out = await web.browser("cm-jones").post("/app/sign-out", data={})
    assert out.status_code == 400  # a forged sign-out is refused too


async def test_roles_and_teams_are_kept_apart(web: Web) -> None:
    await web.h.add_key_worker("newport", "cm-far")
    await web.h.refer("n1", team_id="newport")
    await intensive_case(web)
    for user in ("cm-jones", "cm-other", "bs-price", "sup-far", "au-khan"):
        await web.sign_in(user)
    other_team = await web.get("sup-far", "/app/cases/c1")
    assert other_team.status_code == 404  # as if it did not exist
    not_theirs = await web.get("cm-other", "/app/cases/c1")
    assert not_theirs.status_code == 404
    assert (await web.get("bs-price", "/app/team")).status_code == 403
    assert (await web.get("cm-jones", "/app/admin")).status_code == 403
    no_form = await web.get("au-khan", "/app/cases/c1/do/record_session")
    assert no_form.status_code == 404  # auditors record nothing
    bs_form = await web.get("bs-price", "/app/cases/c1/do/record_session")
    assert bs_form.status_code == 404
    await web.settle()
    log = await web.pool.fetch(
        "SELECT actor_id, view, interface, allowed FROM access_log WHERE case_id = 'c1' "
        "AND actor_id IN ('sup-far', 'cm-other')"
    )
    assert {(r["actor_id"], r["interface"], r["allowed"]) for r in log} >= {
        ("sup-far", "web", False),
        ("cm-other", "web", False),
    }


async def test_welsh_pages(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    switched = await web.get("cm-jones", "/app/language", to="cy", next="/app/my-work")
    assert switched.status_code == 303
    page = await web.get("cm-jones", "/app/cases/c1")
    assert page.status_code == 200
    assert '<html lang="cy"' in page.text
    assert "Fy ngwaith" in page.text or "Achos c1" in page.text
    assert "Skip to main content" not in page.text
    months = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst",
              "Medi", "Hydref", "Tachwedd", "Rhagfyr")  # fmt: skip
    assert any(m in page.text for m in months)
    # The timeline in Welsh: each event's title and its facts, named and translated.
    assert "Nod wedi&#39;i gytuno — Cyfeirnod y nod: g1; Categori: Defnyddio sylweddau" in page.text
    form = await web.get("cm-jones", "/app/cases/c1/do/record_session")
    assert "Cofnodi" in form.text
    # A refusal in Welsh: the rule's words and the form's checks, nothing recorded.
    before = await versions(web, "c1")
    goal = {"goal_id": "g1", "category": "parenting", "description": "Amser gwely 🌙",
            "baseline": "3", "target": "8"}  # fmt: skip
    again = await web.submit("cm-jones", "/app/cases/c1/do/agree_goal", goal)
    assert again.status_code == 400 and "Mae problem" in again.text
    assert "mae nod g1 wedi&#39;i gytuno&#39;n barod" in again.text
    assert "already agreed" not in again.text
    words = await web.submit(
        "cm-jones", "/app/cases/c1/do/record_session",
        {"session_id": "s9", "kind": "home_visit", "duration_minutes": "many"},
    )  # fmt: skip
    assert words.status_code == 400 and "rhaid iddo fod yn rhif cyfan" in words.text
    assert await versions(web, "c1") == before
    await web.get("cm-jones", "/app/language", to="en", next="/app/my-work")
    english = await web.submit("cm-jones", "/app/cases/c1/do/agree_goal", goal)
    assert "goal g1 is already agreed" in english.text


async def test_the_referral_form(web: Web) -> None:
    await web.sign_in("bs-price")
    empty = await web.submit("bs-price", "/app/referrals/new", {"case_id": "r1"})
    assert empty.status_code == 400 and "There is a problem" in empty.text
    assert await web.h.store.read_stream("case-r1") == []
    # A fifth child's row, which the page never shows: refused, not dropped.
    fifth = await web.submit(
        "bs-price",
        "/app/referrals/new",
        {"case_id": "r1", "children.4.child_id": "ch5", "children.4.name": "Five"},
    )
    assert fifth.status_code == 400 and "up to 4 children and 3 adults" in fifth.text
    assert await web.h.store.read_stream("case-r1") == []
    sent = await web.submit(
        "bs-price",
        "/app/referrals/new",
        {
            "case_id": "r1",
            "family_id": "fam-r1",
            "area": "cardiff",
            "referring_agency": "school",
            "referral_grounds": ["domestic_abuse_victim"],
            **{
                k: v
                for k, v in boxes("received_on", await web.h.now()).items()
                if not k.endswith(("hour", "minute"))
            },
            "priority": "2",
            "consent_to_referral": "yes",
            "consent_to_information_sharing": "yes",
            "consent_to_follow_up": "no",
            "children.0.child_id": "ch1",
            "children.0.statutory_status": "cin",
            "children.0.name": "Dylan 🐉 Jones",
            "personal.family_name": "Jones",
        },
    )
    assert sent.status_code == 303, sent.text[:3000]
    events = await web.h.store.read_stream("case-r1")
    assert events[0].type == "ReferralReceived"
    assert "Dylan" not in events[0].stored_data  # sealed, not in clear
    again = await web.submit("bs-price", "/app/referrals/new", {"case_id": "r1"})
    assert again.status_code == 400


async def test_nul_bytes_and_huge_bodies_are_refused(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    before = await versions(web, "c1")
    nul = await web.submit(
        "cm-jones",
        "/app/cases/c1/do/record_session",
        {"session_id": "s\x001", "kind": "home_visit", "duration_minutes": "60", "notes": "a\x00b"},
    )
    assert nul.status_code == 400 and "There is a problem" in nul.text
    huge = await web.browser("cm-jones").post(
        "/app/cases/c1/do/record_session", content=b"notes=" + b"x" * (20 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert huge.status_code == 413
    # A NUL in a page's path: refused before any page passes it on to PostgreSQL.
    for path in ("/app/cases/%00", "/app/cases/c1%00/timeline.csv", "/app/cases/%00/do/accept"):
        odd = await web.get("cm-jones", path)
        assert odd.status_code == 400 and odd.json()["field"] == "path", path
    posted = await web.browser("cm-jones").post("/app/alerts/%00/acknowledge", data={})
    assert posted.status_code == 400
    assert await versions(web, "c1") == before


async def test_personal_data_is_opened_with_a_purpose_and_logged(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("cm-jones")
    await web.sign_in("au-khan")
    shown = await web.get("cm-jones", "/app/cases/c1", purpose="direct_work")
    assert shown.status_code == 200 and "Child One" in shown.text
    hidden_page = await web.get("cm-jones", "/app/cases/c1")
    assert "Child One" not in hidden_page.text
    auditor = await web.get("au-khan", "/app/cases/c1", purpose="audit")
    assert "Child One" not in auditor.text
    with_reason = await web.get("au-khan", "/app/cases/c1", purpose="audit", reason="complaint 42")
    assert "Child One" in with_reason.text
    # A link from elsewhere (an email, another site) opens nothing and records nothing: the
    # purpose and reason would be someone else's words in the reader's name.
    for came_from in ("cross-site", "none", "same-site"):
        linked = await web.browser("au-khan").get(
            "/app/cases/c1",
            params={"purpose": "subject_access_request", "reason": "Police request ref 42"},
            headers={"Sec-Fetch-Site": came_from},
        )
        assert linked.status_code == 200 and "Child One" not in linked.text
        assert "a link cannot open them" in linked.text
    from_the_form = await web.browser("cm-jones").get(
        "/app/cases/c1",
        params={"purpose": "direct_work"},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert "Child One" in from_the_form.text
    await web.settle()
    rows = await web.pool.fetch(
        "SELECT actor_id, purpose, reason, allowed FROM access_log WHERE case_id = 'c1' "
        "AND view = 'personal' ORDER BY viewed_at"
    )
    assert [(r["actor_id"], r["purpose"], r["allowed"]) for r in rows] == [
        ("cm-jones", "direct_work", True),
        ("au-khan", "audit", False),
        ("au-khan", "audit", True),
        ("cm-jones", "direct_work", True),
    ]


async def test_idle_sessions_and_deactivated_users_are_signed_out(web: Web) -> None:
    from datetime import timedelta

    from identity.passwords import set_password
    from identity.users import set_user_active

    await web.sign_in("cm-jones")
    await web.sign_in("sup-evans")
    assert (await web.get("cm-jones", "/app/my-work")).status_code == 200
    await set_user_active(web.pool, "cm-jones", False)
    assert (await web.get("cm-jones", "/app/my-work")).status_code == 303
    # Deactivated however (API, CLI or page) and reactivated before the old session is
    # used again: it ended with the deactivation, as the user's tokens did.
    await set_user_active(web.pool, "cm-jones", True)
    await web.sign_in("cm-jones")
    assert (await web.get("cm-jones", "/app/my-work")).status_code == 200
    await set_user_active(web.pool, "cm-jones", False)
    await set_user_active(web.pool, "cm-jones", True)
    assert (await web.get("cm-jones", "/app/my-work")).status_code == 303
    await set_password(web.pool, "sup-evans", "another long passphrase")
    assert (await web.get("sup-evans", "/app/team")).status_code == 303
    await web.sign_in("sup-evans", "another long passphrase")
    # Busy all along, a session still ends MAX_LIFETIME after it began.
    await web.sign_in("sup-evans", "another long passphrase")
    await web.pool.execute(
        "UPDATE web_sessions SET created_at = now() - interval '12 hours 1 minute' "
        "WHERE user_id = 'sup-evans'"
    )
    assert (await web.get("sup-evans", "/app/team")).status_code == 303
    await web.sign_in("sup-evans", "another long passphrase")
    web.app.state.web.idle = timedelta(seconds=1)
    await asyncio.sleep(1.5)
    assert (await web.get("sup-evans", "/app/team")).status_code == 303


async def test_visitors_sessions_go_once_idle(web: Web) -> None:
    """Every visitor asking for the sign-in page gets a session row (for the form's CSRF
    token), so an anonymous client can add rows at will: they are swept as soon as they are
    idle too long to be used, not a day later. A signed-in user's live session stays."""
    from datetime import timedelta

    await web.sign_in("cm-jones")
    for n in range(5):
        assert (await web.browser(f"visitor-{n}").get("/app/sign-in")).status_code == 200
    visitors = "SELECT count(*) FROM web_sessions WHERE user_id IS NULL"
    assert await web.pool.fetchval(visitors) == 5
    await web.pool.execute(
        "UPDATE web_sessions SET last_seen_at = now() - interval '10 seconds' WHERE user_id IS NULL"
    )
    web.app.state.web.idle = timedelta(seconds=5)
    assert (await web.browser("visitor-late").get("/app/sign-in")).status_code == 200
    assert await web.pool.fetchval(visitors) == 1  # the late visitor's own
    assert (await web.get("cm-jones", "/app/my-work")).status_code == 200  # still live


async def test_administration_is_recorded(web: Web) -> None:
    await web.sign_in("ad-root")
    page = await web.get("ad-root", "/app/admin")
    token = hidden(page.text)["csrf_token"]
    client = web.browser("ad-root")
    added = await client.post(
        "/app/admin/users",
        data={
            "csrf_token": token,
            "user_id": "cm-new",
            "role": "case_manager",
            "team_id": "cardiff",
        },
    )
    assert added.status_code == 303
    short = await client.post(
        "/app/admin/users/cm-new/password", data={"csrf_token": token, "password": "short"}
    )
    assert short.status_code == 400 and "at least 12 characters" in short.text
    ok = await client.post(
        "/app/admin/users/cm-new/password", data={"csrf_token": token, "password": PASSWORD}
    )
    assert ok.status_code == 303
    issued = await client.post("/app/admin/users/cm-new/tokens", data={"csrf_token": token})
    assert issued.status_code == 200 and "ifss_" in issued.text
    unknown_team = await client.post(
        "/app/admin/users",
        data={"csrf_token": token, "user_id": "cm-x", "role": "case_manager", "team_id": "nowhere"},
    )
    assert unknown_team.status_code == 400 and "no team nowhere" in unknown_team.text
    trail = [e.type for e in await web.h.store.read_stream("admin")]
    assert trail == ["UserAdded", "UserPasswordChanged", "TokenCreated"]
    assert (await web.sign_in("cm-new")).status_code == 303


async def test_timeline_csv_and_as_of(web: Web) -> None:
    await intensive_case(web)
    await web.sign_in("sup-evans")
    csv = await web.get("sup-evans", "/app/cases/c1/timeline.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "GoalAgreed" in csv.text
    before = await web.get("sup-evans", "/app/cases/c1", as_of="2000-01-01")
    assert before.status_code == 422 and "nothing was recorded about this case by" in before.text
    bad = await web.get("sup-evans", "/app/cases/c1", as_of="9999-12-31")
    assert bad.status_code == 422 and "as_of" in bad.text
    today = (await web.h.now()).astimezone(LONDON).date().isoformat()
    then = await web.get("sup-evans", "/app/cases/c1", as_of=today)
    assert then.status_code == 200 and "as it was known at the end of" in then.text


async def test_the_case_as_of_a_moment_folds_its_reviews_like_the_workflow(web: Web) -> None:
    """The "as of" page's reviews and boosters come from the events recorded by then,
    folded with the workflow's own rules: all of them give the live case's; fewer, the
    case as it stood (no reviews before the intensive phase closed)."""
    from events.policy import DEFAULT_POLICY
    from tests.temporal_harness import SUP
    from web.pages import view_as_of

    await intensive_case(web)
    await web.h.do("c1", "close_intensive_phase", kind="planned", actor=SUP)
    live = (await web.h.view("c1")).model_dump()
    assert live["reviews"], "a closed intensive phase schedules the reviews"
    events = await web.h.store.read_stream("case-c1")
    folded = view_as_of("c1", events, DEFAULT_POLICY)
    assert folded is not None
    for part in ("phase", "reviews", "boosters", "goals", "closed_on", "sessions"):
        assert folded[part] == live[part], part
    closing = next(n for n, e in enumerate(events) if e.type == "IntensivePhaseClosed")
    earlier = view_as_of("c1", events[:closing], DEFAULT_POLICY)
    assert earlier is not None and earlier["phase"] == "intensive" and earlier["reviews"] == []


async def test_acknowledging_an_alert_with_and_without_javascript(web: Web) -> None:
    from datetime import timedelta

    from tests.temporal_harness import SUP

    await web.h.add_key_worker("cardiff", "cm-jones")
    for case_id in ("a1", "a2"):
        await web.h.refer(case_id)
        await web.h.do(case_id, "accept", actor=SUP)
        view = await web.h.settle(case_id, "allocated")
    assert view.first_meeting_due_at is not None
    await web.h.sleep(
        seconds=(view.first_meeting_due_at + timedelta(hours=1) - await web.h.now()).total_seconds()
    )
    await web.settle()
    await web.sign_in("cm-jones")
    page = await web.get("cm-jones", "/app/my-work")
    assert page.text.count('hx-post="/app/alerts/') == 2
    token = hidden(page.text)["csrf_token"]
    client = web.browser("cm-jones")
    row = await client.post(
        "/app/alerts/case-a1%3Aa1/acknowledge",
        data={"csrf_token": token, "back": "/app/my-work"},
        headers={"HX-Request": "true"},
    )
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr")
    assert "Acknowledged" in row.text and "<html" not in row.text
    whole = await client.post(
        "/app/alerts/case-a2%3Aa1/acknowledge", data={"csrf_token": token, "back": "/app/my-work"}
    )
    assert whole.status_code == 303 and whole.headers["location"] == "/app/my-work?acknowledged=1"
    for case_id in ("a1", "a2"):
        assert "AlertAcknowledged" in await web.h.types(case_id)
    stranger = await client.post("/app/alerts/case-zz%3Aa1/acknowledge", data={"csrf_token": token})
    assert stranger.status_code == 404


async def test_correcting_an_entry(web: Web) -> None:
    """A correction names an entry of the timeline and one of its fields; the rules check
    the value against the entry's own field; a refused correction records nothing."""
    await intensive_case(web)
    await web.sign_in("cm-jones")
    stream = await web.h.store.read_stream("case-c1")
    goal = next(e.stream_version for e in stream if e.type == "GoalAgreed")
    form = await web.get("cm-jones", "/app/cases/c1/do/correct_entry")
    assert form.status_code == 200
    assert f'<option value="{goal}">{goal}: Goal agreed' in form.text
    assert '<option value="baseline">' in form.text
    before = await versions(web, "c1")
    wrong = await web.submit(
        "cm-jones", "/app/cases/c1/do/correct_entry",
        {"version": str(goal), "changes": "duration_minutes", "value": "30",
         "reason": "typing_error"},
    )  # fmt: skip
    assert wrong.status_code == 400
    assert "duration_minutes cannot be corrected on a GoalAgreed" in wrong.text
    silly = await web.submit(
        "cm-jones", "/app/cases/c1/do/correct_entry",
        {"version": str(goal), "changes": "baseline", "value": "eleven 🙃",
         "reason": "typing_error"},
    )  # fmt: skip
    assert silly.status_code == 400 and 'href="#f-changes"' in silly.text
    assert await versions(web, "c1") == before
    done = await web.submit(
        "cm-jones", "/app/cases/c1/do/correct_entry",
        {"version": str(goal), "changes": "baseline", "value": "4", "reason": "typing_error"},
    )  # fmt: skip
    assert done.status_code == 303, done.text[:2000]
    corrected = (await web.h.store.read_stream("case-c1"))[-1]
    assert corrected.type == "EntryCorrected"
    assert corrected.data["corrects_version"] == goal
    assert corrected.data["changes"] == [{"field": "baseline", "value": 4}]
