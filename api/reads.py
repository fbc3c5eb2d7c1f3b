"""Reading the read models over HTTP: cases, a case's history and access log, reviews,
the waitlist, caseloads, and the calendar feed."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator, TypeAdapter, ValidationError

from api import problems
from api.deps import (
    CASE_READ,
    READ,
    CaseId,
    CodeQuery,
    ServicesDep,
    UserDep,
    covering,
    digits_only,
    logged_list,
    no_case,
    readable_case,
    scope,
)
from api.json_body import JsonBodyRoute
from api.models import (
    AccessEntry,
    CaseHistory,
    Caseload,
    CaseSummary,
    PersonalRecord,
    ReviewDue,
    Team,
    WaitingFamily,
)
from api.problems import ApiError
from events.bounds import CODE_PATTERN, LINE_PATTERN, Day, Line, Moment
from events.calendar import local_day
from events.keys import KeyProblem
from events.validation import first_problem
from events.vocabulary import AccessPurpose, Role
from identity.users import User
from projections import queries
from workflows.lifecycle import Phase

router = APIRouter(route_class=JsonBodyRoute)
_LINE: TypeAdapter[str] = TypeAdapter(Line)


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


MAX_PAGE = 500
# A page's end: its last case's ``updated_at`` and id, base64url (opaque to clients).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"
_CASE_ID = re.compile(CODE_PATTERN)


def cursor_of(row: dict[str, Any]) -> str:
    text = f"{row['updated_at'].isoformat()} {row['case_id']}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def position_of(cursor: str) -> tuple[datetime, str]:
    """The ``(updated_at, case_id)`` a cursor names; 422 naming ``after`` otherwise."""
    try:
        at, case_id = base64.urlsafe_b64decode(cursor).decode().split(" ", 1)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not _CASE_ID.fullmatch(case_id):
            raise ValueError
    except ValueError:  # base64, UTF-8, the split and the time all raise ValueError
        raise ApiError(422, "after", "is not a cursor this list gave") from None
    return moment, case_id


@router.get(
    "/cases",
    response_model=list[CaseSummary],
    responses=problems.responses(401, 403, 413, 422, 503),
)
async def list_cases(
    request: Request,
    response: Response,
    user: UserDep,
    s: ServicesDep,
    phase: Phase | None = None,
    key_worker: CodeQuery = None,
    team: CodeQuery = None,
    overdue: bool | None = None,
    limit: Annotated[
        int, BeforeValidator(digits_only), Query(ge=1, le=MAX_PAGE, description="Cases per page.")
    ] = MAX_PAGE,
    after: Annotated[
        str | None,
        Query(
            max_length=300,
            pattern=CURSOR_PATTERN,
            description="Where the page before ended: the cursor in its `Link` header.",
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """Cases the caller may see, filtered, most recently changed first, a page at a time:
    when there are more, the `Link` header (`rel="next"`) gives the next page's address."""
    limits = scope(user)
    if (refusal := user.list_refusal(key_worker=key_worker, team=team)) is not None:
        field, rule = refusal.split(": ", 1)
        raise ApiError(403, field, rule)
    rows = await queries.list_cases(
        s.pool,
        phase=phase.value if phase else None,
        key_worker_id=limits.get("key_worker_id", key_worker),
        with_cover=covering(user),
        team_id=limits.get("team_id", team),
        overdue=overdue,
        limit=limit + 1,
        after=position_of(after) if after is not None else None,
    )
    if len(rows) > limit:  # more beyond this page
        rows = rows[:limit]
        following = request.url.include_query_params(after=cursor_of(rows[-1]))
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return await logged_list(s, user, "cases", rows)


@router.get("/cases/{case_id}", response_model=CaseSummary, responses=CASE_READ)
async def get_case(case_id: CaseId, user: UserDep, s: ServicesDep) -> dict[str, Any]:
    """A case's summary (a case the caller may not read is answered with 404)."""
    return await readable_case(s, user, case_id, "summary")


