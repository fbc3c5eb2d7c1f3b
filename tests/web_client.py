"""Using the web pages under test as each role's user: a cookie jar per user, signing in
through the sign-in form, and reading forms' hidden fields (see the ``web`` fixture)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.projector_harness import catch_up
from tests.temporal_harness import Harness

PASSWORD = "correct horse battery staple"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


def hidden(html: str) -> dict[str, str]:
    """The hidden fields of the first form on a page (the CSRF token, the submission id)."""
    return dict(_HIDDEN.findall(html))


@dataclass
class Web:
    app: Any
    h: Harness
    pool: asyncpg.Pool
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def browser(self, user: str) -> httpx.AsyncClient:
        """``user``'s own cookie jar (a browser of theirs)."""
        if user not in self.clients:
            self.clients[user] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url="http://ifss"
            )
        return self.clients[user]

    async def sign_in(self, user: str, password: str = PASSWORD) -> httpx.Response:
        client = self.browser(user)
        form = await client.get("/app/sign-in")
        fields = hidden(form.text)
        return await client.post(
            "/app/sign-in",
            data={**fields, "user_id": user, "password": password, "next": "/app"},
        )

    async def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return await self.browser(user).get(path, params=params or None)

    async def submit(self, user: str, path: str, data: dict[str, Any]) -> httpx.Response:
        """Open the form at ``path`` and post ``data`` with its hidden fields."""
        form = await self.get(user, path)
        assert form.status_code == 200, form.text[:2000]
        return await self.browser(user).post(path, data={**hidden(form.text), **data})

    async def settle(self) -> None:
        await catch_up(self.pool, self.h.store)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
