"""Every route of the API reads its JSON body with each key once (``api.json_body``): one
added on a router that forgot ``JsonBodyRoute`` would take the last of a key given twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from fastapi.routing import APIRoute

from api.app import create_app
from api.deps import Services
from api.json_body import JsonBodyRoute


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The routes as their routers made them: FastAPI keeps an included router as one
    entry (``original_router``) whose requests its own routes' handlers answer."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        if (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes)


def test_every_api_route_reads_each_key_once() -> None:
    none = cast(Any, None)
    routes = list(api_routes(create_app(Services(none, none, none, "q")).routes))
    paths = {r.path for r in routes}
    assert {"/alerts", "/referrals", "/codec/decode", "/users"} <= paths  # as the routers name them
    plain = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes
        if not isinstance(r, JsonBodyRoute) and not r.path.startswith("/app")
    ]
    assert plain == []
