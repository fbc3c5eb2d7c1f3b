"""Who is using the pages: server-side sessions, CSRF tokens, sign-in and sign-out.

The cookie (``ifss_session``) carries a random secret; the database keeps only its hash,
the user once signed in, a CSRF token and small sign-in state (the OpenID Connect state
and nonce). Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over TLS
(or ``IFSS_PUBLIC_URL`` is https). A session idle for longer than ``IFSS_WEB_IDLE_MINUTES``
is deleted and the user asked to sign in again; signing in gives a new session (no
fixation); signing out deletes it. A deactivated user's sessions stop at their next
request (the join below), and setting a password signs out their other sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from events.vocabulary import Role
from identity.users import User

COOKIE = "ifss_session"
DEFAULT_IDLE = timedelta(minutes=30)
# However busy, a session ends this long after it began (a working day and then some): a
# stolen cookie kept alive by a script does not last for ever.
MAX_LIFETIME = timedelta(hours=12)


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass
class WebSession:
    secret: str
    csrf_token: str
    user: User | None = None
    data: dict[str, Any] = field(default_factory=dict)
    fresh: bool = False  # made by this request: its cookie must be set

    def csrf_ok(self, sent: object) -> bool:
        return isinstance(sent, str) and hmac.compare_digest(sent, self.csrf_token)


async def load(pool: Any, request: Request, idle: timedelta) -> WebSession | None:
    """The request's session if its cookie names a live one (touching it): used within
    ``idle`` and begun less than ``MAX_LIFETIME`` ago; else ``None``."""
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 100:
        return None
    row = await pool.fetchrow(
        """UPDATE web_sessions s SET last_seen_at = now()
             WHERE session_hash = $1 AND last_seen_at > now() - $2::interval
               AND created_at > now() - $3::interval
         RETURNING s.csrf_token, s.data, s.user_id""",
        _hash(secret),
        idle,
        MAX_LIFETIME,
    )
    if row is None:
        await pool.execute(
            "DELETE FROM web_sessions WHERE session_hash = $1", _hash(secret)
        )  # idle too long (or unknown): gone
        return None
    user = None
    if row["user_id"] is not None:
        found = await pool.fetchrow(
            "SELECT role, team_id FROM users WHERE user_id = $1 AND active", row["user_id"]
        )
        if found is None:  # deactivated since: this session ends now
            await pool.execute("DELETE FROM web_sessions WHERE session_hash = $1", _hash(secret))
            return None
        user = User(row["user_id"], Role(found["role"]), found["team_id"])
    data = orjson.loads(row["data"]) if isinstance(row["data"], str | bytes) else row["data"]
    return WebSession(secret, row["csrf_token"], user, dict(data or {}))


async def start(
    pool: Any,
    user: User | None = None,
    data: dict[str, Any] | None = None,
    *,
    idle: timedelta,
) -> WebSession:
    """A new session (a visitor's, or a user's just signed in). Sessions idle for longer
    than ``idle`` can no longer be used and are swept here (by the index on
    ``last_seen_at``): a visitor's session is a row too, so anyone can add rows by asking
    for the sign-in page, and those rows go once they are dead, not a day later. (A session
    past ``MAX_LIFETIME`` is deleted when next presented, or swept once idle.)"""
    session = WebSession(
        secrets.token_urlsafe(32), secrets.token_urlsafe(32), user, dict(data or {}), fresh=True
    )
    await pool.execute(
        "INSERT INTO web_sessions (session_hash, user_id, csrf_token, data) "
        "VALUES ($1, $2, $3, $4::jsonb)",
        _hash(session.secret),
        user.user_id if user else None,
        session.csrf_token,
        orjson.dumps(session.data).decode(),
    )
    await pool.execute("DELETE FROM web_sessions WHERE last_seen_at < now() - $1::interval", idle)
    return session


async def save_data(pool: Any, session: WebSession) -> None:
    await pool.execute(
        "UPDATE web_sessions SET data = $2::jsonb WHERE session_hash = $1",
        _hash(session.secret),
        orjson.dumps(session.data).decode(),
    )


async def end(pool: Any, session: WebSession) -> None:
    await pool.execute("DELETE FROM web_sessions WHERE session_hash = $1", _hash(session.secret))


def secure_request(request: Request, public_url: str | None) -> bool:
    return request.url.scheme == "https" or bool(public_url and public_url.startswith("https:"))


def set_cookie(response: Response, session: WebSession, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE, session.secret, httponly=True, samesite="lax", secure=secure, path="/"
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
