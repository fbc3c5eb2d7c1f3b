"""The reading pages: My work, the cases list, the case page (with its CSV), the team."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from fastapi import Request
from starlette.responses import Response

from api.problems import ApiError
from events.keys import KeyProblem
from events.policy import ProgrammePolicy
from events.records import RecordedEvent
from events.vocabulary import AccessPurpose, Role
from projections import queries
from web.forms import LIVE_FIELDS, TITLES, day_parts, joined_day, offered, parts_of
from web.i18n import LONDON
from web.render import Page, render
from web.routes import need_role, page_for, router, svc_of
from web.words import N_
from workflows import client as cases
from workflows.case_io import view_of
from workflows.lifecycle.evolve import evolve
from workflows.lifecycle.imports import fresh_state

log = structlog.get_logger(__name__)
ACCESS_SHOWN = 100  # the case page shows the latest reads; the API and CLI give them all
PHASE_ORDER = ("referred", "accepted", "waitlisted", "allocated", "intensive", "follow_up", "ended")


def today_in_wales() -> date:
    return datetime.now(LONDON).date()


def next_deadline(case: dict[str, Any]) -> tuple[str, date | datetime] | None:
    """The next thing due on a case, by its phase (what its key worker must do next)."""
    phase = case.get("phase")
    if phase == "allocated" and case.get("first_meeting_due_at"):
        return "first_meeting", case["first_meeting_due_at"]
    if phase == "intensive" and case.get("intensive_ends_on"):
        return "intensive_ends", case["intensive_ends_on"]
    if phase == "follow_up" and case.get("next_review_due_on"):
        return "review", case["next_review_due_on"]
    return None


async def _listed(page: Page, view: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    user = page.user
    assert user is not None
    return await queries.record_list_read(
        svc_of(page.request).store, user.actor, view=view, interface="web", rows=rows
    )


@router.get("/my-work")
async def my_work(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.CASE_MANAGER, Role.SUPERVISOR)
    svc = svc_of(request)
    mine = await queries.list_cases(svc.pool, key_worker_id=user.user_id, with_cover=True)
    mine = [c for c in mine if c["phase"] != "ended"]
    await _listed(page, "cases", mine)
    by_phase: dict[str, list[dict[str, Any]]] = {}
    for case in mine:
        case["next"] = next_deadline(case)
        by_phase.setdefault(case["phase"], []).append(case)
    alerts = await queries.alerts_for_user(svc.pool, user.user_id, user.role.value, user.team_id)
    await _listed(page, "alerts", alerts)
    soon = today_in_wales() + timedelta(days=30)
    reviews = await queries.reviews_due(svc.pool, soon, key_worker_id=user.user_id, with_cover=True)
    await _listed(page, "reviews", reviews)
    phases = [(p, by_phase[p]) for p in PHASE_ORDER if p in by_phase]
    return render(
        page, "my_work.html", phases=phases, alerts=alerts, reviews=reviews, count=len(mine)
    )


@router.get("/cases")
async def case_list(request: Request, phase: str | None = None) -> Response:
    page = await page_for(request)
    user = page.user
    assert user is not None
    svc = svc_of(request)
    limits = user.read_scope()
    rows = await queries.list_cases(
        svc.pool,
        phase=phase if phase in PHASE_ORDER else None,
        key_worker_id=limits.get("key_worker_id"),
        team_id=limits.get("team_id"),
        with_cover=user.reads_cover,
        limit=200,
    )
    await _listed(page, "cases", rows)
    for row in rows:
        row["next"] = next_deadline(row)
    return render(page, "cases.html", rows=rows, phase=phase, phases=PHASE_ORDER)


def _as_of(raw: str | None) -> datetime | None:
    """``?as_of=2026-03-12``: as known at the end of that day in Wales."""
    if not raw:
        return None
    try:
        if len(raw) != 10:  # a day and nothing else ("2026-03-123" is not the 12th)
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "as_of", N_("a day, as 2026-03-12")) from None
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise ApiError(422, "as_of", N_("a day between 2000 and 2100"))
    return datetime.combine(day, time(23, 59, 59), LONDON).astimezone(UTC)


async def readable(
    page: Page, case_id: str, view: str, as_of: datetime | None = None
) -> dict[str, Any]:
    """The case's summary if the reader may see it (the read recorded, refusals too)."""
    user = page.user
    assert user is not None
    svc = svc_of(page.request)
    if len(case_id) > 64:
        raise ApiError(404, "case_id", "no such case")
    summary = await queries.case_summary(svc.pool, case_id)
    if summary is None:
        raise ApiError(404, "case_id", f"no case {case_id}")
    allowed = user.can_read(summary) and (view != "access_log" or user.can_see_access_logs)
    await queries.record_access(
        svc.store, case_id, user.actor, view=view, interface="web", as_of=as_of, allowed=allowed
    )
    if not user.can_read(summary):
        raise ApiError(404, "case_id", f"no case {case_id}")  # as if it did not exist
    return summary


