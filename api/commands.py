"""Commands over HTTP: referrals, one operation per case command, and how their outcomes
(refusals, conflicts, the store or Temporal not answering) become problem responses."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, TypeVar, cast

import structlog
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, BeforeValidator, ValidationError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from api import problems
from api.deps import WRITE, CaseId, ServicesDep, UserDep, digits_only, no_case
from api.json_body import JsonBodyRoute
from api.models import ReferralIn
from api.problems import ApiError, split_message
from events.validation import first_problem
from workflows import client as cases
from workflows import commands as cmd
from workflows.case_io import CommandResult

log = structlog.get_logger(__name__)
T = TypeVar("T")
router = APIRouter(route_class=JsonBodyRoute)


def invalid(exc: ValidationError, prefix: str = "") -> ApiError:
    return ApiError(422, *first_problem(exc.errors(include_input=False), prefix, "body"))


def _split(exc: Exception) -> tuple[str, str]:
    return split_message(str(exc), "command")


async def run_command(coro: Awaitable[T]) -> T:
    """Await a command and turn its typed failures into problem responses."""
    try:
        return await coro
    except (cases.CaseAlreadyExists, cases.VersionConflict, cases.CommandConflict) as exc:
        raise ApiError(409, *_split(exc), said=exc.said) from None
    except cases.CommandForbidden as exc:
        raise ApiError(403, *_split(exc), said=exc.said) from None
    except cases.CommandTooLarge as exc:
        raise ApiError(413, *_split(exc), said=exc.said) from None
    except cases.CommandRefused as exc:
        raise ApiError(422, *_split(exc), said=exc.said) from None
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
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # Asked, and no answer came in time (no worker running, or a stop in progress): the
        # command may yet be recorded when a worker takes it up.
        log.warning("command_not_confirmed")
        raise ApiError(
            503,
            "command",
            "the command was not confirmed in time; it may still be recorded when the "
            "engine catches up, so look at the case before sending it again",
            {"Retry-After": "30"},
        ) from None


def temporal_down(exc: RPCError) -> ApiError:
    if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:  # up, and busy with this case
        log.warning("temporal_busy", status=str(exc.status))
        return ApiError(
            503,
            "temporal",
            "the workflow service is busy (too many requests for one case or team at once); "
            "nothing was recorded for this one: try again in a moment",
            {"Retry-After": "2"},
        )
    log.warning("temporal_unavailable", status=str(exc.status))
    return ApiError(
        503,
        "temporal",
        "the workflow service is not answering; try again shortly",
        {"Retry-After": "30"},
    )


@router.post(
    "/referrals",
    response_model=CommandResult,
    status_code=201,
    responses=problems.responses(401, 403, 409, 413, 415, 422, 503),
)
async def post_referral(body: ReferralIn, user: UserDep, s: ServicesDep) -> CommandResult:
    """Refer a family: opens a case (its workflow) with the caller as the actor."""
    if not user.can_refer:
        field, rule = str(user.referral_refusal("")).split(": ", 1)
        raise ApiError(403, field, rule)
    try:
        command = cmd.ReferFamily.model_validate(
            {**cast(BaseModel, body.referral).model_dump(), "actor": user.actor}
        )
    except ValidationError as exc:
        raise invalid(exc, "referral.") from None
    if (refusal := user.referral_refusal(command.team_id)) is not None:
        field, rule = refusal.split(": ", 1)
        raise ApiError(403, field, rule)
    return await run_command(
        cases.refer_family(
            s.temporal, body.case_id, command, task_queue=s.task_queue, policy=s.policy
        )
    )


ExpectedVersion = Annotated[
    int | None,
    BeforeValidator(digits_only),
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
        now_field = cmd.NOW_DEFAULTS.get(name)
        if now_field and values.get(now_field) is None:
            values[now_field] = datetime.now(UTC)
        try:
            command = model.model_validate(values)
        except ValidationError as exc:
            raise invalid(exc) from None
        return await run_command(cases.send_command(s.temporal, case_id, name, command))

    send.__annotations__["body"] = fields  # the body's schema in the OpenAPI is the command's
    if "_" in name:  # the CLI's spelling works too (not listed twice in the OpenAPI)
        app.post(
            f"/cases/{{case_id}}/commands/{name.replace('_', '-')}",
            response_model=CommandResult,
            include_in_schema=False,
        )(send)
    app.post(
        f"/cases/{{case_id}}/commands/{name}",
        response_model=CommandResult,
        responses=WRITE,
        summary=f"Command: {name}",
        description=(model.__doc__ or "").strip(),
        operation_id=f"command_{name}",
        tags=["commands"],
    )(send)


def add_command_routes(app: FastAPI) -> None:
    """Every command's own operation, then a refusal naming the commands for any other."""
    for name, model in cmd.COMMANDS.items():
        add_command_route(app, name, model)

    @app.post("/cases/{case_id}/commands/{name}", include_in_schema=False)
    async def unknown_command(case_id: str, name: str, user: UserDep) -> None:
        known = ", ".join(cmd.COMMANDS)
        raise ApiError(404, "name", f"unknown command {name[:64]!r} (one of {known})")
