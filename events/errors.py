"""One hierarchy of store errors; each names what went wrong in words a user can act on."""

from __future__ import annotations

from uuid import UUID


class StoreError(Exception):
    """Base of every error raised by the event store."""


class InvalidInput(StoreError, ValueError):
    """Bad input refused before anything is written. Names the field and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")

    def under(self, prefix: str) -> InvalidInput:
        """The same error, its field placed under ``prefix`` (e.g. ``events[2]``)."""
        self.field = f"{prefix}.{self.field}"
        self.args = (f"{self.field}: {self.rule}",)
        return self


class UnknownEventType(InvalidInput):
    """The type name is not in the catalogue."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__("type", f"unknown event type {type_name!r}; see docs/events.md")


class StreamVersionConflict(StoreError):
    """The stream moved on since the writer read it: nothing was written.

    Not retryable: the writer must re-decide on the current state.
    """

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, "
            f"but the append expected version {expected_version}; nothing was written"
        )


class EventIdReused(StoreError):
    """An event id already stored with different content (or in another stream)."""

    def __init__(self, event_id: UUID) -> None:
        self.event_id = event_id
        super().__init__(
            f"event id {event_id} is already stored with different content; nothing was written"
        )


class FamilyKnownOtherwise(StoreError):
    """A family claimed under ``family_id`` is on record as ``spelling``, the same id in
    another case: family ids are compared without regard to case. Nothing was claimed."""

    def __init__(self, family_id: str, spelling: str) -> None:
        self.family_id = family_id
        self.spelling = spelling
        super().__init__(f"family {family_id} is on record as {spelling}; nothing was claimed")


class StoreRefused(StoreError):
    """The store will not write this, and waiting will not change it (e.g. personal data
    for a family whose data was erased). Nothing was written."""


def describe(exc: BaseException) -> str:
    """An error in words fit for logs, Temporal's history and status tables: what failed
    and where, never the values involved (they may be a child's name or an address)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from events.validation import first_problem

        field, rule = first_problem(exc.errors(include_input=False))
        return f"{type(exc).__name__}: {field}: {rule}"
    if isinstance(exc, StoreError):
        return f"{type(exc).__name__}: {exc}"  # these name fields and ids, no values
    state = getattr(exc, "sqlstate", None)
    if state:  # a database's message may quote the values it refused: the code says enough
        return f"{type(exc).__name__} (SQLSTATE {state})"
    return f"{type(exc).__name__}: {str(exc)[:200]}"  # the engine's own words
