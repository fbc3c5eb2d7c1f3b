"""Producing a report: who may read which, the team costs file, and the episodes (live
from the read model or as of a moment from the events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from events.bounds import Code, Day
from events.catalogue import TeamCostsRecorded
from events.errors import InvalidInput
from events.programmes import DEFAULT_PROGRAMME, PROGRAMMES
from events.store import EventStore
from events.validation import first_problem
from events.vocabulary import Role
from identity.users import User
from reports.evaluation import Costs, Period, Report, UnitCost, evaluate
from reports.source import episodes_as_of, live_episodes
from reports.team_work import recorded_costs, team_work

READERS = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
Pounds = Annotated[float, Field(ge=0, le=1_000_000_000, allow_inf_nan=False, strict=True)]


class CostLine(BaseModel):
    """One team's costs over a stretch of days, in pounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    team_id: Code
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    staff: Pounds
    overheads: Pounds = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> CostLine:
        if self.end < self.start:
            raise ValueError("'to' is before 'from'")
        return self


class UnitCostLine(BaseModel):
    """The cost of one negative outcome of a programme, with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: Code
    cost: Pounds
    source: Annotated[str, Field(min_length=1, max_length=300)]


class CostsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: list[CostLine] = Field(default=[], max_length=10_000)
    unit_costs: list[UnitCostLine] = Field(default=[], max_length=1000)


@dataclass(frozen=True)
class ReportCosts:
    teams: tuple[Costs, ...] = ()
    unit_costs: tuple[tuple[str, UnitCost], ...] = ()


_LINES: TypeAdapter[list[CostLine]] = TypeAdapter(
    Annotated[list[CostLine], Field(max_length=10_000)]
)
MAX_COSTS_BYTES = 4 * 1024 * 1024


def load_costs(path: Path) -> ReportCosts:
    """The costs file (a JSON list of team cost lines, or an object with ``teams`` and
    ``unit_costs``), refused naming the line and field at fault."""
    try:
        if path.stat().st_size > MAX_COSTS_BYTES:
            raise InvalidInput("costs", f"the file must be at most {MAX_COSTS_BYTES} bytes")
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidInput("costs", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidInput("costs", "is not valid JSON") from None
    if not isinstance(data, list | dict):
        raise InvalidInput(
            "costs", "must be a list of team costs, or an object with teams and unit_costs"
        )
    try:
        given = _LINES.validate_python(data) if isinstance(data, list) else (
            CostsFile.model_validate(data))  # fmt: skip
    except ValidationError as exc:
        field, rule = first_problem(exc.errors(include_input=False), "costs")
        raise InvalidInput(field.replace(".[", "["), rule.removeprefix("Value error, ")) from None
    lines, units = (given, []) if isinstance(given, list) else (given.teams, given.unit_costs)
    return ReportCosts(
        tuple(Costs(c.team_id, c.start, c.end, c.staff, c.overheads) for c in lines),
        tuple((u.measure, UnitCost(u.cost, u.source)) for u in units),
    )


def report_refusal(user: User, team: str | None) -> str | None:
    """Why ``user`` may not read the report for ``team`` ("field: rule"), or None."""
    if user.role not in READERS:
        return f"role: a {user.role.value} may not read the evaluation report (supervisors, auditors and admins may)"
    if user.role is Role.SUPERVISOR and team is not None and team != user.team_id:
        return "team: a supervisor reads the report of their own team"
    return None


def programme_refusal(programme: str) -> str | None:
    if programme not in PROGRAMMES:
        return f"programme: no programme {programme} is defined (the programmes are {', '.join(sorted(PROGRAMMES))})"
    return None


def report_team(user: User, team: str | None) -> str | None:
    """The team a report is confined to: a supervisor's own, whatever they asked."""
    return user.team_id if user.role is Role.SUPERVISOR else team


def period_of(start: date | None, end: date | None, today: date) -> Period:
    """``--from``/``--to``, defaulting to the financial year that holds the other end (or
    today); refused naming the field when the period is empty or absurd."""
    if start is None and end is None:
        return Period.financial_year(today)
    if start is None:
        start = Period.financial_year(end).start  # type: ignore[arg-type]
    if end is None:
        end = Period.financial_year(start).end
    if end < start:
        raise InvalidInput("to", "must not be before 'from'")
    if (end - start).days > 366 * 10:
        raise InvalidInput("to", "a report covers at most ten years")
    return Period(start, end)


def _all_costs(
    recorded: list[tuple[str, TeamCostsRecorded]], given: ReportCosts | None
) -> tuple[Costs, ...]:
    """The teams' recorded costs, and a costs file's lines for stretches nothing recorded
    covers (a line overlapping a recorded stretch of its team is refused: counted twice)."""
    kept = tuple(
        Costs(
            team,
            c.period_start,
            c.period_end,
            c.staff_pence / 100,
            c.overheads_pence / 100,
            recorded=True,
        )
        for team, c in recorded
    )
    for n, line in enumerate(given.teams if given else ()):
        for r in kept:
            if r.team_id == line.team_id and r.start <= line.end and line.start <= r.end:
                raise InvalidInput(
                    f"costs[{n}]",
                    f"team {line.team_id}'s costs from {r.start} to {r.end} are recorded "
                    "already (ifss team costs): leave them out of the file",
                )
    return kept + (given.teams if given else ())


async def produce(
    pool: asyncpg.Pool,
    store: EventStore,
    period: Period,
    *,
    team: str | None = None,
    area: str | None = None,
    agency: str | None = None,
    as_of: datetime | None = None,
    costs: ReportCosts | None = None,
    first_meeting_target: int = 2,
    programme: str = DEFAULT_PROGRAMME,
    compare_snapshot: int | None = None,
) -> Report:
    """The evaluation report: from the read model, or from the events recorded by
    ``as_of`` (the same fold, so a report can be produced again exactly)."""
    if as_of is None:
        async with pool.acquire() as conn:
            episodes = await live_episodes(conn, team=team)
    else:
        episodes = await episodes_as_of(store, as_of)
    work = await team_work(store, as_of)
    team_costs = _all_costs(await recorded_costs(store, as_of), costs)
    report = evaluate(
        episodes,
        period,
        team=team,
        area=area,
        agency=agency,
        as_of=as_of,
        costs=team_costs,
        unit_costs=dict(costs.unit_costs) if costs else {},
        first_meeting_target=first_meeting_target,
        programme=programme,
        team_work=work,
    )
    if compare_snapshot is not None:
        from reports.snapshots import changes_since, snapshots

        taken = await snapshots(store, programme)
        chosen = taken[-1] if compare_snapshot == 0 and taken else next(
            (s for s in taken if s["version"] == compare_snapshot), None)  # fmt: skip
        if chosen is None:
            raise InvalidInput(
                "compare_snapshot",
                f"no snapshot {compare_snapshot or '(latest)'} of programme {programme} is recorded",
            )
        if (chosen["period_from"], chosen["period_to"]) != (
            period.start.isoformat(),
            period.end.isoformat(),
        ):
            raise InvalidInput(
                "compare_snapshot",
                f"snapshot {chosen['version']} is of {chosen['period_from']} to "
                f"{chosen['period_to']}: ask for that period to compare",
            )
        report.tables.append(changes_since(chosen, report))
    return report
