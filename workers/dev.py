"""``ifss dev``: the whole engine on one machine, on embedded defaults.

Starts what is not configured (PostgreSQL, Temporal), migrates, runs the worker, the
projector and the API, prints where everything is, and on Ctrl-C or SIGTERM stops every child it
started.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from api.app import Services, serve_api
from events.db import create_pool
from events.store import EventStore
from projections.runner import run_projector
from workers.checks import check_configuration
from workers.database import EMBEDDED_DATABASE, embedded_data_dir, ensure_database, migrate_database
from workers.embedded import EmbeddedPostgres, TemporalDevServer
from workers.settings import Settings
from workers.temporal import connect_temporal, run_worker, temporal_address

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StackInfo:
    database_url: str
    temporal_address: str
    temporal_ui_url: str | None
    api_url: str
    embedded_postgres_pid: int | None
    temporal_server_pid: int | None


async def run_dev_stack(settings: Settings, announce: Callable[[StackInfo], None]) -> None:
    """Bring the stack up, call ``announce`` once ready, run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    postgres: EmbeddedPostgres | None = None
    temporal_server: TemporalDevServer | None = None
    try:
        if settings.database_url:
            database_url = settings.database_url
        else:
            postgres = EmbeddedPostgres(embedded_data_dir(settings))
            server_dsn = await asyncio.to_thread(postgres.start)
            database_url = await ensure_database(server_dsn, EMBEDDED_DATABASE)
        applied = await migrate_database(database_url)
        log.info("database_ready", migrations_applied=len(applied))
        check_pool = await create_pool(database_url, max_size=2)
        try:
            policy = await check_configuration(settings, check_pool)  # refuse if wrong
        finally:
            await check_pool.close()

        ui_url: str | None = None
        if settings.temporal_address:
            address = settings.temporal_address
        else:
            temporal_server = TemporalDevServer(
                settings.state_dir / "temporal.db",
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
            )
            address = await asyncio.to_thread(temporal_server.start)
            ui_url = temporal_server.ui_url
        address = address or temporal_address(settings)
        client = await connect_temporal(address, settings.temporal_namespace, attempts=60)

        worker = asyncio.create_task(run_worker(settings, database_url, client, stop))
        projector = asyncio.create_task(run_projector(database_url, stop))
        pool = await create_pool(database_url, max_size=10)
        store = EventStore(pool)
        api = asyncio.create_task(
            serve_api(
                settings.api_host,
                settings.api_port,
                stop,
                Services(pool, store, client, settings.task_queue, policy),
            )
        )
        announce(
            StackInfo(
                database_url=database_url,
                temporal_address=address,
                temporal_ui_url=ui_url,
                api_url=f"http://{settings.api_host}:{settings.api_port}",
                embedded_postgres_pid=postgres.pid if postgres else None,
                temporal_server_pid=temporal_server.process.pid
                if temporal_server and temporal_server.process
                else None,
            )
        )
        await asyncio.wait(
            {worker, projector, api, asyncio.create_task(stop.wait())},
            return_when=asyncio.FIRST_COMPLETED,
        )
        stop.set()
        await worker  # re-raises if the worker died on its own
        await projector
        await api
        await store.aclose()
        await pool.close()
    finally:
        log.info("dev_stack_stopping")
        if temporal_server is not None:
            await asyncio.to_thread(temporal_server.stop)
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
        log.info("dev_stack_stopped")