def trajectories(events: list[Any]) -> list[dict[str, Any]]:
    """Per goal: baseline, each score (progress, closing) and each review's rating, in order."""
    goals: dict[str, dict[str, Any]] = {}
    for event in events:
        data = event.data
        if event.type == "GoalAgreed":
            goals[data["goal_id"]] = {
                "goal_id": data["goal_id"],
                "category": data.get("category"),
                "target": data.get("target"),
                "points": [("baseline", event.occurred_at, data.get("baseline"))],
                "ratings": [],
            }
        elif event.type == "GoalsScored":
            for s in data.get("scores") or []:
                if s["goal_id"] in goals:
                    goals[s["goal_id"]]["points"].append(
                        (data.get("stage"), event.occurred_at, s["score"])
                    )
        elif event.type == "IntensivePhaseClosed":
            for s in data.get("closing_scores") or []:
                if s["goal_id"] in goals:
                    goals[s["goal_id"]]["points"].append(("closing", event.occurred_at, s["score"]))
        elif event.type == "FollowUpReviewCompleted":
            for r in data.get("ratings") or []:
                if r["goal_id"] in goals:
                    goal = goals[r["goal_id"]]
                    goal["ratings"].append((data.get("review_id"), event.occurred_at, r["rating"]))
                    if r.get("score") is not None:
                        goal["points"].append(("review", event.occurred_at, r["score"]))
    return list(goals.values())


def chart(points: list[tuple[str, Any, int | None]], target: int | None) -> dict[str, Any]:
    """Coordinates of a small line chart (scores 0-10 over the recorded points)."""
    scored = [(label, p) for label, _, p in points if isinstance(p, int)]
    width, height, pad = 240, 100, 10
    step = (width - 2 * pad) / max(len(scored) - 1, 1)
    coords = [
        (round(pad + i * step, 1), round(height - pad - (score / 10) * (height - 2 * pad), 1))
        for i, (_, score) in enumerate(scored)
    ]
    target_y = (
        round(height - pad - (target / 10) * (height - 2 * pad), 1)
        if isinstance(target, int)
        else None
    )
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{x},{y}" for x, y in coords),
        "dots": coords,
        "target_y": target_y,
    }


def view_as_of(
    case_id: str, events: list[RecordedEvent], policy: ProgrammePolicy
) -> dict[str, Any] | None:
    """The case's state folded from ``events`` (those recorded by the "as of" moment) with
    the workflow's own rules: its reviews and boosters as they stood then (their dates are
    the events' own; ``policy``, the service's, only fills what no event recorded).
    ``None`` when an event cannot be folded (the sections are then left out, never shown
    as now)."""
    state = fresh_state(case_id, policy)
    try:
        for event in events:
            state = evolve(state, event.event, event.occurred_at)
    except Exception as exc:
        log.warning("as_of_fold_failed", case_id=case_id, error=type(exc).__name__)
        return None
    return view_of(state).model_dump()


