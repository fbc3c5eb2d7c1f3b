"""Who may do what, and when: the checks every decision starts with."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from events.vocabulary import (
    Role,
)
from workflows import commands as cmd
from workflows.lifecycle.state import CaseState, CommandRejected, Phase, day_of
from workflows.wording import one_of


def require_phase(state: CaseState, allowed: set[Phase], what: str) -> None:
    if state.phase not in allowed:
        raise CommandRejected(
            "phase",
            "cannot {what} while the case is {phase} (needs {phases})",
            what=what,
            phase=state.phase,
            phases=one_of(sorted(p.value for p in allowed)),
        )


def require_role(command: cmd.Command, roles: set[Role], what: str) -> None:
    if command.actor.role not in roles:
        raise CommandRejected(
            "actor.role",
            "only {roles} may {what}",
            "forbidden",
            roles=sorted(r.value for r in roles),
            what=what,
        )


def not_in_future(moment: datetime, now: datetime, field: str) -> None:
    if moment > now + timedelta(minutes=5):
        raise CommandRejected(field, "cannot be in the future")


def not_too_long_ago(state: CaseState, day: date, now: datetime, field: str) -> None:
    """An effective date recorded late, within the policy's limit (``backdate_days``);
    episodes begun before the UK calendar had no limit."""
    limit = state.policy.backdate_days
    if state.uk_calendar and day < day_of(state, now) - timedelta(days=limit):
        raise CommandRejected(
            field,
            "cannot be more than {limit} days before it is recorded (backdate_days)",
            limit=limit,
        )


# A date is "today" somewhere on Earth up to 14 hours ahead of UTC.
TODAY_SOMEWHERE = timedelta(hours=14)


DECIDERS = {Role.CASE_MANAGER, Role.SUPERVISOR}
PRACTITIONERS = {Role.CASE_MANAGER, Role.SUPERVISOR}
SUPERVISORS = {Role.SUPERVISOR}
RECORDERS = {Role.CASE_MANAGER, Role.SUPERVISOR, Role.BUSINESS_SUPPORT}
