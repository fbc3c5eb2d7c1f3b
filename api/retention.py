"""Retention and erasure over HTTP (admins only): the families whose retention has ended,
and the erasure of one (refused, and recorded as refused, while the record must be kept)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from api import problems
from api.deps import ServicesDep, UserDep
from api.json_body import JsonBodyRoute
from api.problems import ApiError
from events.bounds import CODE_PATTERN
from events.calendar import local_day
from events.retention import ErasureRefused, NoSuchFamily, erase_family, families_due
from events.vocabulary import Role
from identity.users import User

router = APIRouter(tags=["retention"], route_class=JsonBodyRoute)
FamilyId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]


class DueOut(BaseModel):
    as_of: str
    families: list[str]


class ErasedOut(BaseModel):
    family_id: str
    case_ids: list[str]
    rule: str
    keys_destroyed: int


def _admin(user: User) -> None:
    if user.role is not Role.ADMIN:
        raise ApiError(403, "actor.role", "only an admin may see or erase families' data")


@router.get(
    "/retention/due", response_model=DueOut, responses=problems.responses(401, 403, 413, 422, 503)
)
async def retention_due(user: UserDep, s: ServicesDep) -> DueOut:
    """Families whose retention has ended and whose personal data is not erased yet."""
    _admin(user)
    today = local_day(datetime.now(UTC))
    return DueOut(as_of=today.isoformat(), families=await families_due(s.store, s.policy, today))


@router.post(
    "/families/{family_id}/erasure",
    response_model=ErasedOut,
    responses=problems.responses(401, 403, 404, 409, 413, 422, 503),
)
async def erase(family_id: FamilyId, user: UserDep, s: ServicesDep, request: Request) -> ErasedOut:
    """Erase the family's personal data (its keys destroyed; coded facts kept). Refused with
    409, naming the rule and the date, while its retention has not ended (the request is
    recorded). It takes no body."""
    _admin(user)
    if (await request.body()).strip() not in (b"", b"{}"):
        raise ApiError(422, "body", "an erasure takes no body (or an empty object)")
    try:
        erased = await erase_family(s.store, family_id, user.actor, s.policy)
    except NoSuchFamily as exc:
        raise ApiError(404, "family_id", str(exc).removeprefix("family_id: ")) from None
    except ErasureRefused as exc:
        raise ApiError(409, "family_id", str(exc).removeprefix("family_id: ")) from None
    return ErasedOut(
        family_id=erased.family_id,
        case_ids=erased.case_ids,
        rule=erased.rule,
        keys_destroyed=erased.keys_destroyed,
    )
