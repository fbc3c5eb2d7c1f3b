"""Pooled connections are shared, and their release sends no reset query
(``events.db.create_pool``): so nothing in the engine may change a pooled connection's
session. What does (listeners, session advisory locks) lives in the modules that use
connections of their own; this keeps it so."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("activities", "api", "cli", "events", "identity", "projections", "reports", "web",
            "workers", "workflows")  # fmt: skip
# SQL that outlives its statement on a session (transaction-scoped forms are fine:
# ``SET LOCAL``, ``pg_advisory_xact_lock``), and asyncpg's LISTEN. Keywords in capitals, as
# the engine writes its SQL (prose that says "Set ..." is not SQL).
SESSION_CHANGES = re.compile(
    r"""["']\s*(SET\s+(?!LOCAL\b)|RESET\b|LISTEN\b|DISCARD\b|PREPARE\b|DECLARE\b.*\bWITH\s+HOLD)"""
    r"""|pg_(try_)?advisory_lock(_shared)?\s*\(|add_listener\s*\(|set_config\s*\([^)]*false"""
    r"""|CREATE\s+TEMP(ORARY)?\s+TABLE\b(?!.*ON\s+COMMIT\s+DROP)"""
)
# Each on a connection of its own: the migrations' lock (released before the connection
# is given back), the consumers' lock and the readers' LISTEN connection.
OWN_CONNECTIONS = {"events/migrate.py", "events/consumer.py"}


def test_nothing_changes_a_pooled_connections_session() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SESSION_CHANGES.search(line) and name not in OWN_CONNECTIONS:
                    found.append(f"{name}:{n}: {line.strip()}")
    assert found == [], "session state on a pooled connection:\n" + "\n".join(found)


def test_the_guard_sees_what_it_guards() -> None:
    for line in (
        'await pool.execute("SET search_path TO other")',
        "await conn.fetchval('SELECT pg_advisory_lock($1)', key)",
        "await conn.add_listener(channel, callback)",
        "await conn.execute(\"SELECT set_config('role', 'x', false)\")",
        'await conn.execute("LISTEN ifss")',
        'await conn.execute("CREATE TEMP TABLE batch (n int)")',
    ):
        assert SESSION_CHANGES.search(line), line
    for line in (
        'await conn.execute("UPDATE web_sessions SET data = $2")',
        'await conn.execute("SET LOCAL lock_timeout = 1000")',
        "await conn.fetchval('SELECT pg_advisory_xact_lock($1)', key)",
        'await conn.execute("CREATE TEMP TABLE batch (n int) ON COMMIT DROP")',
    ):
        assert not SESSION_CHANGES.search(line), line
