"""Alert delivery end to end on a Temporal dev server, real PostgreSQL and real receivers on
loopback: case workflow -> store -> dispatcher -> delivery workflow -> webhook / SMTP."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.alerts import DeliverySettings
from events.policy import DEFAULT_POLICY
from events.store import EventStore
from identity.users import add_user, set_alert_routes
from tests.receivers import MailCollector, WebhookReceiver, free_port
from tests.temporal_harness import SUP, Harness, start_dev_server, types_of, wait_for_type
from workers.dispatcher import AlertDispatcher
from workers.temporal import build_worker
from workflows.delivery import DeliveryOutcome

pytestmark = pytest.mark.integration

SECRET = "test-shared-secret"


@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


class Stack:
    def __init__(
        self,
        env: WorkflowEnvironment,
        store: EventStore,
        dsn: str,
        schema: str,
        delivery: DeliverySettings,
        retry_hours: float,
    ) -> None:
        self.env, self.store, self.dsn, self.schema = env, store, dsn, schema
        self.delivery, self.retry_hours = delivery, retry_hours
        self.task_queue = f"tq-{uuid.uuid4().hex[:8]}"
        self.h = Harness(env=env, store=store, task_queue=self.task_queue)

    @contextlib.asynccontextmanager
    async def worker(self) -> AsyncIterator[None]:
        """A worker plus the dispatcher, as `ifss worker` runs them."""
        stop = asyncio.Event()
        dispatcher = AlertDispatcher(
            self.dsn,
            self.store,
            self.env.client,
            self.task_queue,
            schema=self.schema,
            retry_first_seconds=0.3,
            retry_hours=self.retry_hours,
            poll_interval=0.2,
        )
        worker = build_worker(self.env.client, self.task_queue, self.store, delivery=self.delivery)
        async with worker:
            task = asyncio.create_task(dispatcher.run(stop))
            try:
                yield
            finally:
                stop.set()
                await task

    async def raise_child_protection_alert(self, case_id: str = "c1") -> None:
        """Refer, accept, allocate, then a child goes on the protection register: an alert
        to the key worker and the team's supervisors, at once."""
        h = self.h
        await h.refer(case_id)
        await h.do(case_id, "accept", actor=SUP)
        await h.settle(case_id, "allocated")
        await h.do(case_id, "change_child_status", child_id="ch1", status="cpr", actor=SUP)

    async def raise_first_meeting_alert(self, case_id: str = "c1") -> None:
        """Refer and accept with a first meeting due at once: its alert goes to the key
        worker alone (the supervisors only hear of it if it escalates)."""
        policy = DEFAULT_POLICY.model_copy(update={"first_meeting_working_days": 0})
        await self.h.refer(case_id, policy=policy)
        await self.h.do(case_id, "accept", actor=SUP)


@dataclass
class Infra:
    env: WorkflowEnvironment
    store: EventStore
    pool: asyncpg.Pool
    dsn: str
    schema: str


@pytest.fixture
async def infra(
    dev_env: WorkflowEnvironment,
    store: EventStore,
    pool: asyncpg.Pool,
    database_url: str,
    migrated: str,
) -> Infra:
    return Infra(dev_env, store, pool, database_url, migrated)


def stack_for(infra: Infra, retry_hours: float = 24.0, **delivery: Any) -> Stack:
    settings = DeliverySettings(
        public_url="https://ifss.example", webhook_secret=SECRET, **delivery
    )
    return Stack(infra.env, infra.store, infra.dsn, infra.schema, settings, retry_hours)


async def delivery_attempts(stack: Stack, alert_ref: str, at_least: int) -> None:
    """Until the delivery's activity has been tried ``at_least`` times (its own count)."""
    handle = stack.env.client.get_workflow_handle(f"deliver-{alert_ref}")
    for _ in range(600):
        with contextlib.suppress(RPCError):
            pending = (await handle.describe()).raw_description.pending_activities
            if any(a.attempt >= at_least for a in pending):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{alert_ref}: not tried {at_least} times")


async def users(pool: asyncpg.Pool, **routes: dict[str, str]) -> None:
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    await add_user(pool, "sup-evans", "supervisor", "cardiff")
    for user_id, channels in routes.items():
        await set_alert_routes(pool, user_id.replace("_", "-"), **channels)


