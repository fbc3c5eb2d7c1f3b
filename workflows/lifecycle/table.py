"""The lifecycle as a table, found by exploring the pure rules rather than written by hand.

``explore()`` starts from a referral and tries, in every state it reaches, each command a
practitioner (or the team workflow) could send, as each role, and lets time pass to the
next deadline. States are told apart by their phase and the commands they take, so the
walk ends. ``docs/lifecycle.md`` is rendered from what it finds (``ifss docs lifecycle``),
and the tests prove from it that an end is reachable from every state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from events.catalogue import DomainEvent
from events.envelope import Actor
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.vocabulary import Role
from workflows import commands as cmd
from workflows.lifecycle import handover
from workflows.lifecycle.deadlines import due, next_wakeup
from workflows.lifecycle.decide import decide
from workflows.lifecycle.evolve import evolve_all
from workflows.lifecycle.handover import Admission
from workflows.lifecycle.imports import fresh_state
from workflows.lifecycle.intake import refer
from workflows.lifecycle.state import CaseState, CommandRejected, Phase, day_of

DOC_PATH = Path("docs/lifecycle.md")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
TIME_PASSES = "time passes"
# Who sends what: people by role, and the team workflow's notices as the system.
PEOPLE = (Role.CASE_MANAGER, Role.SUPERVISOR, Role.BUSINESS_SUPPORT)
FROM_THE_TEAM: dict[str, type[cmd.Command]] = {
    "key_worker_assigned": cmd.KeyWorkerAssigned,
    "placed_on_waitlist": cmd.PlacedOnWaitlist,
    "key_worker_reassigned": cmd.KeyWorkerReassigned,
    "returned_to_waitlist": cmd.ReturnedToWaitlist,
    "cover_key_worker": cmd.KeyWorkerCovered,
    "uncover_key_worker": cmd.KeyWorkerUncovered,
    "transfer_admitted": cmd.TransferAdmitted,
}
# The receiving team's answers to a transfer, as the walk assumes them.
ADMISSIONS = {
    "allocated": Admission(key_worker_id="cm-east"),
    "waitlisted": Admission(position=1),
}
MAX_GOALS_EXPLORED = 2  # enough to see every rule about goals, few enough to end
# Commands that record a fact without changing where the episode can go: listed in the
# table, but the walk does not go on from them (it would only multiply equal states).
SIDE_FACTS = frozenset(
    {
        "acknowledge_alert",
        "add_adult",
        "agree_family_plan",
        "record_feedback",
        "record_joint_work",
        "record_measures",
        "record_spot_purchase",
        "add_child",
        "change_child_status",
        "change_priority",
        "correct_entry",
        "cover_key_worker",
        "key_worker_reassigned",
        "uncover_key_worker",
        "reassign",
        "record_consent",
        "record_maintenance_contact",
        "record_session",
        "reschedule_review",
        "decide_review_move (approved)",
        "decide_review_move (refused)",
        "score_goals",
    }
)


def _goal_scores(state: CaseState) -> list[dict[str, Any]]:
    return [{"goal_id": g, "score": 6} for g in state.goals]


def _samples(state: CaseState, now: datetime) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(command, variant, fields without the actor): one plausible instance of each command
    in ``state``. A variant names a choice that leads elsewhere (planned or unplanned)."""
    yield "accept", "", {}
    yield "reject", "", {"reason": "threshold_not_met"}
    yield "withdraw", "", {"reason": "family_declined"}
    yield "record_first_meeting", "", {"held_at": now}
    if len(state.goals) < MAX_GOALS_EXPLORED:
        goal = {"category": "parenting", "description": "A goal", "baseline": 2, "target": 8}
        yield "agree_goal", "", {"goal_id": f"g{len(state.goals) + 1}", **goal}
    session = {"held_at": now, "kind": "home_visit", "duration_minutes": 60}
    yield "record_session", "", {"session_id": f"s{len(state.session_ids) + 1}", **session}
    if state.goals:
        yield "score_goals", "", {"scores": _goal_scores(state)}
    yield (
        "request_extension",
        "",
        {
            "request_id": f"x{len(state.extensions) + 1}",
            "days": 14,
            "reason": "More time",
        },
    )
    for request_id, extension in state.extensions.items():
        if extension.approved is None:
            yield "decide_extension", "", {"request_id": request_id, "approved": True}
    closing = {"closing_scores": _goal_scores(state)}
    yield "close_intensive_phase", "planned", {"kind": "planned", **closing}
    unplanned = {"kind": "unplanned", "unplanned_reason": "family_disengaged", **closing}
    yield "close_intensive_phase", "unplanned", unplanned
    review = state.next_review()
    if review is not None:
        outcome = {"family_staying_together": True, "substance_use_status": "reduced"}
        for rating in ("maintained", "regressed"):
            ratings = {g: rating for g in state.goals}
            yield (
                "complete_review",
                rating,
                {"review_id": review.review_id, "ratings": ratings, **outcome},
            )
        yield "record_review_not_held", "", {"review_id": review.review_id, "reason": "declined"}
        later = {"due_on": review.due_on + timedelta(days=7), "reason": "Family away"}
        yield "reschedule_review", "", {"review_id": review.review_id, **later}
        yield "request_review_move", "", {"review_id": review.review_id, **later}
        if review.move_requested_to is not None:
            for approved in (True, False):
                decision = {"review_id": review.review_id, "approved": approved}
                yield "decide_review_move", "approved" if approved else "refused", decision
    yield "agree_family_plan", "", {"plan_id": f"p{len(state.plan_ids) + 1}"}
    stage = "closure" if state.closed_on is not None else "referral"
    yield "record_measures", "", {"stage": stage, "measures": {"school_attendance": 80}}
    feedback = {"source": "family", "rating": "satisfied"}
    yield "record_feedback", "", {"feedback_id": f"f{len(state.feedback_ids) + 1}", **feedback}
    purchase = {"service": "counselling", "provider": "acme", "cost_pence": 5000}
    yield "record_spot_purchase", "", {"purchase_id": f"b{len(state.purchase_ids) + 1}", **purchase}
    joint = {"service": "housing", "outcome": "requested"}
    yield "record_joint_work", "", {"work_id": f"j{len(state.joint_work) + 1}", **joint}
    contact = {"held_at": now, "kind": "phone"}
    yield (
        "record_maintenance_contact",
        "",
        {"contact_id": f"m{len(state.contact_ids) + 1}", **contact},
    )
    if state.goals and len(state.boosters) < MAX_GOALS_EXPLORED:
        goal_ids = sorted(state.goals)[:1]
        yield (
            "offer_booster",
            "",
            {"booster_id": f"o{len(state.boosters) + 1}", "goal_ids": goal_ids},
        )
    for booster_id, booster in state.boosters.items():
        if booster.delivered_at is None:
            yield "record_booster", "", {"booster_id": booster_id, "delivered_at": now}
    for child_id, status in state.children.items():
        yield (
            "change_child_status",
            "",
            {"child_id": child_id, "status": "cpr" if status != "cpr" else "cin"},
        )
    n = len(state.children) + len(state.adults) + 1
    yield (
        "add_child",
        "",
        {"child_id": f"ch{n}", "expected_on": day_of(state, now) + timedelta(days=90)},
    )
    yield "add_adult", "", {"person_id": f"ad{n}", "relationship": "father"}
    reason = "Risk rose"
    yield "change_priority", "", {"priority": 1 if state.priority != 1 else 2, "reason": reason}
    for version in sorted(state.entries)[:1]:
        entry = state.entries[version]
        fields = {"GoalAgreed": {"baseline": 1}, "SessionRecorded": {"duration_minutes": 45}}
        changes = fields.get(entry.type, {"area": "newport"})
        yield "correct_entry", "", {"version": version, "changes": changes, "reason": "other"}
    yield "record_consent", "", {"scope": "follow_up"}
    yield "withdraw_consent", "", {"scope": "follow_up"}
    yield "close_episode", "", {"reason": "Closed early"}
    for alert_id in state.open_alerts:
        yield "acknowledge_alert", "", {"alert_id": alert_id}
    yield "key_worker_assigned", "", {"key_worker_id": "cm-jones"}
    yield "placed_on_waitlist", "", {"position": 1, "priority": 3}
    yield "reassign", "", {"key_worker_id": "cm-other", "reason": "workload"}
    for answer in ADMISSIONS:
        yield "transfer", answer, {"team_id": "east", "reason": "family_moved"}
    if state.team_id is not None:
        admitted = {"from_team_id": state.team_id, "team_id": "east", "reason": "family_moved"}
        yield "transfer_admitted", "", {**admitted, "key_worker_id": "cm-east"}
    if state.key_worker_id is not None:
        was = state.key_worker_id
        moved = {"previous_key_worker_id": was, "key_worker_id": "cm-other"}
        yield "key_worker_reassigned", "", {**moved, "reason": "key_worker_left"}
        back = {"previous_key_worker_id": was, "position": 1, "priority": state.priority}
        yield "returned_to_waitlist", "", back
        until = day_of(state, now) + timedelta(days=14)
        cover = {"key_worker_id": was, "cover_key_worker_id": "cm-other", "until": until}
        yield "cover_key_worker", "", cover
        if state.cover_key_worker_id is not None:
            ended = {"key_worker_id": was, "cover_key_worker_id": state.cover_key_worker_id}
            yield "uncover_key_worker", "", ended


