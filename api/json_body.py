"""Request bodies read as JSON with each key given once: ``{"session_id": "a",
"session_id": "b"}`` is refused (422, the key named, "is given twice"), as an import file's
line is, where Python's reader would silently keep the last. Every API router uses
``JsonBodyRoute``."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

# The start of a ``DuplicateKey``'s message: how the problem handler tells it from a
# body that is not JSON at all (FastAPI passes the message on, not the exception).
TWICE = "given twice: "


class DuplicateKey(json.JSONDecodeError):
    """A key given twice in one object of a JSON body."""

    def __init__(self, key: str) -> None:
        super().__init__(TWICE + key, "", 0)


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


class _JsonBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_each_key_once)
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is read by ``_JsonBodyRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_each_key_once(request: Request) -> Response:
            return await handler(_JsonBodyRequest(request.scope, request.receive, request._send))

        return with_each_key_once
