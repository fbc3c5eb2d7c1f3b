"""CaseWorkflow: one family's episode, from referral to the end of follow-up.

Thin glue around ``workflows.lifecycle``: each command is an update whose validator runs
the pure rules (a refused command never enters history); the handler decides again under
a lock, records the events through the ``append_events`` activity and applies them. One
loop sleeps until the next deadline the state implies, or until the state changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import appending, wording

with workflow.unsafe.imports_passed_through():
    from activities.errors import STORE_RETRY
    from activities.handover import HandoverActivities
    from activities.store import FamilyClaim, PreviousEpisodeInput, StoreActivities
    from activities.team import TeamActivities
    from events import catalogue as ev
    from events.catalogue import DomainEvent
    from events.envelope import Actor, EventMetadata
    from events.records import NewEvent
    from events.vocabulary import (
        OverdueOnImport,
    )
    from workflows import commands as cmd
    from workflows.alerts import alerts_for
    from workflows.case_io import (
        CaseInput,
        CaseOutcome,
        CaseView,
        CommandResult,
        Notice,
        check_version,
        checked,
        decided,
        recorded,
        refused,
        view_of,
    )
    from workflows.lifecycle import (
        CaseState,
        CommandRejected,
        Phase,
        RefusalKind,
        decide,
        due,
        evolve_all,
        handover,
        next_wakeup,
        refer,
    )
    from workflows.lifecycle.handover import Admission
    from workflows.lifecycle.imports import ImportCase, ImportedPhase, import_events
    from workflows.team_protocol import (
        AdmitImport,
        AdmitTransfer,
        ReassignCase,
        TeamMessage,
        team_message,
    )

CASE_PHASE = SearchAttributeKey.for_keyword("CasePhase")
TEAM_ID = SearchAttributeKey.for_keyword("TeamId")
KEY_WORKER_ID = SearchAttributeKey.for_keyword("KeyWorkerId")

# Telling the team is retried for two minutes; a message not delivered by then waits in
# the case's outbox and is sent again every minute, so no family is stranded.
TEAM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
TEAM_RETRY_BOUND = timedelta(minutes=2)
# A referral that never arrives (the starting update was refused) leaves no case behind.
REFERRAL_WAIT = timedelta(minutes=10)
# Workflows started before alerts existed replay without them (their histories have the
# shorter appends); new ones record alerts with the events that raise them.
ALERTS_PATCH = "alerts-raised-by-rules"
# Likewise for the alert timers (review due soon, booster overdue, escalation): they add
# timers, so histories recorded without them must replay without them.
ALERT_TIMERS_PATCH = "alert-timers"
# Commands accepted before the input bounds (a referral dated ahead, a booster before the
# closure) replay as they were decided then.
INPUT_BOUNDS_PATCH = "input-bounds"
# A referral claims its family (one open episode per family) instead of only looking up the
# family's earlier case; histories recorded before replay with the look-up.
ONE_EPISODE_PATCH = "one-open-episode"
# Dates in Europe/London, working days without bank holidays and closure days: episodes
# started before keep UTC dates and weekday-only working days until they continue as new.
UK_CALENDAR_PATCH = "uk-calendar"
# Reviews within a window, standing alone, "not held"; boosters that keep the episode open;
# maintenance contacts and offered boosters. Older episodes keep the rules they began with.
FOLLOW_UP_RULES_PATCH = "follow-up-rules"
# Moving a review: a request a supervisor decides, within the policy's limit.
REVIEW_REQUESTS_PATCH = "review-move-requests"
# Corrections of earlier entries: the case remembers its correctable entries from then on.
CORRECTIONS_PATCH = "corrections"
# The team hears of the family in follow-up (and of its end), to hand it over or cover it.
TEAM_FOLLOWS_UP_PATCH = "team-follows-up"
# Consent kept per person: the family's stays withdrawn while anyone's own answer is no.
CONSENT_PER_PERSON_PATCH = "consent-per-person"
# The coded family profile (area from the list of local authorities, children's age bands):
# referrals and children recorded before it replay as they were decided.
CODED_PROFILE_PATCH = "coded-profile"
# The rules of ``CaseState.edge_rules``: commands accepted before them replay as decided.
EDGE_RULES_PATCH = "edge-rules"
# The rules of ``CaseState.late_dates``: likewise.
LATE_DATES_PATCH = "late-dates"
# An import's moments compared by their day in Wales, not in the offset the file wrote; a
# moment later on the import's day refused; the closure after its day's last step. Imports
# recorded before replay as they were checked. (A parameter of ``import_events``, not a
# ``CaseState`` flag: an import is the case's first and only such step.)
IMPORT_DAYS_PATCH = "import-days-in-wales"
# Every patch above at once: a case started from now on records this one marker (and one
# search-attribute update) where it recorded one per patch, 13 of each, in its first task.
# Histories recorded before it replay through the patches one by one. It also brings the
# steady deadline timer: the loop's timer stays armed while a command leaves the next
# deadline where it was, where before every command cancelled it and started another.
RULES_OF_2026_11_27 = "rules-of-2026-11-27"
# The rules of ``CaseState.person_ids_fold_case``: asked on its own in runs that recorded
# RULES_OF_2026_11_27 (their histories were decided without it).
PERSON_IDS_FOLD_CASE_PATCH = "person-ids-fold-case"
# Every patch above at once, this one included: a case started from now on records this one
# marker instead of RULES_OF_2026_11_27.
RULES_OF_2026_11_27_PM = "rules-of-2026-11-27-pm"
# Patches made after RULES_OF_2026_11_27: a run that recorded it asks each on its own.
_AFTER_THE_MORNING = frozenset({PERSON_IDS_FOLD_CASE_PATCH})

# How long after an import its overdue items are raised quietly (the passes that find
# them run at once, one deadline after another).
QUIET_AFTER_IMPORT = timedelta(minutes=1)
# An imported family at these phases has a place (or a key worker) in its team already.
TEAM_PLACES = frozenset(
    {
        ImportedPhase.WAITLISTED,
        ImportedPhase.ALLOCATED,
        ImportedPhase.INTENSIVE,
        ImportedPhase.FOLLOW_UP,
    }
)
# Asking a team to move a family: its answer comes at once, or the command is refused.
HANDOVER_TIMEOUT = timedelta(seconds=30)


@workflow.defn
class CaseWorkflow:
    @workflow.init
    def __init__(self, input: CaseInput) -> None:
        self._input = input
        self._state = input.state or CaseState(case_id=input.case_id, policy=input.policy)
        self._lock = asyncio.Lock()
        self._changed = False
        self._all_patches: bool | None = None  # RULES_OF_2026_11_27(_PM), once asked
        self._all_patches_pm = False  # RULES_OF_2026_11_27_PM
        self._armed_for: datetime | None = None  # the deadline the loop's timer waits for
        self._inbox: list[Notice] = list(input.inbox)
        self._outbox: list[TeamMessage] = list(input.outbox)
        self._writer = appending.StreamWriter(f"case-{input.case_id}", self._apply)
        self._retry_at: datetime | None = None
        # After an import under the ``inbox`` policy, the deadline passes of its first
        # minute (what was overdue already, one step after another) raise quiet alerts:
        # in the inbox, not delivered.
        self._quiet_until: datetime | None = None

    def _patched(self, patch_id: str) -> bool:
        """``workflow.patched(patch_id)``, or true at once in a run that records
        ``RULES_OF_2026_11_27_PM`` (every patch), or ``RULES_OF_2026_11_27`` (every patch
        made before it). Both are asked first, once per run, always in its first task, so
        a run begun before either existed replays without it."""
        if self._all_patches is None:
            self._all_patches_pm = workflow.patched(RULES_OF_2026_11_27_PM)
            self._all_patches = self._all_patches_pm or workflow.patched(RULES_OF_2026_11_27)
        if patch_id in _AFTER_THE_MORNING:
            return self._all_patches_pm or workflow.patched(patch_id)
        return self._all_patches or workflow.patched(patch_id)

    @workflow.run
    async def run(self, input: CaseInput) -> CaseOutcome:
        if self._patched(ALERT_TIMERS_PATCH):
            self._state.alert_timers = True
        if not self._state.uk_calendar and self._patched(UK_CALENDAR_PATCH):
            self._state.uk_calendar = True
        if not self._state.follow_up_rules and self._patched(FOLLOW_UP_RULES_PATCH):
            self._state.follow_up_rules = True
        if not self._state.review_requests and self._patched(REVIEW_REQUESTS_PATCH):
            self._state.review_requests = True
        if not self._state.corrections and self._patched(CORRECTIONS_PATCH):
            self._state.corrections = True
        if not self._state.team_follows_up and self._patched(TEAM_FOLLOWS_UP_PATCH):
            self._state.team_follows_up = True
        if not self._state.consent_per_person and self._patched(CONSENT_PER_PERSON_PATCH):
            self._state.consent_per_person = True
        if self._state.phase is Phase.NEW:
            try:
                await workflow.wait_condition(
                    lambda: self._state.phase is not Phase.NEW, timeout=REFERRAL_WAIT
                )
            except TimeoutError:
                return CaseOutcome(case_id=input.case_id, end_reason=None, version=0)
        while not self._state.ended or self._outbox:
            wake = self._armed_for = self._next_wakeup()
            wait = None if wake is None else max((wake - workflow.now()).total_seconds(), 0.0)
            try:
                await workflow.wait_condition(
                    # After a failure, new notices wait for the retry time like the old ones.
                    lambda: self._changed or (bool(self._inbox) and self._retry_at is None),
                    timeout=wait,
                )
            except TimeoutError:
                pass
            self._changed = False
            async with self._lock:
                try:
                    await self._work()
                    self._retry_at = None
                except ApplicationError as exc:  # the store refused or did not answer
                    workflow.logger.warning("case work postponed", extra={"error": exc.message})
                    self._retry_at = workflow.now() + appending.RETRY_EVERY
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    CaseInput(
                        case_id=input.case_id,
                        policy=input.policy,
                        state=self._state,
                        max_history_events=input.max_history_events,
                        outbox=self._outbox,
                        inbox=self._inbox,
                    )
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CaseOutcome(
            case_id=input.case_id, end_reason=self._state.end_reason, version=self._state.version
        )

    def _next_wakeup(self) -> datetime | None:
        """The next deadline, or sooner when something failed and must be tried again."""
        wakes = [w for w in (next_wakeup(self._state), self._retry_at) if w is not None]
        if (self._outbox or self._writer.behind) and self._retry_at is None:
            wakes.append(workflow.now() + appending.RETRY_EVERY)
        return min(wakes, default=None)

    async def _work(self) -> None:
        """Under the lock: catch up with the stream, then team notices, deadlines that
        passed, messages still to send. A notice leaves the inbox once recorded (or no
        longer applies); one that cannot be recorded now is tried again later."""
        await self._writer.catch_up(self._state.version)
        await self._send_outbox()
        while self._inbox:
            notice = self._inbox[0]
            try:
                events = decide(self._state, notice, workflow.now())
            except CommandRejected as exc:  # a notice that no longer applies
                workflow.logger.warning("notice refused", extra={"error": str(exc)})
                self._inbox.pop(0)
                continue
            await self._record(events, notice.actor)
            self._inbox.pop(0)
        fired = due(self._state, workflow.now())
        if fired:
            quiet = self._quiet_until is not None and workflow.now() <= self._quiet_until
            await self._record(fired, Actor.system(), quiet=quiet)

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._input.max_history_events
        )

    async def _record(
        self, events: list[DomainEvent], actor: Actor, *, quiet: bool = False
    ) -> None:
        """Append ``events`` (decided on the current state, caught up with the stream) and
        apply them. Raises ``ApplicationError`` when nothing (or nothing confirmed) was
        recorded."""
        if not events:
            return
        before = self._state
        now = workflow.now()
        if self._patched(ALERTS_PATCH):
            events = events + self._alerts(events, now, quiet)
        metadata = self._metadata(actor)
        # What a named rule decided (and what follows from it) is the system's act.
        by_rule = metadata.model_copy(update={"actor": Actor.system()})
        new, ruled = [], False
        for e in events:
            ruled = ruled or (isinstance(e, ev.ReferralRejected) and e.rule is not None)
            new.append(
                NewEvent.of(
                    e,
                    event_id=workflow.uuid4(),
                    metadata=by_rule if ruled else metadata,
                    occurred_at=now,
                )
            )
        await self._writer.record(before.version, events, new, now)

    async def _apply(self, recorded: list[tuple[DomainEvent, datetime]]) -> None:
        """Events now in the stream (answered, or found in its tail): the new state, then
        what they set in motion (search attributes, the team, the deadline loop)."""
        before = self._state
        self._state = state = evolve_all(before, recorded)
        steady = self._patched(RULES_OF_2026_11_27)
        if not steady:
            self._changed = True
        self._publish(before, state)
        await self._tell_team(before, [event for event, _ in recorded])
        if steady and self._loop_must_look():
            self._changed = True

    def _loop_must_look(self) -> bool:
        """After events were applied: whether the deadline loop must look again (its timer
        re-armed), because the episode ended, the next deadline moved (one fell due, came
        or went), a retry is waiting, or the history should continue as new."""
        return (
            self._state.ended or self._next_wakeup() != self._armed_for or self._history_is_long()
        )

    def _metadata(self, actor: Actor) -> EventMetadata:
        """Who, under which policy, in which run: the audit context of one append."""
        info = workflow.info()
        return EventMetadata(
            actor=actor,
            correlation_id=workflow.uuid4(),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
            policy_version=self._state.policy.version,
        )

    def _alerts(
        self, events: list[DomainEvent], now: datetime, quiet: bool = False
    ) -> list[DomainEvent]:
        """Alerts raised and resolved by ``events`` (recorded with them, in one append)."""
        state = evolve_all(self._state, [(event, now) for event in events])
        return alerts_for(
            events,
            open_alerts=state.open_alerts,
            raised_so_far=state.alerts_raised,
            key_worker_id=state.alert_recipient,
            team_id=state.team_id,
            policy=state.policy,
            at=now,
            quiet=quiet,
        )

    def _publish(self, before: CaseState, after: CaseState) -> None:
        if (before.phase, before.key_worker_id, before.team_id) == (
            after.phase,
            after.key_worker_id,
            after.team_id,
        ):
            return
        updates = [CASE_PHASE.value_set(after.phase.value)]
        if after.team_id:
            updates.append(TEAM_ID.value_set(after.team_id))
        if after.key_worker_id:
            updates.append(KEY_WORKER_ID.value_set(after.key_worker_id))
        elif before.key_worker_id:  # back on a waitlist: nobody's family for now
            updates.append(KEY_WORKER_ID.value_unset())
        workflow.upsert_search_attributes(updates)

    async def _tell_team(self, before: CaseState, events: list[DomainEvent]) -> None:
        message = team_message(before, self._state, events)
        if message is not None:
            self._outbox.append(message)
            await self._send_outbox()

    async def _send_outbox(self) -> None:
        """Deliver team messages in order; one that cannot be sent now stays for later
        (the events that caused it are recorded either way)."""
        while self._outbox:
            try:
                await workflow.execute_activity_method(
                    TeamActivities.message_team,
                    self._outbox[0],
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=TEAM_RETRY_BOUND,
                    retry_policy=TEAM_RETRY,
                )
            except ActivityError as exc:
                workflow.logger.warning(
                    "team not told yet", extra={"error": appending.failure_type(exc)}
                )
                return
            self._outbox.pop(0)

    async def _handle(self, command: cmd.Command) -> CommandResult:
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            self._bounds()
            check_version(command, self._state)
            events = decided(lambda: decide(self._state, command, workflow.now()))
            await self._record(events, command.actor)
            return self._result(events)

    def _result(self, events: list[DomainEvent]) -> CommandResult:
        return CommandResult(
            case_id=self._state.case_id,
            version=self._state.version,
            phase=self._state.phase,
            events=[e.type_name() for e in events],
        )

    def _validate(self, command: cmd.Command) -> None:
        if not self._writer.behind:  # else the handler checks, once caught up
            check_version(command, self._state)
        decided(lambda: decide(self._newest_rules(), command, workflow.now()))

    def _newest_rules(self) -> CaseState:
        """The state as validators see it: they run only for new commands, never in a
        replay, so the newest rules always apply there."""
        return self._state.model_copy(
            update={
                "input_bounds": True,
                "coded_profile": True,
                "edge_rules": True,
                "late_dates": True,
                "person_ids_fold_case": True,
            }
        )

    def _bounds(self) -> None:
        """Apply the input-bound rules, except in histories recorded before them."""
        if not self._state.input_bounds and self._patched(INPUT_BOUNDS_PATCH):
            self._state.input_bounds = True
        if not self._state.coded_profile and self._patched(CODED_PROFILE_PATCH):
            self._state.coded_profile = True
        if not self._state.edge_rules and self._patched(EDGE_RULES_PATCH):
            self._state.edge_rules = True
        if not self._state.late_dates and self._patched(LATE_DATES_PATCH):
            self._state.late_dates = True
        if not self._state.person_ids_fold_case and self._patched(PERSON_IDS_FOLD_CASE_PATCH):
            self._state.person_ids_fold_case = True

    # --- queries and signals -----------------------------------------------------------

    @workflow.query
    def view(self) -> CaseView:
        return view_of(self._state)

    @workflow.query
    def snapshot(self) -> CaseState:
        """The whole state, to carry the episode on elsewhere (the demo's hand-over)."""
        return self._state

    @workflow.signal
    def key_worker_assigned(self, notice: cmd.KeyWorkerAssigned) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def placed_on_waitlist(self, notice: cmd.PlacedOnWaitlist) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def escalate_alert(self, notice: cmd.EscalateAlert) -> None:
        """From an alert's delivery workflow: every retry failed."""
        self._inbox.append(notice)

    @workflow.signal
    def key_worker_reassigned(self, notice: cmd.KeyWorkerReassigned) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def returned_to_waitlist(self, notice: cmd.ReturnedToWaitlist) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def cover_key_worker(self, notice: cmd.KeyWorkerCovered) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def transfer_admitted(self, notice: cmd.TransferAdmitted) -> None:
        self._inbox.append(notice)

    @workflow.signal
    def uncover_key_worker(self, notice: cmd.KeyWorkerUncovered) -> None:
        self._inbox.append(notice)

    # --- handover: the team decides the place, then the case records the move ------------

    async def _ask_team(self, method: Callable[..., object], request: object) -> object:
        """An update on a team workflow (through an activity); its refusal is the
        command's, named by field; a team that does not answer leaves nothing recorded."""
        try:
            return await workflow.execute_activity_method(
                method,
                request,
                start_to_close_timeout=HANDOVER_TIMEOUT,
                schedule_to_close_timeout=appending.QUERY_RETRY_BOUND,
                retry_policy=STORE_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == "CommandRejected":
                field, _, rule = cause.message.partition(": ")
                # The kind as the team's rule says; its words (for the pages) passed on.
                kind: RefusalKind = "conflict"
                if cause.details and cause.details[0] == "invalid":
                    kind = "invalid"
                said = wording.from_details(cause.details[1]) if len(cause.details) > 1 else None
                if said is not None:
                    raise refused(CommandRejected(field, said[0], kind, **said[1])) from None
                raise refused(CommandRejected(field, rule or field, kind)) from None
            raise ApplicationError(
                "team_id: the team did not answer in time; the move may still be recorded "
                "when it does, so look at the case before sending it again",
                type="TeamUnavailable",
                non_retryable=True,
            ) from None

    @workflow.update
    async def reassign(self, command: cmd.ReassignKeyWorker) -> CommandResult:
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            self._bounds()
            check_version(command, self._state)
            checked(lambda: handover.check_reassign(self._state, command))
            if self._state.team_id is not None:
                await self._ask_team(
                    HandoverActivities.reassign_in_team,
                    ReassignCase(
                        actor=command.actor,
                        team_id=self._state.team_id,
                        case_id=self._state.case_id,
                        key_worker_id=command.key_worker_id,
                        reason=command.reason,
                        in_follow_up=self._state.phase is Phase.FOLLOW_UP,
                    ),
                )
            events = decided(lambda: handover.reassign(self._state, command))
            await self._record(events, command.actor)
            return self._result(events)

    @reassign.validator
    def _check_reassign(self, command: cmd.ReassignKeyWorker) -> None:
        if not self._writer.behind:  # else the handler checks, once caught up
            check_version(command, self._state)
        checked(lambda: handover.check_reassign(self._newest_rules(), command))

    @workflow.update
    async def transfer(self, command: cmd.TransferFamily) -> CommandResult:
        async with self._lock:
            await self._writer.catch_up(self._state.version)
            self._bounds()
            check_version(command, self._state)
            checked(lambda: handover.check_transfer(self._state, command))
            state = self._state
            assert state.team_id is not None and state.referred_on is not None
            answer = await self._ask_team(
                HandoverActivities.admit_transfer,
                AdmitTransfer(
                    actor=command.actor,
                    team_id=command.team_id,
                    from_team_id=state.team_id,
                    case_id=state.case_id,
                    priority=state.priority,
                    referred_on=state.referred_on,
                    started=state.phase is Phase.INTENSIVE,
                    reason=command.reason,
                ),
            )
            admission = Admission.model_validate(answer)
            events = decided(
                lambda: handover.transfer(self._state, command, admission, workflow.now())
            )
            await self._record(events, command.actor)
            return self._result(events)

    @transfer.validator
    def _check_transfer(self, command: cmd.TransferFamily) -> None:
        if not self._writer.behind:  # else the handler checks, once caught up
            check_version(command, self._state)
        checked(lambda: handover.check_transfer(self._newest_rules(), command))

    # --- updates: one per command, each with its validator -------------------------------

    @workflow.update
    async def refer(self, command: cmd.ReferFamily) -> CommandResult:
        async with self._lock:
            self._not_referred_yet()
            self._bounds()
            check_version(command, self._state)
            decided(lambda: refer(self._state, command, None, workflow.now()))  # before I/O
            family = PreviousEpisodeInput(
                family_id=command.family_id,
                case_id=self._state.case_id,
                team_id=command.team_id,
                new_case=True,  # a case id used before (its workflow ended) is refused
            )
            claim = FamilyClaim()
            try:
                if self._patched(ONE_EPISODE_PATCH):
                    claim = await self._claim(family)
                    if claim.case_exists:
                        raise refused(
                            CommandRejected(
                                "case_id",
                                "case {case_id} already exists",
                                case_id=self._state.case_id,
                            )
                        )
                else:
                    claim.previous_case_id = await workflow.execute_activity_method(
                        StoreActivities.find_previous_episode,
                        family,
                        start_to_close_timeout=timedelta(seconds=30),
                        schedule_to_close_timeout=appending.QUERY_RETRY_BOUND,
                        retry_policy=STORE_RETRY,
                    )
            except ActivityError:
                raise appending.unavailable() from None
            events = decided(
                lambda: refer(
                    self._state,
                    command,
                    claim.previous_case_id,
                    workflow.now(),
                    open_case_id=claim.open_case_id,
                    team_known=claim.team_known,
                    known_as=claim.known_as,
                )
            )
            await self._record(events, command.actor)
            return self._result(events)

    def _not_referred_yet(self) -> None:
        """A referral opens a case once: a case id that holds a referral is taken (one whose
        referral was refused, nothing recorded, takes the corrected referral)."""
        if self._state.phase is not Phase.NEW:
            raise refused(
                CommandRejected(
                    "case_id", "case {case_id} already exists", case_id=self._state.case_id
                )
            )

    @workflow.update
    async def import_case(self, command: ImportCase) -> CommandResult:
        """A family brought over from another case system at its phase there: the family
        claimed (one open episode), its team told where it stands, then ``CaseImported``
        and its history recorded in one append, each event at its real date."""
        async with self._lock:
            now = workflow.now()
            in_wales = self._patched(IMPORT_DAYS_PATCH)
            decided(
                lambda: [
                    e for e, _ in import_events(self._state, command, now, days_in_wales=in_wales)
                ]
            )
            family = PreviousEpisodeInput(
                family_id=command.family_id,
                case_id=self._state.case_id,
                team_id=command.team_id,
                new_case=True,  # a case id used before (its workflow gone) is refused
            )
            try:
                claim = await self._claim(family)
            except ActivityError:
                raise appending.unavailable() from None
            if claim.case_exists:
                raise refused(
                    CommandRejected(
                        "case_id", "case {case_id} already exists", case_id=self._state.case_id
                    )
                )
            place = Admission()
            if (
                claim.team_known
                and claim.open_case_id is None
                and claim.known_as is None
                and command.phase in TEAM_PLACES
            ):
                answer = await self._ask_team(
                    HandoverActivities.admit_import,
                    AdmitImport(
                        actor=command.actor,
                        team_id=command.team_id,
                        case_id=self._state.case_id,
                        phase=command.phase.value,
                        key_worker_id=command.key_worker_id,
                        priority=command.priority,
                        referred_on=command.received_on,
                    ),
                )
                place = Admission.model_validate(answer)
            history = recorded(
                lambda: import_events(
                    self._state,
                    command,
                    now,
                    previous_case_id=claim.previous_case_id,
                    open_case_id=claim.open_case_id,
                    team_known=claim.team_known,
                    known_as=claim.known_as,
                    waitlist_position=place.position,
                    days_in_wales=in_wales,
                )
            )
            await self._record_history(history, command.actor)
            if command.overdue_alerts is OverdueOnImport.INBOX:
                self._quiet_until = workflow.now() + QUIET_AFTER_IMPORT
            self._changed = True  # the deadline loop looks at what is overdue now
            return self._result([e for e, _ in history])

    async def _claim(self, family: PreviousEpisodeInput) -> FamilyClaim:
        """One open episode per family: the family claimed for this case (a referral's or
        an import's), or the case that holds it open; and the team checked."""
        claim: FamilyClaim = await workflow.execute_activity_method(
            StoreActivities.claim_family,
            family,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=appending.QUERY_RETRY_BOUND,
            retry_policy=STORE_RETRY,
        )
        return claim

    @import_case.validator
    def _check_import_case(self, command: ImportCase) -> None:
        decided(
            lambda: [e for e, _ in import_events(self._newest_rules(), command, workflow.now())]
        )

    async def _record_history(
        self, history: list[tuple[DomainEvent, datetime]], actor: Actor
    ) -> None:
        """Append an imported history in one append, each event at the time it happened
        there (no alerts: what is overdue now the deadline loop raises, once)."""
        metadata = self._metadata(actor)
        new = [
            NewEvent.of(e, event_id=workflow.uuid4(), metadata=metadata, occurred_at=at)
            for e, at in history
        ]
        await self._writer.record(self._state.version, [e for e, _ in history], new, workflow.now())

    @refer.validator
    def _check_refer(self, command: cmd.ReferFamily) -> None:
        self._not_referred_yet()
        check_version(command, self._state)
        decided(lambda: refer(self._newest_rules(), command, None, workflow.now()))

    @workflow.update
    async def accept(self, command: cmd.AcceptReferral) -> CommandResult:
        return await self._handle(command)

    @accept.validator
    def _check_accept(self, command: cmd.AcceptReferral) -> None:
        self._validate(command)

    @workflow.update
    async def reject(self, command: cmd.RejectReferral) -> CommandResult:
        return await self._handle(command)

    @reject.validator
    def _check_reject(self, command: cmd.RejectReferral) -> None:
        self._validate(command)

    @workflow.update
    async def withdraw(self, command: cmd.WithdrawFamily) -> CommandResult:
        return await self._handle(command)

    @withdraw.validator
    def _check_withdraw(self, command: cmd.WithdrawFamily) -> None:
        self._validate(command)

    @workflow.update
    async def record_first_meeting(self, command: cmd.RecordFirstMeeting) -> CommandResult:
        return await self._handle(command)

    @record_first_meeting.validator
    def _check_record_first_meeting(self, command: cmd.RecordFirstMeeting) -> None:
        self._validate(command)

    @workflow.update
    async def agree_goal(self, command: cmd.AgreeGoal) -> CommandResult:
        return await self._handle(command)

    @agree_goal.validator
    def _check_agree_goal(self, command: cmd.AgreeGoal) -> None:
        self._validate(command)

    @workflow.update
    async def record_session(self, command: cmd.RecordSession) -> CommandResult:
        return await self._handle(command)

    @record_session.validator
    def _check_record_session(self, command: cmd.RecordSession) -> None:
        self._validate(command)

    @workflow.update
    async def score_goals(self, command: cmd.ScoreGoals) -> CommandResult:
        return await self._handle(command)

    @score_goals.validator
    def _check_score_goals(self, command: cmd.ScoreGoals) -> None:
        self._validate(command)

    @workflow.update
    async def request_extension(self, command: cmd.RequestExtension) -> CommandResult:
        return await self._handle(command)

    @request_extension.validator
    def _check_request_extension(self, command: cmd.RequestExtension) -> None:
        self._validate(command)

    @workflow.update
    async def decide_extension(self, command: cmd.DecideExtension) -> CommandResult:
        return await self._handle(command)

    @decide_extension.validator
    def _check_decide_extension(self, command: cmd.DecideExtension) -> None:
        self._validate(command)

    @workflow.update
    async def close_intensive_phase(self, command: cmd.CloseIntensivePhase) -> CommandResult:
        return await self._handle(command)

    @close_intensive_phase.validator
    def _check_close_intensive_phase(self, command: cmd.CloseIntensivePhase) -> None:
        self._validate(command)

    @workflow.update
    async def complete_review(self, command: cmd.CompleteReview) -> CommandResult:
        return await self._handle(command)

    @complete_review.validator
    def _check_complete_review(self, command: cmd.CompleteReview) -> None:
        self._validate(command)

    @workflow.update
    async def reschedule_review(self, command: cmd.RescheduleReview) -> CommandResult:
        return await self._handle(command)

    @reschedule_review.validator
    def _check_reschedule_review(self, command: cmd.RescheduleReview) -> None:
        self._validate(command)

    @workflow.update
    async def request_review_move(self, command: cmd.RequestReviewMove) -> CommandResult:
        return await self._handle(command)

    @request_review_move.validator
    def _check_request_review_move(self, command: cmd.RequestReviewMove) -> None:
        self._validate(command)

    @workflow.update
    async def decide_review_move(self, command: cmd.DecideReviewMove) -> CommandResult:
        return await self._handle(command)

    @decide_review_move.validator
    def _check_decide_review_move(self, command: cmd.DecideReviewMove) -> None:
        self._validate(command)

    @workflow.update
    async def record_booster(self, command: cmd.RecordBooster) -> CommandResult:
        return await self._handle(command)

    @record_booster.validator
    def _check_record_booster(self, command: cmd.RecordBooster) -> None:
        self._validate(command)

    @workflow.update
    async def change_child_status(self, command: cmd.ChangeChildStatus) -> CommandResult:
        return await self._handle(command)

    @change_child_status.validator
    def _check_change_child_status(self, command: cmd.ChangeChildStatus) -> None:
        self._validate(command)

    @workflow.update
    async def correct_entry(self, command: cmd.CorrectEntry) -> CommandResult:
        return await self._handle(command)

    @correct_entry.validator
    def _check_correct_entry(self, command: cmd.CorrectEntry) -> None:
        self._validate(command)

    @workflow.update
    async def record_consent(self, command: cmd.RecordConsent) -> CommandResult:
        return await self._handle(command)

    @record_consent.validator
    def _check_record_consent(self, command: cmd.RecordConsent) -> None:
        self._validate(command)

    @workflow.update
    async def withdraw_consent(self, command: cmd.WithdrawConsent) -> CommandResult:
        return await self._handle(command)

    @withdraw_consent.validator
    def _check_withdraw_consent(self, command: cmd.WithdrawConsent) -> None:
        self._validate(command)

    @workflow.update
    async def acknowledge_alert(self, command: cmd.AcknowledgeAlert) -> CommandResult:
        return await self._handle(command)

    @acknowledge_alert.validator
    def _check_acknowledge_alert(self, command: cmd.AcknowledgeAlert) -> None:
        self._validate(command)

    @workflow.update
    async def record_review_not_held(self, command: cmd.RecordReviewNotHeld) -> CommandResult:
        return await self._handle(command)

    @record_review_not_held.validator
    def _check_record_review_not_held(self, command: cmd.RecordReviewNotHeld) -> None:
        self._validate(command)

    @workflow.update
    async def record_maintenance_contact(
        self, command: cmd.RecordMaintenanceContact
    ) -> CommandResult:
        return await self._handle(command)

    @record_maintenance_contact.validator
    def _check_record_maintenance_contact(self, command: cmd.RecordMaintenanceContact) -> None:
        self._validate(command)

    @workflow.update
    async def offer_booster(self, command: cmd.OfferBooster) -> CommandResult:
        return await self._handle(command)

    @offer_booster.validator
    def _check_offer_booster(self, command: cmd.OfferBooster) -> None:
        self._validate(command)

    @workflow.update
    async def agree_family_plan(self, command: cmd.AgreeFamilyPlan) -> CommandResult:
        return await self._handle(command)

    @agree_family_plan.validator
    def _check_agree_family_plan(self, command: cmd.AgreeFamilyPlan) -> None:
        self._validate(command)

    @workflow.update
    async def record_measures(self, command: cmd.RecordMeasures) -> CommandResult:
        return await self._handle(command)

    @record_measures.validator
    def _check_record_measures(self, command: cmd.RecordMeasures) -> None:
        self._validate(command)

    @workflow.update
    async def record_feedback(self, command: cmd.RecordFeedback) -> CommandResult:
        return await self._handle(command)

    @record_feedback.validator
    def _check_record_feedback(self, command: cmd.RecordFeedback) -> None:
        self._validate(command)

    @workflow.update
    async def record_spot_purchase(self, command: cmd.RecordSpotPurchase) -> CommandResult:
        return await self._handle(command)

    @record_spot_purchase.validator
    def _check_record_spot_purchase(self, command: cmd.RecordSpotPurchase) -> None:
        self._validate(command)

    @workflow.update
    async def record_joint_work(self, command: cmd.RecordJointWork) -> CommandResult:
        return await self._handle(command)

    @record_joint_work.validator
    def _check_record_joint_work(self, command: cmd.RecordJointWork) -> None:
        self._validate(command)

    @workflow.update
    async def add_child(self, command: cmd.AddChild) -> CommandResult:
        return await self._handle(command)

    @add_child.validator
    def _check_add_child(self, command: cmd.AddChild) -> None:
        self._validate(command)

    @workflow.update
    async def add_adult(self, command: cmd.AddAdult) -> CommandResult:
        return await self._handle(command)

    @add_adult.validator
    def _check_add_adult(self, command: cmd.AddAdult) -> None:
        self._validate(command)

    @workflow.update
    async def change_priority(self, command: cmd.ChangePriority) -> CommandResult:
        return await self._handle(command)

    @change_priority.validator
    def _check_change_priority(self, command: cmd.ChangePriority) -> None:
        self._validate(command)

    @workflow.update
    async def close_episode(self, command: cmd.CloseEpisode) -> CommandResult:
        return await self._handle(command)

    @close_episode.validator
    def _check_close_episode(self, command: cmd.CloseEpisode) -> None:
        self._validate(command)
