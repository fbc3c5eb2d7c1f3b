"""Handover: a family moves to another key worker or team, or is covered while its key
worker is away. Capacity is the team's to check (``workflows.team``); these rules decide
what the case records, and the open alerts follow the family to whoever now has it."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.vocabulary import HandoverReason
from workflows import commands as cmd
from workflows.lifecycle.guards import SUPERVISORS, require_phase, require_role
from workflows.lifecycle.state import (
    CaseState,
    CommandRejected,
    Decider,
    Phase,
    start_of,
    working_days_after,
)

# A family has a key worker in these phases (in follow-up, without holding a place).
HAS_KEY_WORKER = {Phase.ALLOCATED, Phase.INTENSIVE, Phase.FOLLOW_UP}
# A family moves between teams from these phases (once the first team has answered).
TRANSFERABLE = {Phase.WAITLISTED, Phase.ALLOCATED, Phase.INTENSIVE}


class Admission(BaseModel):
    """The receiving team's answer to a transfer: a key worker, or a place on its list."""

    model_config = ConfigDict(frozen=True)

    key_worker_id: str | None = None
    position: int | None = None


def redirected(state: CaseState, to: str | None) -> list[DomainEvent]:
    """Open alerts addressed to a key worker, now addressed to ``to``."""
    if to is None:
        return []
    return [
        ev.AlertRedirected(alert_id=alert.alert_id, to_key_worker=to)
        for alert in sorted(state.open_alerts.values(), key=lambda a: a.alert_id)
        if alert.to_key_worker is not None and alert.to_key_worker != to
    ]


def check_reassign(state: CaseState, c: cmd.ReassignKeyWorker) -> None:
    require_role(c, SUPERVISORS, "hand a family to another key worker")
    require_phase(state, HAS_KEY_WORKER, "hand a family to another key worker")
    if c.key_worker_id == state.key_worker_id:
        raise CommandRejected(
            "key_worker_id",
            "{key_worker_id} is the family's key worker already",
            key_worker_id=c.key_worker_id,
        )


def reassign(state: CaseState, c: cmd.ReassignKeyWorker) -> list[DomainEvent]:
    """The handover as the case records it (the team, when the family holds a place, has
    already given the new key worker the place)."""
    check_reassign(state, c)
    assert state.key_worker_id is not None
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    changed = ev.KeyWorkerChanged(
        previous_key_worker_id=state.key_worker_id,
        key_worker_id=c.key_worker_id,
        reason=c.reason,
        personal=personal,
    )
    return [changed, *redirected(state, c.key_worker_id)]


def _reassigned(state: CaseState, c: cmd.KeyWorkerReassigned, now: datetime) -> list[DomainEvent]:
    """The team moved the family (a leaver's families), or tells again of a supervisor's
    handover in case the case did not record it. Nothing when it is recorded already or
    the family has moved on."""
    if state.phase not in HAS_KEY_WORKER or state.key_worker_id != c.previous_key_worker_id:
        return []
    changed = ev.KeyWorkerChanged(
        previous_key_worker_id=c.previous_key_worker_id,
        key_worker_id=c.key_worker_id,
        reason=c.reason,
    )
    return [changed, *redirected(state, c.key_worker_id)]


def _returned(state: CaseState, c: cmd.ReturnedToWaitlist, now: datetime) -> list[DomainEvent]:
    """Back on the waitlist: only a family not met yet. The team asked the case's phase
    first; a family met since keeps its key worker (until a supervisor moves it) and the
    team is told to take it off its waitlist again."""
    if state.key_worker_id != c.previous_key_worker_id:
        return []
    if state.phase is Phase.INTENSIVE:  # met meanwhile: it stays; the team is told
        return [ev.AllocationRetained(key_worker_id=c.previous_key_worker_id)]
    if state.phase is not Phase.ALLOCATED:
        return []
    return [
        ev.AllocationWithdrawn(
            previous_key_worker_id=c.previous_key_worker_id,
            priority=c.priority,
            position=c.position,
        )
    ]


def check_transfer(state: CaseState, c: cmd.TransferFamily) -> None:
    require_role(c, SUPERVISORS, "move a family to another team")
    require_phase(state, TRANSFERABLE, "move a family to another team")
    if c.team_id == state.team_id:
        raise CommandRejected(
            "team_id", "the family is in team {team_id} already", team_id=c.team_id
        )