def _decide(
    state: CaseState, name: str, variant: str, command: cmd.Command, now: datetime
) -> list[DomainEvent]:
    """As the case workflow decides: the handovers once their team has answered."""
    if isinstance(command, cmd.ReassignKeyWorker):
        return handover.reassign(state, command)
    if isinstance(command, cmd.TransferFamily):
        return handover.transfer(state, command, ADMISSIONS[variant], now)
    return decide(state, command, now)


# The walk asks for the same command with the same fields in thousands of states: each is
# validated once (the rules never change a command).
_MADE: dict[tuple[str, str, str, str], cmd.Command | None] = {}


def _command(name: str, fields: dict[str, Any], actor: Actor) -> cmd.Command | None:
    key = (name, repr(sorted(fields.items())), actor.id, actor.role.value)
    if key not in _MADE:
        cls = FROM_THE_TEAM.get(name) or cmd.COMMANDS[name]
        try:
            _MADE[key] = cls.model_validate({**fields, "actor": actor})
        except ValidationError:  # no instance of it fits this state (e.g. no goals to rate)
            _MADE[key] = None
    return _MADE[key]


@dataclass(frozen=True)
class Node:
    """A state as the table sees it: its phase, which commands it takes from whom, and how
    much is left to do (goals, reviews not yet held, boosters not yet delivered) and which
    deadlines have passed (first meeting, no contact, day 35, overrun)."""

    phase: Phase
    takes: frozenset[tuple[str, str]]
    left: tuple[int, int, int]
    passed: tuple[bool, bool, bool, bool]


