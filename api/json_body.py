"""Request bodies read as JSON with each key given once: ``{"session_id": "a",
"session_id": "b"}`` is refused (422, the key named, "is given twice"), as an import file's
line and the CLI's JSON are (``events.validation.each_key_once``), where Python's reader
would silently keep the last. The app's router and every API router use
``JsonBodyRoute`` (``tests/unit/test_json_body_routes.py`` keeps it so)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from events.validation import each_key_once


class _JsonBodyRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=each_key_once)
        return self._json


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is read by ``_JsonBodyRequest``. FastAPI turns the
    ``KeyGivenTwice`` it raises (a ``JSONDecodeError``) into a validation error carrying
    its message; ``api.problems`` answers it naming the key."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_each_key_once(request: Request) -> Response:
            return await handler(_JsonBodyRequest(request.scope, request.receive))

        return with_each_key_once
