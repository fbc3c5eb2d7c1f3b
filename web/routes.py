"""The pages: sign-in and out, My work, cases, the case page and its forms, the team, the
referrals, and administration. Reads and commands go through the same read models, rules
and recorded acts as the API and the CLI; every read of a case is in its access log
(interface ``web``), every list read in the reader's ``CasesListed``.

Each handler asks ``signed_in`` for the page (a visitor is sent to sign in) and checks the
CSRF token of every post before anything else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from api.deps import Services
from api.guards import RefusalThrottle
from api.problems import ApiError
from events.vocabulary import Role
from identity.users import User
from web import session as sessions
from web.i18n import COOKIE as LANG_COOKIE
from web.i18n import LANGUAGES, Language, language_of
from web.render import Page, render
from web.words import N_

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/app", include_in_schema=False)

HOME = {
    Role.CASE_MANAGER: "/app/my-work",
    Role.SUPERVISOR: "/app/team",
    Role.BUSINESS_SUPPORT: "/app/referrals",
    Role.AUDITOR: "/app/cases",
    Role.ADMIN: "/app/admin",
}
MAX_FORM_FIELDS = 200
# Refused password sign-ins free of delay, per address or account, in 15 minutes; then each
# further one waits (doubling) up to this long.
SIGN_INS_FREE = 5
SIGN_IN_MAX_DELAY_SECONDS = 3.0


class SignInNeeded(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class NotAllowed(Exception):
    """A page the user's role does not open (403, in words)."""


@dataclass
class WebConfig:
    idle: timedelta = sessions.DEFAULT_IDLE
    service_name: str = N_("Integrated Family Support Service")  # a council's own: as set
    service_name_cy: str | None = None  # the council's own Welsh name (IFSS_SERVICE_NAME_CY)
    public_url: str | None = None
    oidc: Any = None  # web.oidc.OidcClient when IFSS_OIDC_ISSUER is set
    extra: dict[str, Any] = field(default_factory=dict)
    # Refused password sign-ins, per client address and per account: after a few, each
    # further one waits (up to a few seconds) and is logged, so guessing gets nowhere fast.
    refused_sign_ins: RefusalThrottle = field(
        default_factory=lambda: RefusalThrottle(
            free=SIGN_INS_FREE, window_seconds=900.0, max_delay=SIGN_IN_MAX_DELAY_SECONDS
        )
    )

    def name_in(self, language: str) -> str:
        """The service's name on pages in ``language``."""
        if language == "cy" and self.service_name_cy:
            return self.service_name_cy
        return self.service_name


