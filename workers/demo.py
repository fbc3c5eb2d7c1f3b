"""``ifss demo``: simulated families through the real workflows, so the read models fill.

How it handles time: an episode lasts over a year, so the demo runs its families on a
private **time-skipping** Temporal test server (started for the run, gone after it), with
a worker of the real workflows writing to the **same database** as the running stack. The
events are real — decided and recorded by the real `CaseWorkflow` and `TeamWorkflow`, with
their real timers firing — and the running stack's projector turns them into read models
within a second. A time-skipping server cannot start in the past, so the simulated calendar
starts *today* and runs 200 days ahead, a day at a step: referrals arrive over the first
185 days, so the snapshot at the end has families in every phase (waiting, intensive,
follow-up with the first reviews held, some regressed, some ended). Demo events are
therefore dated up to 200 days in the future. Demo families live in their own teams
(`cardiff-d7` for `--seed 7`) and cases (`d7-001`), so they never share a stream with real
work. At the end, the episodes still open are handed over to the stack's own Temporal
(``handover``): each case workflow is started there with its state as the demo left it
(the way continue-as-new carries state), so they can be driven further — their alerts
acknowledged, sessions recorded — and their stream goes on at the version it reached.
Their deadlines lie in the simulated future, so they come due only when that date comes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from events.db import create_pool
from events.envelope import Actor
from events.store import EventStore
from events.vocabulary import (
    GoalCategory,
    ReferralGround,
    ReferringAgency,
    RejectionReason,
    Role,
    UnplannedExitReason,
)
from workflows import client as cases
from workflows import commands as cmd
from workflows.client import CommandRefused
from workflows.team_workflow import ChangeKeyWorker, RegisterTeam

log = structlog.get_logger(__name__)

AREAS = ("cardiff", "newport", "swansea")
WORKERS_PER_TEAM = 3
SIMULATED_DAYS = 200


class DemoExists(Exception):
    """Demo data for this seed is already in the database."""


@dataclass
class Family:
    n: int
    case_id: str
    team_id: str
    supervisor: Actor
    referral_day: int
    rejected: bool
    late_first_meeting: bool
    contact_gap: bool
    unplanned: bool
    regress_at: int | None  # review month with a regressed goal
    booster_missed: bool  # the booster after a regression is never delivered
    late_review: int | None  # review month completed after its grace period
    goals: list[str] = field(default_factory=list)
    key_worker: Actor | None = None
    met_on: int | None = None
    closed: bool = False
    reviews: dict[str, Any] = field(default_factory=dict)  # review id -> (month, due date)
    done_reviews: set[str] = field(default_factory=set)
    boosters_done: set[str] = field(default_factory=set)
    ended: bool = False


def plan(seed: int, count: int) -> list[Family]:
    rng = random.Random(seed)
    families = []
    for n in range(1, count + 1):
        area = rng.choice(AREAS)
        families.append(
            Family(
                n=n,
                case_id=f"d{seed}-{n:03d}",
                team_id=f"{area}-d{seed}",
                supervisor=Actor(id=f"sup-{area}", role=Role.SUPERVISOR),
                referral_day=rng.randrange(0, 185),
                rejected=rng.random() < 0.1,
                late_first_meeting=rng.random() < 0.1,
                contact_gap=rng.random() < 0.15,
                unplanned=rng.random() < 0.15,
                regress_at=rng.choice((None, None, 1, 3)),
                late_review=rng.choice((None,) * 8 + (1, 3)),
                booster_missed=rng.random() < 0.5,
                goals=rng.sample(
                    [c.value for c in GoalCategory if c is not GoalCategory.OTHER],
                    rng.choice((2, 3)),
                ),
            )
        )
    return families


@dataclass
class Demo:
    client: Client
    env: WorkflowEnvironment
    task_queue: str
    seed: int
    rng: random.Random
    refusals: list[str] = field(default_factory=list)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def do(self, family: Family, name: str, actor: Actor, **fields: Any) -> Any:
        command = cmd.COMMANDS[name].model_validate({**fields, "actor": actor})
        try:
            return await cases.send_command(self.client, family.case_id, name, command)
        except CommandRefused as exc:
            # The rules said no, as they would to a person: note it and carry on.
            self.refusals.append(f"{family.case_id} {name}: {exc}")
            return None

    async def refer(self, family: Family) -> None:
        rng = self.rng
        await cases.refer_family(
            self.client,
            family.case_id,
            cmd.ReferFamily(
                actor=Actor(id=f"bs-{family.team_id.split('-')[0]}", role=Role.BUSINESS_SUPPORT),
                family_id=f"fam-d{self.seed}-{family.n:03d}",
                team_id=family.team_id,
                area=family.team_id.split("-")[0],
                referring_agency=rng.choice(list(ReferringAgency)),
                referral_grounds=[rng.choice(list(ReferralGround))],
                children=[
                    {
                        "child_id": f"ch{i}",
                        "statutory_status": rng.choice(("none", "cin", "cin", "cpr")),
                    }
                    for i in range(1, rng.choice((2, 3, 4)))
                ],
                consent_to_referral=True,
                consent_to_information_sharing=True,
                consent_to_follow_up=True,
                priority=rng.choice((2, 3, 3, 4)),
                received_on=(await self.now()).date(),
            ),
            task_queue=self.task_queue,
        )


@dataclass(frozen=True)
class HandoverTarget:
    """The stack's Temporal, where the demo's open episodes carry on."""

    client: Client
    task_queue: str


async def run_demo(
    dsn: str,
    families: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    *,
    schema: str | None = None,
    handover_to: HandoverTarget | None = None,
) -> dict[str, int]:
    """Run ``families`` simulated families; returns counts of what happened."""
    from workers.embedded import temporal_test_server_path
    from workers.temporal import build_worker, register_search_attributes

    pool = await create_pool(dsn, schema=schema, max_size=10)
    store = EventStore(pool)
    try:
        if await store.stream_version(f"team-{AREAS[0]}-d{seed}") > 0:
            raise DemoExists(f"seed: demo data for seed {seed} exists already; pick another")
        from temporalio.contrib.pydantic import pydantic_data_converter

        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=str(temporal_test_server_path()),
        )
        try:
            await register_search_attributes(env.client)
            queue = f"demo-{uuid.uuid4().hex[:6]}"
            async with build_worker(env.client, queue, store):
                demo = Demo(env.client, env, queue, seed, random.Random(seed + 1))
                planned = plan(seed, families)
                counts = await simulate(demo, planned, progress)
                if handover_to is not None:
                    counts["handed_over"] = await handover(demo, planned, handover_to)
            await add_demo_users(pool, seed)
            return counts
        finally:
            await env.shutdown()
    finally:
        await store.aclose()
        await pool.close()


async def handover(demo: Demo, families: list[Family], target: HandoverTarget) -> int:
    """Start each open episode's workflow on the stack's Temporal with its current state."""
    from temporalio.common import WorkflowIDConflictPolicy

    from workflows.case_workflow import CaseInput, CaseWorkflow
    from workflows.lifecycle import CaseState

    handed = 0
    for f in families:
        if f.ended or f.rejected or f.referral_day >= SIMULATED_DAYS:
            continue
        handle = demo.client.get_workflow_handle(f"case-{f.case_id}")
        state: CaseState = await handle.query(CaseWorkflow.snapshot)
        if state.ended:
            continue
        await target.client.start_workflow(
            CaseWorkflow.run,
            CaseInput(case_id=f.case_id, policy=state.policy, state=state),
            id=f"case-{f.case_id}",
            task_queue=target.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        handed += 1
    return handed


async def add_demo_users(pool: asyncpg.Pool, seed: int) -> None:
    """The demo's key workers and supervisors as users (if not there already), so that
    `ifss alerts --as sup-cardiff:supervisor` shows their inbox."""
    for area in AREAS:
        team = f"{area}-d{seed}"
        people = [(f"sup-{area}", "supervisor")] + [
            (f"kw-{area}-{w}", "case_manager") for w in range(1, WORKERS_PER_TEAM + 1)
        ]
        for user_id, role in people:
            await pool.execute(
                "INSERT INTO users (user_id, role, team_id) VALUES ($1, $2, $3) "
                "ON CONFLICT (user_id) DO NOTHING",
                user_id,
                role,
                team,
            )


async def simulate(
    demo: Demo, families: list[Family], progress: Callable[[int, int], None] | None
) -> dict[str, int]:
    rng = demo.rng
    for area in AREAS:
        team = f"{area}-d{demo.seed}"
        await cases.register_team(
            demo.client,
            team,
            RegisterTeam(
                actor=Actor(id="admin-demo", role=Role.ADMIN),
                name=f"{area.capitalize()} IFSS (demo {demo.seed})",
                area=area,
            ),
            task_queue=demo.task_queue,
        )
        for w in range(1, WORKERS_PER_TEAM + 1):
            await cases.change_key_worker(
                demo.client,
                team,
                ChangeKeyWorker(
                    actor=Actor(id=f"sup-{area}", role=Role.SUPERVISOR),
                    key_worker_id=f"kw-{area}-{w}",
                    caseload_limit=3,
                ),
            )
    last_day = SIMULATED_DAYS - 1
    for day in range(last_day + 1):
        todays = [f for f in families if not f.ended]
        if not todays:
            break
        allocated = await allocations(demo, {f.team_id for f in todays})
        await asyncio.gather(*(step(demo, f, day, allocated, rng) for f in todays))
        if progress is not None:
            progress(day + 1, last_day + 1)
        await demo.env.sleep(timedelta(days=1).total_seconds())
    for refusal in demo.refusals:
        log.warning("demo_command_refused", refusal=refusal)
    return {
        "families": len(families),
        "rejected": sum(f.rejected for f in families),
        "closed": sum(f.closed for f in families),
        "ended": sum(f.ended for f in families),
        "refused_commands": len(demo.refusals),
    }


async def allocations(demo: Demo, teams: set[str]) -> dict[str, str]:
    """case id -> key worker, from each team's workflow."""
    out: dict[str, str] = {}
    for team in teams:
        state = await cases.team_view(demo.client, team)
        for worker in state.key_workers.values():
            for case_id in worker.cases:
                out[case_id] = worker.key_worker_id
    return out


