"""The HTTP API (FastAPI; OpenAPI at /docs).

Reads come from the read models; commands go to the case workflows as updates, with the
caller's token deciding the actor. Every read of a case's record is appended to that
case's access stream before the answer goes out, refused attempts included.

Statuses: 401 no or bad token, 403 not allowed (the role, or the rules for this actor),
404 unknown (or unreadable) case, alert or command, 409 the case's state or the clock is
against the command now (a version conflict, a case id taken, a phase, an order), 413
body or command too large, 422 input that can never be right, 503 the store or Temporal
not answering. Every error is a problem document (``api.problems``) naming the field and
the rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, cast

import asyncpg
import structlog
from fastapi import Depends, FastAPI, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.middleware.authentication import AuthenticationMiddleware
from temporalio.client import Client
from temporalio.service import RPCError

from api import problems
from api.guards import DEFAULT_MAX_BODY_BYTES, BearerTokens, BodyLimit, refused_sign_in
from api.identity import User
from api.problems import ApiError
from events.bounds import Code, Day, Moment
from events.store import EventStore
from events.validation import field_path
from events.vocabulary import Role
from projections import queries
from workflows import client as cases
from workflows import commands as cmd
from workflows.case_workflow import CommandResult
from workflows.lifecycle import Phase
from workflows.policy import DEFAULT_POLICY, ProgrammePolicy

log = structlog.get_logger(__name__)


@dataclass
class Services:
    pool: asyncpg.Pool
    store: EventStore
    temporal: Client
    task_queue: str
    policy: ProgrammePolicy = DEFAULT_POLICY  # for new referrals (IFSS_POLICY_FILE)


# --- response models ---------------------------------------------------------------------


class CaseSummary(BaseModel):
    case_id: str
    family_id: str
    team_id: str
    area: str
    referring_agency: str
    priority: int
    phase: str
    key_worker_id: str | None
    policy_version: str | None
    referred_on: date
    decision: str | None
    decided_at: datetime | None
    rejection_reason: str | None
    waitlisted_at: datetime | None
    allocated_at: datetime | None
    first_meeting_due_at: datetime | None
    first_meeting_at: datetime | None
    intensive_ends_on: date | None
    last_contact_at: datetime | None
    sessions: int
    goals: int
    closed_on: date | None
    closure_kind: str | None
    next_review_id: str | None
    next_review_due_on: date | None
    first_meeting_overdue: bool
    no_contact_overdue: bool
    intensive_overrun: bool
    review_overdue: bool
    previous_case_id: str | None
    end_reason: str | None
    version: int
    updated_at: datetime


class CaseHistory(BaseModel):
    case_id: str
    as_of: datetime | None
    entries: list[queries.HistoryEntry]
    summary: CaseSummary | None = None


class AccessEntry(BaseModel):
    actor_id: str
    actor_role: str
    view: str
    interface: str
    as_of: datetime | None
    allowed: bool
    viewed_at: datetime


class ReviewDue(BaseModel):
    case_id: str
    review_id: str
    month: int
    due_on: date
    original_due_on: date
    status: str
    rescheduled: bool
    team_id: str
    key_worker_id: str | None


class WaitingFamily(BaseModel):
    case_id: str
    team_id: str
    position: int
    priority: int
    referred_on: date
    waitlisted_at: datetime
    days_waiting: int


class Caseload(BaseModel):
    team_id: str
    key_worker_id: str
    caseload_limit: int
    active: bool
    allocated: int
    intensive: int
    follow_up: int
    in_intensive_phase: int


ReferralFields = cmd.sent_fields(cmd.ReferFamily)


class ReferralIn(BaseModel):
    """A referral: the command's fields plus the new case's id (the actor is the caller)."""

    model_config = ConfigDict(extra="forbid")

    case_id: Code
    referral: ReferralFields  # type: ignore[valid-type]


# --- plumbing ----------------------------------------------------------------------------

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
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
CodeQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
AlertRef = Annotated[
    str, Path(max_length=200, pattern=r"^(case|team)-[A-Za-z0-9_.-]{1,64}:[A-Za-z0-9_.-]{1,64}$")
]

# The errors each kind of operation can answer with (documented in the OpenAPI).
READ = problems.responses(401, 413, 422)
CASE_READ = problems.responses(401, 403, 404, 413, 422)
WRITE = problems.responses(401, 403, 404, 409, 413, 422, 503)


def scope(user: User) -> dict[str, str | None]:
    """The filter a user's reads are confined to."""
    if user.role is Role.CASE_MANAGER:
        return {"key_worker_id": user.user_id}
    if user.role in (Role.SUPERVISOR, Role.BUSINESS_SUPPORT):
        return {"team_id": user.team_id}
    return {}


