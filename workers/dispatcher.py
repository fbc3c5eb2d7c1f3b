"""The alert dispatcher: every ``AlertRaised`` and ``AlertEscalated`` in the store starts
one ``AlertDeliveryWorkflow``.

It follows the store from its checkpoint (``projection_checkpoints`` row
``alert_dispatch``), like a projection, and moves the checkpoint only after the batch's
workflows are started. The workflow id is the alert's idempotency key and ids are never
reused, so a batch replayed after a crash starts nothing twice. One dispatcher is active
per database (a session advisory lock); others wait as hot standbys.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.alerts import AlertNotice
from events.db import connect
from events.records import RecordedEvent
from events.store import EventStore
from projections.runner import Wakeup
from workflows.delivery import AlertDeliveryWorkflow

log = structlog.get_logger(__name__)

CHECKPOINT = "alert_dispatch"


def notice_of(
    event: RecordedEvent,
    raised: dict[str, object] | None,
    *,
    retry_first_seconds: float,
    retry_hours: float,
) -> AlertNotice | None:
    """The notice an event calls for (None: not an alert to deliver)."""
    d = event.data
    stream = event.stream_id
    case_id = stream[len("case-") :] if stream.startswith("case-") else None
    if event.type == "AlertRaised":
        return AlertNotice(
            stream_id=stream,
            alert_id=d["alert_id"],
            case_id=case_id,
            rule=d["rule"],
            severity=d["severity"],
            to_key_worker=d.get("to_key_worker"),
            to_supervisors_of_team=d.get("to_supervisors_of_team"),
            acknowledge_by=datetime.fromisoformat(d["acknowledge_by"]),
            retry_first_seconds=retry_first_seconds,
            retry_hours=retry_hours,
        )
    if event.type == "AlertEscalated" and raised is not None:
        return AlertNotice(
            stream_id=stream,
            alert_id=d["alert_id"],
            case_id=case_id,
            rule=raised["rule"],
            severity=raised["severity"],
            to_key_worker=None,
            to_supervisors_of_team=d["to_supervisors_of_team"],
            acknowledge_by=datetime.fromisoformat(str(raised["acknowledge_by"])),
            escalation=True,
            retry_first_seconds=retry_first_seconds,
            retry_hours=retry_hours,
        )
    return None


class AlertDispatcher:
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
        wakeup = Wakeup(self.dsn, self.schema, await self.store.channel())
        woken = wakeup.subscribe()
        try:
            while not stop.is_set():
                try:
                    await self._run_locked(stop, wakeup, woken)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("alert_dispatch_connection_lost", error=type(exc).__name__)
                except Exception:
                    log.exception("alert_dispatch_crashed")  # start over from the checkpoint
                await _sleep_or_stop(stop, self.poll_interval)
        finally:
            await wakeup.close()

    async def _run_locked(self, stop: asyncio.Event, wakeup: Wakeup, woken: asyncio.Event) -> None:
        conn = await connect(self.dsn, schema=self.schema)
        try:
            await conn.execute(
                "INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING",
                CHECKPOINT,
            )
            key = await conn.fetchval(
                "SELECT hashtextextended('ifss-alert-dispatch:' || current_schema(), 0)"
            )
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                if await _sleep_or_stop(stop, self.poll_interval):
                    return
            log.info("alert_dispatch_started")
            while not stop.is_set():
                if await self._dispatch_batch(conn):
                    continue
                await wakeup.wait(woken, self.store, self.poll_interval)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _dispatch_batch(self, conn: asyncpg.Connection) -> int:
        position = await conn.fetchval(
            "SELECT position FROM projection_checkpoints WHERE name = $1", CHECKPOINT
        )
        batch = await self.store.read_all(position, 500)
        if not batch:
            return 0
        for event in batch:
            if event.type in ("AlertRaised", "AlertEscalated"):
                await self._start(conn, event)
        await conn.execute(
            """UPDATE projection_checkpoints
                  SET position = $2, events_applied = events_applied + $3,
                      last_recorded_at = $4, updated_at = now()
                WHERE name = $1 AND position = $5""",
            CHECKPOINT,
            batch[-1].global_position,
            len(batch),
            batch[-1].recorded_at,
            position,
        )
        return len(batch)

    async def _start(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        raised = None
        if event.type == "AlertEscalated":
            raised = await self._raised(conn, event)
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

    async def _raised(
        self, conn: asyncpg.Connection, event: RecordedEvent
    ) -> dict[str, object] | None:
        """The ``AlertRaised`` an escalation refers to (same stream, same alert id)."""
        row = await conn.fetchrow(
            """SELECT data FROM events
                WHERE stream_id = $1 AND type = 'AlertRaised' AND data->>'alert_id' = $2
                  AND global_position < $3
                ORDER BY global_position DESC LIMIT 1""",
            event.stream_id,
            event.data["alert_id"],
            event.global_position,
        )
        if row is None:
            return None
        import orjson

        data: dict[str, object] = orjson.loads(row["data"])
        return data


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
