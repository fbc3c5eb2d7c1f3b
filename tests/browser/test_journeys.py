"""The journeys of the issue, in Chromium, in English and in Welsh: a key worker takes a
family from referral to the first review; a supervisor acknowledges an escalated alert and
hands a family over; business support refers; a case manager is refused another team's
case; signing in with the council's account (OpenID Connect). axe on every page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, accessible, submit
from web.i18n import LONDON

pytestmark = [pytest.mark.browser, pytest.mark.integration]
LANGUAGES = ["en", "cy"]


async def wales_now(site: Site) -> str:
    """The test server's time (a minute on) as a date-and-time field takes it, in Wales."""
    await site.h.sleep(minutes=2)
    return (await site.h.now()).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


async def wait_for_phase(site: Site, case_id: str, phase: str) -> None:
    await site.h.settle(case_id, phase)
    await site.settle()


async def do(page: Any, case_id: str, command: str, name: str, fields: dict[str, Any]) -> None:
    """Open the command's form on the case, fill it, send it: it must be recorded."""
    await page.goto(f"/app/cases/{case_id}/do/{command}")
    await accessible(page, f"{name}-form")
    for selector, value in fields.items():
        element = page.locator(selector)
        kind = await element.evaluate("e => e.tagName + ':' + (e.type || '')")
        if kind.startswith("SELECT"):
            await element.select_option(**value) if isinstance(value, dict) else await element.select_option(value)
        elif kind in ("INPUT:radio", "INPUT:checkbox"):
            await element.check()
        else:
            await element.fill(value)
    await submit(page)
    assert "done=" in page.url, await page.locator(".govuk-error-summary").all_inner_texts()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_key_worker_takes_a_family_from_referral_to_the_first_review(
    site: Site, language: str
) -> None:
    await site.h.add_key_worker("cardiff", "cm-jones")
    page = await site.person("cm-jones", language)
    await accessible(page, f"{language}-my-work-empty")
    case = f"web-{language}"
    await page.goto("/app/referrals/new")
    await accessible(page, f"{language}-referral-form")
    await submit(page)  # nothing filled in: the error summary, and nothing recorded
    await accessible(page, f"{language}-referral-form-errors")
    assert await page.locator(".govuk-error-summary").count() == 1
    await page.fill("#f-case-id", case)
    await page.fill("#f-family-id", f"fam-{case}")
    await page.fill("#f-area", "cardiff")
    await page.select_option("#f-referring-agency", "health")
    await page.check("#f-referral-grounds")  # the first statutory ground
    await page.fill("#f-received-on", (await site.h.now()).astimezone(LONDON).date().isoformat())
    for consent in ("referral", "information-sharing", "follow-up"):
        await page.check(f"#f-consent-to-{consent}")  # the first radio: yes
    await page.fill("#f-children-0-child-id", "ch1")
    await page.select_option("#f-children-0-statutory-status", "cin")
    await page.fill("#f-children-0-name", "Elin Ŵyn 🌱")
    await submit(page)
    assert page.url.endswith(f"referred={case}"), await page.content()
    await accessible(page, f"{language}-referred")

    supervisor = await site.person("sup-evans", language)
    await supervisor.goto("/app/team")
    await accessible(supervisor, f"{language}-team")
    await do(supervisor, case, "accept", f"{language}-accept", {})
    await wait_for_phase(site, case, "allocated")
    await do(page, case, "record_first_meeting", f"{language}-first-meeting",
             {"#f-held-at": await wales_now(site)})  # fmt: skip
    await do(page, case, "agree_goal", f"{language}-agree-goal", {
        "#f-goal-id": "g1", "#f-category": "substance_use",
        "#f-description": "No drinking at home", "#f-baseline": "2", "#f-target": "8",
    })  # fmt: skip
    await do(page, case, "record_session", f"{language}-session", {
        "#f-session-id": "s1", "#f-held-at": await wales_now(site), "#f-kind": "home_visit",
        "#f-duration-minutes": "60",
    })  # fmt: skip
    await do(page, case, "score_goals", f"{language}-score", {"#f-scores-1": "5"})
    await site.h.sleep(days=29)
    await do(page, case, "close_intensive_phase", f"{language}-close", {
        "#f-kind": "planned", "#f-closing-scores-1": "7",
    })  # fmt: skip
    await wait_for_phase(site, case, "follow_up")
    await site.h.sleep(days=31)
    await site.settle()
    await page.goto("/app/my-work")
    await accessible(page, f"{language}-my-work-review-due")
    assert await page.locator(f'a[href="/app/cases/{case}"]').count() >= 1
    await do(page, case, "complete_review", f"{language}-review", {
        "#f-review-id": {"index": 1}, "#f-ratings-1": "maintained",
        "#f-family-staying-together": "yes", "#f-substance-use-status": "reduced",
    })  # fmt: skip
    await site.settle()
    await page.goto(f"/app/cases/{case}")
    await accessible(page, f"{language}-case-after-review")
    types = [e.type for e in await site.h.store.read_stream(f"case-{case}")]
    assert "FollowUpReviewCompleted" in types and types.count("ReferralReceived") == 1
