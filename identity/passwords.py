"""Passwords for the web pages: argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended parameters), rehashed on sign-in when those defaults move on.

A password is never logged, recorded in an event or kept in clear; an unknown user costs as
much time to refuse as a wrong password, so timing does not tell who has an account.
"""

from __future__ import annotations

import asyncio
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from events.errors import InvalidInput
from events.vocabulary import Role
from identity.users import User

MIN_LENGTH = 12  # NCSC: length beats composition rules
MAX_LENGTH = 256  # a bound on the work one sign-in can ask of the server
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone's: equalises the time of a refusal")


def check_password(password: str, field: str = "password") -> str:
    """``password`` if it is acceptable; ``InvalidInput`` naming ``field`` otherwise."""
    if not isinstance(password, str):
        raise InvalidInput(field, "must be text")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"at least {MIN_LENGTH} characters (a passphrase is best)")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(field, f"at most {MAX_LENGTH} characters")
    if "\x00" in password or any(0xD800 <= ord(c) <= 0xDFFF for c in password):
        raise InvalidInput(field, "must not contain NUL or unpaired surrogate characters")
    return password


async def set_password(executor: Any, user_id: str, password: str) -> None:
    """Store the hash of ``password`` for ``user_id`` and sign out their web sessions."""
    check_password(password)
    hashed = await asyncio.to_thread(_hasher.hash, password)
    status = await executor.execute(
        "UPDATE users SET password_hash = $2 WHERE user_id = $1", user_id, hashed
    )
    if status.endswith(" 0"):
        raise InvalidInput("user_id", f"no user {user_id}")
    await executor.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)


async def link_sign_in(executor: Any, user_id: str, subject: str | None) -> None:
    """Link ``user_id`` to an OpenID Connect subject (``None``: unlink)."""
    if subject is not None and (not 1 <= len(subject) <= 255 or not subject.isprintable()):
        raise InvalidInput("subject", "1-255 printable characters (the provider's `sub` claim)")
    import asyncpg

    try:
        status = await executor.execute(
            "UPDATE users SET oidc_subject = $2 WHERE user_id = $1", user_id, subject
        )
    except asyncpg.UniqueViolationError:
        raise InvalidInput("subject", "another user is linked to this subject") from None
    if status.endswith(" 0"):
        raise InvalidInput("user_id", f"no user {user_id}")
    if subject is None:
        await executor.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)


def _user(row: Any) -> User:
    return User(row["user_id"], Role(row["role"]), row["team_id"])


async def verify_password(pool: Any, user_id: str, password: str) -> User | None:
    """The active user whose password this is, or ``None`` (unknown, inactive, no password
    set, or wrong: all alike, and alike in time)."""
    if not (0 < len(user_id) <= 64 and user_id.isprintable() and _storable(user_id)) or not (
        len(password) <= MAX_LENGTH and _storable(password)
    ):  # never anyone's: refused in the time a wrong password takes
        await asyncio.to_thread(_verify, _DUMMY, "not a password of anyone's")
        return None
    row = await pool.fetchrow(
        "SELECT user_id, role, team_id, password_hash FROM users WHERE user_id = $1 AND active",
        user_id,
    )
    stored = row["password_hash"] if row is not None else None
    if not await asyncio.to_thread(_verify, stored or _DUMMY, password) or stored is None:
        return None
    if _hasher.check_needs_rehash(stored):
        rehashed = await asyncio.to_thread(_hasher.hash, password)
        await pool.execute(
            "UPDATE users SET password_hash = $2 WHERE user_id = $1 AND password_hash = $3",
            user_id,
            rehashed,
            stored,
        )
    return _user(row)


def _storable(text: str) -> bool:
    """Text PostgreSQL and argon2 take: UTF-8 without NUL (no unpaired surrogates)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def user_for_subject(pool: Any, subject: str) -> User | None:
    """The active user an admin linked to this OpenID Connect subject."""
    row = await pool.fetchrow(
        "SELECT user_id, role, team_id FROM users WHERE oidc_subject = $1 AND active", subject
    )
    return _user(row) if row is not None else None
