"""Importing a file of cases already open in another case system (``ifss import``).

The file is JSON Lines: one family per line (see ``docs/import.md``). Every row is checked
before anything is recorded: its shape, its history through the rules (``import_events``
on a new case), and the engine's own state (the team registered, the key worker active in
it, no open episode for the family, no case id or family twice in the file). Each bad row
is reported with its line and field. Then, as the admin chose: with ``all_or_none`` one bad
row means nothing is imported; otherwise the good rows are. Each imported row is a case
workflow started by ``import_case``; a row refused at that moment (the world moved since
the check) is reported like the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client

from events.bounds import NewId
from events.envelope import Actor
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import EventStore
from events.validation import KeyGivenTwice, each_key_once, field_path, first_problem
from events.vocabulary import OverdueOnImport
from identity.users import key_worker_refusal
from workflows import client as cases
from workflows.lifecycle import CommandRejected
from workflows.lifecycle.imports import ImportCase, fresh_state, import_events
from workflows.lifecycle.intake import spelled_otherwise

MAX_LINE_BYTES = 256 * 1024  # one family, with its sessions and scores
_CASE_ID: TypeAdapter[str] = TypeAdapter(NewId)


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule}"


@dataclass(frozen=True)
class Row:
    line: int
    case_id: str
    command: ImportCase


@dataclass
class ImportReport:
    rows: int = 0
    imported: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def good(self) -> bool:
        return not self.problems


def parse(
    lines: Iterable[str | bytes],
    actor: Actor,
    overdue_alerts: OverdueOnImport = OverdueOnImport.INBOX,
) -> tuple[list[Row], list[RowProblem]]:
    """Each non-blank line as a row (line numbers from 1), or the problem with it. The
    actor and the overdue-alert policy are the admin's for the whole file. A line given as
    bytes (as read from the file) is decoded on its own: one that is not UTF-8 is that
    line's problem, not the whole file's."""
    rows: list[Row] = []
    problems: list[RowProblem] = []
    for number, line in enumerate(lines, 1):
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError as exc:
            problems.append(
                RowProblem(number, "line", f"is not UTF-8 text (byte {exc.start + 1} of the line)")
            )
            continue
        # A byte-order mark, as some editors save one: before the first line, or before a
        # later one where two exports were joined.
        text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        size = len(line) if isinstance(line, bytes) else len(line.encode("utf-8", "surrogatepass"))
        if size > MAX_LINE_BYTES:
            problems.append(RowProblem(number, "line", f"must be at most {MAX_LINE_BYTES} bytes"))
            continue
        try:
            data = json.loads(text, object_pairs_hook=each_key_once)
        except KeyGivenTwice as exc:
            problems.append(RowProblem(number, field_path((exc.key,)), "is given twice"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(RowProblem(number, "line", f"is not JSON ({exc.msg})"))
            continue
        except RecursionError:
            problems.append(RowProblem(number, "line", "is nested too deeply to be a family"))
            continue
        except ValueError:  # an integer of more digits than Python converts (sys.int_info)
            problems.append(RowProblem(number, "line", "holds a number too long to read"))
            continue
        if not isinstance(data, dict):
            problems.append(RowProblem(number, "line", "must be a JSON object (one family)"))
            continue
        case_id = data.pop("case_id", None)
        try:
            _CASE_ID.validate_python(case_id)
        except ValidationError as exc:
            rule = first_problem(exc.errors(include_input=False))[1]
            problems.append(RowProblem(number, "case_id", rule))
            continue
        given = next((name for name in ("actor", "overdue_alerts") if name in data), None)
        if given is not None:
            problems.append(RowProblem(number, given, "is set for the whole file, not a field"))
            continue
        try:
            command = ImportCase.model_validate(
                {**data, "actor": actor, "overdue_alerts": overdue_alerts}
            )
        except ValidationError as exc:
            where, rule = first_problem(exc.errors(include_input=False), whole="line")
            if where == "line" and ": " in rule:  # a rule across fields names its field
                where, rule = rule.removeprefix("Value error, ").split(": ", 1)
            problems.append(RowProblem(number, where, rule))
            continue
        rows.append(Row(number, str(case_id), command))
    return rows, problems


async def check(
    rows: list[Row],
    store: EventStore,
    client: Client,
    now: datetime,
    policy: ProgrammePolicy = DEFAULT_POLICY,
) -> list[RowProblem]:
    """Everything that can be known before recording: the history through the rules, the
    file against itself, and against the engine's state."""
    problems: list[RowProblem] = []
    seen_cases: dict[str, int] = {}
    seen_families: dict[str, int] = {}
    rosters: dict[str, set[str] | RowProblem] = {}
    for row in rows:
        c = row.command
        problem = _first(
            [
                _twice(seen_cases, row.case_id, row.line, "case_id", "case"),
                # Family ids do not differ by case alone (as claims compare them).
                _twice(seen_families, c.family_id.lower(), row.line, "family_id", "family"),
            ]
        )
        if problem is None:
            try:  # the command as it will be sent: within the size a command may have
                cases.check_size(c)
            except cases.CommandTooLarge as exc:
                problem = RowProblem(row.line, "line", str(exc).partition(": ")[2])
        if problem is None:
            problem = await _against_the_engine(row, store, client, rosters)
        if problem is None:
            try:
                import_events(fresh_state(row.case_id, policy), c, now)
            except CommandRejected as exc:
                problem = RowProblem(row.line, exc.field, exc.rule)
        if problem is not None:
            problems.append(problem)
    return problems


