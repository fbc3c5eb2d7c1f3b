"""The evaluation report among the web pages (``/app/report``): the same report as
``ifss report`` and ``GET /reports/evaluation``, for supervisors (their team's), auditors
and admins, with a download of every table as CSV or JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from fastapi import Request
from markupsafe import Markup
from starlette.responses import Response

from events.calendar import SERVICE_ZONE, local_day
from events.errors import InvalidInput
from events.programmes import DEFAULT_PROGRAMME, PROGRAMMES
from events.vocabulary import Role
from projections import queries
from reports.evaluation import Period, Report
from reports.render import CHARTS, interval, shown, to_csv, to_json
from reports.service import produce, report_team
from web.render import render
from web.routes import need_role, page_for, router, svc_of
from web.words import N_

READERS = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def _choices(request: Request, user: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The report's settings from the query (each checked), and the errors: (field, words)."""
    q = request.query_params
    errors: list[tuple[str, str]] = []
    today = local_day(datetime.now(UTC))
    current = Period.financial_year(today).start.year
    year = current
    if q.get("year"):
        if re.fullmatch(r"[0-9]{4}", q["year"]) and 1900 <= int(q["year"]) <= 2099:
            year = int(q["year"])
        else:
            errors.append(("year", N_("Choose a financial year")))
    programme = q.get("programme") or DEFAULT_PROGRAMME
    if programme not in PROGRAMMES:
        errors.append(("programme", N_("Choose a programme")))
        programme = DEFAULT_PROGRAMME
    team = q.get("team") or None
    if user.role is Role.SUPERVISOR:
        if team is not None and team != user.team_id:  # as the API answers: 403
            errors.append(("team", N_("You see your own team's report only")))
        team = user.team_id
    as_of = None
    if q.get("as_of"):
        try:
            day = datetime.strptime(q["as_of"], "%Y-%m-%d").date()
            if not 1900 <= day.year <= 2100 or day > today:
                raise ValueError
            as_of = datetime.combine(day, time.max, SERVICE_ZONE).astimezone(UTC)
        except ValueError:
            errors.append(("as_of", N_("Enter a day that has passed, as YYYY-MM-DD")))
    years = list(range(current, current - 10, -1))
    return {
        "year": year,
        "years": years,
        "programme": programme,
        "team": team,
        "as_of": as_of,
        "as_of_text": q.get("as_of") or "",
    }, errors


async def _report(request: Request, user: Any, chosen: dict[str, Any]) -> Report:
    svc = svc_of(request)
    year = chosen["year"]
    period = Period.financial_year(datetime(year, 4, 1).date())
    return await produce(
        svc.pool,
        svc.store,
        period,
        team=report_team(user, chosen["team"]),
        as_of=chosen["as_of"],
        costs=svc.report_costs,
        first_meeting_target=svc.policy.first_meeting_working_days,
        programme=chosen["programme"],
    )


@router.get("/report")
async def report_page(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, *READERS)
    chosen, errors = _choices(request, user)
    report = None
    if not errors:
        try:
            report = await _report(request, user, chosen)
        except InvalidInput as exc:
            errors.append((exc.field, exc.rule))
    teams = [] if user.role is Role.SUPERVISOR else await queries.teams(svc_of(request).pool)
    charts = (
        {
            key: Markup(draw(report.table(key)))  # the charts escape every text they hold
            for key, draw in CHARTS.items()
            if any(t.key == key for t in report.tables)
        }
        if report
        else {}
    )
    return render(
        page,
        "report.html",
        report=report,
        chosen=chosen,
        errors=errors,
        teams=teams,
        programmes=sorted(PROGRAMMES.values(), key=lambda p: p.programme_id),
        charts=charts,
        shown=shown,
        interval=interval,
        query=str(request.url.query),
        status_code=422 if errors else 200,
    )


async def _download(request: Request, body: Any, media_type: str, filename: str) -> Response:
    page = await page_for(request)
    user = need_role(page, *READERS)
    chosen, errors = _choices(request, user)
    if errors:
        return Response(f"{errors[0][0]}: {errors[0][1]}\n", status_code=422)
    report = await _report(request, user, chosen)
    return Response(
        body(report),
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/report.csv")
async def report_csv(request: Request) -> Response:
    return await _download(request, to_csv, "text/csv", "ifss-report.csv")


@router.get("/report.json")
async def report_json(request: Request) -> Response:
    return await _download(request, to_json, "application/json", "ifss-report.json")
