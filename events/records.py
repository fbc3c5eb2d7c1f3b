"""Events on their way into the store (``NewEvent``) and as read back (``RecordedEvent``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict

from events.bounds import RECORDED, Moment
from events.catalogue import DomainEvent, event_class
from events.envelope import EventMetadata
from events.keys import coded
from events.upcasters import upcast

# type name -> the catalogue's current schema version (the catalogue is fixed at import).
_CURRENT_VERSION: dict[str, int] = {}


def upcast_to_current(
    type_name: str, version: int, data: dict[str, Any], occurred_at: datetime
) -> dict[str, Any]:
    """``data``, stored at schema ``version``, as the catalogue's current version of it."""
    current = _CURRENT_VERSION.get(type_name)
    if current is None:
        current = _CURRENT_VERSION[type_name] = event_class(type_name).schema_version
    return data if version == current else upcast(type_name, version, current, data, occurred_at)


class NewEvent(BaseModel):
    """An event decided but not yet stored. Its id is fixed by the writer (the workflow),
    so a retried append of the same event is recognised and not stored twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    type: str
    data: dict[str, Any]
    metadata: EventMetadata
    occurred_at: Moment

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
    """Key-sorted, compact UTF-8 JSON: the same text for the same content, however stored."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def canonical_time(moment: datetime) -> str:
    """UTC, microsecond precision: what PostgreSQL's timestamptz keeps."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # ``isoformat(timespec="microseconds")``, a third faster: the plain form has the
    # microseconds unless they are 0 (and a four-digit year in every case).
    text = moment.isoformat()
    return text if moment.microsecond else f"{text[:19]}.000000+00:00"


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
    return digest_of(
        data_json,
        event_id,
        metadata_json,
        canonical_time(occurred_at),
        schema_version,
        json_string(stream_id),
        stream_version,
        json_string(type_name),
    )


def digest_of(
    data_json: str,
    event_id: UUID,
    metadata_json: str,
    occurred_text: str,
    schema_version: int,
    stream_json: str,
    stream_version: int,
    type_json: str,
) -> bytes:
    """``content_digest`` with the stream id and type already JSON strings (an append
    works them out once per batch) and the time as ``canonical_time`` gives it (an append
    also sends that text to PostgreSQL)."""
    return hashlib.sha256(
        (
            f'{{"data":{data_json},"event_id":"{event_id}","metadata":{metadata_json},'
            f'"occurred_at":"{occurred_text}","schema_version":{schema_version},'
            f'"stream_id":{stream_json},"stream_version":{stream_version},"type":{type_json}}}'
        ).encode()
    ).digest()


def json_string(text: str) -> str:
    """``text`` as a JSON string."""
    return orjson.dumps(text).decode("utf-8")


def chain_link(previous_hash: bytes, digest: bytes) -> bytes:
    """The stream's hash after this event: sha256(previous hash ‖ content digest)."""
    return hashlib.sha256(previous_hash + digest).digest()


@dataclass(slots=True)
class RecordedEvent:
    """A stored event; treat it as read-only. Payload parsing is lazy, so bulk readers
    pay only for what they use; ``event`` is upcast to the current schema version.

    Fields are in the order of the store's SELECT list, so a row builds it positionally.
    """

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
    _stored: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _data: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _event: DomainEvent | None = field(default=None, repr=False, compare=False)
    _metadata: EventMetadata | None = field(default=None, repr=False, compare=False)

    @property
    def stored_data(self) -> dict[str, Any]:
        """The payload exactly as stored (its own schema version)."""
        if self._stored is None:
            self._stored = orjson.loads(self.data_json)
        return self._stored

    @property
    def data(self) -> dict[str, Any]:
        """The coded payload (sealed personal parts left out; ``events.keys.open_personal``
        opens them for those allowed), upcast to the current schema version of its type."""
        if self._data is None:
            self._data = upcast_to_current(
                self.type, self.schema_version, coded(self.stored_data), self.occurred_at
            )
        return self._data

    @property
    def event(self) -> DomainEvent:
        """The payload as a catalogue event."""
        if self._event is None:
            self._event = event_class(self.type).model_validate(self.data, context=RECORDED)
        return self._event

    @property
    def metadata(self) -> EventMetadata:
        if self._metadata is None:
            self._metadata = EventMetadata.model_validate_json(self.metadata_json)
        return self._metadata
