"""What goes into and out of a team workflow, and how its refusals read.

Its input (carried over by continue-as-new), the commands an admin or supervisor sends it
and what a handover answers. Pure and deterministic, so passed through the workflow
sandbox (``workers.temporal.PASSTHROUGH_MODULES``): each team's sandbox shares these
classes instead of building its own copies, and a command is the same class inside and
outside the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, Field
from temporalio.exceptions import ApplicationError

from events.bounds import Code, Day, Line
from events.catalogue import DomainEvent
from events.envelope import Actor
from events.policy import ProgrammePolicy
from workflows import team, wording
from workflows.team import TeamState
from workflows.team_protocol import TeamMessage


def refusal(exc: ValueError) -> ApplicationError:
    """A team rule's refusal as callers receive it: its message, and its kind in details."""
    if isinstance(exc, team.TeamRefusal):
        said = wording.details_of(exc.template, exc.params)
        return ApplicationError(
            str(exc), exc.kind, said, type="CommandRejected", non_retryable=True
        )
    return ApplicationError(str(exc), "invalid", type="CommandRejected", non_retryable=True)


def checked(decision: Callable[[], list[DomainEvent]]) -> list[DomainEvent]:
    """Decide by a team rule (in a validator, or again in the handler): a refusal fails
    the update cleanly, with the rule's message and kind."""
    try:
        return decision()
    except ValueError as exc:
        raise refusal(exc) from None


class TeamInput(BaseModel):
    team_id: str
    # The policy a new team starts on (the starting process's IFSS_POLICY_FILE, or the
    # policy of the case that needed the team first); None: the default.
    policy: ProgrammePolicy | None = None
    state: TeamState | None = None
    max_history_events: int = 10_000
    inbox: list[TeamMessage] = []  # messages not yet recorded (continue-as-new)


class RegisterTeam(BaseModel):
    actor: Actor
    name: Line
    area: Code


class AcknowledgeTeamAlert(BaseModel):
    actor: Actor
    alert_id: Code


class ChangeKeyWorker(BaseModel):
    actor: Actor
    key_worker_id: Code
    # None: the team policy's limit, following it when the policy changes.
    caseload_limit: Annotated[int, Field(ge=1, le=50)] | None = None
    # Takes no new families; their families stay until moved (``hand_over_leaver`` moves
    # them at once).
    leaving: bool = False


class HandOverLeaver(BaseModel):
    actor: Actor
    key_worker_id: Code


class SetCover(BaseModel):
    actor: Actor
    key_worker_id: Code
    cover_key_worker_id: Code
    until: Day


class HandoverResult(BaseModel):
    """What a leaver's handover did: each family's new key worker, or its place on the
    waitlist, and the families still with the leaver (nobody had space)."""

    version: int
    reassigned: dict[str, str] = {}
    waitlisted: dict[str, int] = {}
    staying: list[str] = []


class AdoptTeamPolicy(BaseModel):
    actor: Actor
    policy: ProgrammePolicy
