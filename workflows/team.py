"""Allocation rules for one team, pure: who has space, who waits, who is back-filled.

The ``TeamWorkflow`` is the single writer of a team's allocations and applies these rules
one message at a time, so no key worker is ever allocated past their limit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.policy import DEFAULT_POLICY, ProgrammePolicy
from events.vocabulary import AlertResolution, AlertRule, HandoverReason, LocalAuthority
from workflows import wording
from workflows.alerts import ack_window, severity_of
from workflows.lifecycle.copying import fork


class KeyWorkerLoad(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_worker_id: str
    caseload_limit: int
    cases: list[str] = []
    active: bool = True
    follows_policy: bool = False  # the limit is the team policy's (and changes with it)

    @property
    def has_space(self) -> bool:
        return self.active and len(self.cases) < self.caseload_limit


class WaitingFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    priority: int
    referred_on: date
    waitlisted_at: datetime | None = None  # None: waitlisted before this was recorded
    alert_id: str | None = None  # the "waitlisted too long" alert, once raised


class Cover(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cover_key_worker_id: str
    until: date


class FamilyOnRecord(BaseModel):
    """What the team asks a family's case before moving it (a leaver's families)."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    priority: int = 3
    referred_on: date | None = None
    started: bool = True  # met by its key worker (or unknown: then it is not put back)


class FamiliesAsked(BaseModel):
    """The cases the team asks where they stand (the ``families_of`` activity)."""

    model_config = ConfigDict(extra="forbid")

    case_ids: list[str]


class TeamState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: str
    version: int = 0
    # The policy the team runs on (None: a team started before teams recorded one, which
    # runs on the default policy).
    policy: ProgrammePolicy | None = None
    key_workers: dict[str, KeyWorkerLoad] = {}
    waitlist: list[WaitingFamily] = []
    alerts_raised: int = 0
    open_alerts: dict[str, str] = {}  # alert id -> the case it is about
    acknowledged_alerts: set[str] = set()
    # Teams started before the waitlist alert existed run (and replay) without its timers.
    alert_timers: bool = False
    covers: dict[str, Cover] = {}  # key worker away -> who covers them, until when
    following: dict[str, str] = {}  # families in follow-up (no place held) -> key worker
    # As registered by an admin (None: not registered; a team from before registration
    # is still known by its key workers).
    name: str | None = None
    area: str | None = None

    @property
    def known(self) -> bool:
        """Whether the team may be given key workers, policies and families."""
        return self.name is not None or bool(self.key_workers)

    def families_of(self, key_worker_id: str) -> list[str]:
        """A key worker's families: those holding a place, then those in follow-up."""
        worker = self.key_workers.get(key_worker_id)
        held = list(worker.cases) if worker else []
        return held + sorted(c for c, w in self.following.items() if w == key_worker_id)

    def holder_of(self, case_id: str) -> KeyWorkerLoad | None:
        return next((w for w in self.key_workers.values() if case_id in w.cases), None)


class TeamRefusal(wording.Refusal, ValueError):
    """A team rule refused a handover: "field: rule", and whether the request can never
    succeed as written (``invalid``) or the team's state is against it now (``conflict``).
    ``rule`` is a template filled with ``params`` (see ``workflows.wording``)."""

    def __init__(self, field: str, rule: str, kind: str = "invalid", /, **params: object) -> None:
        super().__init__(field, rule, kind, **params)


def policy_of(state: TeamState) -> ProgrammePolicy:
    return state.policy or DEFAULT_POLICY


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


def release(state: TeamState, case_id: str, following: bool = False) -> list[DomainEvent]:
    """A family left the intensive phase or the waitlist; back-fill the freed place. With
    ``following``, the team keeps knowing the family (in follow-up) until its end."""
    holder = state.holder_of(case_id)
    waiting = any(f.case_id == case_id for f in state.waitlist)
    if holder is None and not waiting:
        if case_id in state.following:  # follow-up ended
            return [ev.TeamCaseReleased(case_id=case_id, key_worker_id=state.following[case_id])]
        return []
    events: list[DomainEvent] = [
        ev.TeamCaseReleased(
            case_id=case_id,
            key_worker_id=holder.key_worker_id if holder else None,
            following=following and holder is not None,
        )
    ]
    return events + back_fill(apply_all(state, events))


