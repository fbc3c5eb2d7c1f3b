"""Read-side commands: the projector, projection status and rebuild, and the readers
(`ifss cases`, `history`, `reviews`, `waitlist`, `caseload`)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.cases import ActorOption, confirm, err, fail, parse_actor
from events.calendar import SERVICE_ZONE, local_day
from events.store import EventStore
from events.vocabulary import Role
from identity.users import User
from workers.log import configure_logging
from workers.settings import Settings, load_settings
from workflows.lifecycle import Phase

projections_app = typer.Typer(
    help="Read models: status, rebuild, and skipping an event one cannot apply.",
    no_args_is_help=True,
)
# Piped output (files, scripts, tests) gets wide tables rather than 80 wrapped columns.
console = Console(width=None if sys.stdout.isatty() else 220)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 220)
T = TypeVar("T")


def _setup() -> tuple[Settings, str]:
    from workers.database import DatabaseNotConfigured, resolve_database_url

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        return settings, resolve_database_url(settings)
    except DatabaseNotConfigured as exc:
        raise fail(str(exc)) from None


def with_store(dsn: str, action: Callable[[asyncpg.Pool, EventStore], Awaitable[T]]) -> T:
    """Run ``action`` on a runtime with the database at ``dsn`` (the composition root)."""
    from workers.root import runtime

    async def main() -> T:
        async with runtime(database_url=dsn, pool_size=8) as rt:
            return await action(rt.pool, rt.store)

    return asyncio.run(main())


def _cell(value: Any, *, days: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):  # as in Wales (the day the rules decide by), zone named
        local = value.astimezone(SERVICE_ZONE)
        return local.strftime("%Y-%m-%d" if days else "%Y-%m-%d %H:%M %Z")
    return str(value)


# Short headers, so that a table of cases fits a 100-column terminal.
HEADERS = {
    "case_id": "case",
    "team_id": "team",
    "key_worker_id": "key worker",
    "referred_on": "referred",
    "first_meeting_at": "met",
    "next_review_due_on": "next review",
}


def print_rows(
    title: str, rows: list[dict[str, Any]], columns: list[str], *, days: bool = False
) -> None:
    """A table; ``days``: times shown as their day, so a row fits 100 columns. Dates and
    times are never cut short: other columns wrap first."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in columns:
        header = HEADERS.get(column, column.replace("_", " "))
        if column == "flags":  # words that wrap; the rest stays whole
            table.add_column(header)
        else:
            table.add_column(header, no_wrap=True, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c), days=days) for c in columns))
    console.print(table)
    if not rows:
        console.print("(none)")


# --- projector, status, rebuild ----------------------------------------------------------


def projector() -> None:
    """Run the projector: keep every read model current (one live instance per model)."""
    from projections.runner import run_projector
    from workers.root import freeze_start_up, runtime

    settings, dsn = _setup()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runtime(settings, database_url=dsn, pool_size=4) as rt:
            freeze_start_up()
            await run_projector(rt.dsn, rt.store, stop)

    asyncio.run(main())


@projections_app.command("status")
def projections_status() -> None:
    """Checkpoint, head, lag (events and seconds) and state of every projection."""
    from projections.runner import status

    _, dsn = _setup()
    report = with_store(dsn, lambda pool, _: status(pool))
    table = Table(title="projections")
    for column in (
        "name",
        "state",
        "checkpoint",
        "head",
        "lag events",
        "lag s",
        "applied",
        "stopped at",
        "error",
    ):
        table.add_column(column)
    for s in report:
        state = f"[red]{s.status}[/red]" if s.status == "failed" else s.status
        table.add_row(
            s.name,
            state,
            str(s.position),
            str(s.head),
            str(s.lag_events),
            f"{s.lag_seconds:.1f}",
            str(s.events_applied),
            str(s.error_position or ""),
            s.error or "",
        )
    console.print(table)
    failed = [s for s in report if s.status == "failed"]
    for s in failed:
        if s.error_position is None:
            err_console.print(
                f"{s.name} keeps failing (see the error and the projector's log): fix the "
                f"cause, then restart the projector or run `ifss projections rebuild {s.name}`"
            )
            continue
        err_console.print(
            f"{s.name} is stopped at position {s.error_position}: fix the cause and run "
            f"`ifss projections rebuild {s.name}`, or record a decision to skip that event: "
            f"`ifss projections skip {s.name} {s.error_position} --reason ...`"
        )
    if failed:
        raise typer.Exit(1)


