"""Envelope metadata carried by every event, beside its payload."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from events.bounds import Code, one_line
from events.vocabulary import Role

UserId = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
]
# A Temporal workflow or run id, as Temporal gave it.
TemporalId = Annotated[
    str, StringConstraints(min_length=1, max_length=255), AfterValidator(one_line)
]


class Actor(BaseModel):
    """Who did it: a user id and role, or the engine itself (``system``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UserId
    role: Role

    @classmethod
    def system(cls) -> Actor:
        """The engine acting on its own (a timer fired, an automatic decision)."""
        return cls(id="system", role=Role.SYSTEM)


class EventMetadata(BaseModel):
    """Who, why and where: the audit context of one event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    correlation_id: UUID | None = Field(
        default=None, description="The command or request this event belongs to."
    )
    causation_id: UUID | None = Field(
        default=None, description="The event or command that directly caused this one."
    )
    workflow_id: TemporalId | None = Field(default=None, description="Temporal workflow id.")
    run_id: TemporalId | None = Field(default=None, description="Temporal run id.")
    policy_version: Code | None = Field(
        default=None, description="ProgrammePolicy version the case runs under."
    )