def reprioritise(state: TeamState, case_id: str, priority: int) -> list[DomainEvent]:
    """A waiting family's new priority; nothing when it is not waiting (allocated meanwhile,
    or not yet asked for) or already has it."""
    family = next((f for f in state.waitlist if f.case_id == case_id), None)
    if family is None or family.priority == priority:
        return []
    return [ev.TeamCaseReprioritised(case_id=case_id, priority=priority)]


def check_area(area: str) -> list[DomainEvent]:
    """A team serves one of the local authority areas of Wales (checked for new teams:
    teams registered before the list keep the area they were given)."""
    if area not in {a.value for a in LocalAuthority}:
        raise TeamRefusal(
            "area",
            "must be one of the local authority areas of Wales: {areas}",
            areas=wording.one_of(sorted(a.value for a in LocalAuthority)),
        )
    return []


def register(state: TeamState, name: str, area: str) -> list[DomainEvent]:
    """An admin registers the team (once: its id is what cases and key workers name)."""
    if state.name is not None:
        raise TeamRefusal(
            "team_id",
            "team {team_id} is already registered (as '{name}')",
            "conflict",
            team_id=state.team_id,
            name=state.name,
        )
    return [ev.TeamRegistered(team_name=name, area=area)]


def require_known(state: TeamState) -> list[DomainEvent]:
    """Key workers, policies and families only for a team an admin registered (nothing
    to record: a check)."""
    if not state.known:
        raise TeamRefusal(
            "team_id",
            "no team {team_id} is registered; an admin registers it first (ifss team register)",
            team_id=state.team_id,
        )
    return []


def join(state: TeamState, key_worker_id: str, caseload_limit: int | None) -> list[DomainEvent]:
    """A key worker joins (or changes their limit); waiting families may now be allocated.
    Without a limit of their own they take the team policy's, and follow it."""
    follows = caseload_limit is None
    limit = policy_of(state).caseload_limit if caseload_limit is None else caseload_limit
    current = state.key_workers.get(key_worker_id)
    if (
        current is not None
        and current.active
        and (current.caseload_limit, current.follows_policy) == (limit, follows)
    ):
        return []
    events: list[DomainEvent] = [
        ev.TeamKeyWorkerJoined(
            key_worker_id=key_worker_id, caseload_limit=limit, from_policy=follows
        )
    ]
    return events + back_fill(apply_all(state, events))


def adopt_policy(state: TeamState, policy: ProgrammePolicy) -> list[DomainEvent]:
    """The team runs on ``policy`` from now: key workers on the policy's limit take the new
    limit, and waiting families fill any place that opens. Nothing when it already does."""
    if state.policy is not None and state.policy.digest == policy.digest:
        return []
    events: list[DomainEvent] = [ev.TeamPolicyAdopted(policy=policy, digest=policy.digest)]
    events += [
        ev.TeamKeyWorkerJoined(
            key_worker_id=w.key_worker_id, caseload_limit=policy.caseload_limit, from_policy=True
        )
        for w in sorted(state.key_workers.values(), key=lambda w: w.key_worker_id)
        if w.active and w.follows_policy and w.caseload_limit != policy.caseload_limit
    ]
    return events + back_fill(apply_all(state, events))


def leave(state: TeamState, key_worker_id: str, ends_covers: bool = False) -> list[DomainEvent]:
    """A key worker takes no new families; their current families stay with them. With
    ``ends_covers``, every cover they give ends now."""
    current = state.key_workers.get(key_worker_id)
    if current is None or not current.active:
        return []
    events: list[DomainEvent] = [ev.TeamKeyWorkerLeft(key_worker_id=key_worker_id)]
    if ends_covers:
        events += [
            ev.TeamCoverEnded(key_worker_id=absent, cover_key_worker_id=key_worker_id)
            for absent, cover in sorted(state.covers.items())
            if cover.cover_key_worker_id == key_worker_id
        ]
    return events


# --- handover -----------------------------------------------------------------------------


