"""Shared set-up for the benchmarks: a real PostgreSQL and a throw-away schema."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from events.db import connect
from events.migrate import migrate


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[tuple[str, str]]:
    """(dsn, schema): IFSS_DATABASE_URL / IFSS_TEST_DATABASE_URL, else an embedded server."""
    dsn = os.environ.get("IFSS_DATABASE_URL") or os.environ.get("IFSS_TEST_DATABASE_URL")
    server = None
    if not dsn:
        from workers.embedded import EmbeddedPostgres

        server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="ifss-bench-pg-")) / "data")
        dsn = server.start()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        conn = await connect(dsn, schema=schema)
        await migrate(conn)
        await conn.close()
        yield dsn, schema
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
        if server is not None:
            server.stop()
