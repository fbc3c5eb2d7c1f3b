"""The callers' side of the workflows: refer, command, look. Used by the CLI and the API.

Temporal's errors are turned into typed ones a user can act on: refused by the rules,
a version conflict, a case that does not exist, the store not answering, a command too
large to send.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from events.bounds import Code, NewId
from events.envelope import Actor
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import team_named_alike
from events.validation import first_problem
from workflows import commands as cmd
from workflows import wording
from workflows.case_io import CaseInput, CaseView, CommandResult
from workflows.case_workflow import CaseWorkflow
from workflows.lifecycle.imports import ImportCase
from workflows.lifecycle.state import Phase
from workflows.team import TeamState
from workflows.team_io import (
    AcknowledgeTeamAlert,
    AdoptTeamPolicy,
    ChangeKeyWorker,
    HandOverLeaver,
    HandoverResult,
    RegisterTeam,
    SetCover,
    TeamInput,
)
from workflows.team_workflow import TeamWorkflow
from workflows.wording import Wire

_Arg = TypeVar("_Arg")


class CommandRefused(Exception):
    """The rules refused the command; nothing was recorded. The message names the field;
    ``said`` is the rule's template and values when the rule gave them (for the pages)."""

    def __init__(self, message: str, said: tuple[str, dict[str, Wire]] | None = None) -> None:
        super().__init__(message)
        self.said = said


class CaseAlreadyExists(CommandRefused):
    """A referral named a case id that is taken."""


class CommandForbidden(CommandRefused):
    """The actor's role may not send this command (or not to this case)."""


class CommandConflict(CommandRefused):
    """The case's state (or the clock) is against the command now; it may succeed later."""


class VersionConflict(CommandRefused):
    """The case is not at the caller's ``expected_version`` (or moved on meanwhile)."""


class StoreUnavailable(Exception):
    """The event store did not answer in time: the command is not confirmed."""


class StoreFailure(Exception):
    """The event store refused a write the rules had accepted (a fault, not the input)."""


class CaseNotFound(Exception):
    """No workflow runs for that case id."""


class CommandTooLarge(CommandRefused):
    """The command is larger than a workflow payload may be."""


# Far below Temporal's own limits (2 MB per payload, 4 MB per gRPC message); the models'
# field and list limits keep real commands to a few KiB.
MAX_COMMAND_BYTES = 256 * 1024


def case_workflow_id(case_id: str) -> str:
    return f"case-{case_id}"


# Built once: a TypeAdapter builds its validator when made (about 50 µs, on every command).
_IDS = {False: TypeAdapter(Code), True: TypeAdapter(NewId)}


def checked_id(value: str, field: str, *, new: bool = False) -> str:
    """``value`` if it is an id (a new one: starting with a letter or digit); else
    ``CommandRefused`` naming ``field`` and the rule, before anything reaches Temporal."""
    try:
        return _IDS[new].validate_python(value)
    except ValidationError as exc:
        raise CommandRefused(
            f"{field}: {first_problem(exc.errors(include_input=False))[1]}"
        ) from None


def _refusal(exc: WorkflowUpdateFailedError) -> Exception:
    cause = exc.cause
    if not isinstance(cause, ApplicationError):
        return CommandRefused(str(cause or exc))
    if cause.type == "CommandRejected":
        refusal = cause.details[0] if cause.details else "invalid"
        kind = {"forbidden": CommandForbidden, "conflict": CommandConflict}.get(
            str(refusal), CommandRefused
        )
        said = wording.from_details(cause.details[1]) if len(cause.details) > 1 else None
        return kind(cause.message, said)
    failure: type[Exception] = {
        "VersionConflict": VersionConflict,
        "StoreUnavailable": StoreUnavailable,
        "TeamUnavailable": StoreUnavailable,
        "StoreRefused": StoreFailure,
        "InvalidInput": StoreFailure,
        "EventIdReused": StoreFailure,
    }.get(cause.type or "", CommandRefused)
    return failure(cause.message)


def check_size(command: cmd.Command) -> None:
    """Refuse, before anything reaches Temporal, a command built without its model's checks
    (``model_construct``) that breaks them, or one too large for a payload."""
    try:
        type(command).model_validate(command.model_dump())
    except ValidationError as exc:
        field, rule = first_problem(exc.errors(include_input=False), whole="command")
        raise CommandRefused(f"{field}: {rule}") from None
    size = len(command.model_dump_json().encode())
    if size > MAX_COMMAND_BYTES:
        raise CommandTooLarge(
            f"command: {size} bytes is over the limit of {MAX_COMMAND_BYTES} bytes"
        )


