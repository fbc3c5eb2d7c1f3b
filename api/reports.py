"""Reports over HTTP: the evaluation data set for a period (``GET /reports/evaluation``),
as JSON, CSV or HTML, live or as of a moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, BeforeValidator

from api import problems
from api.deps import CodeQuery, ServicesDep, UserDep, digits_only
from api.json_body import JsonBodyRoute
from api.problems import ApiError
from events.bounds import Day, Moment
from events.calendar import local_day
from events.errors import InvalidInput
from events.programmes import PROGRAMMES
from reports.render import CSP, to_csv, to_html
from reports.service import (
    period_of,
    produce,
    programme_refusal,
    report_refusal,
    report_team,
)

router = APIRouter(route_class=JsonBodyRoute)
# The programmes this release defines: the schema names them.
PROGRAMME_PATTERN = "^(" + "|".join(sorted(PROGRAMMES)) + ")$"
log = structlog.get_logger(__name__)


class ReportFigure(BaseModel):
    key: str
    label: str
    definition: str
    value: float | None
    numerator: int | None
    denominator: int | None
    interval: tuple[float, float] | None
    excluded: dict[str, int]
    unit: Literal["count", "proportion", "days", "pounds"]
    recorded: bool
    note: str | None


class ReportTable(BaseModel):
    key: str
    title: str
    columns: list[str]
    rows: list[list[str | int | float | None]]
    definition: str


class EvaluationReport(BaseModel):
    title: str
    period: dict[Literal["from", "to"], str]
    scope: dict[str, str | None]
    as_of: str | None
    episodes: int
    figures: list[ReportFigure]
    tables: list[ReportTable]


@router.get(
    "/reports/evaluation",
    response_model=EvaluationReport,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            }
        },
        **problems.responses(401, 403, 404, 413, 422, 503),
    },
)
async def evaluation_report(
    user: UserDep,
    s: ServicesDep,
    start: Annotated[
        Day | None, Query(alias="from", description="First day (default: the financial year's).")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Last day, included (default: the year's end).")
    ] = None,
    team: CodeQuery = None,
    area: CodeQuery = None,
    agency: CodeQuery = None,
    programme: Annotated[str, Query(pattern=PROGRAMME_PATTERN)] = "ifss",
    format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",
    as_of: Annotated[
        Moment | None,
        Query(description="Count only events recorded by this moment (ISO 8601 with a zone)."),
    ] = None,
    compare_snapshot: Annotated[
        int | None,
        BeforeValidator(digits_only),
        Query(ge=0, le=2**31 - 1, description="A snapshot's version (0: the latest) to compare."),
    ] = None,
) -> Any:
    """The evaluation data set for a period (Europe/London days, financial year by
    default): every figure with its definition, numerator, denominator and 95% interval,
    and every table. Supervisors read their own team's; auditors and admins any team's."""
    if (refusal := report_refusal(user, team)) is not None:
        field, rule = refusal.split(": ", 1)
        raise ApiError(403, field, rule)
    if (refusal := programme_refusal(programme)) is not None:
        field, rule = refusal.split(": ", 1)
        raise ApiError(422, field, rule)
    now = datetime.now(UTC)
    if as_of is not None and as_of > now:
        raise ApiError(422, "as_of", "must not be in the future")
    try:
        period = period_of(start, end, local_day(as_of or now))
    except InvalidInput as exc:
        raise ApiError(422, exc.field, exc.rule) from None
    try:
        report = await produce(
            s.pool,
            s.store,
            period,
            team=report_team(user, team),
            area=area,
            agency=agency,
            as_of=as_of,
            costs=s.report_costs,
            first_meeting_target=s.policy.first_meeting_working_days,
            programme=programme,
            compare_snapshot=compare_snapshot,
        )
    except InvalidInput as exc:
        raise ApiError(404, exc.field, exc.rule) from None
    log.info("report_read", actor=user.user_id, report="evaluation", episodes=report.episodes)
    if format == "csv":
        return Response(to_csv(report), media_type="text/csv")
    if format == "html":
        return Response(
            to_html(report), media_type="text/html", headers={"content-security-policy": CSP}
        )
    return report.as_dict()


class Snapshot(BaseModel):
    version: int
    programme: str
    period_from: str
    period_to: str
    as_of: str
    digest: str
    episodes: int


@router.get(
    "/reports/snapshots",
    response_model=list[Snapshot],
    responses=problems.responses(401, 403, 413, 422, 503),
)
async def report_snapshots(user: UserDep, s: ServicesDep) -> list[dict[str, Any]]:
    """The monthly snapshots of the evaluation report (newest last): each one's moment and
    digest; produce one again with ``?as_of=`` its moment, or compare with
    ``?compare_snapshot=`` its version."""
    if (refusal := report_refusal(user, None)) is not None:
        field, rule = refusal.split(": ", 1)
        raise ApiError(403, field, rule)
    from reports.snapshots import snapshots

    return [{k: v for k, v in snap.items() if k != "figures"} for snap in await snapshots(s.store)]
