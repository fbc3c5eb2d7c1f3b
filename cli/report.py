"""``ifss report``: the evaluation data set for a period, as HTML, CSV or JSON."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.cases import ActorOption, confirm, fail, parse_actor
from events.vocabulary import Role


class Format(StrEnum):
    HTML = "html"
    CSV = "csv"
    JSON = "json"


def moment_of(text: str, field: str) -> datetime:
    """An ``--as-of`` moment: an ISO date (the end of that day in Wales) or date and time
    (without an offset: Welsh time)."""
    from events.calendar import SERVICE_ZONE

    if len(text) == 10:
        day = day_of(text, field)
        assert day is not None
        return datetime.combine(day, time.max, SERVICE_ZONE).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"{field}: give a date (YYYY-MM-DD) or a date and time (ISO 8601)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SERVICE_ZONE)
    day_of(moment.date().isoformat(), field)  # within the years any date may be
    return moment.astimezone(UTC)


def day_of(text: str | None, field: str) -> date | None:
    """A day as the API takes it (ISO, between 1900 and 2100), refused naming ``field``."""
    from pydantic import TypeAdapter, ValidationError

    from events.bounds import Day
    from events.validation import first_problem

    if text is None:
        return None
    try:
        day: date = TypeAdapter(Day).validate_python(text)
    except ValidationError as exc:
        _, rule = first_problem(exc.errors(include_input=False), field)
        raise fail(f"{field}: {rule}") from None
    return day


def report(
    start: Annotated[
        str | None, typer.Option("--from", help="First day (default: the financial year's).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, included (default: the year's end).")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's families.")] = None,
    area: Annotated[str | None, typer.Option(help="Only families in this area.")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this referring agency's.")] = None,
    programme: Annotated[
        str, typer.Option(help="The programme reported on (its families and measures).")
    ] = "ifss",
    output_format: Annotated[Format, typer.Option("--format", help="html, csv or json.")] = (
        Format.HTML
    ),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Count only the events recorded by then (a date: the end of that day in "
            "Wales), to produce an earlier report again exactly.",
        ),
    ] = None,
    costs: Annotated[
        Path | None,
        typer.Option(help="Team costs (JSON) for cost per case; default IFSS_REPORT_COSTS_FILE."),
    ] = None,
    compare_snapshot: Annotated[
        int | None,
        typer.Option(
            min=0, help="Add each figure as this snapshot (its version; 0: the latest) gave it."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    actor: ActorOption = None,
) -> None:
    """The evaluation data set for a period (financial year by default, Europe/London):
    every figure with its definition, numerator, denominator and 95% interval, the
    "average maintained change" chart and the tables. Supervisors read their own team's;
    auditors and admins any."""
    from cli.readers import _setup, with_store
    from events.calendar import local_day
    from events.errors import InvalidInput
    from reports.render import to_csv, to_html, to_json
    from reports.service import (
        load_costs,
        period_of,
        produce,
        programme_refusal,
        report_refusal,
        report_team,
    )

    settings, dsn = _setup()
    first, last = day_of(start, "from"), day_of(end, "to")
    moment = moment_of(as_of, "as_of") if as_of is not None else None
    now = datetime.now(UTC)
    if moment is not None and moment > now:
        raise fail("as_of: must not be in the future")
    if (refusal := programme_refusal(programme)) is not None:
        raise fail(refusal)
    try:
        period = period_of(first, last, local_day(moment or now))
        cost_file = costs or settings.report_costs_file
        lines = load_costs(cost_file) if cost_file is not None else None
    except InvalidInput as exc:
        raise fail(str(exc)) from None
    from workers.checks import load_policy

    target = load_policy(settings).first_meeting_working_days
    user = confirm(parse_actor(actor, settings), settings)
    if (refusal := report_refusal(user, team)) is not None:
        raise fail(refusal)

    async def run(pool: Any, store: Any) -> Any:
        try:
            return await produce(
                pool,
                store,
                period,
                team=report_team(user, team),
                area=area,
                agency=agency,
                as_of=moment,
                costs=lines,
                first_meeting_target=target,
                programme=programme,
                compare_snapshot=compare_snapshot,
            )
        except InvalidInput as exc:
            raise fail(str(exc)) from None

    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise fail(f"out: {out} must name a file in a directory that exists")
    result = with_store(dsn, run)
    if output_format is Format.HTML:
        data = to_html(result).encode()
    elif output_format is Format.CSV:
        data = to_csv(result).encode()
    else:
        data = to_json(result) + b"\n"
    if out is not None:
        try:
            out.write_bytes(data)
        except OSError as exc:  # a directory, no such directory, no permission, disk full
            raise fail(f"out: {out} cannot be written ({exc.strerror or exc})") from None
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def report_snapshots(actor: ActorOption = None) -> None:
    """The monthly snapshots of the evaluation report: version, programme, moment, episodes
    and digest (``ifss report --as-of MOMENT`` produces one again;
    ``--compare-snapshot VERSION`` shows what changed since)."""
    from cli.readers import _setup, console, print_rows, with_store
    from reports.service import report_refusal
    from reports.snapshots import snapshots

    settings, dsn = _setup()
    user = confirm(parse_actor(actor, settings), settings)
    if (refusal := report_refusal(user, None)) is not None:
        raise fail(refusal)
    rows = with_store(dsn, lambda pool, store: snapshots(store))
    if not rows:
        console.print("no snapshots yet (the first is taken on the 1st of next month, 07:00)")
        return
    print_rows("report snapshots", rows, ["version", "programme", "as_of", "episodes", "digest"])


def _record_team_work(team_id: str, kind: type, fields: dict[str, Any], actor: str | None) -> None:
    """Record the team's consultation or training (its own supervisor, as through the API)."""
    from cli.cases import build
    from cli.readers import _setup
    from events.calendar import local_day
    from reports import team_work

    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    event: Any = build(kind, fields)
    if event.given_on > local_day(datetime.now(UTC)):
        raise fail("given_on: cannot be in the future")
    user = confirm(who, settings)
    if (refusal := user.team_refusal(team_id, "record its work")) is not None:
        raise fail(refusal)
    _write(dsn, lambda store: team_work.record(store, team_id, event, user.actor))


