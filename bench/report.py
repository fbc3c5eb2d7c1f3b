"""Benchmark: the evaluation report over 10,000 episodes.

1. ``report_read_model_s``: the annual report (financial year 2025-26) produced from the
   outcomes read model (``episode_outcomes``): the median of five runs.
2. ``as_of_ratio``: the same report produced "as of" a moment, folding the events recorded
   by then (``reports.source.episodes_as_of``), in events of the store covered per second,
   against the rebuild rate of every projection over the same events
   (``bench/projections.py``'s ``rebuild_eps``), measured in this run.

Episodes are ``bench/projections.py``'s whole episodes (~35 events each, referral to the
12-month review), appended through the store with encryption on. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_database, bench_keyring
from bench.projections import episode, seed
from events.db import create_pool
from events.store import EventStore
from projections.models import PROJECTIONS
from projections.runner import rebuild
from reports.evaluation import Period, evaluate
from reports.service import produce
from reports.source import live_episodes

YEAR = Period(date(2025, 4, 1), date(2026, 3, 31))


async def main(episodes: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    async with bench_database() as (dsn, schema):
        pool = await create_pool(dsn, schema=schema, max_size=8)
        store = EventStore(pool, bench_keyring())
        try:
            started = time.perf_counter()
            written = await seed(store, episodes * len(episode(0)))
            print(f"seeded {written:,} events in {time.perf_counter() - started:.1f} s", flush=True)
            started = time.perf_counter()
            rebuilt = await rebuild(pool, store, PROJECTIONS)
            rebuild_seconds = time.perf_counter() - started
            print(f"rebuilt {rebuilt:,} events in {rebuild_seconds:.1f} s", flush=True)
            counted = await pool.fetchval("SELECT count(*) FROM episode_outcomes")
            live = []
            for _ in range(5):
                started = time.perf_counter()
                report = await produce(pool, store, YEAR)
                live.append(time.perf_counter() - started)
            print(
                f"report from the read model: {report.episodes:,} episodes, "
                f"goals maintained {report.figure('goals_maintained').numerator:,}"
                f"/{report.figure('goals_maintained').denominator:,}",
                flush=True,
            )
            # Where the time goes: reading the rows, and counting.
            started = time.perf_counter()
            async with pool.acquire() as conn:
                episodes_read = await live_episodes(conn)
            read_s = time.perf_counter() - started
            started = time.perf_counter()
            evaluate(episodes_read, YEAR)
            evaluate_s = time.perf_counter() - started
            moment = datetime.now(UTC)
            started = time.perf_counter()
            then = await produce(pool, store, YEAR, as_of=moment)
            as_of_seconds = time.perf_counter() - started
            if then.figures != report.figures or then.tables != report.tables:
                raise SystemExit("the report as of now differs from the read model's")
            figures["episodes"] = counted
            figures["events"] = written
            figures["report_read_model_s"] = statistics.median(live)
            figures["read_model_rows_s"] = read_s
            figures["evaluate_s"] = evaluate_s
            figures["report_as_of_s"] = as_of_seconds
            figures["rebuild_eps"] = rebuilt / rebuild_seconds
            figures["as_of_eps"] = written / as_of_seconds
            figures["as_of_ratio"] = figures["as_of_eps"] / figures["rebuild_eps"]
        finally:
            await store.aclose()
            await pool.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10_000)
    args = parser.parse_args()
    result = asyncio.run(main(args.episodes))
    for key, value in result.items():
        print(f"{key:<24}{value:>14,.3f}")
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))