def _member(state: TeamState, key_worker_id: str) -> KeyWorkerLoad:
    """The active key worker ``key_worker_id``; raises ``ValueError`` naming the rule."""
    worker = state.key_workers.get(key_worker_id)
    if worker is None:
        raise TeamRefusal(
            "key_worker_id",
            "no key worker {key_worker_id} in team {team_id}",
            key_worker_id=key_worker_id,
            team_id=state.team_id,
        )
    if not worker.active:
        raise TeamRefusal(
            "key_worker_id",
            "{key_worker_id} has left team {team_id}",
            "conflict",
            key_worker_id=key_worker_id,
            team_id=state.team_id,
        )
    return worker


def _taker(state: TeamState, key_worker_id: str) -> KeyWorkerLoad:
    """The key worker ``key_worker_id`` if they can take one more family; raises
    ``ValueError`` naming the field and the rule."""
    worker = _member(state, key_worker_id)
    if not worker.has_space:
        raise TeamRefusal(
            "key_worker_id",
            "{key_worker_id} has {held} of {limit} families already (no space)",
            "conflict",
            key_worker_id=key_worker_id,
            held=len(worker.cases),
            limit=worker.caseload_limit,
        )
    return worker


def reassign(
    state: TeamState,
    case_id: str,
    key_worker_id: str,
    reason: HandoverReason,
    in_follow_up: bool = False,
) -> list[DomainEvent]:
    """A supervisor moves a family the team holds to another key worker with space (one in
    follow-up holds no place: to any active key worker of the team). Nothing when it is
    theirs already (a retried request), or for a family in follow-up the team does not
    follow (closed before teams followed them up)."""
    if in_follow_up:
        current = state.following.get(case_id)
        if current is None or current == key_worker_id:
            return []
        _member(state, key_worker_id)
        return [
            ev.TeamCaseReassigned(
                case_id=case_id,
                from_key_worker_id=current,
                key_worker_id=key_worker_id,
                reason=reason,
            )
        ]
    holder = state.holder_of(case_id)
    if holder is None:
        raise TeamRefusal(
            "case_id",
            "team {team_id} holds no place for case {case_id} "
            "(not allocated here, or its intensive phase has closed)",
            "conflict",
            team_id=state.team_id,
            case_id=case_id,
        )
    if holder.key_worker_id == key_worker_id:
        return []
    _taker(state, key_worker_id)
    return [
        ev.TeamCaseReassigned(
            case_id=case_id,
            from_key_worker_id=holder.key_worker_id,
            key_worker_id=key_worker_id,
            reason=reason,
        )
    ]


def leave_with_families(
    state: TeamState,
    key_worker_id: str,
    families: list[FamilyOnRecord],
    ends_covers: bool = False,
) -> list[DomainEvent]:
    """A key worker leaves and their families move, most urgent first (priority, then
    earliest referral): to whoever has most room, or, for a family not met yet when nobody
    has space, back to the waitlist. A family whose work has begun and for whom nobody has
    space stays with the leaver (who takes no new families) until a supervisor moves it."""
    events = leave(state, key_worker_id, ends_covers)
    state = apply_all(state, events)
    worker = state.key_workers.get(key_worker_id)
    if worker is None:
        return events
    known = {f.case_id: f for f in families}
    order = [known.get(c, FamilyOnRecord(case_id=c)) for c in worker.cases]
    order.sort(key=lambda f: (f.priority, f.referred_on or date.max, f.case_id))
    for family in order:
        taker = _with_space(state)
        moved: DomainEvent
        if taker is not None:
            moved = ev.TeamCaseReassigned(
                case_id=family.case_id,
                from_key_worker_id=key_worker_id,
                key_worker_id=taker.key_worker_id,
                reason=HandoverReason.KEY_WORKER_LEFT,
            )
        elif not family.started and family.referred_on is not None:
            waiting = _sorted_waitlist(
                [
                    *state.waitlist,
                    WaitingFamily(
                        case_id=family.case_id,
                        priority=family.priority,
                        referred_on=family.referred_on,
                    ),
                ]
            )
            moved = ev.TeamAllocationWithdrawn(
                case_id=family.case_id,
                from_key_worker_id=key_worker_id,
                priority=family.priority,
                referred_on=family.referred_on,
                position=next(i for i, f in enumerate(waiting, 1) if f.case_id == family.case_id),
            )
        else:
            continue
        events.append(moved)
        state = evolve(state, moved)
    # Families in follow-up hold no place: each to the active key worker with fewest.
    for case_id in sorted(c for c, w in state.following.items() if w == key_worker_id):
        active = [w for w in state.key_workers.values() if w.active]
        if not active:
            break
        taker = min(
            active, key=lambda w: (len(state.families_of(w.key_worker_id)), w.key_worker_id)
        )
        moved = ev.TeamCaseReassigned(
            case_id=case_id,
            from_key_worker_id=key_worker_id,
            key_worker_id=taker.key_worker_id,
            reason=HandoverReason.KEY_WORKER_LEFT,
        )
        events.append(moved)
        state = evolve(state, moved)
    return events


