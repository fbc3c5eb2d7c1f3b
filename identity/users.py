"""Users, roles and API tokens, and what each role may see and do.

| role | reads | commands |
| --- | --- | --- |
| case_manager | cases where they are the key worker, or cover them | on those cases; referrals |
| supervisor | their team's cases, access logs | on their team's cases; referrals |
| business_support | their team's cases | referrals |
| auditor | every case, access logs | none |
| admin | every case, access logs | none (admins manage users and tokens, not cases) |
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from events.bounds import ID_PATTERN, is_blank
from events.calendar import local_day
from events.envelope import Actor
from events.errors import InvalidInput
from events.vocabulary import Role

_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$").replace("*", "{0,63}"))

USER_ROLES = (
    Role.CASE_MANAGER,
    Role.SUPERVISOR,
    Role.BUSINESS_SUPPORT,
    Role.AUDITOR,
    Role.ADMIN,
)
TOKEN_PREFIX = "ifss_"


@dataclass(frozen=True)
class User:
    user_id: str
    role: Role
    team_id: str | None

    @property
    def actor(self) -> Actor:
        return Actor(id=self.user_id, role=self.role)

    def can_read(self, case: dict[str, Any]) -> bool:
        if self.role in (Role.AUDITOR, Role.ADMIN):
            return True
        if self.role is Role.CASE_MANAGER:
            return case.get("key_worker_id") == self.user_id or self.covers(case)
        return case.get("team_id") == self.team_id

    def covers(self, case: dict[str, Any]) -> bool:
        """Whether this key worker covers the family's key worker today (in Wales)."""
        until = case.get("cover_until")
        if case.get("cover_key_worker_id") != self.user_id or until is None:
            return False
        if isinstance(until, str):
            until = date.fromisoformat(until)
        return bool(until >= local_day(datetime.now(UTC)))

    def personal_refusal(self, case: dict[str, Any], *, reason: str | None) -> str | None:
        """Why this user may not open the family's personal data (None: they may). The key
        worker, their cover and the team's supervisor may; an auditor only giving a reason
        (which is logged); nobody else."""
        if self.role is Role.CASE_MANAGER:
            return None if self.can_read(case) else "only the family's key worker or cover"
        if self.role is Role.SUPERVISOR:
            return None if self.can_read(case) else "only the supervisor of the family's team"
        if self.role is Role.AUDITOR:
            if reason is None or is_blank(reason):
                return "an auditor opens personal data only giving a reason"
            return None
        return f"a {self.role.value} sees the coded record only"

    def can_command(self, case: dict[str, Any]) -> bool:
        if self.role not in (Role.CASE_MANAGER, Role.SUPERVISOR):
            return False
        return self.can_read(case)

    def read_scope(self) -> dict[str, str | None]:
        """The filter this user's list reads are confined to (API and CLI alike)."""
        if self.role is Role.CASE_MANAGER:
            return {"key_worker_id": self.user_id}
        if self.role in (Role.SUPERVISOR, Role.BUSINESS_SUPPORT):
            return {"team_id": self.team_id}
        return {}

    @property
    def reads_cover(self) -> bool:
        """A case manager's reads include the families they cover today."""
        return self.role is Role.CASE_MANAGER

    def list_refusal(self, *, key_worker: str | None, team: str | None) -> str | None:
        """Why a list filter names what this user may not see ("field: rule"), or None."""
        limits = self.read_scope()
        if key_worker and "key_worker_id" in limits and key_worker != limits["key_worker_id"]:
            return "key_worker: a case manager sees only their own cases"
        if team and self.role not in (Role.AUDITOR, Role.ADMIN) and team != self.team_id:
            return "team: you see only your own team"
        return None

    def referral_refusal(self, team_id: str) -> str | None:
        """Why this user may not refer a family to ``team_id`` ("field: rule"), or None."""
        if not self.can_refer:
            return f"role: {self.role.value} may not refer families"
        if self.role is not Role.ADMIN and self.team_id != team_id:
            return "team_id: you may refer only to your own team"
        return None

    def team_refusal(self, team_id: str, act: str = "change its key workers") -> str | None:
        """Why this user may not do ``act`` for ``team_id`` (its key workers, cover or
        leavers; its own work): a supervisor of that team may."""
        if self.role is not Role.SUPERVISOR or self.team_id != team_id:
            return f"team_id: only a supervisor of team {team_id} may {act}"
        return None

    @property
    def can_refer(self) -> bool:
        return self.role in (Role.CASE_MANAGER, Role.SUPERVISOR, Role.BUSINESS_SUPPORT)

    @property
    def can_see_access_logs(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


async def add_user(
    pool: asyncpg.Pool,
    user_id: str,
    role: str,
    team_id: str | None,
    *,
    team_known: Callable[[str], Awaitable[bool]] | None = None,
) -> User:
    """Create a user; raises ``InvalidInput`` naming the field and the rule. With
    ``team_known``, their team must be one an admin registered."""
    if not user_id or len(user_id) > 64 or not all(c.isalnum() or c in "_.-" for c in user_id):
        raise InvalidInput("user_id", "1-64 letters, digits, '_', '.' or '-'")
    try:
        parsed = Role(role)
    except ValueError:
        raise InvalidInput("role", f"one of {', '.join(r.value for r in USER_ROLES)}") from None
    if parsed not in USER_ROLES:
        raise InvalidInput("role", f"one of {', '.join(r.value for r in USER_ROLES)}")
    if user_id.lower() == Role.SYSTEM.value:
        raise InvalidInput("user_id", "system is the engine's own name in the records")
    if team_id is None and parsed not in (Role.AUDITOR, Role.ADMIN):
        raise InvalidInput("team", f"a {parsed.value} belongs to a team")
    if team_id is not None and parsed in (Role.AUDITOR, Role.ADMIN):
        raise InvalidInput("team", f"an {parsed.value} belongs to no team (they see every case)")
    if team_id is not None and not _ID.fullmatch(team_id):
        raise InvalidInput("team", "1-64 letters, digits, '_', '.' or '-', starting alphanumeric")
    if team_id is not None and team_known is not None and not await team_known(team_id):
        raise InvalidInput("team", f"no team {team_id} is registered; an admin registers it first")
    # Ids that differ only in case name one person twice (cm-jones and CM-JONES).
    same = await pool.fetchval(
        "SELECT user_id FROM users WHERE lower(user_id) = lower($1) AND user_id <> $1", user_id
    )
    if same is not None:
        raise InvalidInput("user_id", f"user {same} exists already (ids differ only in case)")
    try:
        await pool.execute(
            "INSERT INTO users (user_id, role, team_id) VALUES ($1, $2, $3)",
            user_id,
            parsed.value,
            team_id,
        )
    except asyncpg.UniqueViolationError:
        raise InvalidInput("user_id", f"user {user_id} already exists") from None
    return User(user_id, parsed, team_id)


async def acting_user(executor: Any, *, actor: Actor | None, token: str | None) -> User:
    """Who the CLI acts as, by the API's rules: the user a token names (``IFSS_TOKEN``),
    or the one ``--as`` names, which must exist, be active and hold that role. Raises
    ``InvalidInput`` naming ``actor`` or ``IFSS_TOKEN``."""
    if token is not None:
        user = await user_for_token(executor, token)
        if user is None:
            raise InvalidInput("IFSS_TOKEN", "the token is unknown or revoked, or its user left")
        if actor is not None and (actor.id, actor.role) != (user.user_id, user.role):
            raise InvalidInput(
                "actor",
                f"--as names {actor.id}:{actor.role.value}, but IFSS_TOKEN is "
                f"{user.user_id}:{user.role.value}'s",
            )
        return user
    if actor is None:
        raise InvalidInput("actor", "who is acting? pass --as USER:ROLE or set IFSS_TOKEN")
    if actor.role is Role.SYSTEM:
        raise InvalidInput("actor", "nobody acts as the system")
    row = await executor.fetchrow(
        "SELECT role, team_id, active FROM users WHERE user_id = $1", actor.id
    )
    if row is None:
        raise InvalidInput("actor", f"no user {actor.id} (an admin adds one: ifss users add)")
    if not row["active"]:
        raise InvalidInput("actor", f"user {actor.id} is deactivated")
    if row["role"] != actor.role.value:
        raise InvalidInput("actor", f"{actor.id} is a {row['role']}, not a {actor.role.value}")
    return User(actor.id, actor.role, row["team_id"])


# Who may be a team's key worker: someone who can then read and act on the families the
# team gives them (a case manager reads their own cases; a supervisor their team's).
KEY_WORKER_ROLES = (Role.CASE_MANAGER, Role.SUPERVISOR)


async def key_worker_refusal(executor: Any, key_worker_id: str, team_id: str) -> str | None:
    """Why ``key_worker_id`` may not take families in ``team_id`` (the rule, for the field
    ``key_worker_id``), or None: a key worker is an existing, active case manager or
    supervisor of that team."""
    row = await executor.fetchrow(
        "SELECT role, team_id, active FROM users WHERE user_id = $1", key_worker_id
    )
    if row is None:
        return f"no user {key_worker_id} (an admin adds them first: ifss users add)"
    if not row["active"]:
        return f"user {key_worker_id} is deactivated"
    if row["role"] not in {r.value for r in KEY_WORKER_ROLES}:
        return (
            f"{key_worker_id} has the role {row['role']}; a key worker is a case manager or "
            "supervisor"
        )
    if row["team_id"] != team_id:
        return f"{key_worker_id} belongs to team {row['team_id']}, not {team_id}"
    return None


async def key_worker_teams(executor: Any, user_id: str) -> list[str]:
    """The teams in which ``user_id`` is a key worker who has not left (from the read side:
    what the team workflows recorded)."""
    rows = await executor.fetch(
        "SELECT team_id FROM key_workers WHERE key_worker_id = $1 AND active ORDER BY team_id",
        user_id,
    )
    return [r["team_id"] for r in rows]


async def set_user_active(pool: asyncpg.Pool, user_id: str, active: bool) -> None:
    """Deactivate a user (someone who left: every token of theirs is revoked and every web
    session ended, so refused from the next request, for good; `ifss alerts` no longer
    acts as them) or reactivate one (who needs a new token and must sign in again). The
    last active admin stays (else nobody could manage users but the local operator)."""
    if not active:
        others = await pool.fetchval(
            "SELECT count(*) FROM users WHERE role = 'admin' AND active AND user_id <> $1",
            user_id,
        )
        is_admin = await pool.fetchval(
            "SELECT role = 'admin' AND active FROM users WHERE user_id = $1", user_id
        )
        if is_admin and not others:
            raise InvalidInput(
                "user_id", f"{user_id} is the last active admin; add another admin first"
            )
    row = await pool.fetchrow(
        "UPDATE users u SET active = $2 FROM users old WHERE u.user_id = $1 "
        "AND old.user_id = u.user_id RETURNING old.active AS was",
        user_id,
        active,
    )
    if row is None:
        raise InvalidInput("user_id", f"no user {user_id}")
    if row["was"] == active:
        raise InvalidInput(
            "user_id", f"user {user_id} is {'active' if active else 'inactive'} already"
        )
    if not active:  # ended, not only refused: a reactivation does not bring them back
        await pool.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
        await pool.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)


