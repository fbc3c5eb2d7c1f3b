"""The daily retention review: which families' retention has ended (for an admin to
confirm their erasure), recorded as ``RetentionReviewed`` in the ``retention`` stream."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from temporalio import activity

from activities.errors import classified
from events.catalogue import RetentionReviewed
from events.envelope import Actor, EventMetadata
from events.policy import ProgrammePolicy
from events.records import NewEvent
from events.retention import families_due
from events.store import EventStore

RETENTION_STREAM = "retention"


class RetentionActivities:
    """Needs the store and the policy whose retention rules apply."""

    def __init__(self, store: EventStore, policy: ProgrammePolicy) -> None:
        self._store = store
        self._policy = policy

    @activity.defn(name="review_retention")
    async def review_retention(self, as_of: date) -> list[str]:
        """List the families due for erasure on ``as_of`` and record the list (once per
        day: a retried or repeated review of the same day records nothing new)."""
        try:
            due = await families_due(self._store, self._policy, as_of)
            event = RetentionReviewed(as_of=as_of, due=due)
            # One review per day: its event id follows from the day.
            event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"ifss:retention-review:{as_of}")
            new = NewEvent.of(
                event,
                event_id=event_id,
                metadata=EventMetadata(actor=Actor.system(), policy_version=self._policy.version),
                occurred_at=datetime.now(UTC),
            )
            if await self._store.pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)", event_id
            ):
                return due
            await self._store.append_at_end(RETENTION_STREAM, [new])
        except Exception as exc:
            raise classified(exc) from exc
        return due
