"""Temporal clients and the worker process."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any

import structlog
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.runtime import Runtime as CoreRuntime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.alerts import AlertActivities, DeliverySettings
from activities.handover import HandoverActivities
from activities.reports import ReportActivities
from activities.retention import RetentionActivities
from activities.store import StoreActivities
from activities.team import TeamActivities
from events.keys import MasterKeys
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import EventStore
from workers.root import freeze_start_up
from workers.settings import Settings
from workflows.case_workflow import CaseWorkflow
from workflows.codec import sealed_data_converter
from workflows.delivery import AlertDeliveryWorkflow
from workflows.report_workflow import SCHEDULE_ID as REPORT_SCHEDULE_ID
from workflows.report_workflow import ReportSnapshotWorkflow
from workflows.retention_workflow import SCHEDULE_ID, RetentionReviewWorkflow
from workflows.team_workflow import TeamWorkflow

if TYPE_CHECKING:
    from workers.root import Runtime

log = structlog.get_logger(__name__)


def temporal_address(settings: Settings) -> str:
    """``IFSS_TEMPORAL_ADDRESS``, else the embedded dev server's address."""
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


@functools.cache
def core_runtime() -> CoreRuntime:
    """The SDK's core (in Rust) with its log records sent to Python's logging, so they are
    rendered as the rest (JSON stays JSON; they wrote coloured text to stderr of their own,
    at each reconnection while the server is down)."""
    forwarding = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    logs = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"), forwarding=forwarding
    )
    return CoreRuntime(telemetry=TelemetryConfig(logging=logs))


async def connect_temporal(
    address: str,
    namespace: str = "default",
    *,
    master: MasterKeys,
    attempts: int = 1,
    accept_unsealed: bool = False,
) -> Client:
    """A client whose payloads are sealed under ``master`` (``workflows.codec``); retries
    while a server is starting. Its workers refuse payloads in clear unless
    ``accept_unsealed`` (IFSS_ACCEPT_UNSEALED_PAYLOADS)."""
    converter = sealed_data_converter(master, accept_unsealed=accept_unsealed)
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=converter, runtime=core_runtime()
            )
        except RuntimeError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


# Pure, deterministic modules shared by workflows and their callers: passed through the
# sandbox so that a command class is the same class inside and outside it, and so that a
# workflow's sandbox does not build its own copy of each module (a case's was 26 ms and
# about 270 KiB each before its models moved to ``workflows.case_io``). Only the modules
# holding the workflow classes are imported afresh into each sandbox.
PASSTHROUGH_MODULES = (
    "holidays",
    "zoneinfo",
    "events",
    "activities",
    "workflows.commands",
    "workflows.lifecycle",
    "workflows.team",
    "workflows.team_protocol",
    "workflows.alerts",
    "workflows.appending",
    "workflows.wording",
    "workflows.case_io",
    "workflows.team_io",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def delivery_settings(settings: Settings) -> DeliverySettings:
    return DeliverySettings(
        public_url=settings.link_base,
        webhook_secret=settings.webhook_secret.get_secret_value()
        if settings.webhook_secret
        else None,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_starttls=settings.smtp_starttls,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        smtp_from=settings.smtp_from,
    )


def build_worker(
    client: Client,
    task_queue: str,
    store: EventStore,
    *,
    delivery: DeliverySettings | None = None,
    policy: ProgrammePolicy = DEFAULT_POLICY,
    **options: object,
) -> Worker:
    """The composition root of the case worker: workflows plus their activities."""
    store_activities = StoreActivities(store)
    retention_activities = RetentionActivities(store, policy)
    report_activities = ReportActivities(store)
    team_activities = TeamActivities(client, task_queue)
    handover_activities = HandoverActivities(client)
    alert_activities = AlertActivities(
        store, delivery or DeliverySettings(public_url="http://127.0.0.1:8000")
    )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            CaseWorkflow,
            TeamWorkflow,
            AlertDeliveryWorkflow,
            RetentionReviewWorkflow,
            ReportSnapshotWorkflow,
        ],
        workflow_runner=workflow_runner(),
        activities=[
            store_activities.append_events,
            store_activities.read_stream_tail,
            store_activities.find_previous_episode,
            store_activities.claim_family,
            team_activities.message_team,
            handover_activities.reassign_in_team,
            handover_activities.admit_transfer,
            handover_activities.admit_import,
            handover_activities.families_of,
            alert_activities.alert_routes,
            alert_activities.deliver_alert,
            retention_activities.review_retention,
            report_activities.take_report_snapshots,
        ],
        **options,  # type: ignore[arg-type]
    )


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register the case search attributes (the dev server gets them as start flags)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workers.embedded import SEARCH_ATTRIBUTES

    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    assert set(SEARCH_ATTRIBUTES.values()) == {"Keyword"}
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace, search_attributes=dict.fromkeys(SEARCH_ATTRIBUTES, keyword)
        )
    )


async def ensure_schedule(
    client: Client, schedule_id: str, run: Any, workflow_id: str, task_queue: str, cron: str
) -> None:
    """A Temporal Schedule starting ``run`` at ``cron`` (Europe/London), created once per
    namespace (a second worker finds it there)."""
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleAlreadyRunningError,
        ScheduleSpec,
    )

    try:
        await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(run, id=workflow_id, task_queue=task_queue),
                spec=ScheduleSpec(cron_expressions=[cron], time_zone_name="Europe/London"),
            ),
        )
        log.info("schedule_created", schedule=schedule_id)
    except ScheduleAlreadyRunningError:
        pass


async def ensure_retention_schedule(client: Client, task_queue: str) -> None:
    """The daily retention review (06:00 in Wales)."""
    await ensure_schedule(
        client, SCHEDULE_ID, RetentionReviewWorkflow.run, "retention-review", task_queue,
        "0 6 * * *",
    )  # fmt: skip


async def ensure_report_schedule(client: Client, task_queue: str) -> None:
    """The monthly report snapshot (07:00 in Wales on the 1st)."""
    await ensure_schedule(
        client, REPORT_SCHEDULE_ID, ReportSnapshotWorkflow.run, "report-snapshot", task_queue,
        "0 7 1 * *",
    )  # fmt: skip


async def run_worker(rt: Runtime, stop: asyncio.Event) -> None:
    """Run the case worker and the alert dispatcher on ``rt`` until ``stop`` is set."""
    from workers.dispatcher import AlertDispatcher

    settings = rt.settings
    worker = build_worker(
        rt.temporal,
        settings.task_queue,
        rt.store,
        delivery=delivery_settings(settings),
        policy=rt.policy,
    )
    await ensure_retention_schedule(rt.temporal, settings.task_queue)
    await ensure_report_schedule(rt.temporal, settings.task_queue)
    dispatcher = AlertDispatcher(
        rt.dsn,
        rt.store,
        rt.temporal,
        settings.task_queue,
        retry_first_seconds=settings.alert_retry_first_seconds,
        retry_hours=settings.alert_retry_hours,
    )
    log.info("worker_started", task_queue=settings.task_queue)
    freeze_start_up()  # the worker, its sandbox's pass-through modules and models
    async with worker:
        await dispatcher.run(stop)
    log.info("worker_stopped", task_queue=settings.task_queue)