def transfer(
    state: CaseState, c: cmd.TransferFamily, admission: Admission, now: datetime
) -> list[DomainEvent]:
    """The transfer as the case records it, once the receiving team has admitted it."""
    check_transfer(state, c)
    personal = ev.NotesPersonal(notes=c.notes) if c.notes else None
    return _moved(state, c.team_id, admission, c.reason, personal, now)


def _moved(
    state: CaseState,
    team_id: str,
    admission: Admission,
    reason: HandoverReason,
    personal: ev.NotesPersonal | None,
    now: datetime,
) -> list[DomainEvent]:
    assert state.team_id is not None
    if admission.key_worker_id is None and state.phase is Phase.INTENSIVE:
        raise CommandRejected(
            "team_id",
            "team {team_id} waitlisted a family whose work has begun",
            "conflict",
            team_id=team_id,
        )
    meeting_due = None
    if admission.key_worker_id is not None and state.phase is not Phase.INTENSIVE:
        meeting_due = working_days_after(state, now, state.policy.first_meeting_working_days)
    moved = ev.FamilyTransferred(
        from_team_id=state.team_id,
        team_id=team_id,
        key_worker_id=admission.key_worker_id,
        position=admission.position,
        first_meeting_due_at=meeting_due,
        reason=reason,
        personal=personal,
    )
    return [moved, *redirected(state, admission.key_worker_id)]


def _admitted(state: CaseState, c: cmd.TransferAdmitted, now: datetime) -> list[DomainEvent]:
    """The receiving team's word that it admitted the family: recorded here only when the
    supervisor's transfer was not (the update's answer was lost), so nothing is stranded."""
    if state.team_id != c.from_team_id or state.phase not in TRANSFERABLE:
        return []
    if c.key_worker_id is None and state.phase is Phase.INTENSIVE:
        return []  # never admitted so: the team refuses to waitlist a family in its work
    admission = Admission(key_worker_id=c.key_worker_id, position=c.position)
    return _moved(state, c.team_id, admission, c.reason, None, now)


def _cover(state: CaseState, c: cmd.KeyWorkerCovered, now: datetime) -> list[DomainEvent]:
    """Another key worker covers until ``until``: alerts go to them until it ends."""
    if state.ended or state.key_worker_id != c.key_worker_id:
        return []
    if (state.cover_key_worker_id, state.cover_until) == (c.cover_key_worker_id, c.until):
        return []
    covered = ev.KeyWorkerCoverArranged(cover_key_worker_id=c.cover_key_worker_id, until=c.until)
    return [covered, *redirected(state, c.cover_key_worker_id)]


def _uncovered(state: CaseState, c: cmd.KeyWorkerUncovered, now: datetime) -> list[DomainEvent]:
    """The covering key worker left: the cover ends now and the alerts go back."""
    if state.cover_key_worker_id != c.cover_key_worker_id or state.key_worker_id != c.key_worker_id:
        return []
    back = state.model_copy(update={"cover_key_worker_id": None})
    ended = ev.KeyWorkerCoverEnded(cover_key_worker_id=c.cover_key_worker_id)
    return [ended, *redirected(back, state.key_worker_id)]


def cover_deadlines(state: CaseState) -> list[tuple[datetime, DomainEvent]]:
    """The end of a cover: the day after ``cover_until`` begins, alerts go back."""
    if state.cover_key_worker_id is None or state.cover_until is None or state.ended:
        return []
    at = start_of(state, state.cover_until + timedelta(days=1))
    back = state.model_copy(update={"cover_key_worker_id": None})
    ended = ev.KeyWorkerCoverEnded(cover_key_worker_id=state.cover_key_worker_id)
    return [(at, ended), *((at, e) for e in redirected(back, state.key_worker_id))]


# Commands whose case asks a team first (each its own update in the case workflow).
ASKS_A_TEAM = (cmd.ReassignKeyWorker, cmd.TransferFamily)

# The team's notices, decided here.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.KeyWorkerReassigned: _reassigned,
    cmd.ReturnedToWaitlist: _returned,
    cmd.KeyWorkerCovered: _cover,
    cmd.KeyWorkerUncovered: _uncovered,
    cmd.TransferAdmitted: _admitted,
}
