"""Which store errors are worth retrying."""

from __future__ import annotations

import asyncpg

from events.db import is_transient


def test_a_connection_left_mid_operation_by_a_restart_is_retried() -> None:
    confused = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    assert is_transient(confused)
    assert is_transient(asyncpg.exceptions.ConnectionDoesNotExistError("gone"))
    assert is_transient(asyncpg.exceptions.CannotConnectNowError("shutting down"))
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("duplicate"))
    assert not is_transient(ValueError("a bug"))
