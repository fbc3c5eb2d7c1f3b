"""Temporal clients and the worker process."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.store import StoreActivities
from events.db import create_pool
from events.store import EventStore
from workers.settings import Settings

log = structlog.get_logger(__name__)


def temporal_address(settings: Settings) -> str:
    """``IFSS_TEMPORAL_ADDRESS``, else the embedded dev server's address."""
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


async def connect_temporal(
    address: str, namespace: str = "default", *, attempts: int = 1
) -> Client:
    """A client with the pydantic data converter; retries while a server is starting."""
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=pydantic_data_converter
            )
        except RuntimeError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def run_worker(
    settings: Settings, database_url: str, client: Client, stop: asyncio.Event
) -> None:
    """Run the case worker until ``stop`` is set; the composition root of its activities."""
    pool = await create_pool(database_url, min_size=1, max_size=10)
    try:
        store_activities = StoreActivities(EventStore(pool))
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[],
            activities=[store_activities.append_events],
        )
        log.info("worker_started", task_queue=settings.task_queue)
        async with worker:
            await stop.wait()
        log.info("worker_stopped", task_queue=settings.task_queue)
    finally:
        await pool.close()