def team_consultation(
    team_id: str,
    consultation_id: Annotated[str, typer.Option("--id", help="A reference of your choosing.")],
    given_on: Annotated[str, typer.Option("--on", help="The day it was given (YYYY-MM-DD).")],
    agency: Annotated[str, typer.Option(help="The practitioners' agency (a referring agency).")],
    practitioners: Annotated[int, typer.Option(help="How many practitioners took part.")],
    actor: ActorOption = None,
) -> None:
    """Record consultation or advice the team gave to another agency's practitioners (the
    team's supervisor; no family is named). Counted by `ifss report`."""
    from events.catalogue import ConsultationGiven

    fields = {"consultation_id": consultation_id, "given_on": given_on, "agency": agency,
              "practitioners": practitioners}  # fmt: skip
    _record_team_work(team_id, ConsultationGiven, fields, actor)
    typer.echo(f"team {team_id}: consultation {consultation_id} recorded")


def team_training(
    team_id: str,
    training_id: Annotated[str, typer.Option("--id", help="A reference of your choosing.")],
    given_on: Annotated[str, typer.Option("--on", help="The day it was given (YYYY-MM-DD).")],
    sessions: Annotated[int, typer.Option(help="How many sessions.")],
    attendees: Annotated[int, typer.Option(help="How many attended.")],
    model: Annotated[
        str,
        typer.Option(
            help="motivational_interviewing, solution_focused, cognitive_behavioural or other."
        ),
    ],
    actor: ActorOption = None,
) -> None:
    """Record training the team gave to the wider workforce (the team's supervisor)."""
    from events.catalogue import TrainingGiven

    fields = {"training_id": training_id, "given_on": given_on, "sessions": sessions,
              "attendees": attendees, "model": model}  # fmt: skip
    _record_team_work(team_id, TrainingGiven, fields, actor)
    typer.echo(f"team {team_id}: training {training_id} recorded")


def team_costs(
    team_id: str,
    costs_id: Annotated[str, typer.Option("--id", help="A reference of your choosing.")],
    start: Annotated[str, typer.Option("--from", help="First day the costs cover (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option("--to", help="Last day the costs cover (YYYY-MM-DD).")],
    staff: Annotated[str, typer.Option(help="Staff costs in pounds (e.g. 412000.50).")],
    source: Annotated[str, typer.Option(help="Where the figures come from (ledger, cost centre).")],
    overheads: Annotated[str, typer.Option(help="Overheads in pounds.")] = "0",
    supersedes: Annotated[
        str | None, typer.Option(help="The costs record this one corrects (it stops counting).")
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Record what the team cost over a stretch of days, from the council's finance records
    (an admin). The report's cost per case and per family completing come from these records,
    live and as of any moment."""
    from cli.readers import _setup
    from events.catalogue import TeamCostsRecorded
    from reports import team_work

    settings, dsn = _setup()
    who = parse_actor(actor, settings)
    fields = {"costs_id": costs_id, "period_start": start, "period_end": end,
              "staff_pence": pence("staff", staff), "overheads_pence": pence("overheads", overheads),
              "source": source, "supersedes": supersedes}  # fmt: skip
    from cli.cases import build

    event: Any = build(TeamCostsRecorded, fields)
    user = confirm(who, settings)
    if user.role is not Role.ADMIN:
        raise fail(f"actor.role: only an admin records a team's costs (not {user.role.value})")
    _write(dsn, lambda store: team_work.record_costs(store, team_id, event, user.actor))
    typer.echo(f"team {team_id}: costs {costs_id} recorded")


def pence(field: str, pounds: str) -> int:
    """Pounds as written (at most two decimal places) in whole pence, exactly."""
    try:
        amount = Decimal(pounds.strip().replace(",", "").removeprefix("£"))
    except InvalidOperation:
        raise fail(f"{field}: must be an amount in pounds, e.g. 412000.50") from None
    if not amount.is_finite() or amount < 0:
        raise fail(f"{field}: must be an amount in pounds, at least 0")
    if amount > 1_000_000_000:
        raise fail(f"{field}: must be at most 1000000000 pounds")
    if amount != amount.quantize(Decimal("0.01")):
        raise fail(f"{field}: must have at most 2 decimal places (whole pence)")
    return int(amount * 100)


def _write(dsn: str, write: Callable[[Any], Awaitable[int]]) -> None:
    """Run one write to the store; a refusal (``InvalidInput``) is the CLI's refusal."""
    from cli.readers import with_store
    from events.errors import InvalidInput

    async def run(pool: Any, store: Any) -> int:
        try:
            return await write(store)
        except InvalidInput as exc:
            raise fail(str(exc)) from None

    with_store(dsn, run)
