"""What every read model shares: the stream a row belongs to, stored dates, and the
catalogue classes a model handles."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from events.catalogue import DomainEvent, all_event_types


@lru_cache(maxsize=65536)
def case_of(stream_id: str, prefix: str = "case-") -> str | None:
    """The case a stream is about (cached: every read model asks of every event)."""
    return stream_id[len(prefix) :] if stream_id.startswith(prefix) else None


def moment_of(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def day_of(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def names(*classes: type[DomainEvent]) -> frozenset[str]:
    """The stored type names of catalogue classes (a read model declares the classes)."""
    return frozenset(c.type_name() for c in classes)


# Every event of a case's own stream, as the catalogue declares it: a new case event is
# in the summary's and the timeline's dispatch without anyone adding it to a list.
CASE_EVENTS = names(*(c for c in all_event_types() if c.stream == "case"))
