"""Administration over HTTP (role ``admin``): users, deactivation, API tokens and alert
routes. Each act is recorded in the ``admin`` stream with the admin who did it, in the same
transaction as the change (``identity.journal``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict

from api import problems
from api.commands import run_command
from api.deps import ServicesDep, UserDep
from api.json_body import JsonBodyRoute
from api.problems import ApiError
from events.bounds import CODE_PATTERN, Code, Line, StrictBool
from events.catalogue import (
    AlertRoutesChanged,
    TokenCreated,
    TokenRevoked,
    UserActiveChanged,
    UserAdded,
)
from events.errors import InvalidInput
from events.store import team_known
from events.vocabulary import Role
from identity.journal import recorded
from identity.users import (
    User,
    add_user,
    create_token,
    key_worker_teams,
    revoke_token,
    set_alert_routes,
    set_user_active,
    token_id_of,
)
from workflows import client as cases

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute)
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]
TokenId = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN)]
ADMIN = problems.responses(401, 403, 404, 409, 413, 422, 503)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: Code
    role: Role
    team_id: Code | None = None


class UserOut(BaseModel):
    user_id: str
    role: str
    team_id: str | None
    active: bool = True


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    active: StrictBool


class ActiveOut(BaseModel):
    active: bool
    # Deactivated: the teams that now give them no new families (their families stay with
    # them until a supervisor moves them: POST /teams/{team_id}/key-workers/{id}/leave).
    left_teams: list[str] = []


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Line | None = None


class TokenOut(BaseModel):
    token_id: str
    user_id: str
    token: str | None = None  # shown once, when created


class RoutesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: Line | None = None
    email: Line | None = None
    none: StrictBool = False


class RoutesOut(BaseModel):
    user_id: str
    channels: list[str]


def _admin(user: User) -> None:
    if user.role is not Role.ADMIN:
        raise ApiError(403, "actor.role", "only an admin may change users, tokens or alert routes")


def _refused(exc: InvalidInput) -> ApiError:
    missing = exc.rule.startswith("no user") or exc.rule.startswith("no token")
    taken = "already" in exc.rule
    return ApiError(404 if missing else 409 if taken else 422, exc.field, exc.rule)


@router.post("/users", response_model=UserOut, status_code=201, responses=ADMIN)
async def post_user(body: UserIn, user: UserDep, s: ServicesDep) -> UserOut:
    """Add a user (of a registered team, unless an auditor or admin)."""
    _admin(user)

    async def act(pool: Any) -> User:
        return await add_user(
            pool, body.user_id, body.role.value, body.team_id,
            team_known=lambda t: team_known(pool, t),
        )  # fmt: skip

    try:
        added = await recorded(
            s.store,
            user.actor,
            act,
            lambda u: UserAdded(user_id=u.user_id, role=u.role, team_id=u.team_id),
        )
    except InvalidInput as exc:
        raise _refused(exc) from None
    return UserOut(user_id=added.user_id, role=added.role.value, team_id=added.team_id)


@router.post("/users/{user_id}/active", response_model=ActiveOut, responses=ADMIN)
async def post_active(user_id: UserId, body: ActiveIn, user: UserDep, s: ServicesDep) -> ActiveOut:
    """Deactivate a user (every token revoked and web session ended, refused from the next
    request; as a key worker, no new families: each of their teams records them leaving
    first) or reactivate one (who needs a new token)."""
    _admin(user)
    left: list[str] = []
    if not body.active:
        teams = await key_worker_teams(s.pool, user_id)
        if teams:
            left = await run_command(
                cases.stop_allocating_to(s.temporal, teams, user_id, user.actor)
            )
    try:
        await recorded(
            s.store,
            user.actor,
            lambda pool: set_user_active(pool, user_id, body.active),
            lambda _: UserActiveChanged(user_id=user_id, active=body.active),
        )
    except InvalidInput as exc:
        raise _refused(exc) from None
    return ActiveOut(active=body.active, left_teams=left)


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=201, responses=ADMIN)
async def post_token(user_id: UserId, body: TokenIn, user: UserDep, s: ServicesDep) -> TokenOut:
    """Issue an API token to a user: the answer shows it once (only its hash is kept)."""
    _admin(user)
    try:
        token = await recorded(
            s.store,
            user.actor,
            lambda pool: create_token(pool, user_id, body.label),
            lambda t: TokenCreated(user_id=user_id, token_id=token_id_of(t)),
        )
    except InvalidInput as exc:
        raise _refused(exc) from None
    return TokenOut(token_id=token_id_of(token), user_id=user_id, token=token)


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut, responses=ADMIN)
async def post_revoke(
    token_id: TokenId, user: UserDep, s: ServicesDep, request: Request
) -> TokenOut:
    """Revoke a token now (it takes no body)."""
    _admin(user)
    if (await request.body()).strip() not in (b"", b"{}"):
        raise ApiError(422, "body", "revoking takes no body (or an empty object)")
    try:
        revoked = await recorded(
            s.store,
            user.actor,
            lambda pool: revoke_token(pool, token_id),
            lambda r: TokenRevoked(user_id=r.user_id, token_id=r.token_id),
        )
    except InvalidInput as exc:
        raise _refused(exc) from None
    return TokenOut(token_id=revoked.token_id, user_id=revoked.user_id)


@router.put("/users/{user_id}/alert-routes", response_model=RoutesOut, responses=ADMIN)
async def put_routes(user_id: UserId, body: RoutesIn, user: UserDep, s: ServicesDep) -> RoutesOut:
    """Where the user is sent alerts (``none``: the inbox only)."""
    _admin(user)
    for channel, given, setting in (
        ("webhook", body.webhook, "IFSS_WEBHOOK_SECRET"),
        ("email", body.email, "IFSS_SMTP_HOST"),
    ):
        if given is not None and channel not in s.delivery_channels:
            raise ApiError(422, channel, f"set {setting} first: nothing could be delivered")
    try:
        routes = await recorded(
            s.store,
            user.actor,
            lambda pool: set_alert_routes(
                pool, user_id, webhook=body.webhook, email=body.email, clear=body.none
            ),
            lambda rs: AlertRoutesChanged(user_id=user_id, channels=[c for c, _ in rs]),
        )
    except InvalidInput as exc:
        raise _refused(exc) from None
    return RoutesOut(user_id=user_id, channels=[c for c, _ in routes])
