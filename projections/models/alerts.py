"""alerts: one row per alert (the inbox), with its deliveries."""

from __future__ import annotations

from typing import ClassVar

import orjson

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, Row
from projections.describe import metadata_of
from projections.models.common import case_of, moment_of, names

ALERT_EVENTS = names(
    ev.AlertRaised,
    ev.AlertAcknowledged,
    ev.AlertRedirected,
    ev.AlertEscalated,
    ev.AlertResolved,
    ev.AlertDelivered,
    ev.AlertDeliveryFailed,
)


def alert_ref(stream_id: str, alert_id: str) -> str:
    """An alert's id across the service: the stream that raised it and its id there."""
    return f"{stream_id}:{alert_id}"


class Alerts(KeyedProjection):
    """The inbox: one row per alert, with who acknowledged it and every delivery outcome."""

    name: ClassVar[str] = "alerts"
    tables: ClassVar[tuple[str, ...]] = ("alerts",)
    handles: ClassVar[frozenset[str]] = ALERT_EVENTS
    key: ClassVar[tuple[str, ...]] = ("alert_ref",)
    columns: ClassVar[tuple[str, ...]] = (
        "alert_ref",
        "stream_id",
        "alert_id",
        "case_id",
        "team_id",
        "rule",
        "severity",
        "subject",
        "to_key_worker",
        "to_supervisors_of_team",
        "raised_at",
        "acknowledge_by",
        "acknowledged_at",
        "acknowledged_by",
        "escalated_at",
        "escalation_reason",
        "resolved_at",
        "resolution",
        "deliveries",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        d = event.data
        if event.type in ("AlertDelivered", "AlertDeliveryFailed"):
            return (alert_ref(d["stream_id"], d["alert_id"]),)
        if event.stream_id.startswith(("case-", "team-")):
            return (alert_ref(event.stream_id, d["alert_id"]),)
        return None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        return fold_alert(row, event)


def fold_alert(row: Row | None, event: RecordedEvent) -> Row | None:
    d, t, at = event.data, event.type, event.occurred_at
    if t == "AlertRaised":
        return {
            "alert_ref": alert_ref(event.stream_id, d["alert_id"]),
            "stream_id": event.stream_id,
            "alert_id": d["alert_id"],
            "case_id": case_of(event.stream_id),
            "team_id": case_of(event.stream_id, "team-") or d.get("to_supervisors_of_team"),
            "rule": d["rule"],
            "severity": d["severity"],
            "subject": d.get("subject"),
            "to_key_worker": d.get("to_key_worker"),
            "to_supervisors_of_team": d.get("to_supervisors_of_team"),
            "raised_at": at,
            "acknowledge_by": moment_of(d["acknowledge_by"]),
            "acknowledged_at": None,
            "acknowledged_by": None,
            "escalated_at": None,
            "escalation_reason": None,
            "resolved_at": None,
            "resolution": None,
            "deliveries": "[]",
        }
    if row is None:
        return None  # nothing happens to an alert before it is raised
    if t == "AlertAcknowledged":
        actor = metadata_of(event).get("actor") or {}
        row["acknowledged_at"], row["acknowledged_by"] = at, actor.get("id")
    elif t == "AlertRedirected":
        row["to_key_worker"] = d["to_key_worker"]
    elif t == "AlertEscalated":
        row["escalated_at"], row["escalation_reason"] = at, d["reason"]
        row["to_supervisors_of_team"] = d["to_supervisors_of_team"]
        row["team_id"] = row["team_id"] or d["to_supervisors_of_team"]
    elif t == "AlertResolved":
        row["resolved_at"], row["resolution"] = at, d["resolution"]
    elif t in ("AlertDelivered", "AlertDeliveryFailed"):
        deliveries = orjson.loads(row["deliveries"] or "[]")
        deliveries.append(
            {
                "at": at.isoformat(),
                "recipient": d["recipient"],
                "channel": d["channel"],
                "escalation": d.get("escalation", False),
                "delivered": t == "AlertDelivered",
                "attempts": d.get("attempts"),
            }
        )
        row["deliveries"] = orjson.dumps(deliveries).decode()
    return row
