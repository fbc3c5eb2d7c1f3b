"""`ifss alerts [--all]` and `ifss alerts ack ALERT`: the inbox from the command line.

Who you are is `--as USER:ROLE` (or `IFSS_ACTOR`); the user must exist (`ifss users add`),
and sees what the API would show them: a case manager their own alerts, a supervisor
their team's.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import asyncpg
import typer

from cli.cases import ActorOption, confirm, fail, parse_actor
from cli.readers import _cell, _setup, console
from events.envelope import Actor

alerts_app = typer.Typer(
    help="Your alerts: list them (open ones; --all for every one) or acknowledge one.",
    invoke_without_command=True,
)


async def _user(pool: asyncpg.Pool, actor: Actor) -> tuple[str, str | None]:
    row = await pool.fetchrow(
        "SELECT role, team_id FROM users WHERE user_id = $1 AND active", actor.id
    )
    if row is None:
        raise fail(f"actor: no active user {actor.id} (add one with `ifss users add`)")
    if row["role"] != actor.role.value:
        raise fail(f"actor: {actor.id} is a {row['role']}, not a {actor.role.value}")
    return row["role"], row["team_id"]


async def _visible(
    dsn: str, actor: Actor, *, include_closed: bool, alert_ref: str | None = None
) -> list[dict[str, Any]]:
    from projections.queries import AlertsRefused, alerts_for_user
    from workers.root import runtime

    async with runtime(database_url=dsn, pool_size=2) as rt:
        role, team_id = await _user(rt.pool, actor)
        try:
            return await alerts_for_user(
                rt.pool, actor.id, role, team_id, include_closed=include_closed, alert_ref=alert_ref
            )
        except AlertsRefused as exc:
            raise fail(str(exc)) from None


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    all: Annotated[bool, typer.Option("--all", help="Acknowledged and resolved ones too.")] = False,
    actor: ActorOption = None,
) -> None:
    """Your alerts, most urgent first (open ones: neither acknowledged nor resolved)."""
    if ctx.invoked_subcommand is not None:
        return
    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    confirm(who, settings)
    rows = asyncio.run(_visible(dsn, who, include_closed=all))
    if not rows:
        console.print("no open alerts" if not all else "no alerts")
        return
    from rich.table import Table

    table = Table(title=f"alerts for {who.id}")
    columns = ("alert", "severity", "rule", "about", "raised", "acknowledge by", "state", "told")
    for column in columns:
        table.add_column(column)
    for r in rows:
        state = (
            f"resolved ({r['resolution']})"
            if r["resolved_at"]
            else f"acknowledged by {r['acknowledged_by']}"
            if r["acknowledged_at"]
            else "escalated"
            if r["escalated_at"]
            else "open"
        )
        about = r["case_id"] or r["team_id"] or ""
        if r["subject"]:
            about += f" ({r['subject']})"
        table.add_row(
            r["alert_ref"],
            r["severity"],
            r["rule"].replace("_", " "),
            about,
            _cell(r["raised_at"]),
            _cell(r["acknowledge_by"]),
            state,
            told(r["deliveries"]),
        )
    console.print(table)


def told(deliveries: list[dict[str, Any]]) -> str:
    """Who was told, how and when (the delivery outcomes recorded for the alert)."""
    return "\n".join(
        f"{d['recipient']} by {d['channel']}"
        + (" (escalation)" if d.get("escalation") else "")
        + (f" {d['at'][:16].replace('T', ' ')}" if d["delivered"] else " FAILED")
        for d in deliveries
    )


@alerts_app.command("ack")
def ack(
    alert_ref: Annotated[str, typer.Argument(help="The alert, as listed (e.g. case-c1:a2).")],
    actor: ActorOption = None,
) -> None:
    """Acknowledge one of your alerts: it leaves the open list and will not escalate."""
    from cli.cases import run_with_client
    from workflows.client import acknowledge_alert

    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    if not asyncio.run(_visible(dsn, who, include_closed=True, alert_ref=alert_ref)):
        raise fail(f"alert_id: no alert {alert_ref} in your inbox")
    run_with_client(settings, lambda rt: acknowledge_alert(rt.temporal, alert_ref, who), actor=who)
    console.print(f"acknowledged {alert_ref}")
