"""Every administrative act is an event: users, deactivation, tokens and alert routes
changed from the CLI are recorded in the admin stream with who did it, in the same
transaction as the change; a non-admin is refused and nothing is changed or recorded."""

from __future__ import annotations

import asyncpg
import pytest

from events.store import EventStore
from identity.users import add_user
from tests.api_client import Api
from tests.integration.test_poison_events import ifss

pytestmark = pytest.mark.integration


async def test_admin_acts_are_recorded_with_the_actor(
    database_url: str, migrated: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    def cli(*args: str) -> str:
        done = ifss(database_url, migrated, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    await add_user(pool, "ad-root", "admin", None)
    await add_user(pool, "au-khan", "auditor", None)
    cli("users", "add", "ad-two", "--role", "admin")  # the local operator, recorded as such
    cli("users", "add", "au-lee", "--role", "auditor", "--as", "ad-root:admin")
    token = cli("tokens", "create", "au-lee", "--as", "ad-root:admin").strip()
    cli("tokens", "revoke", token.split("_")[1], "--as", "ad-two:admin")
    cli("users", "deactivate", "au-lee", "--as", "ad-root:admin")

    refused = ifss(
        database_url, migrated, "users", "add", "x1", "--role", "auditor", "--as", "au-khan:auditor"
    )
    assert refused.returncode == 2 and "only an admin may change users" in refused.stderr
    stranger = ifss(
        database_url, migrated, "tokens", "create", "au-khan", "--as", "ad-nobody:admin"
    )
    assert stranger.returncode == 2 and "actor: no user ad-nobody" in stranger.stderr
    bad = ifss(
        database_url, migrated, "users", "add", "x2", "--role", "boss", "--as", "ad-root:admin"
    )
    assert bad.returncode == 2 and "role" in bad.stderr

    trail = [
        (e.type, e.metadata.actor.id, e.data.get("user_id"))
        for e in await store.read_stream("admin")
    ]
    assert trail[0][0] == "UserAdded" and trail[0][1].startswith("operator@")
    assert trail[1:] == [
        ("UserAdded", "ad-root", "au-lee"),
        ("TokenCreated", "ad-root", "au-lee"),
        ("TokenRevoked", "ad-two", "au-lee"),
        ("UserActiveChanged", "ad-root", "au-lee"),
    ]
    # Nothing of the refused acts happened or was recorded.
    assert await pool.fetchval("SELECT count(*) FROM users WHERE user_id IN ('x1', 'x2')") == 0
    assert len(await pool.fetch("SELECT 1 FROM api_tokens WHERE user_id = 'au-khan'")) == 0
    # The token's secret is never in the trail, only its id.
    raw = "".join(r["d"] for r in await pool.fetch("SELECT data::text d FROM events"))
    assert token not in raw and token.split("_")[1] in raw
    assert "intact" in ifss(database_url, migrated, "audit", "verify").stdout


async def test_the_admin_api_records_each_act_and_refuses_everyone_else(api: Api) -> None:
    created = await api.post(
        "ad-root", "/users", {"user_id": "cm-new", "role": "case_manager", "team_id": "cardiff"}
    )
    assert created.status_code == 201, created.text
    again = await api.post(
        "ad-root", "/users", {"user_id": "cm-new", "role": "case_manager", "team_id": "cardiff"}
    )
    assert again.status_code == 409 and "already exists" in again.text
    unknown_team = await api.post(
        "ad-root", "/users", {"user_id": "cm-x", "role": "case_manager", "team_id": "mars"}
    )
    assert unknown_team.status_code == 422 and "no team mars is registered" in unknown_team.text
    token = await api.post("ad-root", "/users/cm-new/tokens", {"label": "laptop 🦊"})
    assert token.status_code == 201
    issued = token.json()
    assert issued["token"].startswith("ifss_")
    as_new = {"Authorization": f"Bearer {issued['token']}"}
    assert (await api.http.get("/cases", headers=as_new)).status_code == 200
    revoked = await api.post("ad-root", f"/tokens/{issued['token_id']}/revoke", {})
    assert revoked.status_code == 200
    assert (await api.http.get("/cases", headers=as_new)).status_code == 401
    assert (await api.post("ad-root", "/tokens/nope/revoke", {})).status_code == 404
    routes = await api.http.put(
        "/users/cm-new/alert-routes",
        json={"email": "new@council.example"},
        headers={"Authorization": f"Bearer {api.tokens['ad-root']}"},
    )
    assert routes.status_code == 200 and routes.json()["channels"] == ["email"]
    off = await api.post("ad-root", "/users/cm-new/active", {"active": False})
    assert off.status_code == 200
    assert (await api.post("ad-root", "/users/nobody/active", {"active": False})).status_code == 404
    for who in ("sup-evans", "au-khan", "cm-jones"):
        denied = await api.post(who, "/users", {"user_id": "y1", "role": "auditor"})
        assert denied.status_code == 403
    trail = [
        (e.type, e.metadata.actor.id, e.data["user_id"])
        for e in await api.h.store.read_stream("admin")
    ]
    assert trail == [
        ("UserAdded", "ad-root", "cm-new"),
        ("TokenCreated", "ad-root", "cm-new"),
        ("TokenRevoked", "ad-root", "cm-new"),
        ("AlertRoutesChanged", "ad-root", "cm-new"),
        ("UserActiveChanged", "ad-root", "cm-new"),
    ]
