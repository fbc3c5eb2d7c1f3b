"""The monthly report snapshot (``ReportSnapshotTaken``), for each programme."""

from __future__ import annotations

from datetime import datetime

from temporalio import activity

from activities.errors import classified
from events.calendar import local_day
from events.programmes import PROGRAMMES
from events.store import EventStore


class ReportActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="take_report_snapshots")
    async def take_report_snapshots(self, as_of: datetime) -> list[str]:
        """The evaluation report of this financial year as of ``as_of``, folded from the
        events recorded by then, for each programme: recorded once each (a retry records
        nothing new). Returns the digests."""
        from reports.evaluation import Period
        from reports.render import digest
        from reports.service import produce
        from reports.snapshots import record_snapshot

        try:
            digests = []
            period = Period.financial_year(local_day(as_of))
            for programme in sorted(PROGRAMMES):
                report = await produce(
                    self._store.pool, self._store, period, as_of=as_of, programme=programme
                )
                await record_snapshot(self._store, report, programme)
                digests.append(digest(report))
        except Exception as exc:
            raise classified(exc) from exc
        return digests