def svc_of(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def config_of(request: Request) -> WebConfig:
    config = getattr(request.app.state, "web", None)
    if config is None:  # one per app: it holds the count of refused sign-ins
        config = request.app.state.web = WebConfig()
    return config


def language(request: Request) -> Language:
    return language_of(request.cookies.get(LANG_COOKIE), request.query_params.get("lang"))


async def page_for(request: Request, *, signed_in: bool = True) -> Page:
    svc, config = svc_of(request), config_of(request)
    current = await sessions.load(svc.pool, request, config.idle)
    if signed_in and (current is None or current.user is None):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(target)
    reader = language(request)
    return Page(
        request,
        reader,
        current,
        current.user if current else None,
        config.name_in(reader.code),
    )


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of this service, never another site."""
    if not value or not value.startswith("/app") or value.startswith("//") or "\\" in value:
        return "/app"
    return value[:500]


async def form_of(request: Request, page: Page) -> FormData:
    """The posted form, after its CSRF token is checked (a stale or forged post: 400)."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    if page.session is None or not page.session.csrf_ok(form.get("csrf_token")):
        raise ApiError(400, "csrf_token", N_("the form expired or did not come from this service"))
    return form


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def need_role(page: Page, *roles: Role) -> User:
    user = page.user
    assert user is not None
    if user.role not in roles:
        raise NotAllowed()
    return user


# --- language, sign-in, sign-out -----------------------------------------------------------


@router.get("/language")
async def set_language(request: Request, to: str = "en", next: str = "/app") -> Response:
    chosen = to if to in LANGUAGES else "en"
    response = see_other(safe_next(next))
    secure = sessions.secure_request(request, config_of(request).public_url)
    response.set_cookie(
        LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", httponly=True, secure=secure
    )
    return response


@router.get("")
async def home(request: Request) -> Response:
    page = await page_for(request)
    assert page.user is not None
    return see_other(HOME[page.user.role])


@router.get("/sign-in")
async def sign_in_form(request: Request, next: str = "/app") -> Response:
    page = await page_for(request, signed_in=False)
    if page.user is not None:
        return see_other(safe_next(next))
    return await _sign_in_page(request, page, next)


async def _sign_in_page(
    request: Request,
    page: Page,
    next_path: str,
    errors: list[tuple[str, str]] | None = None,
    user_id: str = "",
    status_code: int = 200,
) -> Response:
    svc, config = svc_of(request), config_of(request)
    fresh = None
    if page.session is None:  # a visitor: a session for the CSRF token of this form
        fresh = await sessions.start(svc.pool, idle=config.idle)
        page.session = fresh
    response = render(
        page,
        "sign_in.html",
        status_code=status_code,
        next_path=safe_next(next_path),
        errors=errors or [],
        user_id=user_id,
        oidc=config.oidc is not None,
        signed_out=request.query_params.get("signed_out") == "1",
        expired=request.query_params.get("expired") == "1",
    )
    if fresh is not None:
        sessions.set_cookie(
            response, fresh, secure=sessions.secure_request(request, config.public_url)
        )
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    from identity.passwords import verify_password

    page = await page_for(request, signed_in=False)
    svc = svc_of(request)
    form = await form_of(request, page)
    next_path = safe_next(str(form.get("next") or "/app"))
    user_id = str(form.get("user_id") or "").strip()[:64]
    password = str(form.get("password") or "")
    _ = page.language._
    errors: list[tuple[str, str]] = []
    if not user_id:
        errors.append(("#user_id", _("Enter your user ID")))
    if not password:
        errors.append(("#password", _("Enter your password")))
    user = None
    if not errors:
        user = await verify_password(svc.pool, user_id, password)
        if user is None:  # what was typed is not logged: it may be a password, or a name
            known = user_id.isprintable() and await svc.pool.fetchval(
                "SELECT true FROM users WHERE user_id = $1", user_id
            )
            who = {"actor": user_id} if known else {}
            log.info("web_sign_in_refused", method="password", **who)
            await _slowed(request, user_id if known else None, who)
            errors.append(("#user_id", _("The user ID or password is not right")))
    if user is None:
        return await _sign_in_page(request, page, next_path, errors, user_id, status_code=400)
    return await _signed_in(request, page, user, next_path, "password")


async def _slowed(request: Request, account: str | None, who: dict[str, str]) -> None:
    """After a few refused sign-ins from one address, or for one account, each further one
    waits before its answer and is logged as a warning."""
    throttle = config_of(request).refused_sign_ins
    address = request.client.host if request.client else "unknown"
    count, delay = throttle.failed(f"ip:{address}")
    if account is not None:
        for_account, account_delay = throttle.failed(f"user:{account}")
        count, delay = max(count, for_account), max(delay, account_delay)
    if delay:
        log.warning("web_sign_ins_repeated", client_ip=address, count=count, delay_s=delay, **who)
        await asyncio.sleep(delay)


async def _signed_in(
    request: Request, page: Page, user: User, next_path: str, how: str
) -> Response:
    svc, config = svc_of(request), config_of(request)
    if page.session is not None:
        await sessions.end(svc.pool, page.session)  # a new session: no fixation
    started = await sessions.start(svc.pool, user, idle=config.idle)
    log.info("web_signed_in", actor=user.user_id, role=user.role.value, method=how)
    target = next_path if next_path != "/app" else HOME[user.role]
    response = see_other(target)
    sessions.set_cookie(
        response, started, secure=sessions.secure_request(request, config.public_url)
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    page = await page_for(request, signed_in=False)
    config = config_of(request)
    if page.session is not None:
        await form_of(request, page)
        await sessions.end(svc_of(request).pool, page.session)
        if page.user is not None:
            log.info("web_signed_out", actor=page.user.user_id)
    response = see_other("/app/sign-in?signed_out=1")
    sessions.clear_cookie(response, secure=sessions.secure_request(request, config.public_url))
    return response


@router.get("/sign-in/oidc")
async def oidc_start(request: Request) -> Response:
    config = config_of(request)
    page = await page_for(request, signed_in=False)
    if config.oidc is None:
        return see_other("/app/sign-in")
    svc = svc_of(request)
    current = page.session or await sessions.start(svc.pool, idle=config.idle)
    response: Response = await config.oidc.redirect(request, svc.pool, current)
    if page.session is None:
        sessions.set_cookie(
            response, current, secure=sessions.secure_request(request, config.public_url)
        )
    return response


@router.get("/sign-in/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    from identity.passwords import user_for_subject

    config = config_of(request)
    page = await page_for(request, signed_in=False)
    _ = page.language._
    if config.oidc is None or page.session is None:
        return see_other("/app/sign-in")
    svc = svc_of(request)
    subject = await config.oidc.subject(request, svc.pool, page.session)
    if subject is None:
        errors = [("#oidc", _("Signing in with your council account did not work; try again"))]
        return await _sign_in_page(request, page, "/app", errors, status_code=400)
    user = await user_for_subject(svc.pool, subject)
    if user is None:
        log.info("web_sign_in_refused", method="oidc")
        errors = [
            (
                "#oidc",
                _(
                    "Your council account is not linked to a user of this service; ask an administrator"
                ),
            )
        ]
        return await _sign_in_page(request, page, "/app", errors, status_code=403)
    return await _signed_in(
        request, page, user, str(page.session.data.get("next") or "/app"), "oidc"
    )