def reinstate(state: TeamState, case_id: str, key_worker_id: str) -> list[DomainEvent]:
    """A family put back on the waitlist (a leaver's) had met its key worker meanwhile: it
    is theirs again, off the waitlist or from whoever took it (whose place is back-filled)."""
    holder = state.holder_of(case_id)
    waiting = any(f.case_id == case_id for f in state.waitlist)
    if not waiting and (holder is None or holder.key_worker_id == key_worker_id):
        return []
    if key_worker_id not in state.key_workers:
        return []
    events: list[DomainEvent] = [
        ev.TeamCaseReinstated(case_id=case_id, key_worker_id=key_worker_id)
    ]
    return events + back_fill(apply_all(state, events))


def admit(
    state: TeamState,
    case_id: str,
    from_team_id: str,
    priority: int,
    referred_on: date,
    started: bool,
    reason: HandoverReason,
) -> list[DomainEvent]:
    """A family transferred in from another team: a key worker with space, or (if its
    work has not begun) the waitlist. Nothing when it is here already (a retry)."""
    if state.holder_of(case_id) or any(f.case_id == case_id for f in state.waitlist):
        return []
    if not any(w.active for w in state.key_workers.values()):
        raise TeamRefusal(
            "team_id", "team {team_id} has no key workers", "conflict", team_id=state.team_id
        )
    if started and _with_space(state) is None:
        raise TeamRefusal(
            "team_id",
            "no key worker in team {team_id} has space, and a family whose work has begun "
            "cannot wait",
            "conflict",
            team_id=state.team_id,
        )
    arrived: list[DomainEvent] = [
        ev.TeamCaseReceived(case_id=case_id, from_team_id=from_team_id, reason=reason)
    ]
    return arrived + request_allocation(state, case_id, priority, referred_on)


def admit_import(
    state: TeamState,
    case_id: str,
    phase: str,
    key_worker_id: str | None,
    priority: int,
    referred_on: date,
) -> list[DomainEvent]:
    """A family imported from another case system, where it stands there: on the waitlist
    (allocated at once if someone has space), with its key worker (even past their limit:
    it is so already), or followed in follow-up. Nothing when it is here already (a retry)."""
    require_known(state)
    if (
        state.holder_of(case_id)
        or any(f.case_id == case_id for f in state.waitlist)
        or case_id in state.following
    ):
        return []
    if phase == "waitlisted":
        waiting = _sorted_waitlist(
            [
                *state.waitlist,
                WaitingFamily(case_id=case_id, priority=priority, referred_on=referred_on),
            ]
        )
        position = next(i for i, f in enumerate(waiting, 1) if f.case_id == case_id)
        events: list[DomainEvent] = [
            ev.TeamCaseWaitlisted(
                case_id=case_id, priority=priority, referred_on=referred_on, position=position
            )
        ]
        return events + back_fill(apply_all(state, events))
    worker = state.key_workers.get(key_worker_id or "")
    if worker is None or not worker.active:
        raise TeamRefusal(
            "key_worker_id",
            "no key worker {key_worker_id} in team {team_id}",
            key_worker_id=key_worker_id,
            team_id=state.team_id,
        )
    if phase == "follow_up":
        return [
            ev.TeamCaseReleased(case_id=case_id, key_worker_id=worker.key_worker_id, following=True)
        ]
    return [ev.TeamCaseAllocated(case_id=case_id, key_worker_id=worker.key_worker_id)]


def admission_of(state: TeamState, case_id: str) -> tuple[str | None, int | None]:
    """Where a family stands in the team: its key worker, or its place on the waitlist."""
    holder = state.holder_of(case_id)
    if holder is not None:
        return holder.key_worker_id, None
    waiting = _sorted_waitlist(state.waitlist)
    return None, next((i for i, f in enumerate(waiting, 1) if f.case_id == case_id), None)


