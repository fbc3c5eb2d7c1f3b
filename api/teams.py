"""Teams over HTTP: an admin registers one; its supervisors move a leaver's families and
arrange temporary cover. Capacity is the team workflow's to check; its refusals name the
field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, ValidationError

from api.commands import invalid, run_command
from api.deps import WRITE, ServicesDep, UserDep
from api.json_body import JsonBodyRoute
from api.problems import ApiError
from events.bounds import CODE_PATTERN, Code, Day, Line, NewId, StrictBool
from events.calendar import local_day
from events.catalogue import ConsultationGiven, TeamCostsRecorded, TrainingGiven
from events.errors import InvalidInput
from events.vocabulary import LocalAuthority, Role
from identity.users import User
from reports import team_work
from workflows import client as cases
from workflows.team_io import (
    ChangeKeyWorker,
    HandOverLeaver,
    HandoverResult,
    RegisterTeam,
    SetCover,
)

registry = APIRouter(prefix="/teams", tags=["teams"], route_class=JsonBodyRoute)
work = APIRouter(prefix="/teams/{team_id}", tags=["teams"], route_class=JsonBodyRoute)
router = APIRouter(
    prefix="/teams/{team_id}/key-workers/{key_worker_id}", tags=["teams"], route_class=JsonBodyRoute
)
TeamId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]
KeyWorkerId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]


class LeaveIn(BaseModel):
    """The key worker leaves: they take no new families. With ``move_families`` (the
    default) their families move now, most urgent first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    move_families: StrictBool = True


class CoverIn(BaseModel):
    """Another key worker in the team covers until ``until`` (inclusive, at most 183 days)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cover_key_worker_id: Code
    until: Day


class CoverOut(BaseModel):
    team_version: int


class TeamIn(BaseModel):
    """A team to register: its id (what referrals and key workers name), its name and the
    local authority area it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team_id: NewId
    name: Line
    area: LocalAuthority


class TeamOut(BaseModel):
    team_id: str
    team_version: int


@registry.post("", response_model=TeamOut, status_code=201, responses=WRITE)
async def register(body: TeamIn, user: UserDep, s: ServicesDep) -> TeamOut:
    """Register a team (admins only; a second registration of one id is a conflict)."""
    if user.role is not Role.ADMIN:
        raise ApiError(403, "actor.role", "only an admin may register a team")
    command = RegisterTeam(actor=user.actor, name=body.name, area=body.area)
    version = await run_command(
        cases.register_team(
            s.temporal,
            body.team_id,
            command,
            task_queue=s.task_queue,
            policy=s.policy,
            pool=s.pool,
        )
    )
    return TeamOut(team_id=body.team_id, team_version=version)


def _supervises(user: User, team_id: str, act: str = "change its key workers") -> None:
    if (refusal := user.team_refusal(team_id, act)) is not None:
        raise ApiError(403, "team_id", refusal.split(": ", 1)[1])


@router.post("/leave", response_model=HandoverResult, responses=WRITE)
async def leave(
    team_id: TeamId, key_worker_id: KeyWorkerId, body: LeaveIn, user: UserDep, s: ServicesDep
) -> HandoverResult:
    """A key worker leaves the team; their families are moved (or stay, when asked)."""
    _supervises(user, team_id)
    change = ChangeKeyWorker(actor=user.actor, key_worker_id=key_worker_id, leaving=True)
    if body.move_families:
        leaver = HandOverLeaver(actor=user.actor, key_worker_id=key_worker_id)
        return await run_command(cases.hand_over_leaver(s.temporal, team_id, leaver))
    return await run_command(cases.leave_keeping_families(s.temporal, team_id, change))


@router.post("/cover", response_model=CoverOut, responses=WRITE)
async def cover(
    team_id: TeamId, key_worker_id: KeyWorkerId, body: CoverIn, user: UserDep, s: ServicesDep
) -> CoverOut:
    """Another key worker reads, acts on and is alerted about this key worker's families
    until the end of ``until``."""
    _supervises(user, team_id)
    try:
        change = SetCover(
            actor=user.actor,
            key_worker_id=key_worker_id,
            cover_key_worker_id=body.cover_key_worker_id,
            until=body.until,
        )
    except ValidationError as exc:
        raise invalid(exc) from None
    version = await run_command(cases.set_cover(s.temporal, team_id, change))
    return CoverOut(team_version=version)


class WorkOut(BaseModel):
    team_id: str
    version: int


async def _record_work(
    team_id: str, user: User, s: Any, event: ConsultationGiven | TrainingGiven
) -> WorkOut:
    _supervises(user, team_id, "record its work")
    if event.given_on > local_day(datetime.now(UTC)):
        raise ApiError(422, "given_on", "cannot be in the future")
    try:
        version = await team_work.record(s.store, team_id, event, user.actor)
    except team_work.AlreadyRecorded as exc:
        raise ApiError(409, exc.field, exc.rule) from None
    except InvalidInput as exc:
        raise ApiError(404, exc.field, exc.rule) from None
    return WorkOut(team_id=team_id, version=version)


@work.post("/consultations", response_model=WorkOut, status_code=201, responses=WRITE)
async def record_consultation(
    team_id: TeamId, body: ConsultationGiven, user: UserDep, s: ServicesDep
) -> WorkOut:
    """Record consultation or advice the team gave to another agency's practitioners (its
    own supervisor; a second record of the same id is a conflict). The body is the event
    itself: no family is named, nothing else is recorded."""
    return await _record_work(team_id, user, s, body)


@work.post("/training", response_model=WorkOut, status_code=201, responses=WRITE)
async def record_training(
    team_id: TeamId, body: TrainingGiven, user: UserDep, s: ServicesDep
) -> WorkOut:
    """Record training the team gave to the wider workforce (its own supervisor)."""
    return await _record_work(team_id, user, s, body)


@work.post("/costs", response_model=WorkOut, status_code=201, responses=WRITE)
async def record_costs(
    team_id: TeamId, body: TeamCostsRecorded, user: UserDep, s: ServicesDep
) -> WorkOut:
    """Record what the team cost over a stretch of days, from the council's finance records
    (an admin; amounts in pence, with their source). Stretches of one team never overlap: a
    record that corrects another names it in ``supersedes``. The report's cost per case
    comes from these records, live and as of any moment."""
    if user.role is not Role.ADMIN:
        raise ApiError(403, "actor.role", "only an admin records a team's costs")
    try:
        version = await team_work.record_costs(s.store, team_id, body, user.actor)
    except (team_work.AlreadyRecorded, team_work.Unacceptable) as exc:
        raise ApiError(409, exc.field, exc.rule) from None
    except InvalidInput as exc:
        raise ApiError(404, exc.field, exc.rule) from None
    return WorkOut(team_id=team_id, version=version)
