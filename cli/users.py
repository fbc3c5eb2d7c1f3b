"""`ifss users add|deactivate|activate|set-alerts`, `ifss tokens create|list|revoke`, `ifss api`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console

from cli.cases import err, fail
from cli.readers import _setup, with_store
from events.catalogue import (
    AlertRoutesChanged,
    DomainEvent,
    TokenCreated,
    TokenRevoked,
    UserActiveChanged,
    UserAdded,
    UserPasswordChanged,
    UserSignInLinked,
)
from events.envelope import Actor
from events.errors import InvalidInput

users_app = typer.Typer(
    help="People who use the pages and the API, with a role and a team.", no_args_is_help=True
)
tokens_app = typer.Typer(help="API tokens (stored hashed; shown once).", no_args_is_help=True)
console = Console(soft_wrap=True)  # messages: one line each, however narrow the output
T = TypeVar("T")


def on_database(action: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run ``action`` on the stack's database; bad input exits 2 with its message."""
    _, dsn = _setup()
    try:
        return with_store(dsn, lambda pool, _: action(pool))
    except InvalidInput as exc:
        raise fail(str(exc)) from None


AdminOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="The admin acting, USER:admin (or IFSS_TOKEN). Unset: the local operator on "
        "this server, recorded as operator@HOST.",
    ),
]


def admin_actor(value: str | None) -> Actor:
    """Who an administrative act is recorded as: an existing, active admin (``--as`` or
    ``IFSS_TOKEN``), else the local operator of this server, recorded as such."""
    import re
    import socket

    from cli.cases import confirm, parse_actor
    from events.vocabulary import Role

    settings, _ = _setup()
    if value or settings.token is not None:
        user = confirm(parse_actor(value, settings), settings)
        if user.role is not Role.ADMIN:
            raise fail("actor.role: only an admin may change users, tokens or alert routes")
        return user.actor
    host = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname())[:60] or "localhost"
    return Actor(id=f"operator@{host}", role=Role.ADMIN)


def administer(
    actor: Actor,
    act: Callable[[asyncpg.Pool], Awaitable[T]],
    event_of: Callable[[T], DomainEvent],
) -> T:
    """Run an administrative act and record it in the admin stream, together."""
    from identity.journal import recorded

    _, dsn = _setup()
    try:
        return with_store(dsn, lambda _, store: recorded(store, actor, act, event_of))
    except InvalidInput as exc:
        raise fail(str(exc)) from None


@users_app.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="The user's id, e.g. cm-jones.")],
    role: Annotated[
        str,
        typer.Option(help="case_manager, supervisor, business_support, auditor or admin."),
    ],
    team: Annotated[str | None, typer.Option(help="Their team (all but auditor/admin).")] = None,
    actor: AdminOption = None,
) -> None:
    """Add a user (of a registered team, unless an auditor or admin); recorded."""
    from events.store import team_known
    from identity.users import User, add_user

    async def add(pool: asyncpg.Pool) -> User:
        return await add_user(pool, user_id, role, team, team_known=lambda t: team_known(pool, t))

    user = administer(
        admin_actor(actor),
        add,
        lambda u: UserAdded(user_id=u.user_id, role=u.role, team_id=u.team_id),
    )
    console.print(
        f"user {user.user_id}: {user.role.value}"
        + (f", team {user.team_id}" if user.team_id else "")
    )


@users_app.command("deactivate")
def users_deactivate(
    user_id: Annotated[str, typer.Argument(help="Who left or must lose access.")],
    actor: AdminOption = None,
) -> None:
    """Deactivate a user: all their API tokens are revoked and web sessions ended (refused
    from the next request, for good) and, as a key worker, their teams give them no new
    families."""
    _set_active(user_id, False, actor)


@users_app.command("activate")
def users_activate(
    user_id: Annotated[str, typer.Argument(help="Whom to let back in.")],
    actor: AdminOption = None,
) -> None:
    """Reactivate a user (their old tokens stay revoked: issue a new one)."""
    _set_active(user_id, True, actor)