def set_cover(
    state: TeamState, key_worker_id: str, cover_key_worker_id: str, until: date, today: date
) -> list[DomainEvent]:
    """Someone covers an absent key worker's families until ``until`` (inclusive)."""
    if key_worker_id not in state.key_workers:
        raise TeamRefusal(
            "key_worker_id",
            "no key worker {key_worker_id} in team {team_id}",
            key_worker_id=key_worker_id,
            team_id=state.team_id,
        )
    cover = state.key_workers.get(cover_key_worker_id)
    if cover is None:
        raise TeamRefusal(
            "cover_key_worker_id",
            "no key worker {key_worker_id} in team {team_id}",
            key_worker_id=cover_key_worker_id,
            team_id=state.team_id,
        )
    if not cover.active:
        raise TeamRefusal(
            "cover_key_worker_id",
            "{key_worker_id} has left the team",
            "conflict",
            key_worker_id=cover_key_worker_id,
        )
    if cover_key_worker_id == key_worker_id:
        raise TeamRefusal("cover_key_worker_id", "a key worker cannot cover themselves")
    if until < today:
        raise TeamRefusal(  # the clock is against it now (409), as for other past dates
            "until",
            "{until} has passed (today is {today})",
            "conflict",
            until=until,
            today=today,
        )
    away = state.covers.get(cover_key_worker_id)
    if away is not None and away.until >= today:
        raise TeamRefusal(
            "cover_key_worker_id",
            "{key_worker_id} is away themselves (covered by {cover} until {until})",
            "conflict",
            key_worker_id=cover_key_worker_id,
            cover=away.cover_key_worker_id,
            until=away.until,
        )
    if until > today + timedelta(days=MAX_COVER_DAYS):
        raise TeamRefusal(
            "until", "a cover lasts at most {days} days; reassign instead", days=MAX_COVER_DAYS
        )
    current = state.covers.get(key_worker_id)
    if current == Cover(cover_key_worker_id=cover_key_worker_id, until=until):
        return []
    return [
        ev.TeamCoverArranged(
            key_worker_id=key_worker_id, cover_key_worker_id=cover_key_worker_id, until=until
        )
    ]


# A longer absence is a handover, not a cover.
MAX_COVER_DAYS = 183


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


# --- the "waitlisted too long" alert ---------------------------------------------------


def _waitlist_deadlines(state: TeamState, policy: ProgrammePolicy) -> list[tuple[datetime, str]]:
    if not state.alert_timers:
        return []
    limit = timedelta(days=policy.waitlist_max_days)
    return [
        (f.waitlisted_at + limit, f.case_id)
        for f in state.waitlist
        if f.waitlisted_at is not None and f.alert_id is None
    ]


def next_wakeup(state: TeamState, policy: ProgrammePolicy) -> datetime | None:
    return min((at for at, _ in _waitlist_deadlines(state, policy)), default=None)


def due_alerts(state: TeamState, policy: ProgrammePolicy, now: datetime) -> list[DomainEvent]:
    """One alert to the team's supervisors per family waiting longer than the policy allows."""
    events: list[DomainEvent] = []
    raised = state.alerts_raised
    severity = severity_of(policy, AlertRule.WAITLISTED_TOO_LONG)
    for at, case_id in sorted(_waitlist_deadlines(state, policy)):
        if at > now:
            continue
        raised += 1
        events.append(
            ev.AlertRaised(
                alert_id=f"a{raised}",
                rule=AlertRule.WAITLISTED_TOO_LONG,
                severity=severity,
                subject=case_id,
                to_supervisors_of_team=state.team_id,
                acknowledge_by=now + ack_window(policy, severity),
            )
        )
    return events


def resolved_alerts(state: TeamState, events: list[DomainEvent]) -> list[DomainEvent]:
    """A waiting family allocated (or gone) clears its alert."""
    out: list[DomainEvent] = []
    for event in events:
        if isinstance(event, ev.TeamCaseAllocated | ev.TeamCaseReleased | ev.TeamCaseReinstated):
            for alert_id, case_id in state.open_alerts.items():
                if case_id == event.case_id:
                    out.append(
                        ev.AlertResolved(
                            alert_id=alert_id, resolution=AlertResolution.CONDITION_CLEARED
                        )
                    )
    return out


