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

import asyncpg
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from events.errors import EventIdReused, InvalidInput, StreamVersionConflict

# SQLSTATE classes (and single codes) that waiting can cure.
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_CODES = ("55P03", "55006", "25006")

# Error types the workflows treat as permanent (named in every retry policy).
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


def is_transient(exc: BaseException) -> bool:
    """True when retrying later may succeed."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state.startswith(_TRANSIENT_CLASSES) or state in _TRANSIENT_CODES
    return isinstance(exc, asyncpg.InterfaceError | OSError | TimeoutError)


def classified(exc: BaseException) -> ApplicationError:
    """``exc`` as the error Temporal sees: typed, and non-retryable unless transient."""
    if isinstance(exc, StreamVersionConflict | EventIdReused | InvalidInput):
        return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True)
    if is_transient(exc):
        return ApplicationError(
            f"the event store is unavailable ({type(exc).__name__}); retrying",
            type="StoreUnavailable",
        )
    # Data the database refuses, a constraint, a missing table, a bug: waiting cures none.
    return ApplicationError(
        f"the event store refused the write ({type(exc).__name__}: {str(exc)[:300]})",
        type="StoreRefused",
        non_retryable=True,
    )
