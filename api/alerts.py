"""The alert inbox over HTTP: list one's alerts, acknowledge one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import problems
from api.commands import _split, run_command
from api.deps import WRITE, AlertRef, Services, ServicesDep, UserDep, logged_list
from api.json_body import JsonBodyRoute
from api.models import Alert
from api.problems import ApiError
from identity.users import User
from projections import queries
from workflows import client as cases

router = APIRouter(route_class=JsonBodyRoute)


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


@router.get(
    "/alerts", response_model=list[Alert], responses=problems.responses(401, 403, 413, 422, 503)
)
async def get_alerts(
    user: UserDep,
    s: ServicesDep,
    all: Annotated[bool, Query(description="Acknowledged and resolved ones too.")] = False,
) -> list[dict[str, Any]]:
    """Your alerts (a case manager's own; a supervisor's team's), open ones first."""
    return await logged_list(s, user, "alerts", await visible_alerts(s, user, include_closed=all))


@router.post("/alerts/{alert_ref}/acknowledge", response_model=Alert, responses=WRITE)
async def acknowledge(
    alert_ref: AlertRef, user: UserDep, s: ServicesDep, request: Request
) -> dict[str, Any]:
    """Acknowledge one of your alerts: it leaves the open list and will not escalate. It
    takes no body."""
    if (await request.body()).strip() not in (b"", b"{}"):
        raise ApiError(422, "body", "acknowledging takes no body (or an empty object)")
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