def _twice(seen: dict[str, int], key: str, line: int, name: str, what: str) -> RowProblem | None:
    if key in seen:
        return RowProblem(line, name, f"the same {what} as line {seen[key]}")
    seen[key] = line
    return None


def _first(problems: list[RowProblem | None]) -> RowProblem | None:
    return next((p for p in problems if p is not None), None)


async def _against_the_engine(
    row: Row, store: EventStore, client: Client, rosters: dict[str, set[str] | RowProblem]
) -> RowProblem | None:
    c = row.command
    if c.team_id not in rosters:
        rosters[c.team_id] = await _roster(c.team_id, store, client)
    roster = rosters[c.team_id]
    if isinstance(roster, RowProblem):
        return RowProblem(row.line, roster.field, roster.rule)
    if c.key_worker_id is not None and c.key_worker_id not in roster:
        return RowProblem(
            row.line, "key_worker_id", f"no key worker {c.key_worker_id} in team {c.team_id}"
        )
    if c.key_worker_id is not None and (
        refusal := await key_worker_refusal(store.pool, c.key_worker_id, c.team_id)
    ):
        return RowProblem(row.line, "key_worker_id", refusal)
    if await store.stream_version(cases.case_workflow_id(row.case_id)) > 0:
        return RowProblem(row.line, "case_id", f"case {row.case_id} already exists")
    if (spelling := await store.family_known_as(c.family_id)) is not None:
        spelt = spelled_otherwise(c.family_id, spelling)
        return RowProblem(row.line, spelt.field, spelt.rule)
    open_case = await store.open_episode_of(c.family_id)
    if open_case is not None:
        return RowProblem(
            row.line, "family_id", f"family {c.family_id} has an open episode (case {open_case})"
        )
    return None


async def _roster(team_id: str, store: EventStore, client: Client) -> set[str] | RowProblem:
    """The team's active key workers, or why no row may name the team."""
    if not await store.team_known(team_id):
        return RowProblem(0, "team_id", f"no team {team_id} is registered")
    try:
        team = await cases.team_view(client, team_id)
    except cases.CommandRefused:  # known to the store, but its workflow is gone
        return RowProblem(0, "team_id", f"team {team_id} is not running")
    return {w.key_worker_id for w in team.key_workers.values() if w.active}


async def import_rows(
    lines: Iterable[str | bytes],
    actor: Actor,
    *,
    client: Client,
    store: EventStore,
    task_queue: str,
    all_or_none: bool,
    check_only: bool = False,
    overdue_alerts: OverdueOnImport = OverdueOnImport.INBOX,
    policy: ProgrammePolicy = DEFAULT_POLICY,
) -> ImportReport:
    """Check every row, then import as the admin chose (see the module's docstring)."""
    rows, problems = parse(lines, actor, overdue_alerts)
    report = ImportReport(rows=len(rows) + len(problems))
    problems += await check(rows, store, client, datetime.now(UTC), policy)
    report.problems = sorted(problems, key=lambda p: p.line)
    if check_only or (all_or_none and problems):
        return report
    bad = {p.line for p in problems}
    for row in rows:
        if row.line in bad:
            continue
        try:
            await cases.import_case(
                client, row.case_id, row.command, task_queue=task_queue, policy=policy
            )
        except (cases.CommandRefused, cases.CaseAlreadyExists) as exc:
            where, _, rule = str(exc).partition(": ")
            report.problems.append(RowProblem(row.line, where, rule or where))
            continue
        except (cases.StoreUnavailable, cases.StoreFailure) as exc:  # not the row's fault
            report.problems.append(RowProblem(row.line, "store", f"not imported: {exc}"))
            continue
        report.imported.append(row.case_id)
    report.problems.sort(key=lambda p: p.line)
    return report
