"""``ifss demo``: demo families in the running stack, with histories that lie in the past.

Most families arrive through the **import path** (``ifss import``'s own code), at every
phase and with their real past dates: referred, accepted, waiting, allocated, in their
intensive work, and in follow-up up to the 12-month review, with regressions at the 1-,
3- and 6-month reviews. Then **live families and live commands** run on the stack's real
workflows, today: new referrals (accepted, rejected by a supervisor for a reason that fits
the referral, rejected by the rule that needs a statutory ground), a withdrawal, a family
handed to another key worker and one transferred to another team, children's status
changes, sessions, and 12-month reviews held now (one with a regression, and its booster).

Everything runs on the stack's own Temporal and database, so every demo case and team
keeps working afterwards: its deadlines come due on their real dates, its alerts can be
acknowledged, its key workers record, its supervisors close. Demo teams are registered
(``cardiff-d7`` for ``--seed 7``) and demo cases are ``d7-001``…; the demo refuses a
database that holds any case that is not a demo case.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog
from temporalio.client import Client

from events.db import create_pool
from events.envelope import Actor
from events.keys import Keyring
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.programmes import DEFAULT_PROGRAMME, PROGRAMMES
from events.store import EventStore
from events.vocabulary import GoalCategory, ReferralGround, ReferringAgency, Role
from workflows import client as cases
from workflows import commands as cmd
from workflows.client import CommandRefused
from workflows.importer import import_rows
from workflows.lifecycle import evolve
from workflows.lifecycle.imports import ImportCase, fresh_state, import_events
from workflows.team_io import ChangeKeyWorker, RegisterTeam

log = structlog.get_logger(__name__)

AREAS = ("cardiff", "newport", "swansea")
# The grounds an IFSS referral is eligible on, in the vocabulary's order.
IFSS_GROUNDS = [g for g in ReferralGround if g in PROGRAMMES[DEFAULT_PROGRAMME].eligible_grounds]
WORKERS_PER_TEAM = 3
CASELOAD_LIMIT = 2
# The first families' phases: enough in their intensive work to fill the first team (so
# that its waiting families wait), then drawn at random.
OPENING = (
    "referred", "allocated", "intensive", "follow_up", "intensive", "accepted",
    "allocated", "intensive", "follow_up", "intensive", "waitlisted", "follow_up",
)  # fmt: skip
ADMIN = Actor(id="admin-demo", role=Role.ADMIN)
# Imported phases and how often each is drawn; follow-up families are spread over how long
# ago their intensive work closed (in days), up to just past a year (the 12-month review).
PHASES = (
    ("referred", 1),
    ("accepted", 1),
    ("waitlisted", 1),
    ("allocated", 2),
    ("intensive", 3),
    ("follow_up", 6),
)
BANDS = ("under_1", "1_to_4", "1_to_4", "5_to_9", "5_to_9", "10_to_15", "10_to_15", "16_plus")
CLOSED_DAYS_AGO = (380, 50, 215, 120)  # the first reaches its 12-month review
NON_DEMO_CASE = r"^case-(?!d[0-9]+-[0-9]+$)"


@dataclass(frozen=True)
class Rates:
    """The outcome rates the demo's families follow (the service's own figures by default:
    81% of goals and 79% of substance-related goals exceeded or maintained, 76% of families
    staying together), so the report given back can be checked against them."""

    goals_maintained: float = 0.81
    substance_maintained: float = 0.79
    together: float = 0.76
    unplanned: float = 0.15
    re_referrals: float = 0.1  # families who had an earlier episode (in the legacy system)

    def __post_init__(self) -> None:
        for name in (
            "goals_maintained",
            "substance_maintained",
            "together",
            "unplanned",
            "re_referrals",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: must be between 0 and 1")


class DemoExists(Exception):
    """Demo data for this seed is already in the database."""


class DemoRefused(Exception):
    """The database holds real work: the demo does not mix its families with it."""


def team_of(area: str, seed: int) -> str:
    return f"{area}-d{seed}"


@dataclass
class Demo:
    client: Client
    task_queue: str
    seed: int
    rng: random.Random
    today: date
    policy: ProgrammePolicy
    refusals: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    async def do(self, case_id: str, name: str, actor: Actor, **fields: Any) -> Any:
        command = cmd.COMMANDS[name].model_validate({**fields, "actor": actor})
        try:
            return await cases.send_command(self.client, case_id, name, command)
        except CommandRefused as exc:
            # The rules said no, as they would to a person: note it and carry on.
            self.refusals.append(f"{case_id} {name}: {exc}")
            return None


def _ago(today: date, days: int) -> str:
    return (today - timedelta(days=days)).isoformat()


def _referral(rng: random.Random, seed: int, n: int, area: str) -> dict[str, Any]:
    profile = random.Random(seed * 7877 + n)  # its own draws: the families stay the same
    return {
        "family_id": f"fam-d{seed}-{n:03d}",
        "team_id": team_of(area, seed),
        "area": area,
        "referring_agency": rng.choice(list(ReferringAgency)).value,
        "referral_grounds": [rng.choice(IFSS_GROUNDS).value],
        "children": [
            {
                "child_id": f"ch{i}",
                "statutory_status": rng.choice(("none", "cin", "cin", "cpr")),
                "age_band": profile.choice(BANDS),
            }
            for i in range(1, rng.choice((2, 3, 4)))
        ],
        # About one family in five in the demo's areas chooses to work in Welsh.
        "language_preference": profile.choice(("english",) * 7 + ("welsh", "bilingual", None)),
        "consent_to_referral": True,
        "consent_to_information_sharing": True,
        "consent_to_follow_up": True,
        "priority": rng.choice((2, 3, 3, 4)),
    }


def _intensive_part(
    rng: random.Random, today: date, met: int, closed: int | None
) -> dict[str, Any]:
    """Goals, sessions and scores from the first meeting (``met`` days ago) to the closure
    (``closed`` days ago) or today; a family in five has a gap in contact."""
    last = closed if closed is not None else 0
    gap = rng.random() < 0.2
    categories = rng.sample([c.value for c in GoalCategory if c is not GoalCategory.OTHER], 2)
    goals = [
        {
            "goal_id": f"g{i}",
            "category": category,
            "description": "agreed with the family",
            "baseline": rng.randint(1, 4),
            "target": rng.randint(7, 9),
            "agreed_on": _ago(today, met),
        }
        for i, category in enumerate(categories, 1)
    ]
    sessions = [
        {
            "session_id": f"s{day}",
            "held_at": f"{_ago(today, day)}T{rng.choice(('10', '14', '18'))}:00:00Z",
            "kind": rng.choice(("home_visit", "home_visit", "home_visit", "phone", "out_of_hours")),
            "duration_minutes": rng.choice((45, 60, 90, 120)),
        }
        for day in range(met - 2, last, -4)
        if not (gap and met - 20 < day < met - 8)
    ]
    scored = met - 14
    scores = (
        [{"goal_id": "g1", "score": rng.randint(4, 7), "scored_on": _ago(today, scored)}]
        if scored > last
        else []
    )
    return {
        "first_meeting_at": f"{_ago(today, met)}T10:00:00Z",
        "goals": goals,
        "sessions": sessions,
        "scores": scores,
    }


def plan_imports(
    seed: int, count: int, today: date, policy: ProgrammePolicy, rates: Rates = Rates()
) -> list[dict[str, Any]]:
    """``count`` families as import rows, each at its phase with a past that fits it; their
    closures and reviews follow ``rates``."""
    rng = random.Random(seed)
    outcomes = random.Random(seed * 7919 + 1)  # its own draws: the families stay the same
    earlier = random.Random(seed * 7919 + 2)  # likewise, who had an earlier episode
    names = [p for p, _ in PHASES]
    weights = [w for _, w in PHASES]
    rows = []
    following = 0
    places = WORKERS_PER_TEAM * CASELOAD_LIMIT
    held = 0  # families with a key worker in the first team
    for n in range(1, count + 1):
        phase = OPENING[n - 1] if n <= len(OPENING) else rng.choices(names, weights)[0]
        if phase in ("allocated", "intensive") and held < places:
            area, worker = AREAS[0], 1 + held % WORKERS_PER_TEAM
            held += 1
        else:
            area, worker = rng.choice(AREAS), rng.randint(1, WORKERS_PER_TEAM)
        if phase == "waitlisted":
            area = AREAS[0]  # it waits: the first team is full
        closed = None
        if phase == "follow_up":
            closed = CLOSED_DAYS_AGO[following % len(CLOSED_DAYS_AGO)]
            following += 1
        start = {"referred": 3, "accepted": 9, "waitlisted": 30, "allocated": 14, "intensive": 40}
        received = (closed + 50) if closed is not None else start[phase]
        row: dict[str, Any] = {
            "case_id": f"d{seed}-{n:03d}",
            "source": {"system": "demo-legacy", "record_id": f"D{seed}-{n:05d}"},
            "phase": phase,
            **_referral(rng, seed, n, area),
            "received_on": _ago(today, received),
        }
        if earlier.random() < rates.re_referrals:
            row["earlier_episode"] = {
                "record_id": f"D{seed}-{n:05d}-1",
                "ended_on": _ago(today, received + earlier.randint(60, 700)),
            }
        if phase != "referred":
            row["accepted_on"] = _ago(today, received - 2)
        if phase in ("allocated", "intensive", "follow_up"):
            row |= {
                "key_worker_id": f"kw-{area}-{worker}",
                "allocated_on": _ago(today, received - 3),
            }
        if phase in ("intensive", "follow_up"):
            met = received - 5
            row |= _intensive_part(rng, today, met, closed)
        if closed is not None:
            row["closure"] = {
                "closed_on": _ago(today, closed),
                "kind": "planned" if outcomes.random() >= rates.unplanned else "unplanned",
                "closing_scores": [
                    {"goal_id": g["goal_id"], "score": rng.randint(5, 9)} for g in row["goals"]
                ],
            }
            if row["closure"]["kind"] == "unplanned":
                row["closure"]["unplanned_reason"] = rng.choice(
                    ("family_disengaged", "moved_away", "escalated_to_statutory")
                )
            row["reviews"] = _reviews_held(row, today, policy, outcomes, rates)
        rows.append(row)
    # Waiting families arrive last, when the places they wait for are taken.
    return sorted(rows, key=lambda r: r["phase"] == "waitlisted")


def _reviews_held(
    row: dict[str, Any], today: date, policy: ProgrammePolicy, rng: random.Random, rates: Rates
) -> list[Any]:
    """The reviews held there, each the day after it fell due (by the engine's own
    schedule), the 12-month one left for today; each goal exceeded or maintained at each
    review, or not, and the family together or not, at the given rates."""
    fields = {k: v for k, v in row.items() if k not in ("case_id", "reviews")}
    command = ImportCase.model_validate({**fields, "actor": ADMIN})
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    state = fresh_state(row["case_id"], policy)
    for event, at in import_events(state, command, now):
        state = evolve(state, event, at)
    held = []
    for review in sorted(state.reviews.values(), key=lambda r: r.month):
        held_on = review.due_on + timedelta(days=1)
        if review.month == 12 or held_on >= today:
            continue
        ratings = {}
        for g in row["goals"]:
            p = (
                rates.substance_maintained
                if g["category"] == GoalCategory.SUBSTANCE_USE
                else rates.goals_maintained
            )
            held_up = rng.random() < p
            ratings[g["goal_id"]] = (
                rng.choice(("maintained", "maintained", "exceeded"))
                if held_up
                else rng.choice(("regressed", "partly_maintained"))
            )
        held.append(
            {
                "month": review.month,
                "held_on": held_on.isoformat(),
                "ratings": ratings,
                "family_staying_together": rng.random() < rates.together,
                "substance_use_status": rng.choice(
                    ("abstinent", "reduced", "reduced", "unchanged")
                ),
            }
        )
    return held


async def run_demo(
    dsn: str,
    families: int,
    seed: int,
    *,
    client: Client,
    task_queue: str,
    schema: str | None = None,
    policy: ProgrammePolicy = DEFAULT_POLICY,
    keyring: Keyring,
    progress: Callable[[str], None] | None = None,
    rates: Rates = Rates(),
) -> dict[str, int]:
    """Demo families in the stack at ``client``/``task_queue``; returns what happened."""
    pool = await create_pool(dsn, schema=schema, max_size=10)
    store = EventStore(pool, keyring)
    say = progress or (lambda _: None)
    try:
        real = await pool.fetchval(
            "SELECT stream_id FROM events WHERE stream_id ~ $1 LIMIT 1", NON_DEMO_CASE
        )
        if real is not None:
            raise DemoRefused(
                f"database: it holds {real}, which is not a demo case; the demo runs only "
                "on a database of its own"
            )
        if await store.stream_version(f"team-{team_of(AREAS[0], seed)}") > 0:
            raise DemoExists(f"seed: demo data for seed {seed} exists already; pick another")
        today = datetime.now(UTC).date()
        demo = Demo(client, task_queue, seed, random.Random(seed + 1), today, policy)
        say("teams")
        await set_up_teams(demo)
        await add_demo_users(pool, seed)
        live = max(families // 6, 1)
        rows = plan_imports(seed, families - live, today, policy, rates)
        say(f"importing {len(rows)} families")
        report = await import_rows(
            [orjson.dumps(r).decode() for r in rows],
            ADMIN,
            client=client,
            store=store,
            task_queue=task_queue,
            all_or_none=True,
            policy=policy,
        )
        if report.problems:  # the demo's own rows: a fault in the demo, not in the data
            raise RuntimeError(f"demo rows refused: {report.problems[0]}")
        demo.counts["imported"] = len(report.imported)
        say(f"{live} live families and today's work")
        await live_families(demo, range(families - live + 1, families + 1))
        await todays_work(demo, rows)
        for refusal in demo.refusals:
            log.warning("demo_command_refused", refusal=refusal)
        return {"families": families, **demo.counts, "refused_commands": len(demo.refusals)}
    finally:
        await store.aclose()
        await pool.close()


async def set_up_teams(demo: Demo) -> None:
    for area in AREAS:
        team = team_of(area, demo.seed)
        name = f"{area.capitalize()} IFSS (demo {demo.seed})"
        command = RegisterTeam(actor=ADMIN, name=name, area=area)
        await cases.register_team(
            demo.client, team, command, task_queue=demo.task_queue, policy=demo.policy
        )
        supervisor = Actor(id=f"sup-{area}", role=Role.SUPERVISOR)
        for w in range(1, WORKERS_PER_TEAM + 1):
            change = ChangeKeyWorker(
                actor=supervisor, key_worker_id=f"kw-{area}-{w}", caseload_limit=CASELOAD_LIMIT
            )
            await cases.change_key_worker(demo.client, team, change)


async def add_demo_users(pool: asyncpg.Pool, seed: int) -> None:
    """The demo's key workers and supervisors as users (if not there already), so that
    `ifss alerts --as sup-cardiff:supervisor` shows their inbox."""
    for area in AREAS:
        team = team_of(area, seed)
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


async def live_families(demo: Demo, numbers: range) -> None:
    """Referrals arriving today, each with an outcome that fits it."""
    rng = demo.rng
    outcomes = ["no_ground", "outside_area", "accepted", "withdrawn", "elsewhere", "accepted"]
    for i, n in enumerate(numbers):
        area = AREAS[i % len(AREAS)]
        outcome = outcomes[i % len(outcomes)]
        fields = _referral(rng, demo.seed, n, area)
        if outcome == "no_ground":
            fields["referral_grounds"] = []  # the rule rejects it, and says so
        if outcome == "outside_area":
            fields["area"] = "bridgend"  # not an area the team serves
        case_id = f"d{demo.seed}-{n:03d}"
        business = Actor(id=f"bs-{area}", role=Role.BUSINESS_SUPPORT)
        referral = cmd.ReferFamily.model_validate(
            {**fields, "actor": business, "received_on": demo.today.isoformat()}
        )
        await cases.refer_family(
            demo.client, case_id, referral, task_queue=demo.task_queue, policy=demo.policy
        )
        demo.count("live")
        supervisor = Actor(id=f"sup-{area}", role=Role.SUPERVISOR)
        if outcome == "no_ground":
            demo.count("rejected")
        elif outcome in ("outside_area", "elsewhere"):
            reason = "outside_area" if outcome == "outside_area" else "already_supported_elsewhere"
            await demo.do(case_id, "reject", supervisor, reason=reason)
            demo.count("rejected")
        else:
            await demo.do(case_id, "accept", supervisor)
            if outcome == "withdrawn":
                await demo.do(case_id, "withdraw", supervisor, reason="family_declined")
                demo.count("withdrawn")


async def todays_work(demo: Demo, rows: list[dict[str, Any]]) -> None:
    """Live commands on imported families: handovers, status changes, sessions, and the
    12-month reviews that are due (the first with a regression, and its booster)."""
    now = datetime.now(UTC)
    by_phase: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_phase.setdefault(row["phase"], []).append(row)
    for row in by_phase.get("intensive", [])[:3]:
        kw = Actor(id=row["key_worker_id"], role=Role.CASE_MANAGER)
        await demo.do(row["case_id"], "record_session", kw, session_id="s-today",
                      held_at=now, kind="home_visit", duration_minutes=60)  # fmt: skip
        child = row["children"][0]
        status = "cin" if child["statutory_status"] == "cpr" else "cpr"
        if await demo.do(row["case_id"], "change_child_status", kw,
                         child_id=child["child_id"], status=status,
                         effective_on=(demo.today - timedelta(days=1)).isoformat()):  # fmt: skip
            demo.count("status_changes")
    intensive = by_phase.get("intensive", [])
    if intensive:  # a handover inside the team: to whoever has most room
        row = intensive[-1]
        team = await cases.team_view(demo.client, row["team_id"])
        others = [
            w for w in team.key_workers.values()
            if w.key_worker_id != row["key_worker_id"] and len(w.cases) < w.caseload_limit
        ]  # fmt: skip
        if others:
            supervisor = Actor(id=f"sup-{row['area']}", role=Role.SUPERVISOR)
            if await demo.do(row["case_id"], "reassign", supervisor,
                             key_worker_id=others[0].key_worker_id, reason="workload"):  # fmt: skip
                demo.count("reassigned")
    for row in by_phase.get("allocated", [])[:1]:  # a family that moved before the work began
        area = row["area"]
        other = team_of(AREAS[(AREAS.index(area) + 1) % len(AREAS)], demo.seed)
        supervisor = Actor(id=f"sup-{area}", role=Role.SUPERVISOR)
        if await demo.do(row["case_id"], "transfer", supervisor, team_id=other,
                         reason="family_moved"):  # fmt: skip
            demo.count("transferred")
    for i, row in enumerate(r for r in by_phase.get("follow_up", []) if not _has_12(r)):
        view = await cases.case_view(demo.client, row["case_id"])
        twelve = next((r for r in view.reviews if r.month == 12), None)
        open_ = ("scheduled", "due", "overdue")
        if twelve is None or twelve.status.value not in open_ or twelve.due_on > demo.today:
            continue
        kw = Actor(id=view.key_worker_id or row["key_worker_id"], role=Role.CASE_MANAGER)
        ratings = {g.goal_id: "maintained" for g in view.goals}
        if i == 0 and ratings:
            ratings[min(ratings)] = "regressed"
        result = await demo.do(row["case_id"], "complete_review", kw, review_id=twelve.review_id,
                               ratings=ratings, family_staying_together=True,
                               substance_use_status="reduced")  # fmt: skip
        if result is None:
            continue
        demo.count("twelve_month_reviews")
        if "BoosterScheduled" in result.events:
            view = await cases.case_view(demo.client, row["case_id"])
            for booster in view.boosters:
                if booster.delivered_at is None:
                    await demo.do(row["case_id"], "record_booster", kw,
                                  booster_id=booster.booster_id, delivered_at=now)  # fmt: skip
                    demo.count("boosters")


def _has_12(row: dict[str, Any]) -> bool:
    return any(r["month"] == 12 for r in row.get("reviews", []))
