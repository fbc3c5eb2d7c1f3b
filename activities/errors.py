"""Which errors an activity retries, and which fail at once.

A *transient* error (PostgreSQL restarting or failing over, a lost connection, a deadlock,
a lock or statement timeout, a full disk) may pass: Temporal retries the activity with
backoff, within the retry policy's bound, and then the workflow reports it. A *permanent*
error (data the database refuses, a constraint, a version conflict, a bug) will not pass by
waiting: it fails the activity at once, non-retryable, named by type, so no case stays
locked behind an error that retries for ever.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from events.db import is_transient
from events.errors import EventIdReused, InvalidInput, StreamVersionConflict, describe

# Error types that are permanent (``classified`` marks them non-retryable as well).
PERMANENT_ERRORS = ["StreamVersionConflict", "EventIdReused", "InvalidInput", "StoreRefused"]

# An append is retried for up to five minutes (a PostgreSQL restart or failover), then the
# command that needed it fails with a message and the case takes the next one.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=PERMANENT_ERRORS,
)
STORE_RETRY_BOUND = timedelta(minutes=5)


def classified(exc: BaseException) -> ApplicationError:
    """``exc`` as the error Temporal sees: typed, and non-retryable unless transient."""
    if isinstance(exc, StreamVersionConflict | EventIdReused | InvalidInput):
        return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True)
    if is_transient(exc):
        return ApplicationError(
            f"the event store is unavailable ({describe(exc)}); retrying", type="StoreUnavailable"
        )
    # Data the database refuses, a constraint, a missing table, a bug: waiting cures none.
    return ApplicationError(
        f"the event store refused the write ({describe(exc)})",
        type="StoreRefused",
        non_retryable=True,
    )
