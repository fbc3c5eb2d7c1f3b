"""What every request passes before a route reads its body: the bearer token is checked
(401 otherwise) and the body is bounded (413 otherwise), so a stranger's 20 MB upload is
refused from its headers, never parsed.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import ApiError, problem_response
from identity.users import User, user_for_token

# Readable without a token: the API's own description.
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class SignedIn(BaseUser):
    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.user.user_id


class BearerTokens(AuthenticationBackend):
    """Looks the bearer token up on every request (a revoked token fails at once)."""

    def __init__(self, pool_of: Callable[[HTTPConnection], Any]) -> None:
        self._pool_of = pool_of

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if conn.url.path in PUBLIC_PATHS:
            return None
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("a bearer token is required")
        user = await user_for_token(self._pool_of(conn), token.strip())
        if user is None:
            raise AuthenticationError("the token is unknown or revoked")
        return AuthCredentials(["authenticated"]), SignedIn(user)


def refused_sign_in(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    return problem_response(401, "authorization", str(exc), headers={"WWW-Authenticate": "Bearer"})


class BodyLimit:
    """Refuse a body over ``max_bytes`` with 413 (by its Content-Length before reading,
    or as soon as a streamed body grows past it), and a body that is not JSON with 415."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        has_body = declared not in (None, b"0") or b"chunked" in headers.get(
            b"transfer-encoding", b""
        )
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        writes = scope.get("method") in ("POST", "PUT", "PATCH")
        if writes and has_body and not (media == b"application/json" or media.endswith(b"+json")):
            response = problem_response(
                415, "content-type", "a request body must be application/json"
            )
            await response(scope, receive, send)
            return
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                too_large = True
            if too_large:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def bounded() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # the route's error handling answers 413
                    raise ApiError(413, "body", self._rule)
            return message

        await self.app(scope, bounded, send)

    @property
    def _rule(self) -> str:
        return f"must be at most {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "body", self._rule, headers={"Connection": "close"})
        await response(scope, receive, send)
