"""Monthly snapshots of the evaluation report: the figures and the digest of the report as
of a moment, recorded as ``ReportSnapshotTaken`` in the ``report-snapshots`` stream, so a
figure once reported can be produced again (``--as-of`` the snapshot's moment) and shown
later beside today's, with what changed since."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from events.catalogue import ReportSnapshotTaken, SnapshotFigure
from events.envelope import Actor, EventMetadata
from events.records import NewEvent
from events.store import EventStore
from reports.evaluation import Report, Table
from reports.render import digest

SNAPSHOT_STREAM = "report-snapshots"


def snapshot_of(report: Report, programme: str) -> ReportSnapshotTaken:
    assert report.as_of is not None, "a snapshot is of a report as of a moment"
    return ReportSnapshotTaken(
        programme=programme,
        period_from=report.period.start,
        period_to=report.period.end,
        as_of=report.as_of,
        digest=digest(report),
        episodes=report.episodes,
        figures=[
            SnapshotFigure(
                key=f.key,
                value=decimal(f.value),
                numerator=f.numerator,
                denominator=f.denominator,
            )
            for f in report.figures
        ],
    )


def decimal(value: float | int | None) -> str | None:
    """A figure as the snapshot keeps it: a decimal with six places at most (exact in JSON
    and in PostgreSQL alike, where a float's text could change)."""
    if value is None:
        return None
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def snapshot_id(programme: str, as_of: datetime) -> uuid.UUID:
    """One snapshot per programme and moment: a retried activity records it once."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"ifss:report-snapshot:{programme}:{as_of.isoformat()}")


async def record_snapshot(store: EventStore, report: Report, programme: str) -> bool:
    """Record the snapshot of ``report`` (False: it was recorded already)."""
    event = snapshot_of(report, programme)
    event_id = snapshot_id(programme, event.as_of)
    if await store.pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM events WHERE event_id = $1)", event_id
    ):
        return False
    new = NewEvent.of(
        event,
        event_id=event_id,
        metadata=EventMetadata(actor=Actor.system()),
        occurred_at=datetime.now(UTC),
    )
    await store.append_at_end(SNAPSHOT_STREAM, [new])
    return True


async def snapshots(store: EventStore, programme: str | None = None) -> list[dict[str, Any]]:
    """Every snapshot recorded (newest last), with its position in the stream."""
    found = []
    for e in await store.read_stream(SNAPSHOT_STREAM):
        if e.type == ReportSnapshotTaken.type_name() and (
            programme is None or e.data["programme"] == programme
        ):
            found.append({"version": e.stream_version, **e.data})
    return found


def changes_since(snapshot: dict[str, Any], report: Report) -> Table:
    """Each figure as the snapshot gave it and as the report gives it now."""
    then = {f["key"]: f for f in snapshot["figures"]}
    rows = []
    for f in report.figures:
        before = then.get(f.key)
        old = None if before is None else before["value"]
        new = decimal(f.value)
        rows.append([f.label, old, new, "changed" if old != new else ""])
    return Table(
        "changes_since_snapshot",
        f"Changes since the snapshot of {snapshot['as_of']}",
        ["figure", "then", "now", ""],
        rows,
        "Each figure as the monthly snapshot recorded it (produce that report again with "
        f"--as-of {snapshot['as_of']}; digest {snapshot['digest'][:16]}) and as it stands now: "
        "events recorded since (late entries, corrections) change it.",
    )