async def refer_family(
    client: Client,
    case_id: str,
    command: cmd.ReferFamily,
    *,
    task_queue: str,
    policy: ProgrammePolicy = DEFAULT_POLICY,
    max_history_events: int = 10_000,
) -> CommandResult:
    """Open a case: start its workflow (or find the one a refused referral left, which
    has recorded nothing) and deliver the referral in one call."""
    start = CaseInput(case_id=case_id, policy=policy, max_history_events=max_history_events)
    return await _open_case(
        client,
        start,
        CaseWorkflow.refer,
        command,
        task_queue,
        WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def import_case(
    client: Client,
    case_id: str,
    command: ImportCase,
    *,
    task_queue: str,
    policy: ProgrammePolicy = DEFAULT_POLICY,
) -> CommandResult:
    """Open a case from another system's record: start its workflow (or find the one a
    failed attempt left, which has recorded nothing) and deliver the import in one call."""
    start = CaseInput(case_id=case_id, policy=policy)
    return await _open_case(
        client,
        start,
        CaseWorkflow.import_case,
        command,
        task_queue,
        WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def _open_case(
    client: Client,
    start: CaseInput,
    update: UpdateMethodMultiParam[[CaseWorkflow, _Arg], CommandResult],
    command: _Arg,
    task_queue: str,
    conflict: WorkflowIDConflictPolicy,
) -> CommandResult:
    """Start a case's workflow and deliver the command that opens it, in one call."""
    case_id = start.case_id
    checked_id(case_id, "case_id", new=True)
    assert isinstance(command, cmd.Command)
    check_size(command)
    operation = WithStartWorkflowOperation(
        CaseWorkflow.run,
        start,
        id=case_workflow_id(case_id),
        task_queue=task_queue,
        id_conflict_policy=conflict,
    )
    exists = CaseAlreadyExists(f"case_id: case {case_id} already exists")
    try:
        return await client.execute_update_with_start_workflow(
            update, command, start_workflow_operation=operation
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except WorkflowAlreadyStartedError:
        raise exists from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.ALREADY_EXISTS:  # running already
            raise exists from None
        raise
    finally:
        await _settled(operation)


# Temporal takes at most 10 updates in flight per workflow (``limit.maxInFlightUpdates``),
# from every process together; more are turned away (RESOURCE_EXHAUSTED) and retried by the
# client with backoff, up to the requests' deadline. A process sends at most this many to
# one case at once and queues the rest in order.
IN_FLIGHT_PER_CASE = 4
_case_gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}


@contextlib.asynccontextmanager
async def _turn_for(case_id: str) -> AsyncIterator[None]:
    """Wait for one of the case's ``IN_FLIGHT_PER_CASE`` places in this process."""
    gate, users = _case_gates.setdefault(case_id, (asyncio.Semaphore(IN_FLIGHT_PER_CASE), [0]))
    users[0] += 1
    try:
        async with gate:
            yield
    finally:
        users[0] -= 1
        if not users[0]:
            del _case_gates[case_id]


async def send_command(
    client: Client, case_id: str, name: str, command: cmd.Command
) -> CommandResult:
    """Deliver ``command`` as the update ``name`` to a running case (a few at a time per
    case from this process: see ``IN_FLIGHT_PER_CASE``)."""
    if cmd.COMMANDS.get(name) is not type(command):
        raise CommandRefused(f"command: unknown command {name!r}")
    checked_id(case_id, "case_id")
    check_size(command)
    handle = client.get_workflow_handle(case_workflow_id(case_id))
    try:
        async with _turn_for(case_id):
            result: CommandResult = await handle.execute_update(
                name, command, result_type=CommandResult
            )
        return result
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await handle.describe()
        except RPCError:
            raise CaseNotFound(f"no case {case_id}") from None
        raise CommandConflict(
            "phase: the episode has ended; refer the family again instead"
        ) from None


async def case_view(client: Client, case_id: str) -> CaseView:
    """The live state of a case (a query: nothing is recorded). A workflow whose referral
    was refused (it waits a while for a corrected one, having recorded nothing) is no case."""
    checked_id(case_id, "case_id")
    handle = client.get_workflow_handle(case_workflow_id(case_id))
    try:
        view = await handle.query(CaseWorkflow.view)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise CaseNotFound(f"no case {case_id}") from None
        raise
    if view.phase is Phase.NEW:
        raise CaseNotFound(f"no case {case_id}")
    return view


async def register_team(
    client: Client,
    team_id: str,
    command: RegisterTeam,
    *,
    task_queue: str,
    policy: ProgrammePolicy = DEFAULT_POLICY,
    pool: Any = None,
) -> int:
    """Register a team (an admin's act): its workflow starts on ``policy`` and records
    ``TeamRegistered``; referrals, key workers and transfers may name it from then on. With
    ``pool`` (the store's), an id differing from a registered one only in case is refused."""
    if pool is not None and (other := await team_named_alike(pool, team_id)) is not None:
        raise CommandConflict(
            f"team_id: team {other} is registered already (ids differ only in case)"
        )
    return await _team_update(client, team_id, TeamWorkflow.register, command, task_queue, policy)


async def change_key_worker(client: Client, team_id: str, change: ChangeKeyWorker) -> int:
    """Add a key worker to a registered team, or mark them leaving."""
    return await _existing_team_update(client, team_id, TeamWorkflow.change_key_worker, change)


async def leave_keeping_families(
    client: Client, team_id: str, change: ChangeKeyWorker
) -> HandoverResult:
    """A key worker leaves (``change.leaving``) and their families stay with them for now:
    the result names those families."""
    version = await change_key_worker(client, team_id, change)
    worker = (await team_view(client, team_id)).key_workers.get(change.key_worker_id)
    return HandoverResult(version=version, staying=sorted(worker.cases) if worker else [])


async def stop_allocating_to(
    client: Client, teams: list[str], key_worker_id: str, actor: Actor
) -> list[str]:
    """A user being deactivated takes no new families: in each of ``teams`` (where they are
    a key worker) they are recorded as leaving, by ``actor``. Their families stay with them
    until a supervisor moves them (``hand_over_leaver``). Returns ``teams``."""
    for team_id in teams:
        change = ChangeKeyWorker(actor=actor, key_worker_id=key_worker_id, leaving=True)
        await change_key_worker(client, team_id, change)
    return teams


async def adopt_team_policy(client: Client, team_id: str, change: AdoptTeamPolicy) -> int:
    """Put a registered team on another policy."""
    return await _existing_team_update(client, team_id, TeamWorkflow.adopt_policy, change)


async def _team_update(
    client: Client,
    team_id: str,
    update: UpdateMethodMultiParam[[TeamWorkflow, _Arg], int],
    argument: _Arg,
    task_queue: str,
    policy: ProgrammePolicy,
) -> int:
    checked_id(team_id, "team_id", new=True)
    operation = WithStartWorkflowOperation(
        TeamWorkflow.run,
        TeamInput(team_id=team_id, policy=policy),
        id=f"team-{team_id}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    try:
        return await client.execute_update_with_start_workflow(
            update, argument, start_workflow_operation=operation
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    finally:
        await _settled(operation)


async def hand_over_leaver(client: Client, team_id: str, change: HandOverLeaver) -> HandoverResult:
    """A key worker leaves and their families move now (most urgent first): to key workers
    with space, back to the waitlist if not met yet, or staying until reassigned."""
    return await _existing_team_update(client, team_id, TeamWorkflow.hand_over_leaver, change)


async def set_cover(client: Client, team_id: str, change: SetCover) -> int:
    """A key worker covers an absent one's families until a date (inclusive)."""
    return await _existing_team_update(client, team_id, TeamWorkflow.set_cover, change)


_Result = TypeVar("_Result")


async def _existing_team_update(
    client: Client,
    team_id: str,
    update: UpdateMethodMultiParam[[TeamWorkflow, _Arg], _Result],
    argument: _Arg,
) -> _Result:
    """An update on a team that exists (its key workers joined): never starts one."""
    checked_id(team_id, "team_id")
    try:
        return await client.get_workflow_handle(f"team-{team_id}").execute_update(update, argument)
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise CommandRefused(
                f"team_id: no team {team_id} is registered; an admin registers it first "
                "(ifss team register)"
            ) from None
        raise


async def _settled(operation: WithStartWorkflowOperation[Any, Any]) -> None:
    """Collect the start's own outcome, so that a failed start is not reported again by
    asyncio as "a future exception that was never retrieved"."""
    with contextlib.suppress(Exception):
        await operation.workflow_handle()


async def team_view(client: Client, team_id: str) -> TeamState:
    """A team's key workers, their families and its waitlist (a query)."""
    checked_id(team_id, "team_id")
    try:
        return await client.get_workflow_handle(f"team-{team_id}").query(TeamWorkflow.view)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise CommandRefused(f"team_id: no team {team_id}") from None
        raise


async def acknowledge_alert(client: Client, alert_ref: str, actor: Actor) -> None:
    """Acknowledge an alert by its reference (``case-<id>:<alert>`` or ``team-<id>:<alert>``)
    in the workflow that raised it; refusals raise ``CommandRefused``."""
    stream, _, alert_id = alert_ref.rpartition(":")
    kind, _, owner = stream.partition("-")
    try:
        checked_id(owner, "alert_ref")
        checked_id(alert_id, "alert_ref")
    except CommandRefused:
        raise CommandRefused(
            "alert_ref: is not an alert reference (case-<id>:<alert> or team-<id>:<alert>)"
        ) from None
    if kind == "case":
        await send_command(
            client, owner, "acknowledge_alert", cmd.AcknowledgeAlert(actor=actor, alert_id=alert_id)
        )
        return
    if kind != "team":
        raise CommandRefused(f"alert_id: no alert {alert_ref}")

    handle = client.get_workflow_handle(stream)
    try:
        await handle.execute_update(
            TeamWorkflow.acknowledge_alert, AcknowledgeTeamAlert(actor=actor, alert_id=alert_id)
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise CommandRefused(f"alert_id: no alert {alert_ref}") from None
        raise
