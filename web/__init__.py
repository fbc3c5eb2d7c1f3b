"""Web pages for key workers, supervisors, business support and admins: server-rendered
from the API's own FastAPI app under ``/app`` (GOV.UK Frontend, Welsh and English), with
the vendored assets under ``/static``. ``install`` adds them to an app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from web.routes import NotAllowed, SignInNeeded, WebConfig

__all__ = ["WebConfig", "install"]

STATIC = Path(__file__).parent / "static"
PREFIXES = ("/app", "/static")


class CachedStatic(StaticFiles):
    """The vendored assets change only with a release: browsers may keep them an hour."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=3600"
        return response


def is_page(path: str) -> bool:
    return path == "/app" or path.startswith("/app/")


def install(app: FastAPI, config: WebConfig | None = None) -> None:
    """Add the pages (``/app``), their assets (``/static``) and their error pages."""
    from web import actions, pages, report  # noqa: F401 - their routes join web.routes.router
    from web.routes import router

    app.state.web = config or WebConfig()
    app.include_router(router)
    app.mount("/static", CachedStatic(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/app", status_code=303)

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInNeeded)
        from urllib.parse import quote

        return RedirectResponse(f"/app/sign-in?next={quote(exc.next_path, safe='')}", 303)

    app.add_exception_handler(SignInNeeded, sign_in)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, "page", None)

    app.add_exception_handler(NotAllowed, not_allowed)
    for kind in (StarletteHTTPException, RequestValidationError, Exception):
        original = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception, original: Any = original) -> Response:
            if not is_page(request.url.path):
                return await original(request, exc)  # type: ignore[no-any-return]
            if isinstance(exc, StarletteHTTPException):
                field = getattr(exc, "field", None)
                rule = getattr(exc, "rule", None)
                said = getattr(exc, "said", None)
                return error_page(request, exc.status_code, field, rule, said)
            if isinstance(exc, RequestValidationError):
                return error_page(request, 400, None, None)
            api_answer = await original(request, exc)  # logs it, and tells a transient fault
            return error_page(request, api_answer.status_code, None, None)

        app.add_exception_handler(kind, handler)


def error_page(
    request: Request,
    status: int,
    field: str | None,
    rule: str | None,
    said: tuple[str, dict[str, Any]] | None = None,
) -> Response:
    """The error as a page, its rule in the reader's language (``web.words.rule_in``)."""
    from web.refusals import rule_in
    from web.render import Page, render
    from web.routes import config_of, language

    reader = language(request)
    page = Page(request, reader, None, None, config_of(request).name_in(reader.code))
    shown = rule_in(page.language, rule, said) if rule else rule
    return render(page, "error.html", status_code=status, status=status, field=field, rule=shown)
