"""Start-up checks of the alert configuration: fail at once, with a clear message, rather
than at 3 a.m. when the first alert cannot be delivered.

* the programme policy file (``IFSS_POLICY_FILE``): valid, rule names known, and not a
  known version with other content (each version's content is registered on first use);
* ``IFSS_PUBLIC_URL`` and every user's webhook URL: well-formed http(s) URLs;
* webhooks configured but no ``IFSS_WEBHOOK_SECRET`` to sign them;
* email configured (``IFSS_SMTP_HOST`` set, or a user with an email route): the SMTP host
  answers on its port.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from events.catalogue import ProgrammePolicyRegistered
from events.envelope import Actor, EventMetadata
from events.errors import InvalidInput, StreamVersionConflict
from events.policy import DEFAULT_POLICY, ProgrammePolicy, policy_stream
from events.records import NewEvent
from events.store import EventStore
from events.validation import field_path
from workers.settings import Settings


def now() -> datetime:
    return datetime.now(UTC)


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


async def register_policy(store: EventStore, policy: ProgrammePolicy) -> None:
    """Register the policy's content under its version on first use (stream
    ``policy-<version>``); refuse a version already registered with other content, naming
    both digests, so that one version always means one set of numbers."""
    stream = policy_stream(policy.version)
    for _ in range(3):  # another process may register the same version at the same moment
        known = await store.read_stream(stream, types=[ProgrammePolicyRegistered.__name__])
        if known:
            registered = known[0].event
            assert isinstance(registered, ProgrammePolicyRegistered)
            # The registered content as this code reads it (a field added since then has
            # its default on both sides), so an upgrade alone never refuses a policy.
            if registered.policy.digest != policy.digest:
                raise ConfigurationError(
                    f"IFSS_POLICY_FILE: policy version {policy.version} is registered with "
                    f"content digest {registered.policy.digest}, but this file's content has "
                    f"digest {policy.digest}: give changed numbers a new version"
                )
            return
        event = ProgrammePolicyRegistered(policy=policy, digest=policy.digest)
        metadata = EventMetadata(actor=Actor.system(), policy_version=policy.version)
        new = NewEvent.of(event, event_id=uuid.uuid4(), metadata=metadata, occurred_at=now())
        try:
            await store.append(stream, 0, [new])
            return
        except StreamVersionConflict:
            continue
    raise ConfigurationError(f"IFSS_POLICY_FILE: could not register policy {policy.version}")


async def check_configuration(settings: Settings, store: EventStore) -> ProgrammePolicy:
    """Raise ``ConfigurationError`` for the first problem; returns the loaded policy (now
    registered)."""
    from events.keys import KeyProblem
    from identity.users import check_webhook_url

    pool = store.pool
    try:
        await store.keyring.check(pool)
    except KeyProblem as exc:
        raise ConfigurationError(str(exc)) from None
    policy = load_policy(settings)
    await register_policy(store, policy)
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
