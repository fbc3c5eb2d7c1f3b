"""The alert dispatcher: every ``AlertRaised`` and ``AlertEscalated`` in the store starts
one ``AlertDeliveryWorkflow``.

It is a consumer of the store on the shared loop (``events.consumer``: checkpoint row
``alert_dispatch``, one active instance per database with hot standbys, wake-up on NOTIFY)
and moves its checkpoint only after the batch's workflows are started. The workflow id is
the alert's idempotency key and ids are never reused, so a batch replayed after a crash
starts nothing twice.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.alerts import AlertNotice
from events.catalogue import AlertEscalated, AlertRaised
from events.consumer import checkpoint, move_checkpoint, run_consumers
from events.db import Conn
from events.records import RecordedEvent
from events.store import EventStore
from workflows.delivery import AlertDeliveryWorkflow

log = structlog.get_logger(__name__)

CHECKPOINT = "alert_dispatch"
BATCH_SIZE = 500
ALERT_TYPES = frozenset({AlertRaised.__name__, AlertEscalated.__name__})


def notice_of(
    event: RecordedEvent,
    raised: AlertRaised | None,
    *,
    retry_first_seconds: float,
    retry_hours: float,
) -> AlertNotice | None:
    """The notice an event calls for (None: not an alert to deliver). ``raised`` is the
    alert an escalation refers to."""
    stream = event.stream_id
    case_id = stream[len("case-") :] if stream.startswith("case-") else None
    retry = {"retry_first_seconds": retry_first_seconds, "retry_hours": retry_hours}
    match event.event:
        case AlertRaised(quiet=True):
            return None  # overdue already when its case was imported: the inbox only
        case AlertRaised() as alert:
            return AlertNotice(
                stream_id=stream,
                alert_id=alert.alert_id,
                case_id=case_id,
                rule=alert.rule,
                severity=alert.severity,
                to_key_worker=alert.to_key_worker,
                to_supervisors_of_team=alert.to_supervisors_of_team,
                acknowledge_by=alert.acknowledge_by,
                **retry,
            )
        case AlertEscalated() as escalated if raised is not None:
            return AlertNotice(
                stream_id=stream,
                alert_id=escalated.alert_id,
                case_id=case_id,
                rule=raised.rule,
                severity=raised.severity,
                to_key_worker=None,
                to_supervisors_of_team=escalated.to_supervisors_of_team,
                acknowledge_by=raised.acknowledge_by,
                escalation=True,
                **retry,
            )
    return None


class AlertDispatcher:
    """A consumer of the store (``events.consumer``): starts a delivery per alert, then
    moves its checkpoint."""

    name = CHECKPOINT

    def __init__(
        self,
        dsn: str,
        store: EventStore,
        client: Client,
        task_queue: str,
        *,
        schema: str | None = None,
        retry_first_seconds: float = 5.0,
        retry_hours: float = 24.0,
        poll_interval: float = 1.0,
    ) -> None:
        self.dsn, self.store, self.client, self.task_queue = dsn, store, client, task_queue
        self.schema = schema
        self.retry_first_seconds, self.retry_hours = retry_first_seconds, retry_hours
        self.poll_interval = poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        await run_consumers(
            [self],
            dsn=self.dsn,
            schema=self.schema,
            store=self.store,
            stop=stop,
            poll_interval=self.poll_interval,
        )

    async def started(self, conn: Conn) -> None:
        log.info("alert_dispatch_started")

    async def crashed(self, conn: Conn, error: Exception, crashes: int) -> None:
        """Nothing to mark: the loop starts over from the checkpoint, and a delivery
        already started is never started twice."""

    async def step(self, conn: Conn) -> bool:
        position = await checkpoint(conn, CHECKPOINT)
        batch = await self.store.read_all(position, BATCH_SIZE)
        if not batch:
            return False
        for event in batch:
            if event.type in ALERT_TYPES:
                await self._start(event)
        await move_checkpoint(conn, CHECKPOINT, position, batch)
        return True

    async def _start(self, event: RecordedEvent) -> None:
        raised = await self._raised(event) if event.type == AlertEscalated.__name__ else None
        notice = notice_of(
            event,
            raised,
            retry_first_seconds=self.retry_first_seconds,
            retry_hours=self.retry_hours,
        )
        if notice is None:
            return
        bound = log.bind(alert=notice.idempotency_key, case_id=notice.case_id)
        try:
            await self.client.start_workflow(
                AlertDeliveryWorkflow.run,
                notice,
                id=f"deliver-{notice.idempotency_key}",
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
            bound.info("alert_dispatched")
        except WorkflowAlreadyStartedError:
            bound.debug("alert_already_dispatched")

    async def _raised(self, escalated: RecordedEvent) -> AlertRaised | None:
        """The ``AlertRaised`` an escalation refers to (same stream, same alert id)."""
        escalation = escalated.event
        if not isinstance(escalation, AlertEscalated):
            return None
        earlier = await self.store.read_stream(
            escalated.stream_id,
            types=[AlertRaised.__name__],
            before_version=escalated.stream_version,
        )
        found = [
            raised
            for e in earlier
            if isinstance(raised := e.event, AlertRaised) and raised.alert_id == escalation.alert_id
        ]
        return found[-1] if found else None