def alert_as_of(alert: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """An alert as it stood at ``moment``: what happened to it later not yet shown."""
    shown = dict(alert)
    for at, then in (
        ("acknowledged_at", ("acknowledged_at", "acknowledged_by")),
        ("escalated_at", ("escalated_at", "escalation_reason")),
        ("resolved_at", ("resolved_at", "resolution")),
    ):
        if shown.get(at) is not None and shown[at] > moment:
            shown.update(dict.fromkeys(then))
    return shown


@router.get("/cases/{case_id}")
async def case_page(
    request: Request,
    case_id: str,
    as_of: str | None = None,
    purpose: str | None = None,
    reason: str | None = None,
) -> Response:
    page = await page_for(request)
    user = page.user
    assert user is not None
    svc = svc_of(request)
    if as_of is None:  # the page's own day boxes (?as_of-day=12&as_of-month=3&as_of-year=2026)
        as_of = joined_day(parts_of(request.query_params, "as_of"))
    moment = _as_of(as_of)
    summary = await readable(page, case_id, "history", moment)
    if moment is not None:
        entries, then = await queries.history_as_of(svc.store, case_id, moment)
        if then is None:  # never the case as it is now in place of what was known then
            raise ApiError(
                422, "as_of", N_("nothing was recorded about this case by the end of that day")
            )
        summary = then
    else:
        entries = await queries.history(svc.pool, case_id)
    events = await svc.store.read_stream(f"case-{case_id}")
    if moment is not None:
        events = [e for e in events if e.recorded_at <= moment]
    goals = trajectories(events)
    for goal in goals:
        goal["chart"] = chart(goal["points"], goal.get("target"))
    view = None
    if moment is not None:  # reviews and boosters as recorded by then, from the same events
        view = view_as_of(case_id, events, svc.policy)
    else:
        try:
            view = (await cases.case_view(svc.temporal, case_id)).model_dump()
        except Exception:  # no workflow (or Temporal down): the sections it feeds are left out
            view = None
    alerts = (
        await queries.alerts_of_case(svc.pool, case_id)
        if user.role is not Role.BUSINESS_SUPPORT
        else []
    )
    if moment is not None:
        alerts = [alert_as_of(a, moment) for a in alerts if a["raised_at"] <= moment]
    access = None
    if user.can_see_access_logs:
        await queries.record_access(
            svc.store, case_id, user.actor, view="access_log", interface="web"
        )
        access = await queries.access_log(svc.pool, case_id, latest=ACCESS_SHOWN)
    personal, personal_error = None, None
    if purpose is not None and not _from_this_site(request):
        # A link from elsewhere (an email, another site) would open the family's details
        # with a purpose and a reason the reader never chose, and log them as theirs.
        _ = page.language._
        personal_error = _(
            "Open the family's details with the form on this page: a link cannot open them"
        )
    elif purpose is not None:
        personal, personal_error = await _personal(page, summary, purpose, reason)
    live = {**summary, **{k: view[k] for k in LIVE_FIELDS if k in view}} if view else summary
    commands = (
        offered(live["phase"], user.role.value) if user.can_command(live) and not moment else []
    )
    return render(
        page,
        "case.html",
        case=summary,
        view=view,
        entries=entries,
        goals=goals,
        alerts=alerts,
        access=access,
        commands=commands,
        as_of=as_of if moment else None,
        as_of_day=moment,
        as_of_parts=day_parts(moment.astimezone(LONDON).date()) if moment else {},
        titles=TITLES,
        purposes=[p.value for p in AccessPurpose],
        personal=personal,
        personal_error=personal_error,
        may_open_personal=user.personal_refusal(summary, reason="x") is None,
        purpose=purpose,
    )


def _from_this_site(request: Request) -> bool:
    """The request comes from one of this site's own pages (the browser says so in
    ``Sec-Fetch-Site``; a client that says nothing, not being a browser, is taken at its
    word)."""
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


async def _personal(
    page: Page, summary: dict[str, Any], purpose: str, reason: str | None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    user = page.user
    assert user is not None
    svc = svc_of(page.request)
    _ = page.language._
    if purpose not in {p.value for p in AccessPurpose}:
        return None, _("Choose why you are opening the family's details")
    if reason is not None and (len(reason) > 200 or not reason.strip() or not reason.isprintable()):
        return None, _("The reason must be one line of at most 200 characters")
    refusal = user.personal_refusal(summary, reason=reason or None)
    await queries.record_access(
        svc.store,
        summary["case_id"],
        user.actor,
        view="personal",
        interface="web",
        allowed=refusal is None,
        purpose=purpose,
        reason=reason or None,
    )
    if refusal is not None:
        return None, refusal.split(": ", 1)[-1]
    try:
        return await queries.personal_record(svc.store, summary["case_id"]), None
    except KeyProblem as exc:
        return None, str(exc)


@router.get("/cases/{case_id}/timeline.csv")
async def timeline_csv(request: Request, case_id: str) -> Response:
    page = await page_for(request)
    await readable(page, case_id, "history")
    entries = await queries.history(svc_of(request).pool, case_id)
    return Response(
        queries.history_csv(entries),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{case_id}-timeline.csv"'},
    )


def expected_allocations(
    waiting: list[dict[str, Any]], cases_now: list[dict[str, Any]], free: int
) -> dict[str, date | None]:
    """An estimate of when each waiting family gets a key worker: at once while there is
    space, then as each family now in its intensive phase is due to finish."""
    endings = sorted(
        c["intensive_ends_on"]
        for c in cases_now
        if c["phase"] == "intensive" and c.get("intensive_ends_on")
    )
    out: dict[str, date | None] = {}
    for index, family in enumerate(waiting):
        ahead = index - free
        out[family["case_id"]] = (
            today_in_wales() if ahead < 0 else (endings[ahead] if ahead < len(endings) else None)
        )
    return out


@router.get("/team")
async def team_page(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.SUPERVISOR)
    svc = svc_of(request)
    team = user.team_id
    caseload = await queries.caseload(svc.pool, team)
    waiting = await queries.waitlist(svc.pool, team, today_in_wales())
    await _listed(page, "waitlist", waiting)
    team_cases = await queries.list_cases(svc.pool, team_id=team, limit=2000)
    overdue = [
        c
        for c in team_cases
        if c["first_meeting_overdue"]
        or c["no_contact_overdue"]
        or c["intensive_overrun"]
        or c["review_overdue"]
    ]
    await _listed(page, "cases", overdue)
    free = sum(
        max((k["caseload_limit"] or 0) - k["in_intensive_phase"], 0)
        for k in caseload
        if k["active"]
    )
    expected = expected_allocations(waiting, team_cases, free)
    alerts = await queries.alerts_for_user(svc.pool, user.user_id, user.role.value, team)
    escalated = [a for a in alerts if a.get("escalated_at")]
    await _listed(page, "alerts", alerts)
    return render(
        page,
        "team.html",
        team=team,
        caseload=caseload,
        waiting=waiting,
        expected=expected,
        overdue=overdue,
        escalated=escalated,
        alerts=alerts,
    )
