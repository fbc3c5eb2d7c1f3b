"""The only way events reach the store from a workflow: the ``append_events`` activity.

Event ids are generated in the workflow, so a retried activity appends nothing twice.
Errors are classified (``activities.errors``): transient ones are retried within a bound,
permanent ones fail at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from temporalio import activity

from activities.errors import classified
from events.errors import FamilyKnownOtherwise
from events.records import NewEvent
from events.store import EventStore


class AppendEventsInput(BaseModel):
    stream_id: str
    expected_version: int
    events: list[NewEvent]


class AppendEventsResult(BaseModel):
    version: int
    positions: list[int]


class PreviousEpisodeInput(BaseModel):
    family_id: str
    case_id: str
    # The team the family is referred to: checked before the family is claimed (None:
    # a referral recorded before teams were registered, not checked).
    team_id: str | None = None
    # An import: the case's stream must be empty (an id whose workflow is gone may still
    # have its history); checked first, nothing claimed otherwise.
    new_case: bool = False


class FamilyClaim(BaseModel):
    """A referral's look at its family: the earlier case to link, and the case whose
    episode is still open (then the referral is refused and nothing is claimed)."""

    previous_case_id: str | None = None
    open_case_id: str | None = None
    team_known: bool = True  # False: nobody registered the team (nothing is claimed)
    case_exists: bool = False  # the case's stream holds events already (nothing claimed)
    # The family's id as on record when the referral spelled it in another case (family
    # ids are compared without regard to case): nothing is claimed.
    known_as: str | None = None


class StreamTailInput(BaseModel):
    stream_id: str
    after_version: int


class StoredEvent(BaseModel):
    """An event as stored, for a workflow catching up with its own stream."""

    event_id: UUID
    stream_version: int
    type: str
    data: dict[str, Any]
    occurred_at: datetime


class StoreActivities:
    """Activities that need the store; built once in the worker's composition root."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsResult:
        """Append the workflow's events at its expected version."""
        try:
            result = await self._store.append(
                request.stream_id, request.expected_version, request.events
            )
        except Exception as exc:
            raise classified(exc) from exc
        activity.logger.debug(
            "events_appended", extra={"stream_id": request.stream_id, "version": result.version}
        )
        return AppendEventsResult(version=result.version, positions=result.positions)

    @activity.defn(name="read_stream_tail")
    async def read_stream_tail(self, request: StreamTailInput) -> list[StoredEvent]:
        """The stream's events after ``after_version``: what a workflow whose append had an
        unknown outcome (or clashed) must apply to catch up with the store."""
        try:
            stored = await self._store.read_stream(request.stream_id, request.after_version)
        except Exception as exc:
            raise classified(exc) from exc
        return [
            StoredEvent(
                event_id=e.event_id,
                stream_version=e.stream_version,
                type=e.type,
                data=e.data,
                occurred_at=e.occurred_at,
            )
            for e in stored
        ]

    @activity.defn(name="claim_family")
    async def claim_family(self, request: PreviousEpisodeInput) -> FamilyClaim:
        """One open episode per family: claim it for this case, or name the case that holds
        it open; and the family's latest earlier case, to link a re-referral. A referral
        to a team nobody registered claims nothing."""
        try:
            stream = f"case-{request.case_id}"
            if request.new_case and await self._store.stream_version(stream) > 0:
                return FamilyClaim(case_exists=True)
            if request.team_id is not None and not await self._store.team_known(request.team_id):
                return FamilyClaim(team_known=False)
            try:
                open_case = await self._store.claim_family(request.family_id, request.case_id)
            except FamilyKnownOtherwise as other:
                return FamilyClaim(known_as=other.spelling)
            previous = await self._store.latest_case_of_family(
                request.family_id, excluding=request.case_id
            )
        except Exception as exc:
            raise classified(exc) from exc
        return FamilyClaim(previous_case_id=previous, open_case_id=open_case)

    @activity.defn(name="find_previous_episode")
    async def find_previous_episode(self, request: PreviousEpisodeInput) -> str | None:
        """The family's latest earlier case, so a new referral is linked as a re-referral."""
        try:
            return await self._store.latest_case_of_family(
                request.family_id, excluding=request.case_id
            )
        except Exception as exc:
            raise classified(exc) from exc
