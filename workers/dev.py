"""``ifss dev``: the whole engine on one machine, on embedded defaults.

Starts what is not configured (PostgreSQL, Temporal), migrates, runs the worker, the
projector and the API, prints where everything is, and on Ctrl-C or SIGTERM stops every child it
started: in-flight requests get ``IFSS_SHUTDOWN_GRACE_SECONDS``, a second Ctrl-C stops at once,
and a watchdog stops the children if this process is killed (``workers.supervision``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from api.app import serve_api
from projections.runner import run_projector
from workers.database import EMBEDDED_DATABASE, embedded_data_dir, ensure_database, migrate_database
from workers.embedded import EmbeddedPostgres, TemporalDevServer
from workers.root import Runtime, runtime, services_of
from workers.settings import Settings
from workers.supervision import (
    Refused,
    StackLock,
    children_of,
    require_free_port,
    require_no_postgres,
    start_watchdog,
    stop_recorded,
)
from workers.temporal import connect_temporal, run_worker, temporal_address

log = structlog.get_logger(__name__)


class PartStopped(RuntimeError):
    """A server the stack runs stopped on its own; the stack stopped with it."""


@dataclass(frozen=True)
class StackInfo:
    database_url: str
    temporal_address: str
    temporal_ui_url: str | None
    api_url: str
    embedded_postgres_pid: int | None
    temporal_server_pid: int | None


async def run_dev_stack(settings: Settings, announce: Callable[[StackInfo], None]) -> None:
    """Bring the stack up, call ``announce`` once ready, run until SIGINT/SIGTERM. Raises
    ``Refused`` (nothing started) when the state dir or a port is taken."""
    lock = StackLock(settings.state_dir)
    lock.acquire()
    try:
        check_nothing_in_the_way(settings)
        watchdog = start_watchdog(lock)
        try:
            await _run(settings, announce, lock)
        finally:
            watchdog.terminate()
            watchdog.wait()
    finally:
        lock.release()


def check_nothing_in_the_way(settings: Settings) -> None:
    """Refuse to start rather than adopt a server that is already there."""
    ports = {"IFSS_API_PORT": settings.api_port}
    if not settings.temporal_address:
        ports |= {
            "IFSS_TEMPORAL_PORT": settings.temporal_port,
            "IFSS_TEMPORAL_UI_PORT": settings.temporal_ui_port,
        }
    if len(set(ports.values())) < len(ports):
        listed = ", ".join(f"{name}={port}" for name, port in ports.items())
        raise Refused(f"ports: each must be different ({listed})")
    if not settings.database_url:
        require_no_postgres(embedded_data_dir(settings))
    if not settings.temporal_address:
        require_free_port(settings.temporal_port, "IFSS_TEMPORAL_PORT")
        require_free_port(settings.temporal_ui_port, "IFSS_TEMPORAL_UI_PORT")
    require_free_port(settings.api_port, "IFSS_API_PORT")


async def _run(settings: Settings, announce: Callable[[StackInfo], None], lock: StackLock) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    postgres: EmbeddedPostgres | None = None
    temporal_server: TemporalDevServer | None = None

    def on_signal() -> None:
        if not stop.is_set():
            log.info("dev_stack_stop_requested", grace_seconds=settings.shutdown_grace_seconds)
            stop.set()
            return
        # Asked twice: stop the servers now and leave without waiting for anything.
        log.warning("dev_stack_forced_stop")
        stop_recorded(children_of(lock.record), at_once=True)
        os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    stack = contextlib.AsyncExitStack()
    try:
        if settings.database_url:
            database_url = settings.database_url
        else:
            postgres = EmbeddedPostgres(embedded_data_dir(settings))
            lock.update(postgres_data=str(postgres.data_dir))
            server_dsn = await asyncio.to_thread(postgres.start)
            database_url = await ensure_database(server_dsn, EMBEDDED_DATABASE)
        applied = await migrate_database(database_url)
        log.info("database_ready", migrations_applied=len(applied))
        # One runtime for the worker, the projector and the API; checked (refused if
        # wrong) before a Temporal server is started.
        rt = await stack.enter_async_context(
            runtime(settings, database_url=database_url, checked=True, pool_size=20)
        )

        ui_url: str | None = None
        if settings.temporal_address:
            address = settings.temporal_address
        else:
            temporal_server = TemporalDevServer(
                settings.state_dir / "temporal.db",
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                codec_endpoint=f"{settings.link_base}/codec",
                on_started=lambda pid: lock.update(temporal_pgid=pid),
            )
            address = await asyncio.to_thread(temporal_server.start)
            ui_url = temporal_server.ui_url
        address = address or temporal_address(settings)
        client = await connect_temporal(
            address,
            settings.temporal_namespace,
            master=rt.keyring.master,
            attempts=60,
            accept_unsealed=settings.accept_unsealed_payloads,
        )

        parts = await _serve(rt.with_temporal(client), stop)
        try:
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
            watched: set[asyncio.Task[Any]] = {*parts.tasks, asyncio.create_task(stop.wait())}
            server_gone = None
            if temporal_server is not None and temporal_server.process is not None:
                # The Temporal dev server dying leaves every command without an answer:
                # the stack stops with it (exit 1) rather than run on half there.
                server_gone = asyncio.create_task(asyncio.to_thread(temporal_server.process.wait))
                watched.add(server_gone)
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if server_gone in done and not stop.is_set():
                assert server_gone is not None
                log.error("temporal_server_exited", exit_code=server_gone.result())
                raise PartStopped(
                    f"the Temporal dev server stopped (exit {server_gone.result()}), so the "
                    "stack stopped too; start it again"
                )
        finally:
            await parts.shut_down(stop, settings.shutdown_grace_seconds + 10)
    finally:
        log.info("dev_stack_stopping")
        await stack.aclose()
        if temporal_server is not None:
            await asyncio.to_thread(temporal_server.stop)
            lock.forget("temporal_pgid")
        if postgres is not None:
            await asyncio.to_thread(postgres.stop)
            lock.forget("postgres_data")
        log.info("dev_stack_stopped")


@dataclass
class Parts:
    """The worker, projector and API tasks of a running stack."""

    tasks: list[asyncio.Task[None]]

    async def shut_down(self, stop: asyncio.Event, grace_seconds: float) -> None:
        """Stop every part (in-flight requests get the grace period, then whatever is left
        is cancelled), then re-raise the first error a part died of."""
        stop.set()
        done, pending = await asyncio.wait(self.tasks, timeout=grace_seconds)
        for task in pending:
            log.warning("dev_stack_task_cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def _after(api: asyncio.Task[None], stop: asyncio.Event, drained: asyncio.Event) -> None:
    """Set ``drained`` once a stop is asked and the API has finished (its requests in
    flight answered, or cancelled after the grace period), or the API has gone anyway."""
    asked = asyncio.create_task(stop.wait())
    await asyncio.wait({api, asked}, return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    await asyncio.wait({api})
    drained.set()


async def _serve(rt: Runtime, stop: asyncio.Event) -> Parts:
    """Start the worker, the projector and the API on ``rt``; return once the API answers
    (or, if any part fails to start, after stopping the others and raising its error)."""
    settings = rt.settings
    # The worker and the projector stop once the API has answered what it was asked (its
    # requests in flight wait on the worker): else every command in flight at a stop would
    # wait out the grace period and fail, though the worker, back, records it.
    drained = asyncio.Event()
    parts = Parts(
        [
            asyncio.create_task(run_worker(rt, drained), name="worker"),
            asyncio.create_task(run_projector(rt.dsn, rt.store, drained), name="projector"),
        ]
    )
    listening = asyncio.Event()
    api = asyncio.create_task(
        serve_api(
            settings.api_host,
            settings.api_port,
            stop,
            services_of(rt),
            grace_seconds=settings.shutdown_grace_seconds,
            max_body_bytes=settings.api_max_body_bytes,
            listening=listening,
        ),
        name="api",
    )
    parts.tasks.append(api)
    parts.tasks.append(asyncio.create_task(_after(api, stop, drained), name="drain"))
    # "Ready" means the API answers: wait for its port, or for a part to fail first.
    await asyncio.wait(
        {*parts.tasks, asyncio.create_task(listening.wait())}, return_when=asyncio.FIRST_COMPLETED
    )
    if not listening.is_set():
        await parts.shut_down(stop, settings.shutdown_grace_seconds + 10)
        raise RuntimeError("the API did not start")  # shut_down raised the part's own error
    return parts
