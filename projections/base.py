"""What a projection is: tables it owns and how a batch of events changes them.

Two shapes cover every read model here:

* ``KeyedProjection`` — one row per key (a case, a review): load the rows a batch touches,
  fold the events over them in Python (pure functions, also used for "as of" views),
  upsert or delete the changed ones. Two queries per batch, whatever its size.
* ``LogProjection`` — one row per event (timeline, access log): ``COPY`` them in.

``apply`` always receives the physical table names (``tables``), so the same code fills
the live tables and a rebuild's fresh ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from events.db import Conn
from events.errors import describe
from events.records import RecordedEvent

Row = dict[str, Any]
Key = tuple[Any, ...]


class ProjectionFailed(Exception):
    """A projection cannot go on: a handler failed on one event (or the database refused a
    batch again and again). It stops there, loudly."""

    def __init__(
        self, projection: str, cause: BaseException, event: RecordedEvent | None = None
    ) -> None:
        self.projection = projection
        self.position = event.global_position if event is not None else None
        self.event_type = event.type if event is not None else None
        self.event_id = event.event_id if event is not None else None
        where = f" (event {event.type} at position {event.global_position})" if event else ""
        super().__init__(f"{projection}: {describe(cause)}{where}")


class Projection(ABC):
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    handles: ClassVar[frozenset[str]]

    @abstractmethod
    async def apply(
        self, conn: Conn, events: Sequence[RecordedEvent], tables: Mapping[str, str]
    ) -> None:
        """Apply ``events`` (already in commit-safe order) inside the caller's transaction."""


class KeyedProjection(Projection):
    """One row per key; ``fold`` is a pure function of the row and the event."""

    key: ClassVar[tuple[str, ...]]
    columns: ClassVar[tuple[str, ...]]

    @property
    def table(self) -> str:
        return self.tables[0]

    @abstractmethod
    def key_of(self, event: RecordedEvent) -> Key | None:
        """The row this event changes (None: not this projection's business)."""

    @abstractmethod
    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        """The row after ``event`` (None deletes it). ``row`` is this batch's own copy: change
        it in place and return it."""

    async def apply(
        self, conn: Conn, events: Sequence[RecordedEvent], tables: Mapping[str, str]
    ) -> None:
        handles, key_of = self.handles, self.key_of
        relevant = [
            (key, e) for e in events if e.type in handles and (key := key_of(e)) is not None
        ]
        if not relevant:
            return
        table = tables[self.table]
        keys = list(dict.fromkeys(key for key, _ in relevant))
        rows: dict[Key, Row | None] = dict.fromkeys(keys)
        rows.update(await self._load(conn, table, keys))
        existed = {k for k, v in rows.items() if v is not None}
        for key, event in relevant:
            try:
                rows[key] = self.fold(rows[key], event)
            except Exception as exc:
                raise ProjectionFailed(self.name, exc, event) from exc
        upserts = [self.stored(row) for row in rows.values() if row is not None]
        deletes = [k for k, row in rows.items() if row is None and k in existed]
        if upserts:
            cols = ", ".join(self.columns)
            params = ", ".join(f"${i}" for i in range(1, len(self.columns) + 1))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns if c not in self.key)
            await conn.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({params}) "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {updates}",
                upserts,
            )
        if deletes:
            where = " AND ".join(f"{c} = ${i}" for i, c in enumerate(self.key, 1))
            await conn.executemany(f"DELETE FROM {table} WHERE {where}", deletes)

    async def _load(self, conn: Conn, table: str, keys: list[Key]) -> dict[Key, Row]:
        columns = ", ".join(self.columns)
        if len(self.key) == 1:
            records = await conn.fetch(
                f"SELECT {columns} FROM {table} WHERE {self.key[0]} = ANY($1::text[])",
                [k[0] for k in keys],
            )
        else:
            unnest = ", ".join(f"${i}::text[]" for i in range(1, len(self.key) + 1))
            key_cols = ", ".join(self.key)
            records = await conn.fetch(
                f"SELECT {columns} FROM {table} WHERE ({key_cols}) IN "
                f"(SELECT * FROM unnest({unnest}))",
                *[[k[i] for k in keys] for i in range(len(self.key))],
            )
        return {tuple(r[c] for c in self.key): self.loaded(r) for r in records}

    def loaded(self, record: Any) -> Row:
        """A stored row as the fold takes it (a model that keeps JSON parses it here, once
        per batch rather than once per event)."""
        return dict(record)

    def stored(self, row: Row) -> tuple[Any, ...]:
        """The fold's row as the table stores it, in ``columns`` order."""
        return tuple(row[c] for c in self.columns)


class LogProjection(Projection):
    """One row per event, appended with COPY."""

    columns: ClassVar[tuple[str, ...]]

    @abstractmethod
    def row_of(self, event: RecordedEvent) -> tuple[Any, ...] | None:
        """The row for ``event`` (None: not recorded here)."""

    def rows_of(self, event: RecordedEvent) -> list[tuple[Any, ...]]:
        """The rows for ``event``: one (``row_of``) unless a model says otherwise."""
        row = self.row_of(event)
        return [] if row is None else [row]

    async def apply(
        self, conn: Conn, events: Sequence[RecordedEvent], tables: Mapping[str, str]
    ) -> None:
        records = []
        for event in events:
            if event.type not in self.handles:
                continue
            try:
                records.extend(self.rows_of(event))
            except Exception as exc:
                raise ProjectionFailed(self.name, exc, event) from exc
        if records:
            await conn.copy_records_to_table(
                tables[self.tables[0]], records=records, columns=list(self.columns)
            )
