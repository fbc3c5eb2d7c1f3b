"""One shape for every error the API returns: RFC 9457 problem details.

```json
{"type": "/problems/invalid-input", "title": "Invalid input", "status": 422,
 "detail": "description: must not contain the NUL character (U+0000)",
 "field": "description", "rule": "must not contain the NUL character (U+0000)"}
```

``field`` names what was wrong (a body field, a query or path parameter, ``authorization``,
``case_id`` …) and ``rule`` says what it must be; ``detail`` is the two together, as the
CLI prints them. Served as ``application/problem+json``.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from events.db import TRANSIENT_KINDS, is_transient
from events.errors import describe
from events.validation import TWICE, field_path, first_problem

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Not signed in"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    500: ("internal-error", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}


class Problem(BaseModel):
    """An error: what went wrong (``field``), the rule it broke, and both in words."""

    type: str = Field(description="A URI naming the kind of problem, e.g. /problems/conflict.")
    title: str
    status: int
    detail: str = Field(description="`field: rule`, for people.")
    field: str = Field(description="The input at fault (a body field, a parameter, ...).")
    rule: str = Field(description="What the input must be, or why it was refused.")


class ApiError(StarletteHTTPException):
    """Raise this (or ``HTTPException`` with a ``"field: rule"`` detail) from a route."""

    def __init__(
        self,
        status: int,
        field: str,
        rule: str,
        headers: dict[str, str] | None = None,
        said: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        self.field, self.rule = field, rule
        self.said = said  # the rule's template and values, when it gave them (for the pages)
        super().__init__(status, f"{field}: {rule}", headers)


def problem(status: int, field: str, rule: str) -> Problem:
    slug, title = TITLES.get(status, ("error", "Error"))
    return Problem(
        type=f"/problems/{slug}",
        title=title,
        status=status,
        detail=f"{field}: {rule}",
        field=field,
        rule=rule,
    )


def store_not_answering() -> JSONResponse:
    return problem_response(
        503, "store", "the database is not answering; try again shortly", {"Retry-After": "30"}
    )


def problem_response(
    status: int, field: str, rule: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem(status, field, rule).model_dump(),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entry for these error statuses."""
    return {
        status: {
            "description": TITLES[status][1],
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def shortened(field: str, limit: int = 200) -> str:
    """A field name as echoed back: an unknown 5,000-character key is cut short."""
    return field if len(field) <= limit else field[:limit] + "…"


def split_message(text: str, whole: str = "request") -> tuple[str, str]:
    """``"field: rule"`` (as refusals are worded) -> (field, rule)."""
    field, sep, rule = text.partition(": ")
    return (field, rule) if sep and field and " " not in field else (whole, text)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI documents on the request's path (GET ones with HEAD)."""
    path = request.url.path
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Every error the app raises becomes a problem response; the schema is registered."""

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc, ApiError):
            field, rule = exc.field, exc.rule
        elif exc.status_code == 404 and exc.detail == "Not Found":
            field, rule = "path", f"no such resource: {request.url.path[:200]}"
        elif exc.status_code == 405:
            field, rule = "method", f"{request.method} is not allowed here"
            # Starlette names the methods of the first route on the path only; a path served
            # by several routes (GET and POST /teams) allows them all.
            headers = dict(exc.headers or {})
            headers["Allow"] = ", ".join(allowed_methods(request))
            return problem_response(exc.status_code, field, rule, headers)
        elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # Not text, or not JSON that Python reads: invalid input like any other (422).
            return problem_response(422, "body", "could not be read as JSON")
        else:
            field, rule = split_message(str(exc.detail))
        return problem_response(exc.status_code, field, rule, dict(exc.headers or {}))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        loc = tuple(errors[0].get("loc", ()))
        where = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
        kind = errors[0].get("type")
        if kind == "json_invalid":  # the position in the text, not a field
            # FastAPI passes on the reader's message, not its exception: a key given twice
            # (api.json_body) is known by the message's start.
            said = str((errors[0].get("ctx") or {}).get("error", ""))
            if said.startswith(TWICE):
                key = field_path((said[len(TWICE) :],))
                return problem_response(422, shortened(key), "is given twice")
            at = where[0] if where else "?"
            return problem_response(422, "body", f"is not valid JSON (at character {at})")
        field, rule = first_problem([{**errors[0], "loc": where}], whole="body")
        if field == "actor" and kind == "extra_forbidden":
            rule = "is set from your token, not the body"
        return problem_response(422, shortened(field), rule)

    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # Nothing of the exception goes to the caller; the log has it (without values).
        if is_transient(exc):  # the database down or restarting: come back shortly
            log.warning("store_not_answering", path=request.url.path[:200], error=describe(exc))
            return store_not_answering()
        log.error("request_failed", path=request.url.path[:200], error=describe(exc))
        return problem_response(
            500,
            "request",
            "the server failed (not because of what you sent); if this was a command, "
            "look at the case before sending it again",
        )

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    # The database's own errors are answered where they arise (a handler for ``Exception``
    # alone answers too, but the server then logs each as a crash, with its traceback: a
    # database restart would fill the log with ERRORs for answers given correctly).
    for kind in TRANSIENT_KINDS:
        app.add_exception_handler(kind, crashed)
    app.add_exception_handler(Exception, crashed)

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema()
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