@dataclass
class Move:
    command: str  # a command's name, with its variant, or TIME_PASSES
    who: tuple[str, ...]
    to: Node
    events: tuple[str, ...]


@dataclass
class Lifecycle:
    start: Node
    moves: dict[Node, list[Move]] = field(default_factory=dict)
    complete: bool = False  # every state reached was explored (the limit was not hit)

    def reaches_an_end(self, node: Node) -> bool:
        seen, todo = {node}, [node]
        while todo:
            current = todo.pop()
            if current.phase is Phase.ENDED:
                return True
            for move in self.moves.get(current, []):
                if move.to not in seen:
                    seen.add(move.to)
                    todo.append(move.to)
        return False


def _apply(state: CaseState, events: list[Any], at: datetime) -> CaseState:
    return evolve_all(state, [(event, at) for event in events])


# What a state takes: (command, who, when it is decided, the events it causes)
Attempt = tuple[str, str, datetime, list[DomainEvent]]


def _attempts(state: CaseState, now: datetime) -> list[Attempt]:
    """Every command ``state`` takes at ``now`` (decided, not yet applied), and the next
    deadline's events as the clock's move."""
    found: list[Attempt] = []
    actors = [Actor(id="cm-jones", role=role) for role in PEOPLE]
    for name, variant, fields in _samples(state, now):
        label = f"{name} ({variant})" if variant else name
        for actor in [Actor.system()] if name in FROM_THE_TEAM else actors:
            command = _command(name, fields, actor)
            if command is None:
                continue
            try:
                events = _decide(state, name, variant, command, now)
            except CommandRejected:
                continue
            if events:
                who = "the team" if name in FROM_THE_TEAM else actor.role.value
                found.append((label, who, now, events))
    wake = next_wakeup(state)
    if wake is not None:
        later = max(now, wake)
        found.append((TIME_PASSES, "the clock", later, due(state, later)))
    return found


def _node(state: CaseState, attempts: list[Attempt]) -> Node:
    if state.ended:  # the end is one state, however the episode got there
        return Node(Phase.ENDED, frozenset(), (0, 0, 0), (False, False, False, False))
    left = (
        len(state.goals),
        sum(not r.done for r in state.reviews.values()),
        len(state.pending_boosters()),
    )
    intensive = state.phase is Phase.INTENSIVE  # the deadlines that matter in this phase
    passed = (
        state.first_meeting_overdue and state.phase is Phase.ALLOCATED,
        state.no_contact_flagged_for is not None and intensive,
        state.warning_flagged and intensive,
        state.overrun_flagged_for is not None and intensive,
    )
    takes = frozenset((a[0], a[1]) for a in attempts if a[0] not in SIDE_FACTS)
    return Node(state.phase, takes, left, passed)


