"""erased_cases: the cases whose family's personal data was erased (from FamilyDataErased):
what read models show as "erased" in place of personal data."""

from __future__ import annotations

from typing import Any, ClassVar

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import LogProjection
from projections.models.common import names


class Erasures(LogProjection):
    name: ClassVar[str] = "erasures"
    tables: ClassVar[tuple[str, ...]] = ("erased_cases",)
    handles: ClassVar[frozenset[str]] = names(ev.FamilyDataErased)
    columns: ClassVar[tuple[str, ...]] = (
        "global_position",
        "family_id",
        "case_id",
        "rule",
        "erased_at",
    )

    def rows_of(self, event: RecordedEvent) -> list[tuple[Any, ...]]:
        d = event.data
        return [
            (event.global_position, d["family_id"], case_id, d["rule"], event.occurred_at)
            for case_id in dict.fromkeys(d["case_ids"])
        ]

    def row_of(self, event: RecordedEvent) -> tuple[Any, ...] | None:
        raise NotImplementedError("one row per case: see rows_of")