def _set_active(user_id: str, active: bool, actor: str | None) -> None:
    from identity.users import set_user_active

    who = admin_actor(actor)
    left = [] if active else _stop_allocating_to(user_id, who)
    administer(
        who,
        lambda pool: set_user_active(pool, user_id, active),
        lambda _: UserActiveChanged(user_id=user_id, active=active),
    )
    console.print(f"user {user_id}: {'active' if active else 'inactive'}")
    for team_id in left:
        console.print(
            f"team {team_id}: {user_id} takes no new families; theirs stay with them until a "
            f"supervisor moves them (ifss team leave {team_id} {user_id})",
            highlight=False,
        )


def _stop_allocating_to(user_id: str, actor: Actor) -> list[str]:
    """Before a user is deactivated: each team where they are a key worker records them
    leaving (as through the API). Temporal is needed only when there is such a team."""
    from cli.cases import run_with_client
    from identity.users import key_worker_teams
    from workflows.client import stop_allocating_to

    settings, dsn = _setup()
    teams = with_store(dsn, lambda pool, _: key_worker_teams(pool, user_id))
    if not teams:
        return []
    return run_with_client(
        settings, lambda rt: stop_allocating_to(rt.temporal, teams, user_id, actor)
    )


@users_app.command("password")
def users_password(
    user_id: Annotated[str, typer.Argument(help="Whose password (for the web pages).")],
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input (scripts).")
    ] = False,
    actor: AdminOption = None,
) -> None:
    """Set a user's password for the web pages (argon2-hashed; their web sessions end)."""
    import sys

    from identity.passwords import check_password, set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    administer(
        admin_actor(actor),
        lambda pool: set_password(pool, user_id, password),
        lambda _: UserPasswordChanged(user_id=user_id),
    )
    console.print(f"user {user_id}: password set")


@users_app.command("link")
def users_link(
    user_id: Annotated[str, typer.Argument(help="Who signs in with the council's account.")],
    subject: Annotated[
        str | None,
        typer.Option(help="The OpenID Connect subject (`sub` claim) of their council account."),
    ] = None,
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove the link.")] = False,
    actor: AdminOption = None,
) -> None:
    """Link a user to their council account (OpenID Connect sign-in), or unlink them."""
    from identity.passwords import link_sign_in

    if (subject is not None) == unlink:
        raise fail("subject: give --subject SUB, or --unlink")
    administer(
        admin_actor(actor),
        lambda pool: link_sign_in(pool, user_id, None if unlink else subject),
        lambda _: UserSignInLinked(user_id=user_id, linked=not unlink),
    )
    console.print(
        f"user {user_id}: " + ("unlinked" if unlink else "linked to their council account")
    )


@users_app.command("set-alerts")
def users_set_alerts(
    user_id: Annotated[str, typer.Argument(help="Whose alert channels.")],
    webhook: Annotated[
        str | None, typer.Option(help="POST each alert here (signed; http:// or https://).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Email each alert here.")] = None,
    none: Annotated[
        bool, typer.Option("--none", help="No delivery: the inbox (`ifss alerts`) only.")
    ] = False,
    actor: AdminOption = None,
) -> None:
    """Set where a user is sent their alerts (webhook and/or email)."""
    from identity.users import set_alert_routes

    settings, _ = _setup()
    # A route nobody can deliver on would stop the next `ifss dev` or worker from starting.
    if webhook is not None and settings.webhook_secret is None:
        raise fail("webhook: set IFSS_WEBHOOK_SECRET first (every webhook is signed with it)")
    if email is not None and settings.smtp_host is None:
        raise fail("email: set IFSS_SMTP_HOST first (the server alert email goes through)")

    routes = administer(
        admin_actor(actor),
        lambda pool: set_alert_routes(pool, user_id, webhook=webhook, email=email, clear=none),
        lambda rs: AlertRoutesChanged(user_id=user_id, channels=[c for c, _ in rs]),
    )
    if not routes:
        console.print(f"{user_id}: alerts in the inbox only")
    for channel, address in routes:
        console.print(f"{user_id}: {channel} {address}")


@tokens_app.command("create")
def tokens_create(
    user_id: Annotated[str, typer.Argument(help="Whose token.")],
    label: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    actor: AdminOption = None,
) -> None:
    """Create an API token for a user and print it (only its hash is kept); recorded."""
    from identity.users import create_token, token_id_of

    token = administer(
        admin_actor(actor),
        lambda pool: create_token(pool, user_id, label),
        lambda t: TokenCreated(user_id=user_id, token_id=token_id_of(t)),
    )
    print(token)


