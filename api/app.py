"""The HTTP API (FastAPI; OpenAPI at /docs).

Reads come from the read models; commands go to the case workflows as updates, with the
caller's token deciding the actor. Every read of a case's record is appended to that
case's access stream before the answer goes out, refused attempts included.

Statuses: 401 no or bad token, 403 not allowed (the role, or the rules for this actor),
404 unknown (or unreadable) case, alert or command, 409 the case's state or the clock is
against the command now (a version conflict, a case id taken, a phase, an order), 413
body or command too large, 422 input that can never be right, 503 the store or Temporal
not answering. Every error is a problem document (``api.problems``) naming the field and
the rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.authentication import AuthenticationMiddleware

from api import admin, alerts, codec, commands, problems, reads, reports, retention, teams
from api.deps import Services
from api.guards import (
    DEFAULT_MAX_BODY_BYTES,
    BearerTokens,
    BodyLimit,
    CleanPath,
    CodecCors,
    Deadline,
    OneOfEach,
    SecurityHeaders,
    refused_sign_in,
)
from api.json_body import JsonBodyRoute

__all__ = ["ApiNotListening", "Services", "create_app", "serve_api"]


class ApiNotListening(RuntimeError):
    """The API could not bind its address (the message names the setting)."""


def settle_memory() -> None:
    """Once started: move everything alive into the permanent generation, so the garbage
    collector's full passes stop rescanning start-up objects (they cost 20-40 ms pauses
    in the middle of requests otherwise; see bench/projections.py)."""
    import gc

    gc.collect()
    gc.freeze()


def create_app(svc: Services, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The API on ``svc``, opened by the composition root (``workers.root``; tests open
    their own). Request bodies over ``max_body_bytes`` are refused (413)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = svc
        settle_memory()
        yield

    app = FastAPI(
        title="ifss-engine",
        summary="Intensive family intervention cases: commands, read models, audit.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = svc
    # Every route of the API reads its JSON body with each key once (api.json_body). This
    # covers the routes added on the app itself (the commands); an included router's
    # routes keep their own router's class, so each router names it too.
    app.router.route_class = JsonBodyRoute
    problems.install(app)
    # The last added runs first: the token is checked (from the headers), then a query
    # parameter or header given twice is refused, then the body is bounded, before
    # anything reads it.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(OneOfEach)  # after the token: an anonymous request gets 401 first
    app.add_middleware(
        AuthenticationMiddleware,
        backend=BearerTokens(lambda conn: conn.app.state.services.pool),
        on_error=refused_sign_in,
    )
    if svc.codec_origins:  # the Temporal UI calls the codec endpoint from the browser
        app.add_middleware(CodecCors, origins=list(svc.codec_origins))
    app.add_middleware(CleanPath)
    app.add_middleware(Deadline)
    app.add_middleware(SecurityHeaders)

    app.include_router(reads.router)
    app.include_router(commands.router)
    app.include_router(alerts.router)
    app.include_router(teams.registry)
    app.include_router(teams.work)
    app.include_router(teams.router)
    app.include_router(codec.router)
    app.include_router(retention.router)
    app.include_router(admin.router)
    app.include_router(reports.router)
    commands.add_command_routes(app)
    from web import install as install_pages

    install_pages(app, svc.web)
    return app


def _server_class() -> Any:
    import contextlib

    import uvicorn

    class Server(uvicorn.Server):
        """Signals belong to the process (``ifss api``/``ifss dev`` set ``stop``), not uvicorn."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    return Server


async def serve_api(
    host: str,
    port: int,
    stop: Any,
    svc: Services,
    *,
    grace_seconds: float = 10,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    listening: Any = None,
) -> None:
    """Serve the API until ``stop`` (an asyncio.Event) is set (``ifss api``, ``ifss dev``);
    then requests in flight get ``grace_seconds`` before they are cancelled."""
    import asyncio

    import uvicorn

    _Server = _server_class()
    config = uvicorn.Config(
        create_app(svc, max_body_bytes=max_body_bytes),
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # uvicorn's records go through the root logger: JSON stays JSON
        lifespan="on",
        timeout_graceful_shutdown=int(grace_seconds),
    )
    server = _Server(config)

    async def serve() -> None:
        try:
            await server.serve()
        except SystemExit:  # uvicorn exits the process when it cannot bind: not here
            raise ApiNotListening(
                f"IFSS_API_PORT: the API could not listen on {host}:{port}"
            ) from None

    task = asyncio.create_task(serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn sets a flag only
        await asyncio.sleep(0.02)
    if listening is not None and server.started:
        listening.set()  # an asyncio.Event: the port is bound, requests are served
    await asyncio.wait({task, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
    server.should_exit = True
    await task
