"""AlertDeliveryWorkflow: tell every recipient of one alert, and record what happened.

One workflow per alert (and one per escalation), started by the dispatcher with the
alert reference in its id, so an alert is never delivered by two workflows. Each channel
is an activity retried with backoff for up to ``retry_hours``; its outcome is an event
(``AlertDelivered`` or ``AlertDeliveryFailed``) in the workflow's own stream
(``delivery-<alert ref>``, one writer). When a delivery fails for good, the case is asked
to escalate the alert to the team's supervisors.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows import appending

with workflow.unsafe.imports_passed_through():
    from activities.alerts import AlertActivities, AlertNotice, Delivery, Route
    from activities.errors import STORE_RETRY
    from events import catalogue as ev
    from events.bounds import printable
    from events.catalogue import DomainEvent
    from events.envelope import Actor, EventMetadata
    from events.records import NewEvent
    from workflows import commands as cmd

# The case's signal for an alert nobody could be told of, by name: importing the case
# workflow here would build a sandboxed copy of it for every delivery.
ESCALATE_ALERT = "escalate_alert"


class DeliveryOutcome(BaseModel):
    delivered: list[str]
    failed: list[str]
    skipped: list[str]  # the alert was resolved or acknowledged before it could be sent
    escalated: bool


def delivery_stream(notice: AlertNotice) -> str:
    return f"delivery-{notice.idempotency_key}"


@workflow.defn
class AlertDeliveryWorkflow:
    def __init__(self) -> None:
        self._version = 0
        self._lock = asyncio.Lock()
        self._writer: appending.StreamWriter | None = None

    @workflow.run
    async def run(self, notice: AlertNotice) -> DeliveryOutcome:
        routes = await workflow.execute_activity_method(
            AlertActivities.alert_routes,
            notice,
            start_to_close_timeout=timedelta(seconds=30),
            # The database may be down for a while: retried as long as the delivery is.
            schedule_to_close_timeout=timedelta(hours=notice.retry_hours),
            retry_policy=STORE_RETRY,
        )
        results = await asyncio.gather(*(self._deliver(notice, r) for r in routes))
        pairs = list(zip(routes, results, strict=True))
        delivered = [f"{r.user_id}/{r.channel.value}" for r, ok in pairs if ok is True]
        failed = [f"{r.user_id}/{r.channel.value}" for r, ok in pairs if ok is False]
        skipped = [f"{r.user_id}/{r.channel.value}" for r, ok in pairs if ok is None]
        escalated = False
        if failed and not notice.escalation and notice.stream_id.startswith("case-"):
            handle = workflow.get_external_workflow_handle(notice.stream_id)
            try:
                await handle.signal(
                    ESCALATE_ALERT,
                    cmd.EscalateAlert(actor=Actor.system(), alert_id=notice.alert_id),
                )
                escalated = True
            except Exception as exc:  # the episode has ended: nobody left to tell
                workflow.logger.warning("not escalated", extra={"error": type(exc).__name__})
        return DeliveryOutcome(
            delivered=delivered, failed=failed, skipped=skipped, escalated=escalated
        )

    async def _deliver(self, notice: AlertNotice, route: Route) -> bool | None:
        """True: delivered; False: failed for good; None: not needed any more."""
        try:
            attempts = await workflow.execute_activity_method(
                AlertActivities.deliver_alert,
                Delivery(notice=notice, route=route),
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=notice.retry_hours),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=notice.retry_first_seconds),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(hours=1),
                    non_retryable_error_types=["ConfigurationError"],
                ),
            )
        except ActivityError as exc:
            cause = exc.cause
            error = printable(str(cause) if cause is not None else str(exc), 500)
            await self._record(
                ev.AlertDeliveryFailed(
                    stream_id=notice.stream_id,
                    alert_id=notice.alert_id,
                    recipient=route.user_id,
                    channel=route.channel,
                    escalation=notice.escalation,
                    error=error,
                ),
                notice,
            )
            return False
        if attempts == 0:
            return None
        await self._record(
            ev.AlertDelivered(
                stream_id=notice.stream_id,
                alert_id=notice.alert_id,
                recipient=route.user_id,
                channel=route.channel,
                escalation=notice.escalation,
                attempts=attempts,
            ),
            notice,
        )
        return True

    async def _record(self, event: DomainEvent, notice: AlertNotice) -> None:
        async with self._lock:  # one append at a time: this workflow is the stream's writer
            if self._writer is None:
                self._writer = appending.StreamWriter(delivery_stream(notice), self._apply)
            info = workflow.info()
            metadata = EventMetadata(
                actor=Actor.system(),
                correlation_id=workflow.uuid4(),
                workflow_id=info.workflow_id,
                run_id=info.run_id,
            )
            now = workflow.now()
            new = NewEvent.of(event, event_id=workflow.uuid4(), metadata=metadata, occurred_at=now)
            await self._writer.catch_up(self._version)
            await self._writer.record(self._version, [event], [new], now)

    async def _apply(self, recorded: list[tuple[DomainEvent, datetime]]) -> None:
        self._version += len(recorded)
