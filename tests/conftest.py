"""Shared fixtures: real PostgreSQL (embedded, or IFSS_TEST_DATABASE_URL), one schema per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from events.db import connect, create_pool
from events.migrate import migrate
from events.store import EventStore


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
async def store(pool: asyncpg.Pool) -> AsyncIterator[EventStore]:
    store = EventStore(pool)
    yield store
    await store.aclose()
