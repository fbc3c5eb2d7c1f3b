"""access_log: every read of a case's record (who, what, when, why; refusals too), and every
list read that returned the case."""

from __future__ import annotations

from typing import Any, ClassVar

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import LogProjection
from projections.describe import metadata_of
from projections.models.common import moment_of, names


class AccessLog(LogProjection):
    name: ClassVar[str] = "access_log"
    tables: ClassVar[tuple[str, ...]] = ("access_log",)
    handles: ClassVar[frozenset[str]] = names(ev.CaseRecordViewed, ev.CasesListed)
    columns: ClassVar[tuple[str, ...]] = (
        "global_position",
        "case_id",
        "actor_id",
        "actor_role",
        "view",
        "interface",
        "as_of",
        "allowed",
        "viewed_at",
        "purpose",
        "reason",
    )

    def rows_of(self, event: RecordedEvent) -> list[tuple[Any, ...]]:
        if event.type != ev.CasesListed.__name__:
            return super().rows_of(event)
        d = event.data
        actor = metadata_of(event).get("actor") or {}
        view = f"list:{d['view']}"
        return [
            (
                event.global_position,
                case_id,
                actor.get("id", "?"),
                actor.get("role", "?"),
                view,
                d["interface"],
                None,
                True,
                event.occurred_at,
                None,
                None,
            )
            for case_id in dict.fromkeys(d["case_ids"])
        ]

    def row_of(self, event: RecordedEvent) -> tuple[Any, ...] | None:
        d = event.data
        actor = metadata_of(event).get("actor") or {}
        return (
            event.global_position,
            d["case_id"],
            actor.get("id", "?"),
            actor.get("role", "?"),
            d["view"],
            d["interface"],
            moment_of(d.get("as_of")),
            d.get("allowed", True),
            event.occurred_at,
            d.get("purpose"),
            d.get("reason"),
        )
