"""TeamWorkflow: the single writer of one team's allocations (id ``team-<team_id>``).

Messages are queued by the signal and update handlers and applied one at a time by the
main loop, so concurrent acceptances can never push a key worker past their limit. Its
decisions go to its own stream (``team-<team_id>``); each case records its own outcome.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import appending

with workflow.unsafe.imports_passed_through():
    from events import catalogue as ev
    from events.calendar import local_day
    from events.catalogue import DomainEvent
    from events.envelope import Actor, EventMetadata
    from events.policy import DEFAULT_POLICY
    from events.records import NewEvent
    from events.vocabulary import Role
    from workflows import commands as cmd
    from workflows import team
    from workflows.lifecycle.handover import Admission
    from workflows.team import FamiliesAsked, FamilyOnRecord, TeamState
    from workflows.team_io import (
        AcknowledgeTeamAlert,
        AdoptTeamPolicy,
        ChangeKeyWorker,
        HandOverLeaver,
        HandoverResult,
        RegisterTeam,
        SetCover,
        TeamInput,
        checked,
    )
    from workflows.team_protocol import (
        CASE_SIGNALS,
        AdmitImport,
        AdmitTransfer,
        ReassignCase,
        Reinstate,
        Release,
        Reprioritise,
        RequestAllocation,
        TeamMessage,
    )

# Asking a leaver's families where they stand: an activity (``families_of``) by name, as
# the activities module imports this one.
FAMILIES_TIMEOUT = timedelta(seconds=30)

# Teams started before the waitlist alert replay without its timers.
TEAM_ALERTS_PATCH = "team-waitlist-alerts"
# Teams record the policy they run on (before this, they ran on the default, unrecorded).
TEAM_POLICY_PATCH = "team-policy"
TEAM_NAMES_PATCH = "team-names-in-notices"  # deprecated: notices always name the team
# A family given to a key worker who is covered is covered too.
COVER_NEWCOMERS_PATCH = "cover-newcomers"
# A key worker who leaves stops covering anyone.
LEAVER_ENDS_COVERS_PATCH = "leaver-ends-covers"


@workflow.defn
class TeamWorkflow:
    @workflow.init
    def __init__(self, input: TeamInput) -> None:
        self._input = input
        self._state = input.state or TeamState(team_id=input.team_id)
        self._inbox: list[TeamMessage] = list(input.inbox)
        self._lock = asyncio.Lock()
        self._writer = appending.StreamWriter(f"team-{input.team_id}", self._apply)
        self._retry_at: datetime | None = None
        self._records_policy: bool | None = None  # decided on first use (a patch)
        self._acting = Actor.system()  # who the events being told about were decided by
        # Notices name their team in every run (a signal's input is not replayed against):
        # the patch that once chose it is deprecated, for the histories that marked it.
        workflow.deprecate_patch(TEAM_NAMES_PATCH)

    @workflow.run
    async def run(self, input: TeamInput) -> None:
        if workflow.patched(TEAM_ALERTS_PATCH):
            self._state.alert_timers = True
        while True:
            wakes = [team.next_wakeup(self._state, team.policy_of(self._state)), self._retry_at]
            if self._writer.behind and self._retry_at is None:
                wakes.append(workflow.now() + appending.RETRY_EVERY)
            wake = min((w for w in wakes if w is not None), default=None)
            wait = None if wake is None else max((wake - workflow.now()).total_seconds(), 0.0)
            try:
                await workflow.wait_condition(
                    lambda: (
                        (bool(self._inbox) and self._retry_at is None) or self._history_is_long()
                    ),
                    timeout=wait,
                )
            except TimeoutError:
                pass
            async with self._lock:
                try:
                    # Decide on the stream as it is: catch up first if an append was unsure.
                    await self._writer.catch_up(self._state.version)
                    await self._ensure_policy()
                    while self._inbox:
                        await self._apply_message(self._inbox[0])
                        self._inbox.pop(0)  # recorded: the next one
                    await self._record(
                        team.due_alerts(self._state, team.policy_of(self._state), workflow.now()),
                        Actor.system(),
                    )
                    self._retry_at = None
                except ApplicationError as exc:  # the store refused or did not answer
                    workflow.logger.warning("team work postponed", extra={"error": exc.message})
                    self._retry_at = workflow.now() + appending.RETRY_EVERY
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    TeamInput(
                        team_id=input.team_id,
                        policy=input.policy,
                        state=self._state,
                        max_history_events=input.max_history_events,
                        inbox=self._inbox,
                    )
                )

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._input.max_history_events
        )

    async def _ensure_policy(self) -> None:
        """Record the policy the team starts on, before its first decision (under the
        lock). Teams started before policies were recorded go on without one."""
        if self._records_policy is None:
            self._records_policy = workflow.patched(TEAM_POLICY_PATCH)
        if self._records_policy and self._state.policy is None:
            policy = self._input.policy or DEFAULT_POLICY
            await self._record(team.adopt_policy(self._state, policy), Actor.system())

    async def _apply_message(self, message: TeamMessage) -> None:
        match message:
            case RequestAllocation():
                events = team.request_allocation(
                    self._state, message.case_id, message.priority, message.referred_on
                )
            case Release():
                events = team.release(self._state, message.case_id, message.following)
            case Reprioritise():
                events = team.reprioritise(self._state, message.case_id, message.priority)
            case Reinstate():
                events = team.reinstate(self._state, message.case_id, message.key_worker_id)
            case _:
                assert_never(message)
        await self._record(events, Actor.system())

    async def _record(self, events: list[DomainEvent], actor: Actor) -> None:
        """Append (decided on the current state, caught up with the stream), apply, tell
        the cases concerned. Raises ``ApplicationError`` when nothing (or nothing
        confirmed) was recorded."""
        if not events:
            return
        if self._state.alert_timers:
            events = events + team.resolved_alerts(self._state, events)
        info = workflow.info()
        metadata = EventMetadata(
            actor=actor,
            correlation_id=workflow.uuid4(),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
        )
        now = workflow.now()
        new = [
            NewEvent.of(e, event_id=workflow.uuid4(), metadata=metadata, occurred_at=now)
            for e in events
        ]
        self._acting = actor  # the case records what the team tells it as this person's
        try:
            await self._writer.record(self._state.version, events, new, now)
        finally:
            self._acting = Actor.system()

    async def _apply(self, recorded: list[tuple[DomainEvent, datetime]]) -> None:
        """Events now in the team's stream (answered, or found in its tail): the new
        state, then the cases concerned are told."""
        for event, at in recorded:
            self._state = team.evolve(self._state, event, at)
        for event, _ in recorded:
            await self._tell_case(event)

    async def _tell_case(self, event: DomainEvent) -> None:
        notice: cmd.Command
        team_id = self._state.team_id
        match event:
            case ev.TeamCaseAllocated():
                notice = cmd.KeyWorkerAssigned(
                    actor=Actor.system(),
                    key_worker_id=event.key_worker_id,
                    from_waitlist=event.from_waitlist,
                    team_id=team_id,
                )
            case ev.TeamCaseWaitlisted():
                notice = cmd.PlacedOnWaitlist(
                    actor=Actor.system(),
                    position=event.position,
                    priority=event.priority,
                    team_id=team_id,
                )
            case ev.TeamCaseReassigned():
                notice = cmd.KeyWorkerReassigned(
                    actor=self._acting,
                    previous_key_worker_id=event.from_key_worker_id,
                    key_worker_id=event.key_worker_id,
                    reason=event.reason,
                )
            case ev.TeamAllocationWithdrawn():
                notice = cmd.ReturnedToWaitlist(
                    actor=self._acting,
                    previous_key_worker_id=event.from_key_worker_id,
                    position=event.position,
                    priority=event.priority,
                )
            case ev.TeamCaseReceived():  # the case records it on the update's answer, or on this
                key_worker_id, position = team.admission_of(self._state, event.case_id)
                notice = cmd.TransferAdmitted(
                    actor=self._acting,
                    from_team_id=event.from_team_id,
                    team_id=self._state.team_id,
                    key_worker_id=key_worker_id,
                    position=position,
                    reason=event.reason,
                )
            case ev.TeamCoverEnded():
                uncovered = cmd.KeyWorkerUncovered(
                    actor=self._acting,
                    key_worker_id=event.key_worker_id,
                    cover_key_worker_id=event.cover_key_worker_id,
                )
                for case_id in self._state.families_of(event.key_worker_id):
                    await self._signal_case(case_id, uncovered)
                return
            case ev.TeamCoverArranged():
                cover = cmd.KeyWorkerCovered(
                    actor=self._acting,
                    key_worker_id=event.key_worker_id,
                    cover_key_worker_id=event.cover_key_worker_id,
                    until=event.until,
                )
                for case_id in self._state.families_of(event.key_worker_id):
                    await self._signal_case(case_id, cover)
                return
            case _:
                return
        await self._signal_case(event.case_id, notice)
        await self._cover_newcomer(event)

    def _ends_covers(self, key_worker_id: str) -> bool:
        """Whether a leaver's covers end with them (teams that recorded leavers before this
        replay without it)."""
        covers = self._state.covers.values()
        covering = any(c.cover_key_worker_id == key_worker_id for c in covers)
        return covering and workflow.patched(LEAVER_ENDS_COVERS_PATCH)

    async def _cover_newcomer(self, event: DomainEvent) -> None:
        """A family given to a key worker who is covered today is covered too."""
        if not isinstance(
            event, ev.TeamCaseAllocated | ev.TeamCaseReassigned | ev.TeamCaseReceived
        ):
            return
        key_worker_id, _ = team.admission_of(self._state, event.case_id)
        if key_worker_id is None:
            key_worker_id = self._state.following.get(event.case_id)
        cover = self._state.covers.get(key_worker_id or "")
        if key_worker_id is None or cover is None or cover.until < local_day(workflow.now()):
            return
        if not workflow.patched(COVER_NEWCOMERS_PATCH):  # teams that covered before this
            return
        notice = cmd.KeyWorkerCovered(
            actor=self._acting,
            key_worker_id=key_worker_id,
            cover_key_worker_id=cover.cover_key_worker_id,
            until=cover.until,
        )
        await self._signal_case(event.case_id, notice)

    async def _signal_case(self, case_id: str, notice: cmd.Command) -> None:
        handle = workflow.get_external_workflow_handle(f"case-{case_id}")
        try:
            await handle.signal(CASE_SIGNALS[type(notice)], notice)
        except Exception as exc:  # the case ended meanwhile; its release will follow
            workflow.logger.warning(
                "case not signalled", extra={"case_id": case_id, "error": type(exc).__name__}
            )

    @workflow.signal
    def case_message(self, message: TeamMessage) -> None:
        self._inbox.append(message)

    @workflow.update
    async def register(self, command: RegisterTeam) -> int:
        """An admin registers the team (its workflow starts with this update)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._record(checked(lambda: self._register_events(command)), command.actor)
            await self._ensure_policy()
            return self._state.version

    @register.validator
    def _check_register(self, command: RegisterTeam) -> None:
        if command.actor.role is not Role.ADMIN:
            raise ApplicationError(
                "actor.role: only an admin may register a team",
                "forbidden",
                type="CommandRejected",
                non_retryable=True,
            )
        checked(lambda: [*team.check_area(command.area), *self._register_events(command)])

    def _register_events(self, command: RegisterTeam) -> list[DomainEvent]:
        return team.register(self._state, command.name, command.area)

    @workflow.update
    async def change_key_worker(self, change: ChangeKeyWorker) -> int:
        """Add a key worker (or change their limit), or mark them as leaving."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._ensure_policy()
            if change.leaving:
                events = team.leave(
                    self._state, change.key_worker_id, self._ends_covers(change.key_worker_id)
                )
            else:
                events = team.join(self._state, change.key_worker_id, change.caseload_limit)
            await self._record(events, change.actor)
            return self._state.version

    @change_key_worker.validator
    def _check_change_key_worker(self, change: ChangeKeyWorker) -> None:
        if change.actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
            raise ValueError("actor.role: only supervisor or admin may change a team's key workers")
        if change.leaving and change.key_worker_id not in self._state.key_workers:
            raise ValueError(f"key_worker_id: no key worker {change.key_worker_id} in this team")
        checked(lambda: team.require_known(self._state))

    @workflow.update
    async def hand_over_leaver(self, change: HandOverLeaver) -> HandoverResult:
        """A key worker leaves and their families move now (see ``team.leave_with_families``)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._ensure_policy()
            worker = self._state.key_workers[change.key_worker_id]
            try:
                families = await workflow.execute_activity(
                    "families_of",
                    FamiliesAsked(case_ids=list(worker.cases)),
                    result_type=list[FamilyOnRecord],
                    start_to_close_timeout=FAMILIES_TIMEOUT,
                    schedule_to_close_timeout=appending.QUERY_RETRY_BOUND,
                )
            except ActivityError:
                raise ApplicationError(
                    "key_worker_id: the team could not ask the families where they stand, so "
                    "nothing was moved; try again",
                    type="TeamUnavailable",
                    non_retryable=True,
                ) from None
            events = team.leave_with_families(
                self._state, change.key_worker_id, families, self._ends_covers(change.key_worker_id)
            )
            await self._record(events, change.actor)
            result = HandoverResult(version=self._state.version)
            for event in events:
                if isinstance(event, ev.TeamCaseReassigned):
                    result.reassigned[event.case_id] = event.key_worker_id
                elif isinstance(event, ev.TeamAllocationWithdrawn):
                    result.waitlisted[event.case_id] = event.position
            result.staying = self._state.families_of(change.key_worker_id)
            return result

    @hand_over_leaver.validator
    def _check_hand_over_leaver(self, change: HandOverLeaver) -> None:
        if change.actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
            raise ValueError("actor.role: only supervisor or admin may move a leaver's families")
        if change.key_worker_id not in self._state.key_workers:
            raise ValueError(f"key_worker_id: no key worker {change.key_worker_id} in this team")

    @workflow.update
    async def reassign_case(self, request: ReassignCase) -> int:
        """A supervisor's handover of one family (asked by its case, which records it)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            events = checked(lambda: self._reassign_events(request))
            await self._record(events, request.actor)
            return self._state.version

    @reassign_case.validator
    def _check_reassign_case(self, request: ReassignCase) -> None:
        checked(lambda: self._reassign_events(request))

    def _reassign_events(self, request: ReassignCase) -> list[DomainEvent]:
        return team.reassign(
            self._state,
            request.case_id,
            request.key_worker_id,
            request.reason,
            request.in_follow_up,
        )

    @workflow.update
    async def admit_transfer(self, request: AdmitTransfer) -> Admission:
        """A family moving in from another team: its key worker here, or its place on the
        waitlist (the case records the transfer with this answer)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._ensure_policy()
            events = checked(lambda: self._admit_events(request))
            await self._record(events, request.actor)
            key_worker_id, position = team.admission_of(self._state, request.case_id)
            return Admission(key_worker_id=key_worker_id, position=position)

    @admit_transfer.validator
    def _check_admit_transfer(self, request: AdmitTransfer) -> None:
        checked(lambda: self._admit_events(request))

    def _admit_events(self, request: AdmitTransfer) -> list[DomainEvent]:
        return team.admit(
            self._state,
            request.case_id,
            request.from_team_id,
            request.priority,
            request.referred_on,
            request.started,
            request.reason,
        )

    @workflow.update
    async def admit_import(self, request: AdmitImport) -> Admission:
        """A family imported from another system: its place here as it stands there (the
        case records its history with this answer)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._ensure_policy()
            events = checked(lambda: self._import_events(request))
            await self._record(events, request.actor)
            key_worker_id, position = team.admission_of(self._state, request.case_id)
            return Admission(key_worker_id=key_worker_id, position=position)

    @admit_import.validator
    def _check_admit_import(self, request: AdmitImport) -> None:
        checked(lambda: self._import_events(request))

    def _import_events(self, request: AdmitImport) -> list[DomainEvent]:
        return team.admit_import(
            self._state,
            request.case_id,
            request.phase,
            request.key_worker_id,
            request.priority,
            request.referred_on,
        )

    @workflow.update
    async def set_cover(self, change: SetCover) -> int:
        """A key worker covers an absent one's families until a date (inclusive)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            events = checked(lambda: self._cover_events(change))
            await self._record(events, change.actor)
            return self._state.version

    @set_cover.validator
    def _check_set_cover(self, change: SetCover) -> None:
        if change.actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
            raise ValueError("actor.role: only supervisor or admin may set a cover")
        checked(lambda: self._cover_events(change))

    def _cover_events(self, change: SetCover) -> list[DomainEvent]:
        return team.set_cover(
            self._state,
            change.key_worker_id,
            change.cover_key_worker_id,
            change.until,
            local_day(workflow.now()),
        )

    @workflow.update
    async def adopt_policy(self, change: AdoptTeamPolicy) -> int:
        """A supervisor puts the team on another policy (recorded, with who decided)."""
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            await self._ensure_policy()
            await self._record(team.adopt_policy(self._state, change.policy), change.actor)
            return self._state.version

    @adopt_policy.validator
    def _check_adopt_policy(self, change: AdoptTeamPolicy) -> None:
        if change.actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
            raise ValueError("actor.role: only supervisor or admin may change a team's policy")
        checked(lambda: team.require_known(self._state))

    @workflow.update
    async def acknowledge_alert(self, command: AcknowledgeTeamAlert) -> int:
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            events = checked(lambda: team.acknowledge(self._state, command.alert_id))
            await self._record(events, command.actor)
            return self._state.version

    @acknowledge_alert.validator
    def _check_acknowledge_alert(self, command: AcknowledgeTeamAlert) -> None:
        if command.actor.role not in {Role.SUPERVISOR, Role.ADMIN}:
            raise ValueError("actor.role: only a supervisor may acknowledge a team's alert")
        checked(lambda: team.acknowledge(self._state, command.alert_id))

    @workflow.query
    def view(self) -> TeamState:
        return self._state
