"""The retention review, run daily by a Temporal Schedule (``ifss-retention-review``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.errors import STORE_RETRY
    from activities.retention import RetentionActivities
    from events.calendar import local_day

SCHEDULE_ID = "ifss-retention-review"


@workflow.defn(name="RetentionReview")
class RetentionReviewWorkflow:
    """Lists (and records) the families whose retention has ended today, in Wales."""

    @workflow.run
    async def run(self) -> list[str]:
        today = local_day(workflow.now())
        due: list[str] = await workflow.execute_activity_method(
            RetentionActivities.review_retention,
            today,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=STORE_RETRY,
        )
        return due
