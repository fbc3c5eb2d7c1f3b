"""What every request passes before a route reads its body: the bearer token is checked
(401 otherwise) and the body is bounded (413 otherwise), so a stranger's 20 MB upload is
refused from its headers, never parsed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import ApiError, problem_response, shortened, store_not_answering
from events.db import is_transient
from events.validation import field_path
from identity.users import User, user_for_token

log = structlog.get_logger(__name__)

# Readable without a token: the API's own description.
PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# A request body arrives whole within this many seconds of its first part being awaited, or
# the request is answered 408 and the connection closed: a client that sends a few bytes now
# and then does not hold a connection (and its worker slot) for ever. Headers that never end
# are the front proxy's to time out (see docs/operations.md).
BODY_SECONDS = 60.0


def is_web_path(path: str) -> bool:
    """The web pages and their assets (``web``): signed in by session, not bearer token."""
    return path in ("/", "/app") or path.startswith(("/app/", "/static/"))


class SignedIn(BaseUser):
    def __init__(self, user: User) -> None:
        self.user = user

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.user.user_id


# Bad tokens from one address: after this many within the window, each further refusal
# is slowed (doubling, up to the cap) and logged, so guessing tokens gets nowhere fast.
BAD_TOKENS_FREE = 20
BAD_TOKEN_WINDOW_SECONDS = 60.0
BAD_TOKEN_MAX_DELAY_SECONDS = 1.0
_ADDRESSES_TRACKED = 10_000


class RefusalThrottle:
    """Counts refusals per key (a client address, an account) in a sliding window (in this
    process): after ``free`` of them, each further one waits (doubling, up to
    ``max_delay``). Bad tokens by default; the pages' password sign-in with its own limits."""

    def __init__(
        self,
        free: int = BAD_TOKENS_FREE,
        window_seconds: float = BAD_TOKEN_WINDOW_SECONDS,
        max_delay: float = BAD_TOKEN_MAX_DELAY_SECONDS,
    ) -> None:
        self._seen: dict[str, deque[float]] = {}
        self.free, self.window_seconds, self.max_delay = free, window_seconds, max_delay

    def failed(self, address: str) -> tuple[int, float]:
        """Record a refusal; returns (refusals in the window, how long to wait)."""
        now = time.monotonic()
        if len(self._seen) >= _ADDRESSES_TRACKED and address not in self._seen:
            self._seen.clear()  # bounded memory under a spray of addresses
        times = self._seen.setdefault(address, deque())
        times.append(now)
        while times and now - times[0] > self.window_seconds:
            times.popleft()
        count = len(times)
        if count <= self.free:
            return count, 0.0
        return count, min(self.max_delay, 0.05 * 2 ** (count - self.free))


class StoreNotAnswering(AuthenticationError):
    """The token could not be looked up: the database is down or restarting (a 503, not a
    refused sign-in, and no traceback: nothing failed in this code)."""


class BearerTokens(AuthenticationBackend):
    """Looks the bearer token up on every request (a revoked token fails at once)."""

    def __init__(self, pool_of: Callable[[HTTPConnection], Any]) -> None:
        self._pool_of = pool_of
        self.throttle = RefusalThrottle()

    async def _refuse(self, conn: HTTPConnection, why: str) -> AuthenticationError:
        address = conn.client.host if conn.client else "unknown"
        count, delay = self.throttle.failed(address)
        if delay:
            # Not ``address``: the log drops that field as a home address.
            log.warning("bad_tokens_repeated", client_ip=address, count=count, delay_s=delay)
            await asyncio.sleep(delay)
        return AuthenticationError(why)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if conn.url.path in PUBLIC_PATHS or is_web_path(conn.url.path):
            return None  # the pages have their own sign-in (web.session)
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise await self._refuse(conn, "a bearer token is required")
        try:
            user = await user_for_token(self._pool_of(conn), token.strip())
        except Exception as exc:
            if is_transient(exc):
                raise StoreNotAnswering("the database is not answering") from None
            raise
        if user is None:
            raise await self._refuse(conn, "the token is unknown or revoked")
        return AuthCredentials(["authenticated"]), SignedIn(user)


def refused_sign_in(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    if isinstance(exc, StoreNotAnswering):
        return store_not_answering()
    return problem_response(401, "authorization", str(exc), headers={"WWW-Authenticate": "Bearer"})


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),  # answers carry case data: never kept by a cache
    (b"cross-origin-resource-policy", b"same-origin"),
)
# The interactive docs load their scripts and styles from a CDN; everything else is data.
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")