@router.get(
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


@router.get(
    "/cases/{case_id}/personal",
    response_model=PersonalRecord,
    responses=problems.responses(401, 403, 404, 413, 422, 503),
)
async def get_personal(
    case_id: CaseId,
    user: UserDep,
    s: ServicesDep,
    purpose: Annotated[AccessPurpose, Query(description="Why you open it (logged).")],
    reason: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=LINE_PATTERN,
            description="An auditor's reason (logged; no personal data in it).",
        ),
    ] = None,
) -> PersonalRecord:
    """The family's personal data (names, dates of birth, address, notes, goals' wording)
    for its key worker, their cover and the team's supervisor; an auditor only with a
    ``reason``. Every attempt is in the access log with its purpose, refusals included."""
    if reason is not None:
        try:  # what the access log will hold: one storable line
            _LINE.validate_python(reason)
        except ValidationError as exc:
            rule = first_problem(exc.errors(include_input=False))[1]
            raise ApiError(422, "reason", rule) from None
    summary = await queries.case_summary(s.pool, case_id)
    if summary is None:
        raise no_case(case_id)
    refusal = user.personal_refusal(summary, reason=reason)
    await queries.record_access(
        s.store,
        case_id,
        user.actor,
        view="personal",
        interface="api",
        allowed=refusal is None,
        purpose=purpose.value,
        reason=reason,
    )
    if not user.can_read(summary):
        raise no_case(case_id)
    if refusal is not None:
        raise ApiError(403, "reason" if user.role is Role.AUDITOR else "case_id", refusal)
    try:
        entries = await queries.personal_record(s.store, case_id)
    except KeyProblem as exc:  # tampered, or sealed under a master key not configured
        raise ApiError(500, "case_id", str(exc)) from None
    return PersonalRecord.model_validate(
        {"case_id": case_id, "purpose": purpose.value, "entries": entries}
    )


@router.get("/cases/{case_id}/access-log", response_model=list[AccessEntry], responses=CASE_READ)
async def get_access_log(case_id: CaseId, user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
    """Who read this case's record (supervisors of its team, auditors, admins)."""
    await readable_case(s, user, case_id, "access_log")
    return await queries.access_log(s.pool, case_id)


@router.get("/reviews", response_model=list[ReviewDue], responses=READ)
async def get_reviews(
    user: UserDep, s: ServicesDep, due_before: Day | None = None
) -> list[dict[str, Any]]:
    """Follow-up reviews not yet completed, due before a date (default: 30 days on)."""
    before = due_before or (local_day(datetime.now(UTC)) + timedelta(days=31))  # Wales' today
    limits = scope(user)
    rows = await queries.reviews_due(
        s.pool,
        before,
        key_worker_id=limits.get("key_worker_id"),
        team_id=limits.get("team_id"),
        with_cover=covering(user),
    )
    return await logged_list(s, user, "reviews", rows)


@router.get("/teams", response_model=list[Team], responses=READ)
async def get_teams(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
    """The registered teams (ids, names, areas): what a referral may name. Nothing
    personal, so every signed-in user may read it."""
    return await queries.teams(s.pool)


@router.get("/waitlist", response_model=list[WaitingFamily], responses=READ)
async def get_waitlist(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
    """Families waiting for a key worker, in the order they will be allocated."""
    team = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else None
    return await logged_list(s, user, "waitlist", await queries.waitlist(s.pool, team))


@router.get("/caseload", response_model=list[Caseload], responses=READ)
async def get_caseload(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
    """Each key worker's families by phase, against their limit."""
    team = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else None
    rows = await queries.caseload(s.pool, team)
    if user.role is Role.CASE_MANAGER:
        rows = [r for r in rows if r["key_worker_id"] == user.user_id]  # their own load
    return rows


@router.get("/calendar.ics", response_class=ICalendar, responses=READ)
async def calendar(user: UserDep, s: ServicesDep) -> Response:
    """The caller's upcoming reviews and first-meeting deadlines as iCalendar. Titles
    carry the case id, never a name."""
    limits = scope(user)
    today = local_day(datetime.now(UTC))  # in Wales, not in UTC (an hour behind in summer)
    reviews = await queries.reviews_due(
        s.pool,
        today + timedelta(days=400),
        key_worker_id=limits.get("key_worker_id"),
        team_id=limits.get("team_id"),
        with_cover=covering(user),
    )
    meetings = await queries.list_cases(
        s.pool,
        phase="allocated",
        key_worker_id=limits.get("key_worker_id"),
        team_id=limits.get("team_id"),
        with_cover=covering(user),
    )
    await logged_list(s, user, "calendar", [*reviews, *meetings])
    return ICalendar(ical_feed(user, reviews, meetings))
