"""The only way events reach the store from a workflow: the ``append_events`` activity.

Event ids are generated in the workflow, so a retried activity appends nothing twice.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from events.errors import EventIdReused, InvalidInput, StreamVersionConflict
from events.records import NewEvent
from events.store import EventStore

# Named in retry policies as non-retryable: retrying cannot make them succeed.
NON_RETRYABLE_STORE_ERRORS = ["StreamVersionConflict", "EventIdReused", "InvalidInput"]


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
        except (StreamVersionConflict, EventIdReused, InvalidInput) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        activity.logger.debug(
            "events_appended", extra={"stream_id": request.stream_id, "version": result.version}
        )
        return AppendEventsResult(version=result.version, positions=result.positions)

    @activity.defn(name="find_previous_episode")
    async def find_previous_episode(self, request: PreviousEpisodeInput) -> str | None:
        """The family's latest earlier case, so a new referral is linked as a re-referral."""
        return await self._store.latest_case_of_family(request.family_id, excluding=request.case_id)
