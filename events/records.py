"""Events on their way into the store (``NewEvent``) and as read back (``RecordedEvent``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from events.catalogue import DomainEvent, event_class
from events.envelope import EventMetadata
from events.upcasters import upcast


class NewEvent(BaseModel):
    """An event decided but not yet stored. Its id is fixed by the writer (the workflow),
    so a retried append of the same event is recognised and not stored twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    type: str
    data: dict[str, Any]
    metadata: EventMetadata
    occurred_at: AwareDatetime

    @classmethod
    def of(
        cls,
        event: DomainEvent,
        *,
        event_id: UUID,
        metadata: EventMetadata,
        occurred_at: datetime,
    ) -> NewEvent:
        """Wrap a catalogue event for appending."""
        return cls(
            event_id=event_id,
            type=event.type_name(),
            data=event.model_dump(mode="json"),
            metadata=metadata,
            occurred_at=occurred_at,
        )


def canonical_json(value: Any) -> str:
    """Key-sorted, compact JSON: the same bytes for the same content, however stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_time(moment: datetime) -> str:
    """UTC, microsecond precision: what PostgreSQL's timestamptz keeps."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def content_digest(
    *,
    stream_id: str,
    stream_version: int,
    event_id: UUID,
    type_name: str,
    schema_version: int,
    data_json: str,
    metadata_json: str,
    occurred_at: datetime,
) -> bytes:
    """sha256 over the event's canonical JSON (``data_json``/``metadata_json`` canonical)."""
    text = (
        f'{{"data":{data_json},"event_id":"{event_id}","metadata":{metadata_json},'
        f'"occurred_at":"{canonical_time(occurred_at)}","schema_version":{schema_version},'
        f'"stream_id":{json.dumps(stream_id)},"stream_version":{stream_version},'
        f'"type":{json.dumps(type_name)}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).digest()


def chain_link(previous_hash: bytes, digest: bytes) -> bytes:
    """The stream's hash after this event: sha256(previous hash ‖ content digest)."""
    return hashlib.sha256(previous_hash + digest).digest()


@dataclass(frozen=True)
class RecordedEvent:
    """A stored event. Payload parsing is lazy so that bulk readers pay only for what
    they use; ``event`` is upcast to the current schema version."""

    global_position: int
    transaction_id: int
    stream_id: str
    stream_version: int
    event_id: UUID
    type: str
    schema_version: int
    data_json: str
    metadata_json: str
    occurred_at: datetime
    recorded_at: datetime
    content_digest: bytes
    chain_hash: bytes

    @cached_property
    def stored_data(self) -> dict[str, Any]:
        """The payload exactly as stored (its own schema version)."""
        data: dict[str, Any] = json.loads(self.data_json)
        return data

    @cached_property
    def data(self) -> dict[str, Any]:
        """The payload upcast to the current schema version of its type."""
        current = event_class(self.type).schema_version
        return upcast(self.type, self.schema_version, current, self.stored_data)

    @cached_property
    def event(self) -> DomainEvent:
        """The payload as a catalogue event."""
        return event_class(self.type).model_validate(self.data)

    @cached_property
    def metadata(self) -> EventMetadata:
        return EventMetadata.model_validate_json(self.metadata_json)