class SecurityHeaders:
    """Security headers on every answer (HSTS when the request came over TLS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(SECURITY_HEADERS)
        if scope.get("path") not in _DOCS_PATHS:
            extra.append(_API_CSP)
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


# How long a request may wait on the engine (the database, Temporal) once its body is in:
# then 503, "did not answer in time", rather than hanging as long as a frozen database does.
REQUEST_SECONDS = 30.0


class Deadline:
    """Answer 503 (with ``Retry-After``) when a request has not begun its answer
    ``REQUEST_SECONDS`` after its body was in (the body's own time is ``BodyLimit``'s to
    bound). The work is cancelled; a command cut off so may still be recorded, which the
    answer says. An answer already begun is let finish."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_SECONDS
        receiving = answering = False

        async def timed_receive() -> MutableMapping[str, Any]:
            nonlocal receiving, deadline
            receiving = True
            try:
                return await receive()
            finally:
                receiving = False
                deadline = loop.time() + REQUEST_SECONDS

        async def watched_send(message: MutableMapping[str, Any]) -> None:
            nonlocal answering
            answering = answering or message["type"] == "http.response.start"
            await send(message)

        work = asyncio.ensure_future(self.app(scope, timed_receive, watched_send))
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=max(deadline - loop.time(), 0))
                if work.done():
                    break
                if answering:  # begun: let it finish
                    await asyncio.wait({work})
                    break
                if receiving:  # the body is still arriving (BodyLimit bounds that)
                    deadline = loop.time() + REQUEST_SECONDS
                if loop.time() < deadline:  # moved on since (a part of the body came)
                    continue
                work.cancel()
                await asyncio.wait({work})
                log.warning(
                    "request_not_answered_in_time",
                    path=scope.get("path", "")[:200],
                    seconds=REQUEST_SECONDS,
                )
                await problem_response(
                    503,
                    "request",
                    "the engine did not answer in time; if this was a command it may still "
                    "be recorded, so look at the case before sending it again",
                    {"Retry-After": "30"},
                )(scope, receive, send)
                return
        finally:
            if not work.done():  # this request itself cancelled (the server stopping)
                work.cancel()
        work.result()  # what the request raised, for the error handlers outside


# What no path of the API or the pages holds (ids are codes): control characters, which
# PostgreSQL refuses (NUL) or which mean nothing in a record, and lone surrogates.
_NOT_IN_PATH = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class CleanPath:
    """Refuse a request for a page whose path holds a control character
    (``/app/cases/%00``) with 400 before any route sees it: no page could name such a
    thing, and some would pass it on to PostgreSQL, which refuses a NUL with an error of its
    own. (The API's routes check their path parameters themselves, naming each: 422.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and is_web_path(path) and _NOT_IN_PATH.search(path):
            response = problem_response(400, "path", "must not contain control characters")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class OneOfEach:
    """Refuse an API request that gives a query parameter twice (``?expected_version=5&
    expected_version=20``: one would silently win, and a stale version could pass unseen)
    with 422, and one with two ``Authorization`` headers (which credential is meant?) with
    400, before anything reads them: as a JSON body's key given twice is refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_web_path(scope.get("path", "")):
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> Response | None:
        headers = [name for name, _ in scope.get("headers", ()) if name.lower() == b"authorization"]
        if len(headers) > 1:
            return problem_response(400, "authorization", "is given twice; send one token")
        seen: set[str] = set()
        for name, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True):
            if name in seen:
                return problem_response(422, shortened(field_path((name,))), "is given twice")
            seen.add(name)
        return None


class CodecCors:
    """Cross-origin requests admitted for the codec endpoint only, and only from the
    Temporal UI's origins: it calls ``/codec/*`` from the browser with a bearer token.
    Nothing else answers another origin (the pages' session cookie is sent to any page of
    the same site, the UI's own port included), and no credentials are admitted."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=False,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/codec/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


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
        json = media == b"application/json" or media.endswith(b"+json")
        form = media == b"application/x-www-form-urlencoded" and is_web_path(scope.get("path", ""))
        if writes and has_body and not (json or form):
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
        deadline: float | None = None
        whole = not has_body

        async def bounded() -> MutableMapping[str, Any]:
            nonlocal seen, deadline, whole
            if whole:  # the body is in (or there is none): waiting now is for a disconnect
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + BODY_SECONDS
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0))
            except TimeoutError:
                log.warning("request_body_too_slow", seconds=BODY_SECONDS)
                raise ApiError(
                    408,
                    "body",
                    f"did not arrive within {BODY_SECONDS:g} seconds",
                    {"Connection": "close"},
                ) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if seen > self.max_bytes:  # the route's error handling answers 413
                    raise ApiError(413, "body", self._rule)
            else:
                whole = True
            return message

        await self.app(scope, bounded, send)

    @property
    def _rule(self) -> str:
        return f"must be at most {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, "body", self._rule, headers={"Connection": "close"})
        await response(scope, receive, send)
