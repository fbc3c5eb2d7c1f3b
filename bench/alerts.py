"""Alert latency on the dev stack: from a triggering command to the webhook receiver's POST.

A real Temporal dev server, PostgreSQL, the worker with its alert dispatcher (as `ifss
worker` runs them) and a webhook receiver on loopback (a separate thread with its own HTTP
server). For each of N families (default 200): refer, accept, wait for the allocation,
then time `change_child_status` CIN -> CPR (an alert to the key worker, at once) until
the receiver has the signed POST for that alert. The reference, measured in the same run,
is the command's own round trip (the update returning): the ratio says how much the
store -> dispatcher -> delivery workflow -> HTTP path adds to it.

JSON last line: alert_latency_p50_ms, alert_latency_p99_ms (target p99 < 1,000 ms),
command_p50_ms, command_p99_ms, ratio_p50 (alert p50 / command p50), alerts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_keyring,
    cardiff_team,
    dev_stack_database,
    dev_temporal,
    refer_and_allocate,
)


class Receiver:
    """Records when each alert (by Idempotency-Key) first arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                now = time.perf_counter()
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                with receiver.cond:
                    receiver.arrived.setdefault(key, now)
                    receiver.cond.notify_all()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, key: str, seconds: float = 30.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: key in self.arrived, seconds):
                raise TimeoutError(f"alert {key} never arrived")
            return self.arrived[key]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(alerts: int, concurrency: int) -> dict[str, float]:
    from events.db import create_pool
    from events.envelope import Actor
    from events.vocabulary import Role, StatutoryStatus
    from identity.users import add_user, set_alert_routes
    from workers.root import runtime
    from workers.settings import Settings
    from workers.temporal import connect_temporal, run_worker
    from workflows import client as cases
    from workflows import commands as cmd

    receiver = Receiver()
    sup = Actor(id="sup-bench", role=Role.SUPERVISOR)
    workers = [f"kw-{n}" for n in range(1, 5)]
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        dsn = await stack.enter_async_context(dev_stack_database())
        address = await stack.enter_async_context(dev_temporal(port=17333))
        pool = await create_pool(dsn, max_size=4)
        for kw in workers:
            await add_user(pool, kw, "case_manager", "cardiff")
            await set_alert_routes(pool, kw, webhook=receiver.url)
        client = await connect_temporal(
            address, "default", master=bench_keyring().master, attempts=60
        )
        settings = Settings.model_validate(
            {"task_queue": "bench-alerts", "webhook_secret": "bench-secret"}
        )
        # the worker's own composition root, as `ifss worker` opens it
        rt = await stack.enter_async_context(
            runtime(settings, database_url=dsn, temporal_client=client)
        )
        worker = asyncio.create_task(run_worker(rt, stop))
        await cardiff_team(client, settings.task_queue, list(workers), 50)
        print(f"dev stack up; {alerts} alerts, {concurrency} at a time", flush=True)
        alert_ms: list[float] = []
        command_ms: list[float] = []

        async def one(n: int) -> None:
            case_id = f"b{n}"
            await refer_and_allocate(client, case_id, settings.task_queue)
            started = time.perf_counter()
            await cases.send_command(
                client,
                case_id,
                "change_child_status",
                cmd.ChangeChildStatus(actor=sup, child_id="ch1", status=StatutoryStatus.CPR),
            )
            returned = time.perf_counter()
            arrived = await asyncio.to_thread(receiver.wait, f"case-{case_id}:a1")
            command_ms.append((returned - started) * 1000)
            alert_ms.append((arrived - started) * 1000)

        gate = asyncio.Semaphore(concurrency)

        async def limited(n: int) -> None:
            async with gate:
                await one(n)

        await asyncio.gather(*(limited(n) for n in range(alerts)))
        stop.set()
        await worker
        await pool.close()
    receiver.server.shutdown()
    return {
        "alerts": float(len(alert_ms)),
        "alert_latency_p50_ms": statistics.median(alert_ms),
        "alert_latency_p99_ms": percentile(alert_ms, 99),
        "command_p50_ms": statistics.median(command_ms),
        "command_p99_ms": percentile(command_ms, 99),
        "ratio_p50": statistics.median(alert_ms) / statistics.median(command_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    result = asyncio.run(measure(args.alerts, args.concurrency))
    for key, value in result.items():
        print(f"{key:<28}{value:>14,.2f}")
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))


if __name__ == "__main__":
    main()