@tokens_app.command("list")
def tokens_list(
    user_id: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """API tokens: id, user, label, created, revoked (never the secret)."""
    from rich.table import Table

    from identity.users import list_tokens

    tokens = on_database(lambda pool: list_tokens(pool, user_id))
    table = Table("token id", "user", "label", "created", "revoked", title="API tokens")
    for t in tokens:
        table.add_row(
            t.token_id,
            t.user_id,
            t.label or "",
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id (`ifss tokens list`) or the token.")],
    actor: AdminOption = None,
) -> None:
    """Revoke an API token now: the next request with it is refused (401); recorded."""
    from identity.users import revoke_token

    revoked = administer(
        admin_actor(actor),
        lambda pool: revoke_token(pool, token),
        lambda r: TokenRevoked(user_id=r.user_id, token_id=r.token_id),
    )
    console.print(f"revoked token {revoked.token_id} of {revoked.user_id}")


def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    from api.app import ApiNotListening, serve_api
    from workers.checks import ConfigurationError
    from workers.root import runtime, services_of

    settings, dsn = _setup()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runtime(settings, database_url=dsn, policy=True, temporal=True) as rt:
            await serve_api(
                settings.api_host,
                settings.api_port,
                stop,
                services_of(rt),
                grace_seconds=settings.shutdown_grace_seconds,
                max_body_bytes=settings.api_max_body_bytes,
            )

    try:
        asyncio.run(main())
    except (ConfigurationError, ApiNotListening) as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # Temporal not answering: the engine, not the input
        err.print(f"[red]failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


def demo(
    families: Annotated[int, typer.Option(min=1, max=1000, help="How many families.")] = 100,
    seed: Annotated[int, typer.Option(help="Same seed, same families.")] = 7,
    goals_maintained: Annotated[
        float, typer.Option(min=0, max=1, help="Share of goals exceeded or maintained at a review.")
    ] = 0.81,
    substance_maintained: Annotated[
        float, typer.Option(min=0, max=1, help="The same for substance-related goals.")
    ] = 0.79,
    together: Annotated[
        float, typer.Option(min=0, max=1, help="Share of families staying together at a review.")
    ] = 0.76,
    unplanned: Annotated[
        float, typer.Option(min=0, max=1, help="Share of intensive phases closed unplanned.")
    ] = 0.15,
    re_referrals: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Share of imported families who had an earlier episode there."
        ),
    ] = 0.1,
) -> None:
    """Demo families in the running stack: most imported with their past (every phase, up
    to the 12-month review), some referred and handled today (see docs/operations.md,
    "The demo"). It refuses a database that holds any case that is not a demo case."""
    from workers.checks import load_policy
    from workers.demo import DemoExists, DemoRefused, Rates, run_demo
    from workers.keys import load_keyring
    from workers.temporal import connect_temporal, temporal_address

    settings, dsn = _setup()
    keyring = load_keyring(settings, embedded=settings.database_url is None)

    async def go() -> dict[str, int]:
        try:  # the stack's Temporal: demo cases run there, like any case
            client = await connect_temporal(
                temporal_address(settings),
                settings.temporal_namespace,
                master=keyring.master,
                accept_unsealed=settings.accept_unsealed_payloads,
            )
        except RuntimeError:
            raise fail(
                "temporal: no Temporal server answers; start the stack first (make run)"
            ) from None
        return await run_demo(
            dsn,
            families,
            seed,
            client=client,
            task_queue=settings.task_queue,
            policy=load_policy(settings),
            keyring=keyring,
            progress=lambda step: console.print(f"demo: {step}", highlight=False),
            rates=Rates(goals_maintained, substance_maintained, together, unplanned, re_referrals),
        )

    try:
        counts = asyncio.run(go())
    except (DemoExists, DemoRefused) as exc:
        raise fail(str(exc)) from None
    console.print(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    console.print(
        "alerts: `ifss alerts --as sup-cardiff:supervisor` (a team's), "
        "`ifss alerts --as kw-cardiff-1:case_manager` (a key worker's)"
    )
