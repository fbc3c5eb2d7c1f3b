"""The team's read models: the registered teams, caseload (key workers and their limits,
joined with case_summary by a query) and the waitlist."""

from __future__ import annotations

from typing import ClassVar

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, Row
from projections.models.common import case_of, day_of, names


class Teams(KeyedProjection):
    """The registry: one row per team an admin registered."""

    name: ClassVar[str] = "teams"
    tables: ClassVar[tuple[str, ...]] = ("teams",)
    handles: ClassVar[frozenset[str]] = names(ev.TeamRegistered)
    key: ClassVar[tuple[str, ...]] = ("team_id",)
    columns: ClassVar[tuple[str, ...]] = ("team_id", "team_name", "area", "registered_at")

    def key_of(self, event: RecordedEvent) -> Key | None:
        team_id = case_of(event.stream_id, "team-")
        return (team_id,) if team_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        return {
            "team_id": case_of(event.stream_id, "team-"),
            "team_name": event.data["team_name"],
            "area": event.data["area"],
            "registered_at": event.occurred_at,
        }


class KeyWorkers(KeyedProjection):
    """The caseload read model: who can hold families, and how many; a query joins it with
    case_summary to count families by phase against each limit."""

    name: ClassVar[str] = "caseload"
    tables: ClassVar[tuple[str, ...]] = ("key_workers",)
    handles: ClassVar[frozenset[str]] = names(ev.TeamKeyWorkerJoined, ev.TeamKeyWorkerLeft)
    key: ClassVar[tuple[str, ...]] = ("team_id", "key_worker_id")
    columns: ClassVar[tuple[str, ...]] = ("team_id", "key_worker_id", "caseload_limit", "active")

    def key_of(self, event: RecordedEvent) -> Key | None:
        team_id = case_of(event.stream_id, "team-")
        return (team_id, event.data["key_worker_id"]) if team_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        team_id, worker = self.key_of(event) or (None, None)
        if event.type == "TeamKeyWorkerJoined":
            return {
                "team_id": team_id,
                "key_worker_id": worker,
                "caseload_limit": event.data["caseload_limit"],
                "active": True,
            }
        if row is None:
            raise ValueError("a key worker left who never joined")
        return {**row, "active": False}


class Waitlist(KeyedProjection):
    name: ClassVar[str] = "waitlist"
    tables: ClassVar[tuple[str, ...]] = ("waitlist",)
    handles: ClassVar[frozenset[str]] = names(
        ev.TeamCaseWaitlisted,
        ev.TeamAllocationWithdrawn,
        ev.TeamCaseReprioritised,
        ev.TeamCaseAllocated,
        ev.TeamCaseReleased,
        ev.TeamCaseReinstated,
    )
    key: ClassVar[tuple[str, ...]] = ("case_id",)
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "team_id",
        "priority",
        "referred_on",
        "waitlisted_at",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        return (event.data["case_id"],) if event.stream_id.startswith("team-") else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        if event.type in ("TeamCaseWaitlisted", "TeamAllocationWithdrawn"):
            d = event.data
            return {
                "case_id": d["case_id"],
                "team_id": case_of(event.stream_id, "team-"),
                "priority": d["priority"],
                "referred_on": day_of(d["referred_on"]),
                "waitlisted_at": event.occurred_at,
            }
        # A family waits in one team at a time, but moving between teams it is on two
        # teams' streams: what the team it left records later (its release) leaves the
        # new team's row alone.
        if row is None or row["team_id"] != case_of(event.stream_id, "team-"):
            return row
        if event.type == "TeamCaseReprioritised":
            row["priority"] = event.data["priority"]
            return row
        return None  # allocated or released by the team it waits in: off the list
