"""Driving the pure lifecycle rules in unit tests: a case whose decisions and deadlines are
applied to its state, and the cases most tests start from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events import catalogue as ev
from events.envelope import Actor
from events.policy import DEFAULT_POLICY
from events.vocabulary import (
    ClosureKind,
    GoalCategory,
    ReferralGround,
    ReferringAgency,
    Role,
    SessionKind,
)
from workflows import commands as cmd
from workflows.lifecycle import CaseState, decide, due, evolve, next_wakeup, refer

CM = Actor(id="cm-jones", role=Role.CASE_MANAGER)
SUP = Actor(id="sup-evans", role=Role.SUPERVISOR)
MON = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def referral(**overrides: object) -> cmd.ReferFamily:
    fields: dict[str, object] = dict(
        actor=Actor(id="bs-price", role=Role.BUSINESS_SUPPORT),
        family_id="fam-1",
        team_id="cardiff",
        area="cardiff",
        referring_agency=ReferringAgency.HEALTH,
        referral_grounds=[ReferralGround.PARENTAL_SUBSTANCE_DEPENDENCE],
        children=[{"child_id": "ch1", "statutory_status": "cin"}],
        adults=[{"person_id": "ad1", "relationship": "mother"}],
        consent_to_referral=True,
        consent_to_information_sharing=True,
        consent_to_follow_up=True,
        received_on=MON.date(),
    )
    fields.update(overrides)
    return cmd.ReferFamily.model_validate(fields)


class Case:
    """Applies decisions and deadlines to a state, keeping the event log."""

    def __init__(self) -> None:
        self.state = CaseState(case_id="c1", policy=DEFAULT_POLICY)
        self.now = MON
        self.log: list[tuple[datetime, ev.DomainEvent]] = []

    def _apply(self, events: list[ev.DomainEvent], at: datetime) -> list[ev.DomainEvent]:
        for event in events:
            self.state = evolve(self.state, event, at)
            self.log.append((at, event))
        return events

    def refer(self, command: cmd.ReferFamily | None = None) -> list[ev.DomainEvent]:
        return self._apply(refer(self.state, command or referral(), None, self.now), self.now)

    def do(self, command: cmd.Command) -> list[ev.DomainEvent]:
        return self._apply(decide(self.state, command, self.now), self.now)

    def advance_to(self, moment: datetime) -> list[ev.DomainEvent]:
        """Let time pass, firing each deadline at its own time."""
        fired: list[ev.DomainEvent] = []
        while (wake := next_wakeup(self.state)) is not None and wake <= moment:
            self.now = max(self.now, wake)
            fired += self._apply(due(self.state, self.now), self.now)
        self.now = max(self.now, moment)
        return fired

    def types(self) -> list[str]:
        return [type(e).__name__ for _, e in self.log]


def allocated_case() -> Case:
    case = Case()
    case.refer()
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    return case


def intensive_case() -> Case:
    case = allocated_case()
    case.now = MON + timedelta(days=1)
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    case.do(
        cmd.AgreeGoal(
            actor=CM,
            goal_id="g1",
            category=GoalCategory.SUBSTANCE_USE,
            description="No drinking at home",
            baseline=2,
            target=8,
        )
    )
    case.do(
        cmd.AgreeGoal(
            actor=CM,
            goal_id="g2",
            category=GoalCategory.SCHOOL_ATTENDANCE,
            description="Children at school daily",
            baseline=4,
            target=9,
        )
    )
    return case


def session(case: Case, n: int) -> None:
    case.do(
        cmd.RecordSession(
            actor=CM,
            session_id=f"s{n}",
            held_at=case.now,
            kind=SessionKind.HOME_VISIT,
            duration_minutes=90,
        )
    )


def closed_case() -> Case:
    case = intensive_case()
    for day in range(3, 36, 4):  # contact every four days
        case.advance_to(MON + timedelta(days=day))
        session(case, day)
    case.do(
        cmd.CloseIntensivePhase(
            actor=CM,
            kind=ClosureKind.PLANNED,
            closing_scores=[
                ev.GoalScore(goal_id="g1", score=7),
                ev.GoalScore(goal_id="g2", score=8),
            ],
        )
    )
    return case
