"""`ifss refer`, `ifss case ...` and `ifss team ...`: drive cases through their workflows."""

from __future__ import annotations

import asyncio
import json
import typing
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from events.envelope import Actor
from events.errors import InvalidInput
from events.validation import KeyGivenTwice, each_key_once, first_problem
from events.vocabulary import LocalAuthority, Role
from identity.users import User
from workers.log import configure_logging
from workers.root import Runtime
from workers.settings import Settings, load_settings
from workflows import commands as cmd

case_app = typer.Typer(help="Commands to one case, and its live state.", no_args_is_help=True)
team_app = typer.Typer(help="A team's key workers and allocations.", no_args_is_help=True)
console = Console(soft_wrap=True)  # messages: one line each, however narrow the output
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="Act as USER:ROLE (default: IFSS_ACTOR), e.g. cm-jones:case_manager."
    ),
]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]refused:[/red] {shown(message)}", highlight=False, markup=True)
    return typer.Exit(2)


def shown(text: str, limit: int = 300) -> str:
    """Text echoed back to a terminal: control characters as escapes (so input cannot
    drive the terminal), Rich markup escaped, long input cut short."""
    from rich.markup import escape

    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return escape(safe if len(safe) <= limit else safe[:limit] + "…")


def parse_actor(value: str | None, settings: Settings) -> Actor:
    """``--as USER:ROLE`` (or ``IFSS_ACTOR``) in form only; ``confirm`` checks the user.
    With ``IFSS_TOKEN`` and neither, the token's user acts (``confirm`` resolves it)."""
    text = value or settings.actor
    if not text and settings.token is not None:
        return confirm(Actor.system(), settings).actor
    if not text:
        raise fail("actor: who is acting? pass --as USER:ROLE, set IFSS_ACTOR or IFSS_TOKEN")
    user, _, role = text.partition(":")
    try:
        return Actor.model_validate({"id": user, "role": role})
    except ValidationError as exc:
        field, rule = first_problem(exc.errors(include_input=False), "actor")
        raise fail(f"{field}: {rule} (give USER:ROLE)") from None


def confirm(actor: Actor, settings: Settings) -> User:
    """The user the CLI acts as, by the API's rules (``identity.users.acting_user``): the
    user of ``IFSS_TOKEN``, or the existing, active user ``--as`` / ``IFSS_ACTOR`` names,
    with that role. Checked after the input (a typo is refused without a database), before
    anything is sent; anything else exits 2 naming ``actor`` (or ``IFSS_TOKEN``)."""
    from events.db import connect
    from identity.users import acting_user
    from workers.database import DatabaseNotConfigured, resolve_database_url

    token = settings.token.get_secret_value() if settings.token else None
    named = None if token is not None and actor.role is Role.SYSTEM else actor

    async def look() -> User:
        conn = await connect(resolve_database_url(settings))
        try:
            return await acting_user(conn, actor=named, token=token)
        finally:
            await conn.close()

    try:
        return asyncio.run(look())
    except (InvalidInput, DatabaseNotConfigured) as exc:
        raise fail(str(exc)) from None


class NotAllowed(Exception):
    """The acting user may not do this here (the API would answer 403)."""


def build(model: type[T], fields: dict[str, Any]) -> T:
    """Validate CLI input into ``model``; a bad field exits 2 naming it."""
    try:
        return model.model_validate(fields)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        field, rule = first_problem(exc.errors(include_input=False), whole="command")
        raise fail(f"{field}: {rule}") from None


