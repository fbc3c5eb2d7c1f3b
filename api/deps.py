"""What every route depends on: the services, the caller, typed path and query parameters,
the errors each kind of operation documents, and who may read which case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic_core import PydanticCustomError
from temporalio.client import Client

from api import problems
from api.problems import ApiError
from events.bounds import CODE_PATTERN
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import EventStore
from identity.users import User
from projections import queries


@dataclass
class Services:
    pool: asyncpg.Pool
    store: EventStore
    temporal: Client
    task_queue: str
    policy: ProgrammePolicy = DEFAULT_POLICY  # for new referrals (IFSS_POLICY_FILE)
    codec_origins: tuple[str, ...] = ()  # the Temporal UI's origin(s), for the codec endpoint
    # Alert channels this deployment can deliver on (a webhook needs IFSS_WEBHOOK_SECRET,
    # email IFSS_SMTP_HOST): a route on another would stop the next start.
    delivery_channels: tuple[str, ...] = ("webhook", "email")
    web: Any = None  # web.WebConfig: the pages' sign-in and session settings (None: defaults)
    report_costs: Any = None  # reports.service.ReportCosts (IFSS_REPORT_COSTS_FILE)


bearer = HTTPBearer(auto_error=False)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The caller, as the authentication middleware found them (before any body was read);
    ``credentials`` is here so that the OpenAPI names the bearer scheme."""
    signed_in = request.user
    user: User = signed_in.user  # BearerTokens refused the request otherwise
    return user


UserDep = Annotated[User, Depends(current_user)]
ServicesDep = Annotated[Services, Depends(services)]
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]


def digits_only(value: object) -> object:
    """Before a whole-number query parameter: digits only (``1.0``, ``1e3`` or ``+1`` is
    not a version or a count, though a lax reading would take it)."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "must be a whole number written in digits")
    return value


CodeQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=CODE_PATTERN)]
AlertRef = Annotated[
    str, Path(max_length=200, pattern=r"^(case|team)-[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}$")
]

# The errors each kind of operation can answer with (documented in the OpenAPI).
READ = problems.responses(401, 413, 422, 503)
CASE_READ = problems.responses(401, 403, 404, 413, 422, 503)
WRITE = problems.responses(401, 403, 404, 409, 413, 415, 422, 503)


def scope(user: User) -> dict[str, str | None]:
    """The filter a user's reads are confined to (``User.read_scope``)."""
    return user.read_scope()


def covering(user: User) -> bool:
    """A case manager's reads include the families they cover today."""
    return user.reads_cover


def no_case(case_id: str) -> ApiError:
    return ApiError(404, "case_id", f"no case {case_id}")


async def logged_list(
    svc: Services, user: User, view: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` (a list read), after recording which cases it returned (``CasesListed``)."""
    return await queries.record_list_read(
        svc.store, user.actor, view=view, interface="api", rows=rows
    )


async def readable_case(
    svc: Services, user: User, case_id: str, view: str, as_of: datetime | None = None
) -> dict[str, Any]:
    """The case's summary if ``user`` may read it; records the read (or the refusal).
    A case the caller may not read answers as if it did not exist."""
    summary = await queries.case_summary(svc.pool, case_id)
    if summary is None:
        raise no_case(case_id)
    readable = user.can_read(summary)
    allowed = readable and (view != "access_log" or user.can_see_access_logs)
    await queries.record_access(
        svc.store, case_id, user.actor, view=view, interface="api", as_of=as_of, allowed=allowed
    )
    if not readable:
        raise no_case(case_id)
    if not allowed:
        raise ApiError(403, "case_id", f"{user.role.value} {user.user_id} may not read {view}")
    return summary
