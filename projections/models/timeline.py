"""case_timeline: every case event, stored coded and rendered in plain English on read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from events.db import Conn
from events.records import RecordedEvent
from projections.base import Projection
from projections.models.common import CASE_EVENTS


class CaseTimeline(Projection):
    """One row per case event: who, when, under which policy, and the coded payload
    (``personal`` parts removed). The sentence is written at read time (``sentence``), so
    this projection is a single ``INSERT ... SELECT`` per batch, done by PostgreSQL."""

    name: ClassVar[str] = "case_timeline"
    tables: ClassVar[tuple[str, ...]] = ("case_timeline",)
    handles: ClassVar[frozenset[str]] = CASE_EVENTS

    async def apply(
        self, conn: Conn, events: Sequence[RecordedEvent], tables: Mapping[str, str]
    ) -> None:
        positions = [
            e.global_position
            for e in events
            if e.type in self.handles and e.stream_id.startswith("case-")
        ]
        if not positions:
            return
        await conn.execute(
            f"""INSERT INTO {tables[self.tables[0]]}
                    (global_position, case_id, stream_version, event_id, type, schema_version,
                     data, actor_id, actor_role, occurred_at, recorded_at, policy_version)
                SELECT e.global_position, substr(e.stream_id, 6), e.stream_version,
                       e.event_id, e.type, e.schema_version, {CODED_PAYLOAD},
                       coalesce(e.metadata -> 'actor' ->> 'id', 'system'),
                       coalesce(e.metadata -> 'actor' ->> 'role', 'system'),
                       e.occurred_at, e.recorded_at, e.metadata ->> 'policy_version'
                  FROM events e WHERE e.global_position = ANY($1::bigint[])""",
            positions,
        )


# The payload without personal parts: the top-level one, and each child's and adult's.
CODED_PAYLOAD = """(CASE WHEN e.type = 'ReferralReceived' THEN
        (e.data - 'personal')
        || jsonb_build_object(
             'children', (SELECT coalesce(jsonb_agg(c - 'personal'), '[]'::jsonb)
                            FROM jsonb_array_elements(e.data -> 'children') c),
             'adults', (SELECT coalesce(jsonb_agg(a - 'personal'), '[]'::jsonb)
                          FROM jsonb_array_elements(coalesce(e.data -> 'adults', '[]')) a))
      ELSE e.data - 'personal' END)"""


def coded(data: dict[str, Any]) -> dict[str, Any]:
    """``CODED_PAYLOAD`` in Python (for "as of" reads straight from the events)."""
    out = {k: v for k, v in data.items() if k != "personal"}
    for part in ("children", "adults"):
        if part in out:
            out[part] = [{k: v for k, v in x.items() if k != "personal"} for x in out[part]]
    return out
