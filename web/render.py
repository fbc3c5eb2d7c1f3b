"""The Jinja2 environment (the GOV.UK Frontend macros, the project's templates) and how a
page is answered: in the reader's language, with a CSP nonce for the one inline script the
GOV.UK template has, and never cached."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse

from events import vocabulary
from identity.users import User
from web.i18n import Language
from web.session import WebSession
from web.timeline import facts
from web.words import event_title, word
from workflows.lifecycle.state import Phase, ReviewStatus

TEMPLATES = __file__.rsplit("/", 1)[0] + "/templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
    )
    return env


def csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


@dataclass
class Page:
    """What every page knows: the request, who reads it, in which language."""

    request: Request
    language: Language
    session: WebSession | None
    user: User | None
    service_name: str

    def context(self, **extra: Any) -> dict[str, Any]:
        lang = self.language
        return {
            "request": self.request,
            "lang": lang,
            "_": lang._,
            "gettext": lang._,
            "ngettext": lang.ngettext,
            "word": lambda kind, code: word(kind, code, lang._),
            "event_title": lambda name: event_title(name, lang._),
            "facts": lambda entry: facts(lang, entry.type, entry.data),
            "v": vocabulary,
            "Phase": Phase,
            "ReviewStatus": ReviewStatus,
            "day": lang.day,
            "moment": lang.moment,
            "user": self.user,
            "csrf_token": self.session.csrf_token if self.session else "",
            "service_name": self.service_name,
            "path": self.request.url.path,
            "error_list": error_list(extra.get("errors") or []),
            "query": self.request.url.query,
            **extra,
        }


def error_list(errors: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The GOV.UK error summary's items: each message linking to its field."""
    out = []
    for where, message in errors:
        href = where if where.startswith("#") else "#f-" + where.replace(".", "-").replace("_", "-")
        if where.rsplit(".", 1)[-1] in DAY_BOXES:
            href += "-day"  # the first box of the day
        out.append({"text": message, "href": href})
    return out


# The referral form's days (the command forms give their own anchors).
DAY_BOXES = frozenset({"received_on", "date_of_birth"})


def render(
    page: Page,
    template: str,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = environment().get_template(template).render(page.context(cspNonce=nonce, **extra))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["content-security-policy"] = csp(nonce)
    response.headers["content-language"] = page.language.code
    return response
