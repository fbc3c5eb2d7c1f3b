"""Appending from a workflow, and what to do when the store's answer is not known.

Every workflow writes its own stream through the ``append_events`` activity. Its outcome
is one of three:

* appended: the new version comes back;
* refused for good (bad data, a reused id, the database refusing the write): an
  ``ApplicationError`` that fails the update at once with the reason, nothing recorded;
* **unknown**: the store did not answer within the retry bound, or the stream had moved
  (an earlier append whose answer was lost did land after all). ``OutcomeUnknown`` tells
  the workflow to read its stream's tail (``read_tail``) and apply what is there before
  it decides anything more. A workflow is its stream's only writer, so whatever the tail
  holds came from this workflow.
"""

from __future__ import annotations

from datetime import timedelta

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
    from events.catalogue import DomainEvent, event_class
    from events.records import NewEvent

# Reading the tail is a short query: a minute of retries, then the case says it is behind.
TAIL_RETRY_BOUND = timedelta(minutes=1)


class OutcomeUnknown(Exception):
    """The append may or may not have been stored: read the tail before going on."""


def failure_type(error: ActivityError) -> str:
    """The error type an activity failed with (a timeout counts as ``Timeout``)."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError"
    return "Timeout" if cause is not None else "Unknown"


def unavailable() -> ApplicationError:
    """The store did not answer: the command is not confirmed."""
    return ApplicationError(
        "the event store is not answering, so this command was not confirmed; "
        "look at the case before sending it again",
        type="StoreUnavailable",
        non_retryable=True,
    )


def moved_on() -> ApplicationError:
    """The case's stream held events this workflow had not applied yet."""
    return ApplicationError(
        "expected_version: the case moved on while this command was being recorded; "
        "nothing of it was recorded: look at the case and send it again",
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
    """The stream's events after ``after_version``, parsed; raises ``unavailable()``."""
    try:
        stored = await workflow.execute_activity_method(
            StoreActivities.read_stream_tail,
            StreamTailInput(stream_id=stream_id, after_version=after_version),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=TAIL_RETRY_BOUND,
            retry_policy=STORE_RETRY,
        )
    except ActivityError:
        raise unavailable() from None
    return [(s, event_class(s.type).model_validate(s.data)) for s in stored]
