"""A stored event a read model cannot apply (written before the boundaries refused it):
that model stops, says where and why, the others go on, and an operator's recorded
decision to skip it (or a rebuild) lets it resume."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from events.envelope import Actor
from events.errors import InvalidInput
from events.records import canonical_json, content_digest
from events.store import EventStore
from events.vocabulary import Role
from identity.users import add_user
from projections.failures import record_skip
from projections.models import PROJECTIONS
from projections.queries import record_access
from projections.runner import rebuild, status
from tests.keys import MASTER_KEY
from tests.projector_harness import projector, seed, wait_for

pytestmark = pytest.mark.integration

ADMIN = Actor(id="ad-root", role=Role.ADMIN)
AUDITOR = Actor(id="au-khan", role=Role.AUDITOR)


def ifss(database_url: str, schema: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``ifss`` CLI on this test's schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
    env["IFSS_MASTER_KEY"] = MASTER_KEY  # the run's key (tests.keys)
    sep = "&" if "?" in database_url else "?"
    env["IFSS_DATABASE_URL"] = f"{database_url}{sep}search_path={schema}"
    return subprocess.run(
        [str(Path(sys.executable).parent / "ifss"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def append_unchecked(pool: asyncpg.Pool, stream: str, type_name: str, data: Any) -> int:
    """What an older version of the engine could store: straight into ``ifss_append``,
    with none of today's checks. Returns the event's global position."""
    version = int(
        await pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream
        )
    )
    event_id, now = uuid.uuid4(), datetime.now(UTC)
    data_json = canonical_json(data)
    metadata_json = canonical_json({"actor": {"id": "au-khan", "role": "auditor"}})
    digest = content_digest(
        stream_id=stream,
        stream_version=version + 1,
        event_id=event_id,
        type_name=type_name,
        schema_version=1,
        data_json=data_json,
        metadata_json=metadata_json,
        occurred_at=now,
    )
    rows = await pool.fetch(
        "SELECT out_position FROM ifss_append($1, $2, $3, $4, $5, $6::jsonb[], $7::jsonb[], "
        "$8, $9)",
        stream,
        version,
        [event_id],
        [type_name],
        [1],
        [data_json],
        [metadata_json],
        [now],
        [digest],
    )
    return int(rows[0]["out_position"])


async def test_a_poison_event_stops_one_read_model_loudly_until_an_operator_skips_it(
    database_url: str, migrated: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    await seed(store, cases=1, sessions=1)
    await add_user(pool, "ad-root", "admin", None)  # the CLI acts only as existing users
    await add_user(pool, "au-khan", "auditor", None)
    await record_access(store, "k0", AUDITOR, view="history", interface="api")
    # Year 1 at +14:00 is year 0 in UTC: PostgreSQL's timestamptz cannot hold it.
    poison = await append_unchecked(
        pool,
        "access-k0",
        "CaseRecordViewed",
        {
            "case_id": "k0",
            "view": "history",
            "interface": "api",
            "as_of": "0001-01-01T00:00:00+14:00",
            "allowed": False,
        },
    )
    await record_access(store, "k0", AUDITOR, view="summary", interface="api")

    async def access_log_failed() -> bool:
        report = {s.name: s for s in await status(pool)}
        others = [s for name, s in report.items() if name != "access_log"]
        return report["access_log"].status == "failed" and all(s.lag_events == 0 for s in others)

    async with projector(database_url, migrated, store, PROJECTIONS):
        await wait_for(access_log_failed)
        failed = {s.name: s for s in await status(pool)}["access_log"]
        assert failed.error_position == poison
        assert failed.error is not None and f"at position {poison}" in failed.error
        assert failed.lag_events == 2  # stopped before the poison, the next read waits
        assert await pool.fetchval("SELECT count(*) FROM access_log") == 1
        # A rebuild meets the same event and fails the same way, leaving the live model.
        with pytest.raises(Exception, match=r"year|range|Overflow"):
            await rebuild(pool, store, [m for m in PROJECTIONS if m.name == "access_log"])

        with pytest.raises(InvalidInput, match="only the event it failed on can be skipped"):
            await record_skip(store, "access_log", poison + 1, ADMIN, "wrong event")
        with pytest.raises(InvalidInput, match="is running"):
            await record_skip(store, "case_summary", poison, ADMIN, "not failed")
        # The operator's view: status exits 1 and says where and what to do; the skip is
        # recorded from the CLI (an admin only, with a reason).
        shown = ifss(database_url, migrated, "projections", "status")
        assert shown.returncode == 1
        assert f"access_log is stopped at position {poison}" in " ".join(shown.stderr.split())
        refused = ifss(
            database_url,
            migrated,
            "projections",
            "skip",
            "access_log",
            str(poison),
            "--reason",
            "x",
            "--as",
            "au-khan:auditor",
        )
        assert refused.returncode == 2 and "only an admin" in refused.stderr
        skipped = ifss(
            database_url,
            migrated,
            "projections",
            "skip",
            "access_log",
            str(poison),
            "--reason",
            "as_of out of range, issue 11",
            "--as",
            "ad-root:admin",
        )
        assert skipped.returncode == 0, skipped.stderr

        async def resumed() -> bool:
            return all(s.status == "running" and s.lag_events == 0 for s in await status(pool))

        await wait_for(resumed)
    assert [
        r["view"] for r in await pool.fetch("SELECT view FROM access_log ORDER BY global_position")
    ] == ["history", "summary"]
    [decision] = await store.read_stream("projection-access_log")
    assert decision.metadata.actor == ADMIN
    assert decision.data["position"] == poison and decision.data["event_type"] == "CaseRecordViewed"
    # The decision holds for rebuilds too.
    await rebuild(pool, store, [m for m in PROJECTIONS if m.name == "access_log"])
    assert await pool.fetchval("SELECT count(*) FROM access_log") == 2
    assert (await store.verify()).intact


async def test_a_passing_database_error_is_not_blamed_on_any_event(
    database_url: str, migrated: str, pool: asyncpg.Pool, store: EventStore
) -> None:
    # The read model's table refuses its first writes as a deadlock would (SQLSTATE 40P01):
    # the batch fails again and again, then event by event it applies.
    await pool.execute(
        """CREATE SEQUENCE summary_faults;
           CREATE FUNCTION summary_fault() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               IF nextval('summary_faults') <= 7 THEN
                   RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
               END IF;
               RETURN NEW;
           END $$;
           CREATE TRIGGER summary_fault BEFORE INSERT OR UPDATE ON case_summary
               FOR EACH ROW EXECUTE FUNCTION summary_fault();"""
    )
    await seed(store, cases=2, sessions=3)
    summary = [m for m in PROJECTIONS if m.name == "case_summary"]

    async def caught_up() -> bool:
        [s] = await status(pool, summary)
        return s.lag_events == 0

    async with projector(database_url, migrated, store, summary):
        await wait_for(caught_up)
    [s] = await status(pool, summary)
    assert (s.status, s.error, s.error_position) == ("running", None, None)
    assert await pool.fetchval("SELECT nextval('summary_faults')") > 7  # it did fail
    rows = await pool.fetch("SELECT case_id, sessions FROM case_summary ORDER BY case_id")
    assert [(r["case_id"], r["sessions"]) for r in rows] == [("k0", 3), ("k1", 3)]
