"""The web pages on real PostgreSQL and the time-skipping Temporal server, without a
browser: sign-in and out, CSRF, roles, every page answering, a command's form with its
errors, a double submit recorded once, the referral form, administration. (The journeys in
a real browser, with axe, are in tests/browser.)"""

from __future__ import annotations

import asyncio

import pytest

from tests.temporal_harness import to_intensive
from tests.web_client import PASSWORD, Web, hidden

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


async def test_pages_answer_for_each_role(web: Web) -> None:
    await web.h.add_key_worker("cardiff", "cm-jones")
    await to_intensive(web.h, "c1")
    await web.settle()
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
