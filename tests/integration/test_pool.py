"""The engine's pool on real PostgreSQL: a release sends no reset query, yet a connection
given back inside a transaction (a code path that failed half-way) comes back to the next
user outside it, with the pool's own session settings."""

from __future__ import annotations

import pytest

from events.db import create_pool

pytestmark = pytest.mark.integration


async def test_a_released_connection_comes_back_clean(database_url: str, migrated: str) -> None:
    pool = await create_pool(database_url, schema=migrated, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE half_way (n int) ON COMMIT DROP")
            await conn.execute("INSERT INTO half_way VALUES (1)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same session
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.half_way')") is None
            assert await conn.fetchval("SELECT current_setting('search_path')") == migrated
            assert await conn.fetchval("SELECT current_setting('application_name')") == (
                "ifss-engine"
            )
    finally:
        await pool.close()
