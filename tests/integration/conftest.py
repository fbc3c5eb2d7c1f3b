"""Fixtures of the integration tests: the API as each role's user sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from api.app import Services, create_app
from identity.users import add_user, create_token
from tests.api_client import USERS, Api
from tests.temporal_harness import Harness
from tests.web_client import PASSWORD, Web

TEMPORAL_UI = "http://temporal-ui.example:8233"


@pytest.fixture
async def api(harness: Harness, pool: asyncpg.Pool) -> AsyncIterator[Api]:
    tokens = {}
    for user_id, (role, team) in USERS.items():
        await add_user(pool, user_id, role, team)
        tokens[user_id] = await create_token(pool, user_id)
    for team in sorted({team for _, team in USERS.values() if team}):
        await harness.register_team(team)  # the council's teams exist before its users act
    app = create_app(
        Services(
            pool,
            harness.store,
            harness.client,
            harness.task_queue,
            codec_origins=(TEMPORAL_UI,),
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ifss") as http:
        yield Api(http, tokens, harness, pool)


@pytest.fixture
async def web(harness: Harness, pool: asyncpg.Pool) -> AsyncIterator[Web]:
    """The web pages on real PostgreSQL and Temporal, every user of ``USERS`` with a
    password (``tests.web_client.PASSWORD``)."""
    from identity.passwords import set_password
    from web import WebConfig

    for user_id, (role, team) in USERS.items():
        await add_user(pool, user_id, role, team)
        await set_password(pool, user_id, PASSWORD)
    for team in sorted({team for _, team in USERS.values() if team}):
        await harness.register_team(team)
    services = Services(pool, harness.store, harness.client, harness.task_queue, web=WebConfig())
    site = Web(create_app(services), harness, pool)
    try:
        yield site
    finally:
        await site.aclose()