async def test_webhook_down_then_up_gets_one_signed_alert(
    infra: Infra,
) -> None:
    store, pool = infra.store, infra.pool
    receiver = WebhookReceiver()
    await users(pool, cm_jones={"webhook": receiver.url})
    stack = stack_for(infra)
    async with stack.worker():
        await stack.h.add_key_worker("cardiff", "cm-jones")
        await stack.raise_child_protection_alert()
        await delivery_attempts(stack, "case-c1:a1", at_least=2)  # the receiver is down
        receiver.start()
        try:
            await receiver.wait_for(1)
            await wait_for_type(store, "delivery-case-c1:a1", "AlertDelivered")
        finally:
            receiver.stop()
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {"case-c1:a1"}  # one distinct key, however often it was tried
    for request in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-IFSS-Signature"], expected)
    body = json.loads(receiver.processed["case-c1:a1"])
    # references and codes only: no names, notes or addresses
    assert set(body) == {
        "alert",
        "case_id",
        "team_id",
        "rule",
        "severity",
        "escalation",
        "acknowledge_by",
        "link",
    }
    assert (body["alert"], body["rule"], body["link"]) == (
        "case-c1:a1",
        "child_status_escalated",
        "https://ifss.example/cases/c1",
    )
    assert "Child One" not in receiver.processed["case-c1:a1"].decode()
    [delivered] = [e for e in await store.read_stream("delivery-case-c1:a1")]
    assert (delivered.event.recipient, delivered.event.channel) == ("cm-jones", "webhook")
    assert delivered.event.attempts >= 2  # it was down at first
    assert (await types_of(store, "case-c1")).count("AlertRaised") == 1


async def test_email_one_message_per_alert_and_recipient(
    infra: Infra,
) -> None:
    store, pool = infra.store, infra.pool
    collector = MailCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await users(
            pool,
            cm_jones={"email": "jones@council.example"},
            sup_evans={"email": "evans@council.example"},
        )
        stack = stack_for(
            infra,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
        )
        async with stack.worker():
            await stack.h.add_key_worker("cardiff", "cm-jones")
            await stack.raise_child_protection_alert()
            await collector.wait_for(2)
            await wait_for_type(store, "delivery-case-c1:a1", "AlertDelivered", 2)
            # Once the delivery is over nothing more can arrive: then count.
            await stack.env.client.get_workflow_handle("deliver-case-c1:a1").result()
    finally:
        controller.stop()
    assert sorted(rcpt for rcpt, _ in collector.messages) == [
        ["evans@council.example"],
        ["jones@council.example"],
    ]
    for _, content in collector.messages:
        message = message_from_bytes(content, policy=email_policy.default)
        assert message["Subject"] == ("IFSS alert (high): child status escalated — case c1")
        assert message["Idempotency-Key"] == "case-c1:a1"
        assert "https://ifss.example/cases/c1" in message.get_content()  # type: ignore[attr-defined]
        assert "Child One" not in content.decode()


async def test_worker_killed_during_delivery_still_delivers_once(
    infra: Infra,
) -> None:
    store, pool = infra.store, infra.pool
    receiver = WebhookReceiver(hold_first=True)
    receiver.start()
    await users(pool, cm_jones={"webhook": receiver.url})
    stack = stack_for(infra)
    try:
        async with stack.worker():
            await stack.h.add_key_worker("cardiff", "cm-jones")
            await stack.raise_child_protection_alert()
            for _ in range(400):  # the POST is in flight ...
                if receiver.first_arrived.is_set():
                    break
                await asyncio.sleep(0.05)
            assert receiver.first_arrived.is_set()
        # ... and the worker is gone (its activities cancelled, nothing answered)
        receiver.release.set()
        async with stack.worker():  # a new worker picks the delivery up
            await receiver.wait_for(1, seconds=90)
            await wait_for_type(store, "delivery-case-c1:a1", "AlertDelivered")
    finally:
        receiver.stop()
    assert len(receiver.requests) >= 2  # the first was lost with the worker
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {"case-c1:a1"}
    assert list(receiver.processed) == ["case-c1:a1"]  # de-duplicated by key
    assert (await types_of(store, "case-c1")).count("AlertRaised") == 1
    assert await types_of(store, "delivery-case-c1:a1") == ["AlertDelivered"]