def explore(policy: ProgrammePolicy = DEFAULT_POLICY, limit: int = 2_000) -> Lifecycle:
    """Walk the rules from a referral; ``limit`` bounds the states visited."""
    referral = cmd.ReferFamily.model_validate(
        {
            "actor": Actor(id="bs-price", role=Role.BUSINESS_SUPPORT),
            "family_id": "fam-1",
            "team_id": "cardiff",
            "area": "cardiff",
            "referring_agency": "health",
            "referral_grounds": ["parental_substance_dependence"],
            "children": [{"child_id": "ch1", "statutory_status": "cin"}],
            "adults": [{"person_id": "ad1", "relationship": "mother"}],
            "consent_to_referral": True,
            "consent_to_information_sharing": True,
            "consent_to_follow_up": True,
            "received_on": START.date(),
        }
    )
    _MADE.clear()  # the commands' cache lives for one walk
    first = fresh_state("c1", policy)
    first = _apply(first, refer(first, referral, None, START), START)
    attempts = _attempts(first, START)
    start = _node(first, attempts)
    found = Lifecycle(start)
    queue: deque[tuple[Node, CaseState, list[Attempt]]] = deque([(start, first, attempts)])
    while queue and len(found.moves) < limit:
        node, state, attempts = queue.popleft()
        if node in found.moves:
            continue
        merged: dict[tuple[str, Node], Move] = {}
        for label, who, at, events in attempts:
            after = _apply(state, events, at)
            onward = _attempts(after, at)
            target = _node(after, onward)
            names = tuple(type(e).__name__ for e in events)
            move = merged.setdefault((label, target), Move(label, (), target, names))
            if who not in move.who:
                move.who = (*move.who, who)
            if target not in found.moves and label not in SIDE_FACTS:
                queue.append((target, after, onward))
        found.moves[node] = list(merged.values())
    found.complete = all(node in found.moves for node, *_ in queue)
    return found


def render(lifecycle: Lifecycle | None = None) -> str:
    """``docs/lifecycle.md``: each phase, what it takes, from whom, and where it leads."""
    lifecycle = lifecycle or explore()
    by_phase: dict[Phase, dict[tuple[str, str], set[str]]] = {}
    for node, moves in lifecycle.moves.items():
        table = by_phase.setdefault(node.phase, {})
        for move in moves:
            table.setdefault((move.command, move.to.phase.value), set()).update(move.who)
    lines = [
        "# The lifecycle of an episode",
        "",
        "Generated by `ifss docs lifecycle` from the rules themselves "
        "(`workflows/lifecycle/table.py` explores them from a referral, trying every command "
        "as every role and letting time pass); do not edit by hand. A test fails when this "
        "page is stale, and another proves from the same walk that every state can reach an "
        "end.",
        "",
        f"States explored: {len(lifecycle.moves)}"
        f"{' (the walk is complete)' if lifecycle.complete else ' (the walk stopped at its limit)'}; "
        "every one reaches `ended`: "
        f"{'yes' if all(lifecycle.reaches_an_end(n) for n in lifecycle.moves) else 'NO'}.",
        "",
        "A referral without an eligible ground or without consent is received and rejected at "
        "once (`referred` → `ended`). Roles: `case_manager` (the key worker), `supervisor`, "
        "`business_support`; *the team* is the team workflow (a key worker has space, or "
        "the family waits; a leaver's family moved, or back on the waitlist; a cover); "
        "*the clock* is a deadline falling due. A transfer is shown with each answer the "
        "receiving team can give (`allocated`, `waitlisted`).",
    ]
    for phase in Phase:
        if phase is Phase.NEW:
            continue
        table = by_phase.get(phase, {})
        lines += ["", f"## {phase.value}", ""]
        if not table:
            lines.append("The end: no command is taken (a late notice from the team is ignored).")
            continue
        lines += ["| command | who | leads to |", "| --- | --- | --- |"]
        for (command, to), who in sorted(table.items()):
            order = ["case_manager", "supervisor", "business_support", "the team", "the clock"]
            people = ", ".join(w for w in order if w in who)
            lines.append(f"| `{command}` | {people} | `{to}` |")
    return "\n".join(lines) + "\n"


def write(path: Path = DOC_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
