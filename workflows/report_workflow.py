"""The monthly report snapshot, run by a Temporal Schedule (``ifss-report-snapshot``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.errors import STORE_RETRY
    from activities.reports import ReportActivities

SCHEDULE_ID = "ifss-report-snapshot"


@workflow.defn(name="ReportSnapshot")
class ReportSnapshotWorkflow:
    """Records the evaluation report as of this moment (each programme's), once."""

    @workflow.run
    async def run(self) -> list[str]:
        digests: list[str] = await workflow.execute_activity_method(
            ReportActivities.take_report_snapshots,
            workflow.now(),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=STORE_RETRY,
        )
        return digests
