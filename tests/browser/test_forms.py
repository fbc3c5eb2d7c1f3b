"""Every form a supervisor is offered (a key worker's are a subset of theirs), in its error
state (sent empty): a GOV.UK error summary linking to the field, the field marked, nothing
recorded, and no WCAG 2.2 A/AA violation (axe); in the referred, allocated, intensive and
follow-up phases, and the admin page's."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Site, accessible, submit
from tests.temporal_harness import SUP, to_intensive
from web.forms import fields_of, offered

pytestmark = [pytest.mark.browser, pytest.mark.integration]


async def errors_of_every_form(
    site: Site, page: object, case_id: str, phase: str, role: str
) -> int:
    checked = 0
    for name in offered(phase, role):
        if not any(f.required for f in fields_of(name)):
            continue  # nothing to leave out (accept, for one): no error state
        before = len(await site.h.store.read_stream(f"case-{case_id}"))
        await page.goto(f"/app/cases/{case_id}/do/{name}")  # type: ignore[attr-defined]
        await submit(page)
        summary = page.locator(".govuk-error-summary")  # type: ignore[attr-defined]
        assert await summary.count() == 1, f"{name}: no error summary"
        link = summary.locator("a").first
        target = await link.get_attribute("href")
        assert target and await page.locator(target).count() == 1, (
            f"{name}: {target} names no field"
        )  # type: ignore[attr-defined]
        await accessible(page, f"en-{phase}-{name}-errors")
        assert len(await site.h.store.read_stream(f"case-{case_id}")) == before, name
        checked += 1
    return checked


async def test_every_forms_error_state(site: Site) -> None:
    await site.h.add_key_worker("cardiff", "cm-jones")
    await site.h.refer("f0")  # referred: reject, withdraw, the family's facts
    await to_intensive(site.h, "f1")
    await site.settle()
    supervisor = await site.person("sup-evans")
    assert await errors_of_every_form(site, supervisor, "f0", "referred", "supervisor") >= 5
    await site.h.do("f0", "accept", actor=SUP)
    await site.h.settle("f0", "allocated")
    await site.settle()
    assert await errors_of_every_form(site, supervisor, "f0", "allocated", "supervisor") >= 5
    assert await errors_of_every_form(site, supervisor, "f1", "intensive", "supervisor") >= 8
    await site.h.do("f1", "close_intensive_phase", actor=SUP, kind="planned")
    await site.h.settle("f1", "follow_up")
    await site.settle()
    assert await errors_of_every_form(site, supervisor, "f1", "follow_up", "supervisor") >= 8
    admin = await site.person("ad-root")
    await admin.goto("/app/admin")
    async with admin.expect_navigation():
        await admin.locator('form[action="/app/admin/users"] .govuk-button').click()
    assert await admin.locator(".govuk-error-summary").count() == 1
    await accessible(admin, "en-admin-errors")