async def step(
    demo: Demo, f: Family, day: int, allocated: dict[str, str], rng: random.Random
) -> None:
    """What family ``f`` does today."""
    now = await demo.now()
    if day < f.referral_day:
        return
    if day == f.referral_day:
        await demo.refer(f)
        return
    if day == f.referral_day + 1:
        if f.rejected:
            await demo.do(f, "reject", f.supervisor, reason=rng.choice(list(RejectionReason)))
            f.ended = True
        else:
            await demo.do(f, "accept", f.supervisor)
        return
    if f.key_worker is None:
        if f.case_id not in allocated:
            return
        # The team has decided; the case records it a moment later (its own stream).
        if (await cases.case_view(demo.client, f.case_id)).phase != "allocated":
            return
        f.key_worker = Actor(id=allocated[f.case_id], role=Role.CASE_MANAGER)
        f.met_on = day + (4 if f.late_first_meeting else 0)
    kw = f.key_worker
    assert f.met_on is not None
    if day == f.met_on:
        await demo.do(f, "record_first_meeting", kw, held_at=now)
        for i, category in enumerate(f.goals, 1):
            await demo.do(
                f,
                "agree_goal",
                kw,
                goal_id=f"g{i}",
                category=category,
                description="agreed with the family",
                baseline=rng.randint(1, 4),
                target=rng.randint(7, 9),
            )
        return
    phase_day = day - f.met_on
    if not f.closed:
        gap = f.contact_gap and 10 <= phase_day < 20
        if 0 < phase_day < 35 and phase_day % 4 == 0 and not gap:
            await demo.do(
                f,
                "record_session",
                kw,
                session_id=f"s{phase_day}",
                held_at=now,
                kind=rng.choice(
                    ("home_visit", "home_visit", "home_visit", "phone", "out_of_hours")
                ),
                duration_minutes=rng.choice((45, 60, 90, 120)),
            )
        if phase_day == 21:
            scores = [
                {"goal_id": f"g{i}", "score": rng.randint(4, 7)} for i in range(1, len(f.goals) + 1)
            ]
            await demo.do(f, "score_goals", kw, scores=scores)
        if (f.unplanned and phase_day == 18) or phase_day == 36:
            await close(demo, f, kw, rng)
        return
    await reviews(demo, f, kw, now, rng)