async def test_a_delivery_that_never_succeeds_is_recorded_and_escalated(
    infra: Infra,
) -> None:
    store, pool = infra.store, infra.pool
    supervisor_hook = WebhookReceiver()
    supervisor_hook.start()
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    await users(pool, cm_jones={"webhook": dead}, sup_evans={"webhook": supervisor_hook.url})
    # retried for 3 seconds here (24 hours in production)
    stack = stack_for(infra, retry_hours=3 / 3600)
    try:
        async with stack.worker():
            await stack.h.add_key_worker("cardiff", "cm-jones")
            await stack.raise_first_meeting_alert()
            await wait_for_type(store, "delivery-case-c1:a1", "AlertDeliveryFailed")
            await wait_for_type(store, "case-c1", "AlertEscalated")
            await supervisor_hook.wait_for(1)
            # recorded by the worker after the receiver answered: wait while it still runs
            await wait_for_type(store, "delivery-case-c1:a1:escalated", "AlertDelivered")
    finally:
        supervisor_hook.stop()
    outcomes = await store.read_stream("delivery-case-c1:a1")
    failed = [e.event for e in outcomes if e.type == "AlertDeliveryFailed"]
    assert [(f.recipient, f.channel) for f in failed] == [("cm-jones", "webhook")]
    assert "webhook unreachable" in failed[0].error
    escalated = [e.event for e in await store.read_stream("case-c1") if e.type == "AlertEscalated"]
    assert [(e.alert_id, e.reason) for e in escalated] == [("a1", "delivery_failed")]
    # the supervisors were not told at first (the alert was the key worker's); now they are
    assert set(supervisor_hook.processed) == {"case-c1:a1:escalated"}
    body = json.loads(supervisor_hook.processed["case-c1:a1:escalated"])
    assert (body["escalation"], body["rule"]) == (True, "first_meeting_overdue")


async def test_an_alert_resolved_while_delivery_retries_is_not_sent(infra: Infra) -> None:
    store, pool = infra.store, infra.pool
    receiver = WebhookReceiver()  # down at first
    await users(pool, cm_jones={"webhook": receiver.url})
    stack = stack_for(infra)
    try:
        async with stack.worker():
            await stack.h.add_key_worker("cardiff", "cm-jones")
            h = stack.h
            await stack.raise_first_meeting_alert()
            await wait_for_type(store, "case-c1", "AlertRaised")
            await h.do("c1", "record_first_meeting", held_at=await h.now())  # resolves it
            await wait_for_type(store, "case-c1", "AlertResolved")
            receiver.start()
            handle = h.client.get_workflow_handle("deliver-case-c1:a1", result_type=DeliveryOutcome)
            # The dispatcher polls the store: the alert may be resolved before it has
            # started the delivery (which then finds it resolved). Wait for the delivery.
            for _ in range(300):
                try:
                    await handle.describe()
                    break
                except RPCError as exc:
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise
                    await asyncio.sleep(0.1)
            outcome = await handle.result()
    finally:
        receiver.stop()
    assert (outcome.delivered, outcome.failed, outcome.skipped) == ([], [], ["cm-jones/webhook"])
    assert receiver.requests == []  # no reminder about a problem that is gone
    assert await types_of(store, "delivery-case-c1:a1") == []


async def test_a_deactivated_key_worker_s_alerts_go_to_their_team_s_supervisors(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    from datetime import UTC, datetime

    from activities.alerts import AlertActivities, AlertNotice
    from events.vocabulary import AlertRule, AlertSeverity
    from identity.users import set_user_active

    await users(
        pool,
        cm_jones={"webhook": "https://hooks.council.example/jones"},
        sup_evans={"email": "evans@council.example"},
    )
    await add_user(pool, "sup-price", "supervisor", "newport")
    await set_alert_routes(pool, "sup-price", email="price@council.example")
    alerts = AlertActivities(store, DeliverySettings(public_url="https://ifss.example"))
    notice = AlertNotice(
        stream_id="case-c1",
        alert_id="a1",
        case_id="c1",
        rule=AlertRule.GOAL_REGRESSED,
        severity=AlertSeverity.MEDIUM,
        to_key_worker="cm-jones",
        to_supervisors_of_team=None,
        acknowledge_by=datetime.now(UTC),
    )
    try:
        assert [r.user_id for r in await alerts.alert_routes(notice)] == ["cm-jones"]
        await set_user_active(pool, "cm-jones", False)  # left: their team's supervisors hear
        assert [r.address for r in await alerts.alert_routes(notice)] == ["evans@council.example"]
        # An escalation was going to the supervisors anyway, and only to that team's.
        escalation = notice.model_copy(
            update={"escalation": True, "to_key_worker": None, "to_supervisors_of_team": "cardiff"}
        )
        assert [r.user_id for r in await alerts.alert_routes(escalation)] == ["sup-evans"]
    finally:
        await alerts.aclose()