def no_case(case_id: str) -> ApiError:
    return ApiError(404, "case_id", f"no case {case_id}")


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


def invalid(exc: ValidationError, prefix: str = "") -> ApiError:
    first = exc.errors()[0]
    rule = "is required" if first["type"] == "missing" else first["msg"]
    return ApiError(422, prefix + field_path(tuple(first["loc"])), rule)


def _split(exc: Exception) -> tuple[str, str]:
    field, sep, rule = str(exc).partition(": ")
    return (field, rule) if sep and " " not in field else ("command", str(exc))


async def run_command(coro: Any) -> CommandResult:
    """Await a command and turn its typed failures into problem responses."""
    try:
        result: CommandResult = await coro
        return result
    except (cases.CaseAlreadyExists, cases.VersionConflict, cases.CommandConflict) as exc:
        raise ApiError(409, *_split(exc)) from None
    except cases.CommandForbidden as exc:
        raise ApiError(403, *_split(exc)) from None
    except cases.CommandTooLarge as exc:
        raise ApiError(413, *_split(exc)) from None
    except cases.CommandRefused as exc:
        raise ApiError(422, *_split(exc)) from None
    except cases.CaseNotFound as exc:
        raise ApiError(404, "case_id", str(exc)) from None
    except cases.StoreUnavailable as exc:
        raise ApiError(503, "store", str(exc), {"Retry-After": "30"}) from None
    except cases.StoreFailure as exc:
        log.error("store_refused_command", error=str(exc)[:200])
        raise ApiError(
            500, "store", "the event store refused the write; nothing was recorded"
        ) from None
    except RPCError as exc:
        raise temporal_down(exc) from None


def temporal_down(exc: RPCError) -> ApiError:
    log.warning("temporal_unavailable", status=str(exc.status))
    return ApiError(
        503,
        "temporal",
        "the workflow service is not answering; try again shortly",
        {"Retry-After": "30"},
    )


class Delivery(BaseModel):
    at: datetime
    recipient: str
    channel: str
    escalation: bool
    delivered: bool
    attempts: int | None


class Alert(BaseModel):
    alert_ref: str
    case_id: str | None
    team_id: str | None
    rule: str
    severity: str
    subject: str | None
    to_key_worker: str | None
    to_supervisors_of_team: str | None
    raised_at: datetime
    acknowledge_by: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    escalated_at: datetime | None
    escalation_reason: str | None
    resolved_at: datetime | None
    resolution: str | None
    deliveries: list[Delivery]


async def visible_alerts(
    s: Services, user: User, *, include_closed: bool, alert_ref: str | None = None
) -> list[dict[str, Any]]:
    try:
        return await queries.alerts_for_user(
            s.pool,
            user.user_id,
            user.role.value,
            user.team_id,
            include_closed=include_closed,
            alert_ref=alert_ref,
        )
    except queries.AlertsRefused as exc:
        raise ApiError(403, *_split(exc)) from None


# --- the app -----------------------------------------------------------------------------


def settle_memory() -> None:
    """Once started: move everything alive into the permanent generation, so the garbage
    collector's full passes stop rescanning start-up objects (they cost 20-40 ms pauses
    in the middle of requests otherwise; see bench/projections.py)."""
    import gc

    gc.collect()
    gc.freeze()