def acknowledge(state: TeamState, alert_id: str) -> list[DomainEvent]:
    if alert_id not in state.open_alerts:
        raise TeamRefusal("alert_id", "no open alert {alert_id} in this team", alert_id=alert_id)
    if alert_id in state.acknowledged_alerts:
        raise TeamRefusal("alert_id", "alert {alert_id} is acknowledged already", alert_id=alert_id)
    return [ev.AlertAcknowledged(alert_id=alert_id)]


def apply_all(state: TeamState, events: list[DomainEvent], at: datetime | None = None) -> TeamState:
    for event in events:
        state = evolve(state, event, at)
    return state


def evolve(state: TeamState, event: DomainEvent, at: datetime | None = None) -> TeamState:
    s = fork(state)
    s.version += 1
    match event:
        case ev.TeamRegistered():
            s.name, s.area = event.team_name, event.area
        case ev.TeamPolicyAdopted():
            s.policy = event.policy
        case ev.TeamKeyWorkerJoined():
            worker = s.key_workers.get(event.key_worker_id)
            if worker is None:
                s.key_workers[event.key_worker_id] = KeyWorkerLoad(
                    key_worker_id=event.key_worker_id,
                    caseload_limit=event.caseload_limit,
                    follows_policy=event.from_policy,
                )
            else:
                worker.active, worker.caseload_limit = True, event.caseload_limit
                worker.follows_policy = event.from_policy
        case ev.TeamKeyWorkerLeft():
            s.key_workers[event.key_worker_id].active = False
        case ev.TeamCaseAllocated():
            s.key_workers[event.key_worker_id].cases.append(event.case_id)
            s.waitlist = [f for f in s.waitlist if f.case_id != event.case_id]
        case ev.TeamCaseReprioritised():
            for family in s.waitlist:
                if family.case_id == event.case_id:
                    family.priority = event.priority
        case ev.TeamCaseWaitlisted():
            _wait(s, event.case_id, event.priority, event.referred_on, at)
        case ev.AlertRaised():
            s.alerts_raised += 1
            if event.subject is not None:
                s.open_alerts[event.alert_id] = event.subject
            for family in s.waitlist:
                if family.case_id == event.subject:
                    family.alert_id = event.alert_id
        case ev.AlertAcknowledged():
            s.acknowledged_alerts.add(event.alert_id)
        case ev.AlertResolved():
            s.open_alerts.pop(event.alert_id, None)
            s.acknowledged_alerts.discard(event.alert_id)
        case ev.TeamCaseReassigned():
            if event.case_id in s.following:
                s.following[event.case_id] = event.key_worker_id
            else:
                _unhold(s, event.case_id)
                s.key_workers[event.key_worker_id].cases.append(event.case_id)
        case ev.TeamAllocationWithdrawn():
            _unhold(s, event.case_id)
            _wait(s, event.case_id, event.priority, event.referred_on, at)
        case ev.TeamCaseReinstated():
            s.waitlist = [f for f in s.waitlist if f.case_id != event.case_id]
            _unhold(s, event.case_id)
            s.key_workers[event.key_worker_id].cases.append(event.case_id)
        case ev.TeamCoverEnded():
            s.covers.pop(event.key_worker_id, None)
        case ev.TeamCoverArranged():
            s.covers[event.key_worker_id] = Cover(
                cover_key_worker_id=event.cover_key_worker_id, until=event.until
            )
        case ev.TeamCaseReleased():
            s.following.pop(event.case_id, None)
            if event.following and event.key_worker_id is not None:
                s.following[event.case_id] = event.key_worker_id
            _unhold(s, event.case_id)
            s.waitlist = [f for f in s.waitlist if f.case_id != event.case_id]
    return s


def _unhold(s: TeamState, case_id: str) -> None:
    """The family no longer holds a place with any key worker (changes ``s`` in place)."""
    for worker in s.key_workers.values():
        if case_id in worker.cases:
            worker.cases.remove(case_id)


def _wait(
    s: TeamState, case_id: str, priority: int, referred_on: date, at: datetime | None
) -> None:
    """The family joins the waitlist (changes ``s`` in place)."""
    s.waitlist.append(
        WaitingFamily(case_id=case_id, priority=priority, referred_on=referred_on, waitlisted_at=at)
    )
