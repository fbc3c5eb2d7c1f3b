"""Ordered SQL migrations, applied once each, safe when several processes start at once."""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg
import structlog

log = structlog.get_logger(__name__)


class MigrationChanged(RuntimeError):
    """An applied migration's file was edited afterwards; add a new file instead."""


def migration_files() -> list[tuple[str, str]]:
    """``(name, sql)`` for every migration shipped with the package, in order."""
    folder = resources.files("events") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations to the connection's current schema; returns their names.

    A session advisory lock keyed on the schema serialises concurrent migrators; each
    migration runs in its own transaction together with its bookkeeping row.
    """
    schema = await conn.fetchval("SELECT current_schema()")
    if schema is None:
        raise RuntimeError("no current schema: check the search_path of the database URL")
    key = await conn.fetchval("SELECT hashtextextended('ifss-migrations:' || $1, 0)", schema)
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        done: list[str] = []
        for name, sql in migration_files():
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in applied:
                if applied[name] != checksum:
                    raise MigrationChanged(f"migration {name} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    name,
                    checksum,
                )
            log.info("migration_applied", migration=name, schema=schema)
            done.append(name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)