def run_with_client(
    settings: Settings,
    action: Callable[[Runtime], Awaitable[T]],
    *,
    policy: bool = False,
    actor: Actor | None = None,
    allowed: Callable[[User], str | None] | None = None,
) -> T:
    """Open a runtime with Temporal (and, with ``policy``, the database and the programme
    policy, registered), run ``action(runtime)``; refusals exit 2, the engine failing 1.
    With ``actor``, first ``confirm`` who acts and, with ``allowed``, that the API's rule
    for the act lets them (``identity.users.User``: one place holds the rules)."""
    if actor is not None:
        user = confirm(actor, settings)
        refusal = allowed(user) if allowed is not None else None
        if refusal is not None:
            raise fail(refusal)
    from temporalio.service import RPCError

    from workers.checks import ConfigurationError
    from workers.database import DatabaseNotConfigured
    from workers.root import runtime
    from workflows.client import CaseNotFound, CommandRefused, StoreFailure, StoreUnavailable

    async def main() -> T:
        async with runtime(settings, database=policy, policy=policy, temporal=True) as rt:
            return await action(rt)

    try:
        return asyncio.run(main())
    except (CommandRefused, ConfigurationError, DatabaseNotConfigured, NotAllowed) as exc:
        raise fail(str(exc)) from None
    except CaseNotFound as exc:
        raise fail(f"case_id: {exc}") from None
    except (StoreUnavailable, StoreFailure, RPCError, RuntimeError, OSError) as exc:
        # The engine, not the input: say so and exit 1 (a refusal is 2).
        err.print(f"[red]failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` arguments; values that parse as JSON (numbers, true, objects) are JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise fail(f"{pair}: arguments are KEY=VALUE")
        if key in out:
            raise fail(f"{key}: is given twice")
        try:
            out[key] = json.loads(raw, object_pairs_hook=each_key_once)
        except KeyGivenTwice as exc:  # JSON, with a key twice: not a plain text either
            raise fail(f"{key}: {exc.key!r} is given twice") from None
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _setup() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _field_help(model: type[BaseModel]) -> str:
    """Each field of a command with its type, allowed values and whether it is required,
    from the same schema the API publishes."""
    schema = model.model_json_schema()
    defs, required = schema.get("$defs", {}), set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        need = "required" if name in required else "optional"
        if prop.get("description", "").startswith("Default:"):
            need = prop["description"].rstrip(".").lower()
        kind = _mapping_kind(model, name) or _kind(prop, defs)
        lines.append(f"{name}: {kind}, {need}")
    return "\n\n".join(lines) or "(no fields)"


_KEYS_NAME = {"ratings": "goal id", "children_statuses": "child id"}


def _mapping_kind(model: type[BaseModel], name: str) -> str | None:
    """``{goal id: one of ...}`` for a field that maps ids to coded values (its schema says
    only that every key is an id)."""
    field = model.model_fields.get(name)
    args = typing.get_args(field.annotation) if field is not None else ()
    if len(args) != 2 or not (isinstance(args[1], type) and issubclass(args[1], Enum)):
        return None
    values = ", ".join(str(v.value) for v in args[1])
    return f"an object {{{_KEYS_NAME.get(name, 'key')}: one of {values}}}"


def _kind(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A JSON schema property in words: ``one of a, b``, ``a whole number 0-10`` …"""
    if "$ref" in prop:
        return _kind(defs[prop["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in prop:
        return " or ".join(_kind(p, defs) for p in prop["anyOf"] if p.get("type") != "null")
    if "enum" in prop:
        return "one of " + ", ".join(str(v) for v in prop["enum"])
    kind = prop.get("type")
    if kind == "integer":
        low, high = prop.get("minimum"), prop.get("maximum")
        return (
            f"a whole number {low}-{high}" if low is not None and high is not None else "a number"
        )
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        return f"a list of ({_kind(prop.get('items', {}), defs)})"
    if kind == "object":
        if "properties" in prop:
            return "{" + ", ".join(prop["properties"]) + "}"
        return "an object"
    pattern = str(prop.get("pattern", ""))
    if "[T ]" in pattern:
        return "a time, e.g. 2026-03-02T10:00Z"
    if pattern.startswith("^((19"):
        return "a date, e.g. 2026-03-02"
    return "text" if pattern != "^[A-Za-z0-9_.-]+$" else "an id (letters, digits, _ . -)"


def _register(name: str, model: type[cmd.Command]) -> None:
    def command(
        case_id: Annotated[str, typer.Argument(help="The case id.")],
        fields: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE fields.")] = None,
        actor: ActorOption = None,
    ) -> None:
        from workflows.client import CaseNotFound, case_view, send_command

        settings = _setup()
        values = parse_pairs(fields or [])
        if name in cmd.NOW_DEFAULTS:
            values.setdefault(cmd.NOW_DEFAULTS[name], datetime.now(UTC).isoformat())
        values["actor"] = parse_actor(actor, settings)
        command_model = build(model, values)  # the input first: refused without a database
        user = confirm(command_model.actor, settings)

        async def act(rt: Runtime) -> Any:
            case = (await case_view(rt.temporal, case_id)).model_dump()
            if not user.can_read(case):
                raise CaseNotFound(f"no case {case_id}")
            if not user.can_command(case):
                raise NotAllowed(
                    f"case_id: {user.role.value} {user.user_id} may not act on case {case_id}"
                )
            return await send_command(rt.temporal, case_id, name, command_model)

        result = run_with_client(settings, act)
        console.print(
            f"case {result.case_id}: {', '.join(result.events) or 'nothing new'} "
            f"(version {result.version}, {result.phase.value})",
            highlight=False,
        )

    command.__doc__ = (
        f"{(model.__doc__ or name.replace('_', ' ')).strip()}\n\n"
        f"Fields, as KEY=VALUE (values are JSON where they parse):\n\n"
        f"{_field_help(cmd.sent_fields(model))}"
    )
    case_app.command(name.replace("_", "-"))(command)
    if "_" in name:  # the API's spelling works too
        case_app.command(name, hidden=True)(command)


for _name, _model in cmd.COMMANDS.items():
    _register(_name, _model)


@case_app.command("show")
def show(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
    actor: ActorOption = None,
) -> None:
    """The live state of a case: phase, key worker, goals, reviews and the next deadline.
    Who may read it as through the API; every read is in the case's access log."""
    from projections.queries import record_access
    from workflows.client import CaseNotFound, case_view

    settings = _setup()
    user = confirm(parse_actor(actor, settings), settings)

    async def read(rt: Runtime) -> Any:
        view = await case_view(rt.temporal, case_id)
        readable = user.can_read(view.model_dump())
        await record_access(
            rt.store, case_id, user.actor, view="summary", interface="cli", allowed=readable
        )
        if not readable:
            raise CaseNotFound(f"no case {case_id}")
        return view

    view = run_with_client(settings, read, policy=True)
    if as_json:
        console.print_json(view.model_dump_json())
        return
    table = Table(title=f"case {view.case_id}", show_header=False)
    table.add_row("phase", view.phase.value)
    table.add_row("team / key worker", f"{view.team_id} / {view.key_worker_id or '-'}")
    table.add_row("policy", view.policy_version)
    if view.previous_case_id:
        table.add_row("re-referral of", view.previous_case_id)
    if view.waitlist_position:
        table.add_row("waitlist position", str(view.waitlist_position))
    table.add_row(
        "first meeting", f"{view.first_meeting_at or '-'} (due {view.first_meeting_due_at or '-'})"
    )
    table.add_row(
        "intensive phase", f"{view.intensive_started_on or '-'} → {view.intensive_ends_on or '-'}"
    )
    table.add_row("sessions", str(view.sessions))
    for goal in view.goals:
        table.add_row(
            f"goal {goal.goal_id}",
            f"{goal.category.value}: {goal.baseline} → target "
            f"{goal.target}, latest {goal.latest_score}, closing {goal.closing_score}",
        )
    for review in view.reviews:
        table.add_row(f"review {review.review_id}", f"due {review.due_on}: {review.status.value}")
    for booster in view.boosters:
        table.add_row(
            f"booster {booster.booster_id}",
            f"by {booster.due_by}: {'delivered' if booster.delivered_at else 'pending'}",
        )
    table.add_row("next deadline", str(view.next_deadline or "-"))
    if view.end_reason:
        table.add_row("ended", view.end_reason.value)
    console.print(table)


def refer(
    case_id: Annotated[str | None, typer.Option(help="Case id (default: a new one).")] = None,
    file: Annotated[Path | None, typer.Option(help="JSON file with the referral's fields.")] = None,
    family: Annotated[str | None, typer.Option(help="Family id.")] = None,
    team: Annotated[str | None, typer.Option(help="Team id.")] = None,
    area: Annotated[
        str | None, typer.Option(help="The local authority area of Wales (e.g. cardiff).")
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Referring agency.")] = None,
    ground: Annotated[list[str] | None, typer.Option(help="Referral ground (repeat).")] = None,
    need: Annotated[list[str] | None, typer.Option(help="Presenting need (repeat).")] = None,
    child: Annotated[
        list[str] | None, typer.Option(help="CHILD_ID[:STATUS[:AGE_BAND]] (repeat).")
    ] = None,
    adult: Annotated[
        list[str] | None, typer.Option(help="PERSON_ID:RELATIONSHIP (repeat).")
    ] = None,
    priority: Annotated[int | None, typer.Option(help="1 (most urgent) to 5.")] = None,
    language: Annotated[
        str | None,
        typer.Option(help="The language the family chose: welsh, english or bilingual."),
    ] = None,
    received_on: Annotated[str | None, typer.Option(help="Date received (default today).")] = None,
    consent: Annotated[
        bool | None,
        typer.Option("--consent/--no-consent", help="Consent to the referral (required)."),
    ] = None,
    sharing: Annotated[
        bool | None,
        typer.Option("--sharing/--no-sharing", help="Consent to information sharing (required)."),
    ] = None,
    follow_up: Annotated[
        bool | None,
        typer.Option("--follow-up/--no-follow-up", help="Consent to follow-up reviews (required)."),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Refer a family: opens a case (a new workflow) and prints its id."""
    from workflows.client import CommandRefused, checked_id, refer_family

    settings = _setup()
    values: dict[str, Any] = {}
    if file is not None:
        values = read_json_file(file)
        if not isinstance(values, dict):
            raise fail("file: must hold a JSON object")
    flags = {
        "family_id": family,
        "team_id": team,
        "area": area,
        "referring_agency": agency,
        "referral_grounds": ground,
        "presenting_needs": need,
        "priority": priority,
        "language_preference": language,
        "received_on": received_on,
        "children": [
            dict(zip(("child_id", "statutory_status", "age_band"), c.split(":", 2), strict=False))
            for c in child
        ]
        if child
        else None,
        "adults": [
            dict(zip(("person_id", "relationship"), a.split(":", 1), strict=False)) for a in adult
        ]
        if adult
        else None,
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    values.setdefault("received_on", date.today().isoformat())
    for field, given in (
        ("consent_to_referral", consent),
        ("consent_to_information_sharing", sharing),
        ("consent_to_follow_up", follow_up),
    ):
        if given is not None:  # never assumed: a referral without it is refused, named
            values[field] = given
    values["actor"] = parse_actor(actor, settings)
    new_id = case_id or values.pop("case_id", None) or uuid.uuid4().hex[:10]
    try:
        checked_id(str(new_id), "case_id", new=True)
    except CommandRefused as exc:
        raise fail(str(exc)) from None
    command = build(cmd.ReferFamily, values)
    result = run_with_client(
        settings,
        lambda rt: refer_family(
            rt.temporal, new_id, command, task_queue=settings.task_queue, policy=rt.policy
        ),
        policy=True,
        actor=command.actor,
        allowed=lambda user: user.referral_refusal(command.team_id),
    )
    console.print(
        f"case {result.case_id}: {', '.join(result.events)} ({result.phase.value})", highlight=False
    )


@team_app.command("register")
def team_register(
    team_id: str,
    name: Annotated[str, typer.Option(help="The team's name as staff know it.")],
    area: Annotated[
        LocalAuthority,
        typer.Option(help="The local authority area of Wales it serves.", show_choices=True),
    ],
    actor: ActorOption = None,
) -> None:
    """Register a team (an admin's act, recorded on the team's stream). Referrals, key
    workers and transfers may name it from then on; it runs on the configured policy."""
    from workflows.client import register_team
    from workflows.team_io import RegisterTeam

    settings = _setup()
    command = build(
        RegisterTeam,
        {"actor": parse_actor(actor, settings), "name": name, "area": area.value},
    )
    run_with_client(
        settings,
        lambda rt: register_team(
            rt.temporal,
            team_id,
            command,
            task_queue=settings.task_queue,
            policy=rt.policy,
            pool=rt.pool,
        ),
        policy=True,
        actor=command.actor,
    )
    console.print(f"team {team_id}: registered as {command.name!r} ({area.value})", highlight=False)


@team_app.command("add-worker")
def add_worker(
    team_id: str,
    key_worker_id: str,
    limit: Annotated[
        int | None,
        typer.Option(
            help="Families in the intensive phase at once. Unset: the team policy's limit "
            "(and it follows the policy when a supervisor changes it)."
        ),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Add a key worker to a registered team (or change their caseload limit)."""
    from workflows.client import CommandRefused, change_key_worker, team_view
    from workflows.team_io import ChangeKeyWorker

    settings = _setup()
    change = build(
        ChangeKeyWorker,
        {
            "actor": parse_actor(actor, settings),
            "key_worker_id": key_worker_id,
            "caseload_limit": limit,
        },
    )

    async def add(rt: Runtime) -> int:
        from identity.users import key_worker_refusal

        refusal = await key_worker_refusal(rt.pool, key_worker_id, team_id)
        if refusal is not None:
            raise CommandRefused(f"key_worker_id: {refusal}")
        await change_key_worker(rt.temporal, team_id, change)
        state = await team_view(rt.temporal, team_id)
        return state.key_workers[key_worker_id].caseload_limit if limit is None else limit

    taken = run_with_client(
        settings,
        add,
        policy=True,
        actor=change.actor,
        allowed=lambda user: user.team_refusal(team_id),
    )
    families = "family" if taken == 1 else "families"
    source = " (the team policy's limit)" if limit is None else ""
    console.print(
        f"team {team_id}: {key_worker_id} takes up to {taken} {families}{source}",
        highlight=False,
    )


@team_app.command("policy")
def team_policy(
    team_id: str,
    file: Annotated[
        Path | None,
        typer.Option(help="A policy JSON file. Unset: the configured policy (IFSS_POLICY_FILE)."),
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Put a team on a policy (its caseload limit, waitlist alert and alert severities);
    a supervisor's decision, recorded on the team's stream."""
    from workflows.client import adopt_team_policy
    from workflows.team_io import AdoptTeamPolicy

    settings = _setup()
    if file is not None:
        settings = settings.model_copy(update={"policy_file": file})
    who = parse_actor(actor, settings)

    async def adopt(rt: Runtime) -> AdoptTeamPolicy:
        change = build(AdoptTeamPolicy, {"actor": who, "policy": rt.policy})
        await adopt_team_policy(rt.temporal, team_id, change)
        return change

    change = run_with_client(settings, adopt, policy=True, actor=who)
    console.print(
        f"team {team_id}: runs on policy {change.policy.version} "
        f"(digest {change.policy.digest[:12]}), caseload limit {change.policy.caseload_limit}",
        highlight=False,
    )


@team_app.command("leave")
def team_leave(
    team_id: str,
    key_worker_id: str,
    keep_families: Annotated[
        bool,
        typer.Option(
            help="Leave their families with them for now (they take no new ones); by default "
            "the families move at once, most urgent first."
        ),
    ] = False,
    actor: ActorOption = None,
) -> None:
    """A key worker leaves the team. Their families move, most urgent first, to key
    workers with space; a family not yet met goes back to the waitlist when nobody has
    space; a family whose work has begun stays until a supervisor reassigns it."""
    from workflows.client import hand_over_leaver, leave_keeping_families
    from workflows.team_io import ChangeKeyWorker, HandOverLeaver, HandoverResult

    settings = _setup()
    change = build(
        ChangeKeyWorker,
        {"actor": parse_actor(actor, settings), "key_worker_id": key_worker_id, "leaving": True},
    )

    async def leave(rt: Runtime) -> HandoverResult:
        if not keep_families:
            leaver = HandOverLeaver(actor=change.actor, key_worker_id=change.key_worker_id)
            return await hand_over_leaver(rt.temporal, team_id, leaver)
        return await leave_keeping_families(rt.temporal, team_id, change)

    result = run_with_client(
        settings, leave, actor=change.actor, allowed=lambda user: user.team_refusal(team_id)
    )
    console.print(f"team {team_id}: {key_worker_id} has left", highlight=False)
    for case_id, worker in result.reassigned.items():
        console.print(f"  case {case_id}: now with {worker}", highlight=False)
    for case_id, position in result.waitlisted.items():
        console.print(f"  case {case_id}: back on the waitlist at {position}", highlight=False)
    why = "kept with them" if keep_families else "nobody has space"
    for case_id in result.staying:
        console.print(
            f"  case {case_id}: stays with {key_worker_id} ({why}; reassign it)",
            highlight=False,
        )


@team_app.command("cover")
def team_cover(
    team_id: str,
    key_worker_id: str,
    by: Annotated[str, typer.Option(help="The key worker who covers.")],
    until: Annotated[str, typer.Option(help="The last day of the cover (YYYY-MM-DD).")],
    actor: ActorOption = None,
) -> None:
    """Another key worker covers an absent one's families until a date: they read and act
    on them and receive their alerts until it ends."""
    from workflows.client import set_cover
    from workflows.team_io import SetCover

    settings = _setup()
    change = build(
        SetCover,
        {
            "actor": parse_actor(actor, settings),
            "key_worker_id": key_worker_id,
            "cover_key_worker_id": by,
            "until": until,
        },
    )
    run_with_client(
        settings,
        lambda rt: set_cover(rt.temporal, team_id, change),
        actor=change.actor,
        allowed=lambda user: user.team_refusal(team_id),
    )
    console.print(
        f"team {team_id}: {by} covers {key_worker_id}'s families until {change.until}",
        highlight=False,
    )


@team_app.command("show")
def team_show(team_id: str) -> None:
    """The team's policy, key workers with their families, and the waitlist."""
    from workflows.client import team_view
    from workflows.team import policy_of

    settings = _setup()
    state = run_with_client(settings, lambda rt: team_view(rt.temporal, team_id))
    policy = policy_of(state)
    registered = f"{state.name} ({state.area})" if state.name else "not registered"
    table = Table(title=f"team {team_id}: {registered}")
    table.add_column("key worker")
    table.add_column("families")
    table.add_column("in follow-up")
    table.add_column("limit")
    for worker in state.key_workers.values():
        table.add_row(
            worker.key_worker_id + ("" if worker.active else " (left)"),
            ", ".join(worker.cases) or "-",
            ", ".join(c for c, w in sorted(state.following.items()) if w == worker.key_worker_id)
            or "-",
            str(worker.caseload_limit) + (" (policy)" if worker.follows_policy else ""),
        )
    console.print(
        f"policy {policy.version} (digest {policy.digest[:12]})"
        + ("" if state.policy else ", not recorded: the default"),
        highlight=False,
    )
    console.print(table)
    for absent, cover in sorted(state.covers.items()):
        console.print(
            f"cover: {cover.cover_key_worker_id} covers {absent} until {cover.until}",
            highlight=False,
        )
    for n, family in enumerate(state.waitlist, 1):
        console.print(
            f"waiting {n}: case {family.case_id} (priority {family.priority}, "
            f"referred {family.referred_on})",
            highlight=False,
        )


MAX_FILE_BYTES = 1024 * 1024  # as for a request body


def read_json_file(path: Path) -> Any:
    """A referral file: a regular file of at most 1 MiB of UTF-8 JSON; exits 2 otherwise."""
    try:
        if not path.is_file():
            raise fail(f"file: {path} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(f"file: cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"file: must be at most {MAX_FILE_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=each_key_once)
    except KeyGivenTwice as exc:
        raise fail(f"file: {exc.key!r} is given twice") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"file: is not JSON in UTF-8 ({exc})") from None
    except RecursionError:
        raise fail("file: is nested too deeply to be a referral") from None
    except ValueError:  # an integer of more digits than Python converts (sys.int_info)
        raise fail("file: holds a number too long to read") from None
