"""Benchmark: full 12-month episodes against trivial one-activity workflows, in one run.

Both run on the same time-skipping test server with the same worker set-up. Episodes are
driven concurrently, step by step (every family takes each step together, then time
skips to the next milestone). Each worker's process is set up as the engine's worker is
(start-up objects frozen once it is built: ``workers.root.freeze_start_up``). The last line
printed is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.common import bench_database, bench_keyring
from bench.trivial import TrivialWorkflow, UpdateFloorWorkflow, noop
from events.db import create_pool
from events.store import EventStore
from tests.temporal_harness import SUP, Harness, sleep_until
from workers.embedded import temporal_test_server_path
from workers.root import freeze_start_up
from workers.temporal import build_worker, register_search_attributes, workflow_runner
from workflows.codec import sealed_data_converter

TEAMS = 10
FLOOR_MODES = ("none", "activity", "local")


async def each(ids: list[str], step: Any) -> None:
    await asyncio.gather(*(step(case_id) for case_id in ids))


async def wait_for_events(h: Harness, type_name: str, count: int) -> None:
    """Wait until ``count`` events of a type are stored (cheaper than querying each case)."""
    for _ in range(600):
        if await h.store.count(type_name) >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"fewer than {count} {type_name} events")


async def run_episodes(h: Harness, count: int) -> int:
    """Drive ``count`` episodes from referral to their end; returns the commands sent."""
    ids = [f"e{n}" for n in range(count)]
    per_team = -(-count // TEAMS)
    for t in range(TEAMS):
        for w in range(-(-per_team // 3)):
            await h.add_key_worker(f"team{t}", f"kw{t}-{w}", limit=3)
    commands = 0

    # The test server's update-with-start (a multi-operation) has failed with an internal
    # NullPointerException when hundreds arrive at once on a loaded machine: referrals are
    # started at most 50 at a time (the episodes still all run concurrently).
    starting = asyncio.Semaphore(50)

    async def refer(case_id: str) -> None:
        async with starting:
            await h.refer(case_id, team_id=f"team{int(case_id[1:]) % TEAMS}")

    await each(ids, refer)
    await each(ids, lambda c: h.do(c, "accept", actor=SUP))
    await wait_for_events(h, "KeyWorkerAllocated", count)
    start = await h.now()
    await each(ids, lambda c: h.do(c, "record_first_meeting", held_at=start))
    for goal, category in (("g1", "substance_use"), ("g2", "parenting")):
        await each(
            ids,
            lambda c, g=goal, k=category: h.do(
                c,
                "agree_goal",
                goal_id=g,
                category=k,
                description="measurable goal",
                baseline=3,
                target=8,
            ),
        )
    commands += 5
    for visit in range(6):
        await h.sleep(days=5)
        now = await h.now()
        await each(
            ids,
            lambda c, v=visit, t=now: h.do(
                c,
                "record_session",
                session_id=f"s{v}",
                held_at=t,
                kind="home_visit",
                duration_minutes=90,
            ),
        )
        commands += 1
    await each(ids, lambda c: h.do(c, "score_goals", scores=[{"goal_id": "g1", "score": 7}]))
    await each(
        ids,
        lambda c: h.do(
            c,
            "close_intensive_phase",
            kind="planned",
            closing_scores=[{"goal_id": "g1", "score": 7}, {"goal_id": "g2", "score": 8}],
        ),
    )
    commands += 2
    reviews = (await h.view(ids[0])).reviews
    for review in reviews:
        await sleep_until(h, review.due_on)

        async def complete(
            case_id: str, r: str = review.review_id, month: int = review.month
        ) -> None:
            regressed = month == 3 and int(case_id[1:]) % 5 == 0  # one family in five slips
            await h.do(
                case_id,
                "complete_review",
                review_id=r,
                ratings={"g1": "regressed" if regressed else "maintained", "g2": "exceeded"},
                family_staying_together=True,
                substance_use_status="reduced",
            )
            if regressed:
                await h.do(
                    case_id, "record_booster", booster_id=f"b-{r}", delivered_at=await h.now()
                )

        await each(ids, complete)
        commands += 1
    # The 12-month review's update records EpisodeEnded itself: count them in the store.
    ended = await h.store.count("EpisodeEnded")
    if ended != count:
        raise RuntimeError(f"{ended} of {count} episodes ended")
    return len(ids) * (commands + 2) + count // 5  # + refer and accept, + boosters


async def start_server() -> WorkflowEnvironment:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=sealed_data_converter(bench_keyring().master),
        test_server_existing_path=str(temporal_test_server_path()),
    )
    await register_search_attributes(env.client)
    return env


@contextlib.asynccontextmanager
async def reference_worker() -> AsyncIterator[tuple[WorkflowEnvironment, str]]:
    """A fresh test server of its own (after hosting hundreds of episodes it rejects
    requests for oversized headers) with a worker for the reference workflows, time
    skipping off: nothing in them waits on a timer, and skipping time while the worker is
    busy makes the test server time out in-flight workflow tasks (10 s of skipped time),
    which stalled about half the runs."""
    env = await start_server()
    queue = f"reference-{uuid.uuid4().hex[:6]}"
    try:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[TrivialWorkflow, UpdateFloorWorkflow],
            activities=[noop],
            workflow_runner=workflow_runner(),
        ):
            freeze_start_up()  # as the engine's worker once it is built (run_worker)
            with env.auto_time_skipping_disabled():
                yield env, queue
    finally:
        await env.shutdown()


async def run_trivial(count: int, concurrency: int = 50) -> float:
    """The reference: ``count`` one-activity workflows, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    async with reference_worker() as (env, queue):

        async def one(n: int) -> None:
            async with gate:
                await env.client.execute_workflow(
                    TrivialWorkflow.run, n, id=f"trivial-{queue}-{n}", task_queue=queue
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return time.perf_counter() - started


async def run_update_floor(count: int, updates: int, mode: str) -> float:
    """``count`` workflows given ``updates`` updates each, driven like the episodes (every
    workflow takes each step together): the floor for one update per command."""
    async with reference_worker() as (env, queue):
        started = time.perf_counter()
        handles = [
            await env.client.start_workflow(
                UpdateFloorWorkflow.run,
                mode,
                id=f"floor-{queue}-{n}",
                task_queue=queue,
            )
            for n in range(count)
        ]
        for step in range(updates):
            await asyncio.gather(
                *(h.execute_update(UpdateFloorWorkflow.step, step) for h in handles)
            )
        await asyncio.gather(*(h.signal(UpdateFloorWorkflow.finish) for h in handles))
        counts = await asyncio.gather(*(h.result() for h in handles))
        if counts != [updates] * count:
            raise RuntimeError("an update-floor workflow lost an update")
        return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(count: int) -> dict[str, float]:
    async with bench_database() as (dsn, schema):
        pool = await create_pool(dsn, schema=schema, max_size=20)
        store = EventStore(pool, bench_keyring())
        env = await start_server()
        try:
            queue = f"bench-{uuid.uuid4().hex[:6]}"
            async with build_worker(env.client, queue, store):
                freeze_start_up()  # as the engine's worker once it is built (run_worker)
                h = Harness(env=env, store=store, task_queue=queue)
                started = time.perf_counter()
                commands = await run_episodes(h, count)
                episode_seconds = time.perf_counter() - started
            events = int(
                await pool.fetchval("SELECT count(*) FROM events WHERE stream_id LIKE 'case-%'")
            )
        finally:
            await store.aclose()
            await pool.close()
            await env.shutdown()
    trivial_seconds = await run_trivial(count)
    per_episode = round(commands / count)
    floors = {mode: await run_update_floor(count, per_episode, mode) for mode in FLOOR_MODES}
    return {
        "episodes": count,
        "episodes_per_s": count / episode_seconds,
        "trivial_per_s": count / trivial_seconds,
        "ratio": (count / episode_seconds) / (count / trivial_seconds),
        "events_per_s": events / episode_seconds,
        "commands_per_episode": commands / count,
        "events_per_episode": events / count,
        "worker_peak_rss_mb": peak_rss_mb(),
        # The same ratio for workflows that only take as many updates as an episode has
        # commands (empty; each awaiting one activity; each awaiting one local activity):
        # the best a one-update-per-command design of that shape could reach here.
        **{f"floor_ratio_{mode}": trivial_seconds / floors[mode] for mode in FLOOR_MODES},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=300)
    figures = asyncio.run(main(parser.parse_args().episodes))
    print(f"{'episodes':<28}{figures['episodes']:>10.0f}")
    print(f"{'episodes per second':<28}{figures['episodes_per_s']:>10.2f}")
    print(f"{'trivial workflows per second':<28}{figures['trivial_per_s']:>10.2f}")
    print(f"{'ratio (target >= 0.15)':<28}{figures['ratio']:>10.3f}")
    print(f"{'events per second':<28}{figures['events_per_s']:>10.1f}")
    print(
        f"{'commands / events per episode':<28}{figures['commands_per_episode']:>6.1f} / {figures['events_per_episode']:.1f}"
    )
    print(f"{'peak RSS MB (target < 500)':<28}{figures['worker_peak_rss_mb']:>10.1f}")
    for mode in FLOOR_MODES:
        print(f"{'floor ratio, ' + mode:<28}{figures['floor_ratio_' + mode]:>10.3f}")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
