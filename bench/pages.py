"""Benchmark: the case page of a 500-event case, server-rendered, against the JSON of the
same timeline, in the same run.

A case of 500 events (a whole episode with 479 sessions, appended through the store,
personal parts sealed) is projected; the engine's own app is served by uvicorn on a free
port, with a Temporal dev server behind it (the page asks the case workflow for its live
state: here the case is not a workflow, so that call is one round trip answering "not
found"). A supervisor signs in through the sign-in form; then, alternately, 200 reads of
``/app/cases/<id>`` (summary, goals with their chart, alerts, the 500-entry timeline, the
access log; every read recorded in the access log, as in production) and 200 of the JSON
API's ``/cases/<id>/history`` (bearer token; also recorded), over keep-alive HTTP.

``page_p99_ms`` (target < 150) and ``json_p99_ms``; the last line printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.common import bench_database, bench_keyring, dev_temporal
from bench.projections import episode, percentile
from events.consumer import ensure_checkpoints
from events.db import create_pool
from events.store import EventStore
from projections.models import PROJECTIONS
from projections.runner import apply_batch

CASE = "b10000000"
PASSWORD = "a long benchmark passphrase"


async def main(reads: int) -> dict[str, float]:
    import uvicorn

    from api.app import Services, create_app, settle_memory
    from identity.passwords import set_password
    from identity.users import add_user, create_token
    from tests.e2e.conftest import free_port
    from web import WebConfig
    from workers.temporal import connect_temporal

    figures: dict[str, float] = {}
    async with bench_database() as (dsn, schema), dev_temporal(port=17433) as address:
        pool = await create_pool(dsn, schema=schema, max_size=8)
        store = EventStore(pool, bench_keyring())
        events = episode(10_000_000, sessions=500 - 21)
        await store.append(f"case-{CASE}", 0, events)
        async with pool.acquire() as conn:
            await ensure_checkpoints(conn, [p.name for p in PROJECTIONS])
            for projection in PROJECTIONS:
                while await apply_batch(conn, store, projection, batch_size=5000):
                    pass
        team = "team0"  # bench.projections.episode: team{n % 20}
        await add_user(pool, "sup-bench", "supervisor", team)
        await set_password(pool, "sup-bench", PASSWORD)
        token = await create_token(pool, "sup-bench")
        client = await connect_temporal(address, "default", master=bench_keyring().master)
        app = create_app(Services(pool, store, client, "bench-pages", web=WebConfig()))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag only
            await asyncio.sleep(0.02)
        settle_memory()
        base = f"http://127.0.0.1:{port}"
        try:
            async with (
                httpx.AsyncClient(base_url=base) as web,
                httpx.AsyncClient(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}
                ) as api,
            ):
                form = await web.get("/app/sign-in")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
                assert csrf is not None
                signed = await web.post(
                    "/app/sign-in",
                    data={"csrf_token": csrf.group(1), "user_id": "sup-bench",
                          "password": PASSWORD, "next": "/app"},
                )  # fmt: skip
                assert signed.status_code == 303, signed.text
                page_ms, json_ms = [], []
                for i in range(reads + 20):  # the first 20 of each warm up, not counted
                    started = time.perf_counter()
                    page = await web.get(f"/app/cases/{CASE}")
                    took = (time.perf_counter() - started) * 1000
                    assert page.status_code == 200 and page.text.count("govuk-table__row") > 500
                    if i >= 20:
                        page_ms.append(took)
                    started = time.perf_counter()
                    timeline = await api.get(f"/cases/{CASE}/history")
                    took = (time.perf_counter() - started) * 1000
                    assert timeline.status_code == 200 and len(timeline.json()["entries"]) == 500
                    if i >= 20:
                        json_ms.append(took)
                figures["events_in_case"] = len(events)
                figures["page_bytes"] = len(page.content)
                figures["page_p50_ms"] = percentile(page_ms, 50)
                figures["page_p99_ms"] = percentile(page_ms, 99)
                figures["json_p50_ms"] = percentile(json_ms, 50)
                figures["json_p99_ms"] = percentile(json_ms, 99)
                figures["page_to_json_p99"] = figures["page_p99_ms"] / figures["json_p99_ms"]
        finally:
            server.should_exit = True
            await serving
            await store.aclose()
            await pool.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main(args.reads))
    for key, value in result.items():
        print(f"{key:<22}{value:>12,.2f}")
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))
