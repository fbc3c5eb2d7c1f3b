"""The pages in a real browser: Playwright driving Debian's Chromium (never a browser it
downloads) against the engine's own HTTP server (uvicorn) on real PostgreSQL, a
time-skipping Temporal server with the case and team workflows, and a real OpenID Connect
provider (oidc-provider-mock) to sign in against. axe-core checks every page it opens;
screenshots go to ``IFSS_SCREENSHOTS`` (default ``build/screenshots``).

Without Chromium (``apt-get install -y chromium``; ``make test`` installs it when it runs
as root) these tests are skipped, saying so."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from identity.passwords import set_password
from identity.users import add_user
from tests.api_client import USERS
from tests.e2e.conftest import free_port
from tests.projector_harness import catch_up
from tests.temporal_harness import Harness
from tests.web_client import PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("IFSS_SCREENSHOTS", "build/screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Every rule of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
OIDC_CLIENT = ("ifss-pages", "test-client-secret")


def chromium() -> str:
    found = os.environ.get("IFSS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.skip(
            "Chromium is not installed: the browser tests need Debian's chromium "
            "(apt-get install -y chromium; make test installs it when it runs as root)"
        )
    return found


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """A real OpenID Connect provider on a free port (any client id; the user types the
    subject they sign in as on its authorization page)."""
    from oidc_provider_mock import run_server_in_thread

    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider is on http here
    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    path = chromium()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Site:
    url: str
    h: Harness
    pool: asyncpg.Pool
    browser: Any
    issuer: str
    contexts: list[Any] = field(default_factory=list)
    projecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def settle(self) -> None:
        """Until the read models have everything recorded so far (one projector at a time)."""
        async with self.projecting:
            await catch_up(self.pool, self.h.store)

    async def person(self, user: str, language: str = "en", sign_in: bool = True) -> Any:
        """A page in a browser of ``user``'s own (cookies of their own), signed in."""
        context = await self.browser.new_context(
            base_url=self.url, locale="cy-GB" if language == "cy" else "en-GB",
            viewport={"width": 1100, "height": 900},
        )  # fmt: skip
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = await context.new_page()
        if language == "cy":
            await page.goto("/app/language?to=cy&next=/app/sign-in")
        if sign_in:
            await page.goto("/app/sign-in")
            await page.fill("#user_id", user)
            await page.fill("#password", PASSWORD)
            await page.locator("#main-content form .govuk-button").last.click()
            await page.wait_for_load_state()
            assert "/sign-in" not in page.url, await page.content()
        return page


async def accessible(page: Any, name: str) -> None:
    """No WCAG 2.2 A/AA violation on ``page`` (axe-core), and a screenshot of it."""
    from axe_playwright_python.async_playwright import Axe

    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    results = await Axe().run(
        page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    )
    assert results.violations_count == 0, f"{name} ({page.url}):\n{results.generate_report()}"


async def submit(page: Any) -> None:
    """Press the form's own button (the last one in the main content) and wait."""
    async with page.expect_navigation():
        await page.locator("#main-content form[method=post] .govuk-button").last.click()


@pytest.fixture
async def site(
    harness: Harness, pool: asyncpg.Pool, browser: Any, oidc_issuer: str
) -> AsyncIterator[Site]:
    import uvicorn

    from api.app import Services, create_app
    from web import WebConfig
    from web.oidc import OidcClient

    for user_id, (role, team) in USERS.items():
        await add_user(pool, user_id, role, team)
        await set_password(pool, user_id, PASSWORD)
    for team in sorted({team for _, team in USERS.values() if team}):
        await harness.register_team(team)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = WebConfig(oidc=OidcClient(oidc_issuer, *OIDC_CLIENT, None))
    services = Services(pool, harness.store, harness.client, harness.task_queue, web=config)
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag only
        await asyncio.sleep(0.02)
    stop = asyncio.Event()
    site = Site(url, harness, pool, browser, oidc_issuer)

    async def project() -> None:  # the projector, as `ifss dev` runs it: always catching up
        while not stop.is_set():
            with suppress(asyncpg.PostgresError, OSError):
                await site.settle()
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    projecting = asyncio.create_task(project())
    try:
        yield site
    finally:
        for context in site.contexts:
            await context.close()
        stop.set()
        await projecting
        server.should_exit = True
        await serving