async def create_token(pool: asyncpg.Pool, user_id: str, label: str | None = None) -> str:
    """A new token for ``user_id``; only its hash is stored, so show it now or never."""
    if label is not None:
        _one_line(label, "label", 200)
    if not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)", user_id):
        raise InvalidInput("user_id", f"no user {user_id}")
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    await pool.execute(
        "INSERT INTO api_tokens (token_id, user_id, token_hash, label) VALUES ($1, $2, $3, $4)",
        token_id,
        user_id,
        hash_token(token),
        label,
    )
    return token


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    user_id: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def token_id_of(token_or_id: str) -> str:
    """The id part of a whole token (``ifss_<id>_<secret>``), or the id itself."""
    if token_or_id.startswith(TOKEN_PREFIX):
        return token_or_id[len(TOKEN_PREFIX) :].split("_", 1)[0]
    return token_or_id


async def list_tokens(pool: asyncpg.Pool, user_id: str | None = None) -> list[TokenInfo]:
    """Tokens (never their secrets), newest first; one user's if ``user_id`` is given."""
    if user_id is not None and not await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)", user_id
    ):
        raise InvalidInput("user_id", f"no user {user_id}")
    rows = await pool.fetch(
        "SELECT token_id, user_id, label, created_at, revoked_at FROM api_tokens "
        "WHERE $1::text IS NULL OR user_id = $1 ORDER BY created_at DESC, token_id",
        user_id,
    )
    return [TokenInfo(**dict(r)) for r in rows]


