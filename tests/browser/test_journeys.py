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


async def wales_now(site: Site, field: str = "#f-held-at") -> dict[str, str]:
    """The test server's time (a minute on) in Wales, as the day and time boxes of
    ``field`` take it."""
    await site.h.sleep(minutes=2)
    local = (await site.h.now()).astimezone(LONDON)
    parts = {"day": local.day, "month": local.month, "year": local.year,
             "hour": local.hour, "minute": local.minute}  # fmt: skip
    return {f"{field}-{part}": str(value) for part, value in parts.items()}


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
            await element.select_option(**value) if isinstance(
                value, dict
            ) else await element.select_option(value)
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
    await page.select_option("#f-area", "cardiff")
    await page.select_option("#f-referring-agency", "health")
    await page.check("#f-referral-grounds")  # the first statutory ground
    today = (await site.h.now()).astimezone(LONDON).date()
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        await page.fill(f"#f-received-on-{part}", str(value))
    for consent in ("referral", "information-sharing", "follow-up"):
        await page.check(f"#f-consent-to-{consent}")  # the first radio: yes
    await page.fill("#f-children-0-child-id", "ch1")
    await page.select_option("#f-children-0-statutory-status", "cin")
    await page.select_option("#f-children-0-age-band", "5_to_9")
    await page.select_option("#f-language-preference", "welsh" if language == "cy" else "english")
    await page.fill("#f-children-0-name", "Elin Ŵyn 🌱")
    await submit(page)
    assert page.url.endswith(f"referred={case}"), await page.content()
    [received] = await site.h.store.read_stream(f"case-{case}")
    assert received.data["children"][0]["age_band"] == "5_to_9"
    assert received.data["language_preference"] == ("welsh" if language == "cy" else "english")
    await accessible(page, f"{language}-referred")

    supervisor = await site.person("sup-evans", language)
    await supervisor.goto("/app/team")
    await accessible(supervisor, f"{language}-team")
    await do(supervisor, case, "accept", f"{language}-accept", {})
    await wait_for_phase(site, case, "allocated")
    await do(page, case, "record_first_meeting", f"{language}-first-meeting",
             await wales_now(site))  # fmt: skip
    await do(page, case, "agree_goal", f"{language}-agree-goal", {
        "#f-goal-id": "g1", "#f-category": "substance_use",
        "#f-description": "No drinking at home", "#f-baseline": "2", "#f-target": "8",
    })  # fmt: skip
    await do(page, case, "record_session", f"{language}-session", {
        "#f-session-id": "s1", **await wales_now(site), "#f-kind": "home_visit",
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


async def escalated_first_meeting(site: Site, case_id: str) -> None:
    """A family of cm-jones's whose first meeting was missed, its alert left unacknowledged
    until it went up to the supervisors."""
    from datetime import timedelta

    from tests.temporal_harness import SUP

    await site.h.refer(case_id)
    await site.h.do(case_id, "accept", actor=SUP)
    view = await site.h.settle(case_id, "allocated")
    assert view.first_meeting_due_at is not None
    late = view.first_meeting_due_at + timedelta(days=3) - await site.h.now()
    await site.h.sleep(seconds=late.total_seconds())
    assert "AlertEscalated" in await site.h.types(case_id)
    await site.settle()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_supervisor_acknowledges_an_escalated_alert_and_hands_a_family_over(
    site: Site, language: str
) -> None:
    await site.h.add_key_worker("cardiff", "cm-jones")
    await site.h.add_key_worker("cardiff", "cm-other")
    case = f"esc-{language}"
    await escalated_first_meeting(site, case)
    page = await site.person("sup-evans", language)
    await page.goto("/app/team")
    await accessible(page, f"{language}-team-escalated")
    escalated = page.locator("table", has=page.locator(f'a[href="/app/cases/{case}"]')).first
    row = escalated.locator("tr", has=page.locator(f'a[href="/app/cases/{case}"]')).first
    await row.locator("form .govuk-button").click()  # htmx: the row is replaced in place
    await escalated.locator("tr form").first.wait_for(state="detached")
    assert page.url.endswith("/app/team")
    await accessible(page, f"{language}-team-acknowledged")
    alerts = [e.type for e in await site.h.store.read_stream(f"case-{case}")]
    assert "AlertAcknowledged" in alerts
    await do(page, case, "reassign", f"{language}-reassign",
             {"#f-key-worker-id": "cm-other", "#f-reason": "workload"})  # fmt: skip
    view = await site.h.view(case)
    assert view.key_worker_id == "cm-other"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_business_support_refers_and_a_case_manager_is_kept_to_their_own(
    site: Site, language: str
) -> None:
    await site.h.add_key_worker("newport", "cm-far")
    await site.h.refer("newport-1", team_id="newport")
    await site.settle()
    page = await site.person("bs-price", language)
    assert page.url.endswith("/app/referrals")
    await accessible(page, f"{language}-referrals")
    await page.goto("/app/referrals/new")
    case = f"bs-{language}"
    await page.fill("#f-case-id", case)
    await page.fill("#f-family-id", f"fam-{case}")
    await page.select_option("#f-area", "cardiff")
    await page.select_option("#f-referring-agency", "school")
    await page.check("#f-referral-grounds")
    for consent in ("referral", "information-sharing", "follow-up"):
        await page.check(f"#f-consent-to-{consent}")
    await page.fill("#f-children-0-child-id", "ch1")
    await submit(page)
    assert page.url.endswith("done=refer"), await page.content()
    await accessible(page, f"{language}-bs-case")
    await site.settle()
    await page.goto("/app/referrals")
    assert await page.locator(f'a[href="/app/cases/{case}"]').count() == 1

    other = await site.person("cm-jones", language)
    await other.goto("/app/cases/newport-1")
    await accessible(other, f"{language}-not-found")
    assert await other.locator("h1").inner_text() in (
        "Page not found",
        "Heb ddod o hyd i'r dudalen",
    )
    refused = await site.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = 'access-newport-1' "
        "AND data->>'allowed' = 'false' AND data->>'interface' = 'web'"
    )
    assert refused == 1


async def test_signing_in_with_the_councils_account(site: Site) -> None:
    admin = await site.person("ad-root")
    await admin.goto("/app/admin")
    await accessible(admin, "en-admin")
    details = admin.locator(
        "details", has=admin.locator('form[action="/app/admin/users/cm-jones/sign-in"]')
    )
    await details.locator("summary").click()
    await details.locator('input[name="subject"]').fill("jones@council.example")
    async with admin.expect_navigation():
        await details.locator('form[action$="/sign-in"] .govuk-button').click()
    assert "done=1" in admin.url
    trail = [e.type for e in await site.h.store.read_stream("admin")]
    assert trail[-1] == "UserSignInLinked"

    page = await site.person("cm-jones", sign_in=False)
    await page.goto("/app/my-work")
    assert "/app/sign-in" in page.url
    await accessible(page, "en-sign-in")
    await page.locator("#oidc a").click()
    await page.fill('input[name="sub"]', "jones@council.example")
    async with page.expect_navigation(url="**/app/**"):
        await page.locator('button[type="submit"]:not([name])').first.click()
    await page.wait_for_load_state()
    assert page.url.endswith("/app/my-work"), page.url
    stranger = await site.person("nobody", sign_in=False)
    await stranger.goto("/app/sign-in")
    await stranger.locator("#oidc a").click()
    await stranger.fill('input[name="sub"]', "stranger@elsewhere.example")
    async with stranger.expect_navigation(url="**/app/**"):
        await stranger.locator('button[type="submit"]:not([name])').first.click()
    assert "/app/sign-in" in stranger.url or "callback" in stranger.url
    assert "not linked" in await stranger.content()
    await accessible(stranger, "en-sign-in-not-linked")