async def close(demo: Demo, f: Family, kw: Actor, rng: random.Random) -> None:
    scores = [{"goal_id": f"g{i}", "score": rng.randint(5, 9)} for i in range(1, len(f.goals) + 1)]
    if f.unplanned:
        result = await demo.do(
            f,
            "close_intensive_phase",
            f.supervisor,
            kind="unplanned",
            unplanned_reason=rng.choice(list(UnplannedExitReason)),
            closing_scores=scores,
        )
    else:
        result = await demo.do(
            f,
            "close_intensive_phase",
            kw,
            kind="planned",
            closing_scores=scores,
            onward_referrals=rng.sample(["health", "school", "housing"], rng.choice((0, 1, 2))),
            transferred_to_less_formal_services=rng.random() < 0.4,
        )
    if result is None:
        return
    f.closed = True
    view = await cases.case_view(demo.client, f.case_id)
    if view.phase == "ended":
        f.ended = True
        return
    f.reviews = {r.review_id: (r.month, r.due_on) for r in view.reviews}


async def reviews(demo: Demo, f: Family, kw: Actor, now: datetime, rng: random.Random) -> None:
    today = now.date()
    for review_id, (month, due_on) in sorted(f.reviews.items(), key=lambda r: r[1][1]):
        if review_id in f.done_reviews:
            continue
        held_on = due_on + timedelta(days=20 if f.late_review == month else 2)
        if today < held_on:
            return
        ratings = {
            f"g{i}": (
                "regressed"
                if f.regress_at == month and i == 1
                else rng.choice(("maintained", "maintained", "exceeded", "partly_maintained"))
            )
            for i in range(1, len(f.goals) + 1)
        }
        result = await demo.do(
            f,
            "complete_review",
            kw,
            review_id=review_id,
            ratings=ratings,
            family_staying_together=rng.random() < 0.9,
            substance_use_status=rng.choice(("abstinent", "reduced", "reduced", "unchanged")),
        )
        f.done_reviews.add(review_id)
        if result is not None and "EpisodeEnded" in result.events:
            f.ended = True
            return
        if result is not None and "BoosterScheduled" in result.events and not f.booster_missed:
            view = await cases.case_view(demo.client, f.case_id)
            for booster in view.boosters:
                if booster.delivered_at is None and booster.booster_id not in f.boosters_done:
                    await demo.do(
                        f, "record_booster", kw, booster_id=booster.booster_id, delivered_at=now
                    )
                    f.boosters_done.add(booster.booster_id)
        return
    if len(f.done_reviews) == len(f.reviews):
        f.ended = True
