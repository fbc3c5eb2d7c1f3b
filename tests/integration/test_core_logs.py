"""The SDK core's own log records (in Rust) go through Python's logging: a JSON log stays
JSON while the Temporal server is away (they were coloured text of their own)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.trivial import TrivialWorkflow, noop
from workers.embedded import temporal_test_server_path
from workers.log import configure_logging
from workers.temporal import core_runtime

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def json_logs() -> Iterator[None]:
    """This process's logging as a JSON-logging process has it (on the stderr of the
    moment: pytest's, for this test), then as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("json", "info")
    try:
        yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_the_cores_records_are_json_while_the_server_is_away(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with json_logs():
        await run_a_worker_whose_server_goes()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    core = [line for line in lines if "sdk_core" in line]
    assert core, "the worker's failing polls were not logged"
    bad = [line for line in lines if "temporalio" in line and not line.startswith("{")]
    assert not bad, "\n".join(bad[:40])
    for line in core:
        assert json.loads(line)["event"].startswith("[sdk_core::"), line


async def run_a_worker_whose_server_goes() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server_path())
    )
    client = await Client.connect(
        env.client.service_client.config.target_host, runtime=core_runtime()
    )
    worker = Worker(
        client,
        task_queue=f"q-{uuid.uuid4().hex[:6]}",
        workflows=[TrivialWorkflow],
        activities=[noop],
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)
        await env.shutdown()  # the server goes: the worker's polls fail and are retried
        await asyncio.sleep(5)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
