"""Start-up checks of the alert configuration: fail at once, with a clear message, rather
than at 3 a.m. when the first alert cannot be delivered.

* the programme policy file (``IFSS_POLICY_FILE``): valid, rule names known;
* ``IFSS_PUBLIC_URL`` and every user's webhook URL: well-formed http(s) URLs;
* webhooks configured but no ``IFSS_WEBHOOK_SECRET`` to sign them;
* email configured (``IFSS_SMTP_HOST`` set, or a user with an email route): the SMTP host
  answers on its port.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from pydantic import ValidationError

from events.errors import InvalidInput
from events.validation import field_path
from workers.settings import Settings
from workflows.policy import DEFAULT_POLICY, ProgrammePolicy


class ConfigurationError(Exception):
    """The engine cannot start as configured; the message names the setting and the rule."""


def load_policy(settings: Settings) -> ProgrammePolicy:
    """The policy for new referrals: ``IFSS_POLICY_FILE`` if set, else the default."""
    path: Path | None = settings.policy_file
    if path is None:
        return DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"IFSS_POLICY_FILE: cannot read {path} ({exc.strerror})") from None
    try:
        return ProgrammePolicy.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(tuple(first["loc"])) or "(file)"
        raise ConfigurationError(f"IFSS_POLICY_FILE: {where}: {first['msg']}") from None


async def check_configuration(settings: Settings, pool: asyncpg.Pool) -> ProgrammePolicy:
    """Raise ``ConfigurationError`` for the first problem; returns the loaded policy."""
    from api.identity import check_webhook_url

    policy = load_policy(settings)
    try:
        check_webhook_url(settings.link_base, "IFSS_PUBLIC_URL")
    except InvalidInput as exc:
        raise ConfigurationError(str(exc)) from None
    routes = await pool.fetch("SELECT user_id, channel, address FROM alert_routes ORDER BY user_id")
    for route in routes:
        if route["channel"] == "webhook":
            try:
                check_webhook_url(route["address"], f"user {route['user_id']}'s webhook")
            except InvalidInput as exc:
                raise ConfigurationError(f"alert routes: {exc}") from None
    if any(r["channel"] == "webhook" for r in routes) and settings.webhook_secret is None:
        raise ConfigurationError(
            "IFSS_WEBHOOK_SECRET: users receive alerts by webhook, so a secret to sign them "
            "is required"
        )
    wants_email = any(r["channel"] == "email" for r in routes)
    if wants_email and not settings.smtp_host:
        raise ConfigurationError(
            "IFSS_SMTP_HOST: users receive alerts by email, so an SMTP server is required"
        )
    if settings.smtp_host:
        await check_smtp_reachable(settings.smtp_host, settings.smtp_port)
    return policy


async def check_smtp_reachable(host: str, port: int, seconds: float = 5.0) -> None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), seconds)
    except (OSError, TimeoutError) as exc:
        reason = type(exc).__name__
        raise ConfigurationError(
            f"IFSS_SMTP_HOST: cannot reach the SMTP server {host}:{port} ({reason})"
        ) from None
    writer.close()
    await writer.wait_closed()
