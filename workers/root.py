"""The composition root: the one place that builds what processes share.

Every process (``ifss worker``, ``ifss projector``, ``ifss api``, ``ifss dev`` and each CLI
command) opens a ``Runtime`` here and passes its parts down: the settings, the database
URL, a pool and the event store on it, the programme policy (loaded, checked and
registered), and a Temporal client. Nothing beneath builds its own; the HTTP layer is
handed its services (``services_of``) and imports nothing from ``workers``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import asyncpg
from temporalio.client import Client

from events.db import create_pool
from events.keys import Keyring
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import EventStore
from workers.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # the HTTP layer is imported only by the processes that serve it
    from api.deps import Services


@dataclass
class Runtime:
    """What one process runs on. ``pool``/``store`` are None when it asked for no database,
    ``temporal`` when it asked for no Temporal client (the accessors say so loudly)."""

    settings: Settings
    database_url: str | None = None
    policy: ProgrammePolicy = DEFAULT_POLICY
    _pool: asyncpg.Pool | None = field(default=None, repr=False)
    _store: EventStore | None = field(default=None, repr=False)
    _temporal: Client | None = field(default=None, repr=False)
    _keyring: Keyring | None = field(default=None, repr=False)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("this runtime was opened without a database")
        return self._pool

    @property
    def store(self) -> EventStore:
        if self._store is None:
            raise RuntimeError("this runtime was opened without a database")
        return self._store

    @property
    def keyring(self) -> Keyring:
        """The master keys (and the families' data keys behind them)."""
        if self._keyring is None:
            raise RuntimeError("this runtime was opened without keys")
        return self._keyring

    @property
    def temporal(self) -> Client:
        if self._temporal is None:
            raise RuntimeError("this runtime was opened without Temporal")
        return self._temporal

    def with_temporal(self, client: Client) -> Runtime:
        """The same runtime with a Temporal client connected later (``ifss dev`` starts its
        Temporal server after the database is checked)."""
        return replace(self, _temporal=client)

    @property
    def dsn(self) -> str:
        if self.database_url is None:
            raise RuntimeError("this runtime was opened without a database")
        return self.database_url


def freeze_start_up() -> None:
    """What a long-running process has built once it is set up (modules, classes,
    pydantic's schemas, its worker and app) lives as long as the process: collect what is
    garbage already, then move the rest out of the cyclic garbage collector's reach
    (``gc.freeze``), so that a full collection walks only what was made since. Called by
    ``ifss worker`` and ``ifss projector`` (and so ``ifss dev``) once they are ready, as
    the API does once started (``api.app.settle_memory``, which cannot import this);
    ``bench/store.py`` runs the store as these processes do. Not by short CLI commands:
    nothing there lives long enough to gain. (Full collections walking start-up objects
    cost the store's batched appends about a seventh: docs/benchmarks.md, "Start-up
    objects frozen".)"""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def runtime(
    settings: Settings | None = None,
    *,
    database: bool = True,
    database_url: str | None = None,
    pool_size: int = 10,
    policy: bool = False,
    checked: bool = False,
    temporal: bool = False,
    temporal_client: Client | None = None,
    temporal_attempts: int = 1,
) -> AsyncIterator[Runtime]:
    """Open what a process needs, close it on the way out.

    * ``database``: a pool of ``pool_size`` and the store on ``database_url`` (default:
      the configured or embedded database; ``DatabaseNotConfigured`` when there is none);
    * ``policy``: the programme policy for new referrals and teams (``IFSS_POLICY_FILE``),
      registered under its version (a known version with other content is refused);
    * ``checked``: the start-up checks of a long-running process (``workers.checks``),
      which include the policy's;
    * ``temporal``: a client (or use ``temporal_client``, already connected).

    Refusals raise ``ConfigurationError`` naming the setting, before anything runs.
    """
    from workers.checks import check_configuration, load_policy, register_policy
    from workers.database import resolve_database_url
    from workers.keys import load_keyring
    from workers.temporal import connect_temporal, temporal_address

    settings = settings or load_settings()
    rt = Runtime(settings)
    try:
        if database or temporal:
            # No master key, no process: nothing personal is written or sent in clear.
            rt._keyring = load_keyring(settings, embedded=settings.database_url is None)
        if database:
            rt.database_url = database_url or resolve_database_url(settings)
            rt._pool = await create_pool(rt.database_url, max_size=pool_size)
            rt._store = EventStore(rt._pool, rt.keyring)
        if checked:
            rt.policy = await check_configuration(settings, rt.store)
        elif policy:
            rt.policy = load_policy(settings)
            if rt._store is not None:
                await register_policy(rt._store, rt.policy)
        if temporal_client is not None:
            rt._temporal = temporal_client
        elif temporal:
            rt._temporal = await connect_temporal(
                temporal_address(settings),
                settings.temporal_namespace,
                master=rt.keyring.master,
                attempts=temporal_attempts,
                accept_unsealed=settings.accept_unsealed_payloads,
            )
        yield rt
    finally:
        if rt._store is not None:
            await rt._store.aclose()
        if rt._pool is not None:
            await rt._pool.close()


def services_of(rt: Runtime) -> Services:
    """The API's services, from a runtime."""
    from api.deps import Services

    settings = rt.settings
    origin = settings.temporal_ui_origin or (
        None if settings.temporal_address else f"http://127.0.0.1:{settings.temporal_ui_port}"
    )
    return Services(
        rt.pool,
        rt.store,
        rt.temporal,
        settings.task_queue,
        rt.policy,
        codec_origins=(origin,) if origin else (),
        delivery_channels=tuple(
            channel
            for channel, ready in (
                ("webhook", settings.webhook_secret is not None),
                ("email", settings.smtp_host is not None),
            )
            if ready
        ),
        web=web_config(settings),
        report_costs=_report_costs(settings),
    )


def _report_costs(settings: Settings) -> Any:
    """The team costs for reports (IFSS_REPORT_COSTS_FILE): a bad file stops the start,
    naming the line and field, rather than reports quietly without costs."""
    if settings.report_costs_file is None:
        return None
    from events.errors import InvalidInput
    from reports.service import load_costs

    try:
        return load_costs(settings.report_costs_file)
    except InvalidInput as exc:
        raise SettingsError(f"IFSS_REPORT_COSTS_FILE: {exc}") from None


def web_config(settings: Settings) -> Any:
    """The pages' settings: idle timeout, the service's name, and OpenID Connect sign-in
    when the issuer, client id and secret are all set (refused when only some are)."""
    from datetime import timedelta

    from web import WebConfig

    oidc = None
    given = [settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret]
    if any(v is not None for v in given):
        if not all(v is not None for v in given):
            raise SettingsError(
                "IFSS_OIDC_ISSUER: set IFSS_OIDC_ISSUER, IFSS_OIDC_CLIENT_ID and "
                "IFSS_OIDC_CLIENT_SECRET together"
            )
        from web.oidc import OidcClient

        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
        oidc = OidcClient(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret.get_secret_value(),
            settings.public_url,
        )
    return WebConfig(
        idle=timedelta(minutes=settings.web_idle_minutes),
        service_name=settings.service_name,
        service_name_cy=settings.service_name_cy,
        public_url=settings.public_url,
        oidc=oidc,
    )
