"""What goes into and out of a case workflow, and how its refusals read.

Its input (carried over by continue-as-new), what a command answers, the view
``ifss case show`` prints, and the helpers that turn a rule's refusal into the error a
caller receives. Pure and deterministic, so passed through the workflow sandbox
(``workers.temporal.PASSTHROUGH_MODULES``): each case's sandbox then shares these classes
instead of building its own copies (pydantic models cost time and memory to build),
and a model is the same class inside and outside the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from events.catalogue import DomainEvent
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.vocabulary import ConsentScope, EpisodeEndReason, StatutoryStatus
from workflows import commands as cmd
from workflows import wording
from workflows.lifecycle import (
    Booster,
    CaseState,
    CommandRejected,
    Goal,
    Phase,
    Review,
    next_wakeup,
)
from workflows.team_protocol import TeamMessage

# What the team workflow sends a case, kept in the inbox until recorded.
Notice = (
    cmd.KeyWorkerAssigned
    | cmd.PlacedOnWaitlist
    | cmd.EscalateAlert
    | cmd.KeyWorkerReassigned
    | cmd.ReturnedToWaitlist
    | cmd.KeyWorkerCovered
    | cmd.KeyWorkerUncovered
    | cmd.TransferAdmitted
)


class CaseInput(BaseModel):
    case_id: str
    policy: ProgrammePolicy = DEFAULT_POLICY
    state: CaseState | None = None  # carried over by continue-as-new
    max_history_events: int = 10_000
    # Carried by continue-as-new: team messages not yet sent, notices not yet recorded.
    outbox: list[TeamMessage] = []
    inbox: list[Notice] = []


class CommandResult(BaseModel):
    case_id: str
    version: int
    phase: Phase
    events: list[str]


class CaseView(BaseModel):
    """What `ifss case show` prints: the live state and the next deadline."""

    case_id: str
    phase: Phase
    version: int
    policy_version: str
    family_id: str | None
    team_id: str | None
    key_worker_id: str | None
    cover_key_worker_id: str | None = None
    cover_until: date | None = None
    priority: int
    referred_on: date | None = None
    previous_case_id: str | None
    waitlist_position: int | None
    accepted_at: datetime | None
    first_meeting_due_at: datetime | None
    first_meeting_at: datetime | None
    intensive_started_on: date | None
    intensive_ends_on: date | None
    sessions: int
    goals: list[Goal]
    closed_on: date | None
    reviews: list[Review]
    boosters: list[Booster]
    children: dict[str, StatutoryStatus]
    consents: dict[ConsentScope, bool] = {}
    person_consents: dict[str, dict[ConsentScope, bool]] = {}
    end_reason: EpisodeEndReason | None
    next_deadline: datetime | None
    programme: str = "ifss"


class CaseOutcome(BaseModel):
    case_id: str
    end_reason: EpisodeEndReason | None
    version: int


def view_of(state: CaseState) -> CaseView:
    return CaseView(
        programme=state.programme,
        case_id=state.case_id,
        phase=state.phase,
        version=state.version,
        policy_version=state.policy.version,
        family_id=state.family_id,
        team_id=state.team_id,
        key_worker_id=state.key_worker_id,
        cover_key_worker_id=state.cover_key_worker_id,
        cover_until=state.cover_until,
        priority=state.priority,
        referred_on=state.referred_on,
        previous_case_id=state.previous_case_id,
        waitlist_position=state.waitlist_position,
        accepted_at=state.accepted_at,
        first_meeting_due_at=state.first_meeting_due_at,
        first_meeting_at=state.first_meeting_at,
        intensive_started_on=state.intensive_started_on,
        intensive_ends_on=state.intensive_ends_on,
        sessions=len(state.session_ids),
        goals=list(state.goals.values()),
        closed_on=state.closed_on,
        reviews=sorted(state.reviews.values(), key=lambda r: r.month),
        boosters=list(state.boosters.values()),
        children=state.children,
        consents=state.consents,
        person_consents=state.person_consents,
        end_reason=state.end_reason,
        next_deadline=next_wakeup(state),
    )


def decided(decision: Callable[[], list[DomainEvent]]) -> list[DomainEvent]:
    """Decide inside a handler. The validator already ran, but against the state before
    any concurrent command finished; refused now, the update fails cleanly (the caller gets
    the message) instead of failing the workflow task."""
    try:
        return decision()
    except CommandRejected as exc:
        raise refused(exc) from None


def recorded(
    decision: Callable[[], list[tuple[DomainEvent, datetime]]],
) -> list[tuple[DomainEvent, datetime]]:
    """``decided`` for a history whose events carry their own times."""
    try:
        return decision()
    except CommandRejected as exc:
        raise refused(exc) from None


def checked(check: Callable[[], None]) -> None:
    """A check before asking another workflow: refused here, nothing is asked."""
    try:
        check()
    except CommandRejected as exc:
        raise refused(exc) from None


def refused(exc: CommandRejected) -> ApplicationError:
    """A refusal as the caller receives it: the rule's message, and its kind in details."""
    return ApplicationError(
        str(exc),
        exc.kind,
        wording.details_of(exc.template, exc.params),
        type="CommandRejected",
        non_retryable=True,
    )


class ExpectedVersionMismatch(ApplicationError):
    """The caller's ``expected_version`` is not the case's version: nothing recorded."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"expected_version: the case is at version {actual}, not {expected}",
            type="VersionConflict",
            non_retryable=True,
        )


def check_version(command: cmd.Command, state: CaseState) -> None:
    if command.expected_version is not None and command.expected_version != state.version:
        raise ExpectedVersionMismatch(command.expected_version, state.version)
