"""Deciding: the events a command causes, by the module that owns the command."""

from __future__ import annotations

from datetime import datetime

from events.catalogue import DomainEvent
from workflows import commands as cmd
from workflows.lifecycle import episode, follow_up, intake, intensive
from workflows.lifecycle.state import CaseState, CommandRejected, Decider, Phase


def decide(state: CaseState, command: cmd.Command, now: datetime) -> list[DomainEvent]:
    """The events ``command`` causes in ``state`` at ``now``; raises ``CommandRejected``."""
    if state.phase is Phase.NEW:
        raise CommandRejected("case_id", f"no case {state.case_id} has been referred")
    if state.ended and isinstance(command, cmd.EscalateAlert):
        return []
    if state.ended and not isinstance(command, cmd.KeyWorkerAssigned | cmd.PlacedOnWaitlist):
        raise CommandRejected("phase", "the episode has ended; refer the family again instead")
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise CommandRejected("command", f"unknown command {type(command).__name__}")
    return handler(state, command, now)


HANDLERS: dict[type[cmd.Command], Decider] = {
    **intake.HANDLERS,
    **intensive.HANDLERS,
    **follow_up.HANDLERS,
    **episode.HANDLERS,
}
