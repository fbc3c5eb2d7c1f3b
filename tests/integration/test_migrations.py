"""Migrations: ordered, applied once, safe when several processes start together."""

from __future__ import annotations

import asyncio

import pytest

from events.db import connect
from events.migrate import MigrationChanged, migrate, migration_files

pytestmark = pytest.mark.integration


async def test_migrate_twice_applies_once(database_url: str, schema: str) -> None:
    conn = await connect(database_url, schema=schema)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
        assert first == [name for name, _ in migration_files()]
        assert second == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(first)
    finally:
        await conn.close()


async def test_concurrent_migrators_apply_each_migration_once(
    database_url: str, schema: str
) -> None:
    conns = [await connect(database_url, schema=schema) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [name for result in results for name in result]
        assert sorted(applied) == sorted(name for name, _ in migration_files())
        assert await conns[0].fetchval("SELECT count(*) FROM events") == 0
    finally:
        for c in conns:
            await c.close()


async def test_edited_migration_is_refused(database_url: str, schema: str) -> None:
    conn = await connect(database_url, schema=schema)
    try:
        await migrate(conn)
        await conn.execute("UPDATE schema_migrations SET checksum = 'other'")
        with pytest.raises(MigrationChanged, match="changed after it was applied"):
            await migrate(conn)
    finally:
        await conn.close()
