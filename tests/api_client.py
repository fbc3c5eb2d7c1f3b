"""Calling the API under test as each role's user (see the ``api`` fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from events.calendar import local_day
from tests.projector_harness import catch_up
from tests.temporal_harness import Harness

USERS = {
    "cm-jones": ("case_manager", "cardiff"),
    "cm-other": ("case_manager", "cardiff"),
    "sup-evans": ("supervisor", "cardiff"),
    "sup-far": ("supervisor", "newport"),
    "bs-price": ("business_support", "cardiff"),
    "au-khan": ("auditor", None),
    "ad-root": ("admin", None),
}


@dataclass
class Api:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    h: Harness
    pool: asyncpg.Pool

    async def get(self, user: str | None, path: str, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return await self.http.get(path, headers=headers, params=params or None)

    async def post(
        self, user: str, path: str, body: dict[str, Any], **params: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return await self.http.post(path, headers=headers, json=body, params=params or None)

    async def settle(self) -> None:
        await catch_up(self.pool, self.h.store)


REFERRAL = {
    "family_id": "fam-9",
    "team_id": "cardiff",
    "area": "cardiff",
    "referring_agency": "school",
    "referral_grounds": ["domestic_abuse_victim"],
    "children": [{"child_id": "ch1", "statutory_status": "cin"}],
    "consent_to_referral": True,
    "consent_to_information_sharing": True,
    "consent_to_follow_up": True,
    # Today in Wales (the rules refuse a referral dated more than backdate_days ago).
    "received_on": local_day(datetime.now(UTC)).isoformat(),
}
