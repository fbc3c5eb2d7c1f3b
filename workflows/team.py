"""Allocation rules for one team, pure: who has space, who waits, who is back-filled.

The ``TeamWorkflow`` is the single writer of a team's allocations and applies these rules
one message at a time, so no key worker is ever allocated past their limit.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from events import catalogue as ev
from events.catalogue import DomainEvent


class KeyWorkerLoad(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_worker_id: str
    caseload_limit: int
    cases: list[str] = []
    active: bool = True

    @property
    def has_space(self) -> bool:
        return self.active and len(self.cases) < self.caseload_limit


class WaitingFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    priority: int
    referred_on: date


class TeamState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: str
    version: int = 0
    key_workers: dict[str, KeyWorkerLoad] = {}
    waitlist: list[WaitingFamily] = []

    def holder_of(self, case_id: str) -> KeyWorkerLoad | None:
        return next((w for w in self.key_workers.values() if case_id in w.cases), None)


def _with_space(state: TeamState) -> KeyWorkerLoad | None:
    """The key worker with most room (fewest families), ties by id for determinism."""
    free = [w for w in state.key_workers.values() if w.has_space]
    return min(free, key=lambda w: (len(w.cases), w.key_worker_id), default=None)


def _sorted_waitlist(waiting: list[WaitingFamily]) -> list[WaitingFamily]:
    """Priority 1 first, then earliest referral, then case id."""
    return sorted(waiting, key=lambda f: (f.priority, f.referred_on, f.case_id))


def request_allocation(
    state: TeamState, case_id: str, priority: int, referred_on: date
) -> list[DomainEvent]:
    """A newly accepted family: allocate if anyone has space, else waitlist."""
    if state.holder_of(case_id) or any(f.case_id == case_id for f in state.waitlist):
        return []  # already handled: a redelivered request
    worker = _with_space(state)
    if worker is not None:
        return [ev.TeamCaseAllocated(case_id=case_id, key_worker_id=worker.key_worker_id)]
    waiting = _sorted_waitlist(
        [
            *state.waitlist,
            WaitingFamily(case_id=case_id, priority=priority, referred_on=referred_on),
        ]
    )
    position = next(i for i, f in enumerate(waiting, 1) if f.case_id == case_id)
    return [
        ev.TeamCaseWaitlisted(
            case_id=case_id, priority=priority, referred_on=referred_on, position=position
        )
    ]


def release(state: TeamState, case_id: str) -> list[DomainEvent]:
    """A family left the intensive phase or the waitlist; back-fill the freed place."""
    holder = state.holder_of(case_id)
    waiting = any(f.case_id == case_id for f in state.waitlist)
    if holder is None and not waiting:
        return []
    events: list[DomainEvent] = [
        ev.TeamCaseReleased(case_id=case_id, key_worker_id=holder.key_worker_id if holder else None)
    ]
    return events + back_fill(apply_all(state, events))


def join(state: TeamState, key_worker_id: str, caseload_limit: int) -> list[DomainEvent]:
    """A key worker joins (or changes their limit); waiting families may now be allocated."""
    current = state.key_workers.get(key_worker_id)
    if current is not None and current.active and current.caseload_limit == caseload_limit:
        return []
    events: list[DomainEvent] = [
        ev.TeamKeyWorkerJoined(key_worker_id=key_worker_id, caseload_limit=caseload_limit)
    ]
    return events + back_fill(apply_all(state, events))


def leave(state: TeamState, key_worker_id: str) -> list[DomainEvent]:
    """A key worker takes no new families; their current families stay with them."""
    current = state.key_workers.get(key_worker_id)
    if current is None or not current.active:
        return []
    return [ev.TeamKeyWorkerLeft(key_worker_id=key_worker_id)]


def back_fill(state: TeamState) -> list[DomainEvent]:
    """Allocate waiting families, highest priority first, while anyone has space."""
    events: list[DomainEvent] = []
    for family in _sorted_waitlist(state.waitlist):
        worker = _with_space(state)
        if worker is None:
            break
        allocated = ev.TeamCaseAllocated(
            case_id=family.case_id, key_worker_id=worker.key_worker_id, from_waitlist=True
        )
        events.append(allocated)
        state = evolve(state, allocated)
    return events


def apply_all(state: TeamState, events: list[DomainEvent]) -> TeamState:
    for event in events:
        state = evolve(state, event)
    return state


def evolve(state: TeamState, event: DomainEvent) -> TeamState:
    s = state.model_copy(deep=True)
    s.version += 1
    match event:
        case ev.TeamKeyWorkerJoined():
            worker = s.key_workers.get(event.key_worker_id)
            if worker is None:
                s.key_workers[event.key_worker_id] = KeyWorkerLoad(
                    key_worker_id=event.key_worker_id, caseload_limit=event.caseload_limit
                )
            else:
                worker.active, worker.caseload_limit = True, event.caseload_limit
        case ev.TeamKeyWorkerLeft():
            s.key_workers[event.key_worker_id].active = False
        case ev.TeamCaseAllocated():
            s.key_workers[event.key_worker_id].cases.append(event.case_id)
            s.waitlist = [f for f in s.waitlist if f.case_id != event.case_id]
        case ev.TeamCaseWaitlisted():
            s.waitlist.append(
                WaitingFamily(
                    case_id=event.case_id, priority=event.priority, referred_on=event.referred_on
                )
            )
        case ev.TeamCaseReleased():
            for worker in s.key_workers.values():
                if event.case_id in worker.cases:
                    worker.cases.remove(event.case_id)
            s.waitlist = [f for f in s.waitlist if f.case_id != event.case_id]
    return s