def create_app(
    svc: Services | None = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> FastAPI:
    """With ``svc`` (tests, `ifss dev`), use it; without, build it from the settings at
    start-up. Request bodies over ``max_body_bytes`` are refused (413)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if svc is not None:
            app.state.services = svc
            settle_memory()
            yield
            return
        from events.db import create_pool
        from workers.database import resolve_database_url
        from workers.settings import load_settings
        from workers.temporal import connect_temporal, temporal_address

        settings = load_settings()
        pool = await create_pool(resolve_database_url(settings), max_size=10)
        store = EventStore(pool)
        client = await connect_temporal(temporal_address(settings), settings.temporal_namespace)
        from workers.checks import load_policy

        app.state.services = Services(
            pool, store, client, settings.task_queue, load_policy(settings)
        )
        settle_memory()
        try:
            yield
        finally:
            await store.aclose()
            await pool.close()

    app = FastAPI(
        title="ifss-engine",
        summary="Intensive family intervention cases: commands, read models, audit.",
        version="0.1.0",
        lifespan=lifespan,
    )
    if svc is not None:
        app.state.services = svc
    problems.install(app)
    # The last added runs first: the token is checked (from the headers), then the body is
    # bounded, before anything reads it.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(
        AuthenticationMiddleware,
        backend=BearerTokens(lambda conn: conn.app.state.services.pool),
        on_error=refused_sign_in,
    )

    @app.get(
        "/cases", response_model=list[CaseSummary], responses=problems.responses(401, 403, 413, 422)
    )
    async def list_cases(
        user: UserDep,
        s: ServicesDep,
        phase: Phase | None = None,
        key_worker: CodeQuery = None,
        team: CodeQuery = None,
        overdue: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Cases the caller may see, filtered."""
        limits = scope(user)
        if key_worker and "key_worker_id" in limits and key_worker != limits["key_worker_id"]:
            raise ApiError(403, "key_worker", "a case manager sees only their own cases")
        if team and user.role not in (Role.AUDITOR, Role.ADMIN) and team != user.team_id:
            raise ApiError(403, "team", "you see only your own team")
        return await queries.list_cases(
            s.pool,
            phase=phase.value if phase else None,
            key_worker_id=limits.get("key_worker_id", key_worker),
            team_id=limits.get("team_id", team),
            overdue=overdue,
        )

    @app.get("/cases/{case_id}", response_model=CaseSummary, responses=CASE_READ)
    async def get_case(case_id: CaseId, user: UserDep, s: ServicesDep) -> dict[str, Any]:
        """A case's summary (a case the caller may not read is answered with 404)."""
        return await readable_case(s, user, case_id, "summary")

    @app.get(
        "/cases/{case_id}/history",
        response_model=CaseHistory,
        responses={
            200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
            **CASE_READ,
        },
    )
    async def get_history(
        case_id: CaseId,
        user: UserDep,
        s: ServicesDep,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
        as_of: Annotated[
            Moment | None,
            Query(description="As known at this moment (ISO 8601 with a time zone)."),
        ] = None,
    ) -> Any:
        """The case's timeline in plain words (``?as_of=``: as known then; ``?format=csv``)."""
        await readable_case(s, user, case_id, "history", as_of)
        summary = None
        if as_of is not None:
            entries, summary = await queries.history_as_of(s.store, case_id, as_of)
        else:
            entries = await queries.history(s.pool, case_id)
        if format == "csv":
            return Response(queries.history_csv(entries), media_type="text/csv")
        return CaseHistory(
            case_id=case_id,
            as_of=as_of,
            entries=entries,
            summary=CaseSummary(**summary) if summary else None,
        )

    @app.get("/cases/{case_id}/access-log", response_model=list[AccessEntry], responses=CASE_READ)
    async def get_access_log(
        case_id: CaseId, user: UserDep, s: ServicesDep
    ) -> list[dict[str, Any]]:
        """Who read this case's record (supervisors of its team, auditors, admins)."""
        await readable_case(s, user, case_id, "access_log")
        return await queries.access_log(s.pool, case_id)

    @app.get("/reviews", response_model=list[ReviewDue], responses=READ)
    async def get_reviews(
        user: UserDep, s: ServicesDep, due_before: Day | None = None
    ) -> list[dict[str, Any]]:
        """Follow-up reviews not yet completed, due before a date (default: 30 days on)."""
        before = due_before or (datetime.now(UTC).date() + timedelta(days=31))
        limits = scope(user)
        return await queries.reviews_due(
            s.pool,
            before,
            key_worker_id=limits.get("key_worker_id"),
            team_id=limits.get("team_id"),
        )

    @app.get("/waitlist", response_model=list[WaitingFamily], responses=READ)
    async def get_waitlist(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
        """Families waiting for a key worker, in the order they will be allocated."""
        team = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else None
        return await queries.waitlist(s.pool, team)

    @app.get("/caseload", response_model=list[Caseload], responses=READ)
    async def get_caseload(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
        """Each key worker's families by phase, against their limit."""
        team = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else None
        rows = await queries.caseload(s.pool, team)
        if user.role is Role.CASE_MANAGER:
            rows = [r for r in rows if r["key_worker_id"] == user.user_id]
        return rows

    @app.get("/calendar.ics", response_class=ICalendar, responses=READ)
    async def calendar(user: UserDep, s: ServicesDep) -> Response:
        """The caller's upcoming reviews and first-meeting deadlines as iCalendar. Titles
        carry the case id, never a name."""
        limits = scope(user)
        today = datetime.now(UTC).date()
        reviews = await queries.reviews_due(
            s.pool,
            today + timedelta(days=400),
            key_worker_id=limits.get("key_worker_id"),
            team_id=limits.get("team_id"),
        )
        meetings = await queries.list_cases(
            s.pool,
            phase="allocated",
            key_worker_id=limits.get("key_worker_id"),
            team_id=limits.get("team_id"),
        )
        return ICalendar(ical_feed(user, reviews, meetings))

    @app.post(
        "/referrals",
        response_model=CommandResult,
        status_code=201,
        responses=problems.responses(401, 403, 409, 413, 422, 503),
    )
    async def post_referral(body: ReferralIn, user: UserDep, s: ServicesDep) -> CommandResult:
        """Refer a family: opens a case (its workflow) with the caller as the actor."""
        if not user.can_refer:
            raise ApiError(403, "role", f"{user.role.value} may not refer families")
        try:
            command = cmd.ReferFamily.model_validate(
                {**cast(BaseModel, body.referral).model_dump(), "actor": user.actor}
            )
        except ValidationError as exc:
            raise invalid(exc, "referral.") from None
        if user.role is not Role.ADMIN and user.team_id != command.team_id:
            raise ApiError(403, "team_id", "you may refer only to your own team")
        return await run_command(
            cases.refer_family(
                s.temporal, body.case_id, command, task_queue=s.task_queue, policy=s.policy
            )
        )

    @app.get(
        "/alerts", response_model=list[Alert], responses=problems.responses(401, 403, 413, 422)
    )
    async def get_alerts(
        user: UserDep,
        s: ServicesDep,
        all: Annotated[bool, Query(description="Acknowledged and resolved ones too.")] = False,
    ) -> list[dict[str, Any]]:
        """Your alerts (a case manager's own; a supervisor's team's), open ones first."""
        return await visible_alerts(s, user, include_closed=all)

    @app.post("/alerts/{alert_ref}/acknowledge", response_model=Alert, responses=WRITE)
    async def acknowledge(alert_ref: AlertRef, user: UserDep, s: ServicesDep) -> dict[str, Any]:
        """Acknowledge one of your alerts: it leaves the open list and will not escalate."""
        matches = await visible_alerts(s, user, include_closed=True, alert_ref=alert_ref)
        found = matches[0] if matches else None
        if found is None:
            raise ApiError(404, "alert_id", f"no alert {alert_ref} in your inbox")
        try:
            await run_command(cases.acknowledge_alert(s.temporal, alert_ref, user.actor))
        except ApiError as exc:
            if exc.status_code not in (404, 422):
                raise
            raise ApiError(409, exc.field, exc.rule) from None
        found["acknowledged_by"] = user.user_id
        found["acknowledged_at"] = datetime.now(UTC)
        return found

    for name, model in cmd.COMMANDS.items():
        add_command_route(app, name, model)

    @app.post("/cases/{case_id}/commands/{name}", include_in_schema=False)
    async def unknown_command(case_id: str, name: str, user: UserDep) -> None:
        known = ", ".join(n for n in cmd.COMMANDS)
        raise ApiError(404, "name", f"unknown command {name[:64]!r} (one of {known})")

    return app


ExpectedVersion = Annotated[
    int | None,
    Query(
        ge=0,
        le=2**31 - 1,
        description="Refuse with 409 unless the case is at exactly this version; checked by "
        "the case under its lock, so of several commands sent at one version one succeeds.",
    ),
]


def add_command_route(app: FastAPI, name: str, model: type[cmd.Command]) -> None:
    """``POST /cases/{case_id}/commands/<name>``: the command's own fields as the body."""
    fields = cmd.sent_fields(model)

    async def send(
        case_id: CaseId,
        body: BaseModel,
        user: UserDep,
        s: ServicesDep,
        expected_version: ExpectedVersion = None,
    ) -> CommandResult:
        try:
            view = await cases.case_view(s.temporal, case_id)
        except cases.CaseNotFound:
            raise no_case(case_id) from None
        except RPCError as exc:
            raise temporal_down(exc) from None
        case = view.model_dump()
        if not user.can_read(case):
            raise no_case(case_id)
        if not user.can_command(case):
            raise ApiError(
                403, "case_id", f"{user.role.value} {user.user_id} may not act on case {case_id}"
            )
        values = {**body.model_dump(), "actor": user.actor, "expected_version": expected_version}
        try:
            command = model.model_validate(values)
        except ValidationError as exc:
            raise invalid(exc) from None
        return await run_command(cases.send_command(s.temporal, case_id, name, command))

    send.__annotations__["body"] = fields  # the body's schema in the OpenAPI is the command's
    app.post(
        f"/cases/{{case_id}}/commands/{name}",
        response_model=CommandResult,
        responses=WRITE,
        summary=f"Command: {name}",
        description=(model.__doc__ or "").strip(),
        operation_id=f"command_{name}",
        tags=["commands"],
    )(send)


class ICalendar(Response):
    media_type = "text/calendar"


def ical_feed(user: User, reviews: list[dict[str, Any]], meetings: list[dict[str, Any]]) -> bytes:
    """Reviews and first-meeting deadlines as an iCalendar document (case ids, no names)."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//ifss-engine//calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"IFSS deadlines: {user.user_id}")
    stamp = datetime.now(UTC)
    for r in reviews:
        event = Event()
        event.add("uid", f"review-{r['case_id']}-{r['review_id']}@ifss-engine")
        event.add("summary", f"{r['month']}-month review, case {r['case_id']} ({r['status']})")
        event.add("dtstart", r["due_on"])
        event.add("dtend", r["due_on"] + timedelta(days=1))
        event.add("dtstamp", stamp)
        cal.add_component(event)
    for c in meetings:
        if c["first_meeting_due_at"] is None:
            continue
        event = Event()
        event.add("uid", f"first-meeting-{c['case_id']}@ifss-engine")
        event.add("summary", f"First meeting due, case {c['case_id']}")
        event.add("dtstart", c["first_meeting_due_at"])
        event.add("dtend", c["first_meeting_due_at"] + timedelta(minutes=30))
        event.add("dtstamp", stamp)
        cal.add_component(event)
    result: bytes = cal.to_ical()
    return result


def _server_class() -> Any:
    import contextlib

    import uvicorn

    class Server(uvicorn.Server):
        """Signals belong to the process (``ifss api``/``ifss dev`` set ``stop``), not uvicorn."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    return Server


async def serve_api(
    host: str,
    port: int,
    stop: Any,
    svc: Services | None = None,
    *,
    grace_seconds: float = 10,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    listening: Any = None,
) -> None:
    """Serve the API until ``stop`` (an asyncio.Event) is set (``ifss api``, ``ifss dev``);
    then requests in flight get ``grace_seconds`` before they are cancelled."""
    import asyncio

    import uvicorn

    _Server = _server_class()
    config = uvicorn.Config(
        create_app(svc, max_body_bytes=max_body_bytes),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=int(grace_seconds),
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn sets a flag only
        await asyncio.sleep(0.02)
    if listening is not None and server.started:
        listening.set()  # an asyncio.Event: the port is bound, requests are served
    await asyncio.wait({task, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED")
    server.should_exit = True
    await task
