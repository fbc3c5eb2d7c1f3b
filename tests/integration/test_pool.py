"""The engine's pool on real PostgreSQL: its releases send no reset query
(``events.db.create_pool``), and what that query would have cleaned must not be needed. A
connection given back inside a transaction (a code path that failed half-way) comes back
to the next user outside it (asyncpg's own part of a release), with the pool's session
settings. (asyncpg's default release passes this too: it guards the behaviour, while
``tests/unit/test_pool_sessions.py`` guards what the engine does with pooled sessions.)"""

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
