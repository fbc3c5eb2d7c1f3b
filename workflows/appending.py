"""Appending from a workflow, and what to do when the store's answer is not known.

Every workflow writes its own stream through the ``append_events`` activity. Its outcome
is one of three:

* appended: the new version comes back;
* refused for good (bad data, a reused id, the database refusing the write): an
  ``ApplicationError`` that fails the update at once with the reason, nothing recorded;
* **unknown**: the store did not answer within the retry bound, or the stream had moved
  (an earlier append whose answer was lost did land after all). The workflow reads its
  stream's tail and applies what is there before it decides anything more. A workflow is
  its stream's only writer, so whatever the tail holds came from this workflow.

``StreamWriter`` does all of it for one workflow, and routes every event that reaches the
stream, answered or found in the tail, through the workflow's own ``apply``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.errors import STORE_RETRY, STORE_RETRY_BOUND
    from activities.store import (
        AppendEventsInput,
        StoreActivities,
        StoredEvent,
        StreamTailInput,
    )
    from events.catalogue import DomainEvent
    from events.records import NewEvent
    from events.validation import parse_stored

# A read (the stream's tail, a family's earlier case) is a short query: a minute of retries.
QUERY_RETRY_BOUND = timedelta(minutes=1)
# After a failure, a workflow's loop tries again this often (a notice or deadline event not
# recorded, a team message not sent, a stream to catch up with).
RETRY_EVERY = timedelta(minutes=1)


class OutcomeUnknown(Exception):
    """The append may or may not have been stored: read the tail before going on."""


def failure_type(error: ActivityError) -> str:
    """The error type an activity failed with (``Timeout``, ``Cancelled`` when not raised)."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError"
    if isinstance(cause, TimeoutError):
        return "Timeout"
    return type(cause).__name__ if cause is not None else "Unknown"


def unavailable() -> ApplicationError:
    """The store did not answer: the command is not confirmed."""
    return ApplicationError(
        "the event store is not answering, so this command was not confirmed; "
        "look at the case before sending it again",
        type="StoreUnavailable",
        non_retryable=True,
    )


def moved_on() -> ApplicationError:
    """The stream held events this workflow had not applied yet."""
    return ApplicationError(
        "case_id: the case moved on while this command was being recorded, and nothing "
        "of it was recorded: look at the case and send it again",
        type="VersionConflict",
        non_retryable=True,
    )


async def append_events(stream_id: str, expected_version: int, events: list[NewEvent]) -> int:
    """Append ``events`` at ``expected_version``; returns the new version. Raises
    ``OutcomeUnknown`` or an ``ApplicationError`` (refused for good, nothing recorded)."""
    try:
        result = await workflow.execute_activity_method(
            StoreActivities.append_events,
            AppendEventsInput(
                stream_id=stream_id, expected_version=expected_version, events=events
            ),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=STORE_RETRY_BOUND,
            retry_policy=STORE_RETRY,
        )
    except ActivityError as error:
        kind = failure_type(error)
        if kind in ("InvalidInput", "EventIdReused", "StoreRefused"):
            message = error.cause.message if isinstance(error.cause, ApplicationError) else kind
            raise ApplicationError(
                f"nothing was recorded: {message}", type=kind, non_retryable=True
            ) from None
        raise OutcomeUnknown(kind) from None
    return result.version


async def read_tail(stream_id: str, after_version: int) -> list[tuple[StoredEvent, DomainEvent]]:
    """The stream's events after ``after_version``, parsed as recorded facts (leniently: a
    fact stored under older rules still reads); raises ``unavailable()``."""
    try:
        stored = await workflow.execute_activity_method(
            StoreActivities.read_stream_tail,
            StreamTailInput(stream_id=stream_id, after_version=after_version),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=QUERY_RETRY_BOUND,
            retry_policy=STORE_RETRY,
        )
    except ActivityError:
        raise unavailable() from None
    return [(s, parse_stored(s.type, s.data)) for s in stored]


# What a writer does with events once they are in its stream: evolve its state and carry
# out their consequences (tell the team, the cases, update search attributes).
Apply = Callable[[list[tuple[DomainEvent, datetime]]], Awaitable[None]]


class StreamWriter:
    """A workflow's writing of its own stream. Every event that reaches the stream is
    applied through ``apply`` exactly once, whether its append answered or it is found
    later in the stream's tail; so no consequence of a recorded fact is ever skipped."""

    def __init__(self, stream_id: str, apply: Apply) -> None:
        self.stream_id = stream_id
        self._apply = apply
        self.behind = False  # an append's outcome is unknown: read the tail before deciding

    async def catch_up(self, version: int) -> set[UUID]:
        """When behind: apply what the stream holds past ``version``; returns their ids.
        Call it before deciding anything; raises ``unavailable()`` while the store is down."""
        if not self.behind:
            return set()
        tail = await read_tail(self.stream_id, version)
        self.behind = False
        if tail:
            await self._apply([(event, stored.occurred_at) for stored, event in tail])
        return {stored.event_id for stored, _ in tail}

    async def record(
        self, version: int, events: list[DomainEvent], new: list[NewEvent], at: datetime
    ) -> None:
        """Append ``new`` (the ``events``, stamped) at ``version`` and apply them. Raises an
        ``ApplicationError`` when nothing (or nothing confirmed) was recorded."""
        if self.behind:  # decided on a state the stream may have moved past
            raise unavailable()
        try:
            stored = await append_events(self.stream_id, version, new)
        except OutcomeUnknown:
            self.behind = True
            landed = await self.catch_up(version)
            if {n.event_id for n in new} <= landed:
                return  # it did land (and is applied): the command succeeded
            raise moved_on() if landed else unavailable() from None
        # Each event at its own time: ``at`` for a decision now, the real past dates of an
        # imported history.
        await self._apply([(event, n.occurred_at) for event, n in zip(events, new, strict=True)])
        if stored != version + len(new):  # never expected: read the stream before going on
            self.behind = True