async def revoke_token(pool: asyncpg.Pool, token_or_id: str) -> TokenInfo:
    """Revoke a token at once (the next request with it gets 401); it stays listed, with
    when it was revoked. Accepts the token's id or the whole token."""
    token_id = token_id_of(token_or_id)
    row = await pool.fetchrow(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL "
        "RETURNING token_id, user_id, label, created_at, revoked_at",
        token_id,
    )
    if row is not None:
        return TokenInfo(**dict(row))
    revoked = await pool.fetchval("SELECT revoked_at FROM api_tokens WHERE token_id = $1", token_id)
    if revoked is None:
        raise InvalidInput("token_id", f"no token {token_id}")
    raise InvalidInput(
        "token_id", f"token {token_id} was revoked already, at {revoked:%Y-%m-%d %H:%M}"
    )


async def user_for_token(pool: asyncpg.Pool, token: str) -> User | None:
    row = await pool.fetchrow(
        "SELECT u.user_id, u.role, u.team_id FROM api_tokens t JOIN users u USING (user_id) "
        "WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
        hash_token(token),
    )
    if row is None:
        return None
    return User(row["user_id"], Role(row["role"]), row["team_id"])


def _one_line(value: str, field: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    if not value.isprintable():
        raise InvalidInput(field, "must be one line without control characters")


def check_webhook_url(url: str, field: str = "webhook") -> str:
    """An absolute http(s) URL with a host; raises ``InvalidInput`` otherwise."""
    from urllib.parse import urlsplit

    _one_line(url, field, 2000)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidInput(field, f"{url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(field, f"{url!r} must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        # Deliveries are signed (IFSS_WEBHOOK_SECRET); a password would sit in every route.
        raise InvalidInput(field, "must not hold a user name or password")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url  # a name: resolved when delivering
    if address.is_link_local or address.is_unspecified or address.is_multicast:
        # 169.254.169.254 is where clouds serve their instances' credentials.
        raise InvalidInput(
            field, f"must not name {address} (a link-local, unspecified or multicast address)"
        )
    return url


def check_email(address: str, field: str = "email") -> str:
    """``local@domain``, one line, at most 254 characters (no header can be smuggled in)."""
    _one_line(address, field, 254)
    local, _, domain = address.partition("@")
    if not local or not domain or " " in address or "@" in domain:
        raise InvalidInput(field, "is not an email address (local@domain)")
    return address


async def set_alert_routes(
    pool: asyncpg.Pool,
    user_id: str,
    *,
    webhook: str | None = None,
    email: str | None = None,
    clear: bool = False,
) -> list[tuple[str, str]]:
    """Set where ``user_id`` gets alerts (``clear``: inbox only). Returns the routes."""
    if webhook is not None:
        check_webhook_url(webhook)
    if email is not None:
        check_email(email)
    if clear and (webhook or email):
        raise InvalidInput("none", "cannot clear the channels and set one at once")
    if not clear and webhook is None and email is None:
        raise InvalidInput("webhook", "give --webhook, --email, or --none")
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)", user_id
        ):
            raise InvalidInput("user_id", f"no user {user_id}")
        if clear:
            await conn.execute("DELETE FROM alert_routes WHERE user_id = $1", user_id)
        for channel, address in (("webhook", webhook), ("email", email)):
            if address is not None:
                await conn.execute(
                    """INSERT INTO alert_routes (user_id, channel, address) VALUES ($1, $2, $3)
                       ON CONFLICT (user_id, channel)
                       DO UPDATE SET address = EXCLUDED.address, updated_at = now()""",
                    user_id,
                    channel,
                    address,
                )
        rows = await conn.fetch(
            "SELECT channel, address FROM alert_routes WHERE user_id = $1 ORDER BY channel",
            user_id,
        )
    return [(r["channel"], r["address"]) for r in rows]