@projections_app.command("skip")
def projections_skip(
    name: Annotated[str, typer.Argument(help="The failed projection.")],
    position: Annotated[
        int,
        typer.Argument(help="The position it failed at (see status).", min=1, max=2**63 - 1),
    ],
    reason: Annotated[str, typer.Option(help="Why skipping is right (recorded).")],
    actor: ActorOption = None,
) -> None:
    """Record that a failed read model skips the one event it cannot apply (an admin, with
    a reason). The decision is an event (who, when, why, which event); the projector
    resumes within seconds."""
    from events.errors import InvalidInput
    from projections.failures import record_skip
    from projections.models import BY_NAME

    if name not in BY_NAME:
        raise fail(f"name: unknown projection {name!r} (one of {', '.join(BY_NAME)})")
    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    confirm(who, settings)
    try:
        decision = with_store(dsn, lambda _, store: record_skip(store, name, position, who, reason))
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    console.print(
        f"recorded: {name} skips {decision.event_type} {decision.event_id} at position "
        f"{position}; the projector resumes within a few seconds"
    )


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection (default: all).")] = None,
) -> None:
    """Rebuild from the first event into fresh tables, swapped in at the end."""
    from projections.models import BY_NAME, PROJECTIONS
    from projections.runner import rebuild

    if name is not None and name not in BY_NAME:
        raise fail(f"name: unknown projection {name!r} (one of {', '.join(BY_NAME)})")
    chosen = [BY_NAME[name]] if name else list(PROJECTIONS)
    _, dsn = _setup()

    async def run(pool: asyncpg.Pool, store: EventStore) -> None:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("events"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(", ".join(p.name for p in chosen), total=None)
            await rebuild(
                pool,
                store,
                chosen,
                lambda done, total: progress.update(task, completed=done, total=total),
            )

    with_store(dsn, run)
    console.print(f"rebuilt {len(chosen)} projection(s)")


# --- readers -----------------------------------------------------------------------------


def reader(
    actor: str | None, settings: Settings, *, key_worker: str | None, team: str | None
) -> User:
    """The user a list read acts as (``confirm``), refused where the API would refuse the
    same filters."""
    user = confirm(parse_actor(actor, settings), settings)
    refusal = user.list_refusal(key_worker=key_worker, team=team)
    if refusal is not None:
        raise fail(refusal)
    return user


async def logged(
    store: EventStore, user: User, view: str, read: Awaitable[list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The rows of a list read, after recording which cases it returned (as the API does)."""
    from projections.queries import record_list_read

    return await record_list_read(store, user.actor, view=view, interface="cli", rows=await read)


def cases(
    phase: Annotated[Phase | None, typer.Option(help="Only this phase.")] = None,
    key_worker: Annotated[str | None, typer.Option(help="Only this key worker's.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases with a flag.")] = False,
    actor: ActorOption = None,
) -> None:
    """Cases with their phase, key worker, key dates and overdue flags: those the acting
    user may see, as through the API; the read is logged naming the cases."""
    from projections.queries import list_cases

    settings, dsn = _setup()
    user = reader(actor, settings, key_worker=key_worker, team=team)
    limits = user.read_scope()
    shown_at_most = 500
    more = False

    async def read(pool: asyncpg.Pool) -> list[dict[str, Any]]:
        nonlocal more
        found = await list_cases(
            pool,
            phase=phase.value if phase else None,
            key_worker_id=limits.get("key_worker_id", key_worker),
            team_id=limits.get("team_id", team),
            overdue=overdue or None,
            with_cover=user.reads_cover,
            limit=shown_at_most + 1,
        )
        more = len(found) > shown_at_most
        return found[:shown_at_most]

    rows = with_store(dsn, lambda pool, store: logged(store, user, "cases", read(pool)))
    for row in rows:
        row["flags"] = ", ".join(
            label
            for label, column in (
                ("first meeting", "first_meeting_overdue"),
                ("no contact", "no_contact_overdue"),
                ("overrun", "intensive_overrun"),
                ("review", "review_overdue"),
            )
            if row[column]
        )
    for row in rows:
        if row["previous_case_id"]:
            row["flags"] = ", ".join(f for f in (row["flags"], "re-referral") if f)
    print_rows(
        "cases",
        sorted(rows, key=lambda r: (r["team_id"], r["case_id"])),
        [
            "case_id",
            "team_id",
            "phase",
            "key_worker_id",
            "referred_on",
            "first_meeting_at",
            "next_review_due_on",
            "flags",
        ],
        days=True,
    )
    if more:
        err.print(
            f"the {shown_at_most} most recently changed cases; more are not shown: narrow the "
            "list with --phase, --team, --key-worker or --overdue (GET /cases pages through all)",
            highlight=False,
        )


def parse_moment(value: str, field: str) -> datetime:
    """``2026-03-31``, ``2026-03-31T17:00Z`` or with an offset; a date means its end (UTC).
    The same bounds as the API (1900-2100, a time zone): what cannot be logged is refused."""
    from pydantic import TypeAdapter, ValidationError

    from events.bounds import Day, Moment
    from events.validation import first_problem

    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = TypeAdapter(Day).validate_python(value)
            return datetime.combine(day, datetime.max.time(), tzinfo=UTC)
        moment: datetime = TypeAdapter(Moment).validate_python(value)
    except ValidationError as exc:
        raise fail(f"{field}: {first_problem(exc.errors(include_input=False))[1]}") from None
    return moment


def history(
    case_id: Annotated[str, typer.Argument(help="The case id.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As the system knew it then (date or time).")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output.")] = False,
    actor: ActorOption = None,
) -> None:
    """A case's history in plain words; the read is recorded in the case's access log."""
    from projections.queries import (
        case_summary,
        history,
        history_as_of,
        history_csv,
        record_access,
    )

    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    moment = parse_moment(as_of, "as_of") if as_of is not None else None
    user = confirm(who, settings)

    async def read(pool: asyncpg.Pool, store: EventStore) -> list[Any] | None:
        summary = await case_summary(pool, case_id)
        if summary is None:
            return None
        readable = user.can_read(summary)  # as through the API: not theirs, as if not there
        await record_access(
            store, case_id, who, view="history", interface="cli", as_of=moment, allowed=readable
        )
        if not readable:
            return None
        if moment is not None:
            entries, _ = await history_as_of(store, case_id, moment)
            return entries
        return await history(pool, case_id)

    entries = with_store(dsn, read)
    if entries is None:
        raise fail(f"case_id: no case {case_id}")
    if as_csv:
        sys.stdout.write(history_csv(entries))
        return
    title = f"case {case_id}" + (f" as known at {moment.isoformat()}" if moment else "")
    table = Table(title=title)
    for column in ("#", "when", "who", "what", "policy"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.stream_version),
            _cell(e.occurred_at),
            f"{e.actor_id} ({e.actor_role})",
            e.description,
            e.policy_version or "",
        )
    console.print(table)


def parse_within(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)\s*([dw])", value.strip())
    if not match:
        raise fail(f"due_within: {value!r} is not a number of days or weeks (e.g. 30d, 4w)")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days > MAX_WITHIN_DAYS:
        raise fail(f"due_within: at most {MAX_WITHIN_DAYS} days")
    return timedelta(days=days)


MAX_WITHIN_DAYS = 3660  # ten years: every review of every episode


def reviews(
    due_within: Annotated[
        str, typer.Option("--due-within", help="Window from today, e.g. 30d or 4w.")
    ] = "30d",
    key_worker: Annotated[str | None, typer.Option(help="Only this key worker's.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's.")] = None,
    actor: ActorOption = None,
) -> None:
    """The follow-up calendar: reviews due within the window, overdue ones first (those the
    acting user may see; the read is logged)."""
    from projections.queries import reviews_due

    window = parse_within(due_within)
    settings, dsn = _setup()
    user = reader(actor, settings, key_worker=key_worker, team=team)
    limits = user.read_scope()
    before = local_day(datetime.now(UTC)) + window + timedelta(days=1)  # Wales' today
    rows = with_store(
        dsn,
        lambda pool, store: logged(
            store,
            user,
            "reviews",
            reviews_due(
                pool,
                before,
                key_worker_id=limits.get("key_worker_id", key_worker),
                team_id=limits.get("team_id", team),
                with_cover=user.reads_cover,
            ),
        ),
    )
    print_rows(
        f"reviews due within {due_within}",
        rows,
        ["due_on", "case_id", "month", "status", "rescheduled", "key_worker_id", "team_id"],
    )


def teams() -> None:
    """The registered teams: what a referral may name."""
    from projections.queries import teams as read

    _, dsn = _setup()
    rows = with_store(dsn, lambda pool, _: read(pool))
    print_rows("teams", rows, ["team_id", "team_name", "area", "registered_at"])


def waitlist(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    actor: ActorOption = None,
) -> None:
    """Families waiting for a key worker: position, priority, days waiting (your team's,
    unless an auditor or admin; the read is logged)."""
    from projections.queries import waitlist as read

    settings, dsn = _setup()
    user = reader(actor, settings, key_worker=None, team=team)
    own = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else team
    rows = with_store(dsn, lambda pool, store: logged(store, user, "waitlist", read(pool, own)))
    print_rows(
        "waitlist",
        rows,
        ["team_id", "position", "case_id", "priority", "referred_on", "days_waiting"],
    )


def caseload(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
    actor: ActorOption = None,
) -> None:
    """Per key worker: families by phase against the caseload limit (a key worker's own,
    a team's for its supervisor; everything for auditors and admins)."""
    from projections.queries import caseload as read

    settings, dsn = _setup()
    user = reader(actor, settings, key_worker=None, team=team)
    own = user.team_id if user.role not in (Role.AUDITOR, Role.ADMIN) else team
    rows = with_store(dsn, lambda pool, _: read(pool, own))
    if user.role is Role.CASE_MANAGER:
        rows = [r for r in rows if r["key_worker_id"] == user.user_id]  # their own load
    print_rows(
        "caseload",
        rows,
        [
            "team_id",
            "key_worker_id",
            "in_intensive_phase",
            "caseload_limit",
            "allocated",
            "intensive",
            "follow_up",
            "active",
        ],
    )
