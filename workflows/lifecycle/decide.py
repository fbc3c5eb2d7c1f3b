"""Deciding: the events a command causes, by the module that owns the command."""

from __future__ import annotations

from datetime import datetime

from events.catalogue import DomainEvent
from workflows import commands as cmd
from workflows.lifecycle import (
    corrections,
    episode,
    follow_up,
    handover,
    intake,
    intensive,
    measures,
)
from workflows.lifecycle.state import CaseState, CommandRejected, Decider, Phase


def decide(state: CaseState, command: cmd.Command, now: datetime) -> list[DomainEvent]:
    """The events ``command`` causes in ``state`` at ``now``; raises ``CommandRejected``."""
    if state.phase is Phase.NEW:
        raise CommandRejected(
            "case_id", "no case {case_id} has been referred", case_id=state.case_id
        )
    if state.ended and isinstance(command, NOTICES):
        return []  # news that came after the family left (its release follows)
    if state.ended:
        raise CommandRejected("phase", "the episode has ended; refer the family again instead")
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise CommandRejected("command", "unknown command {name}", name=type(command).__name__)
    return handler(state, command, now)


# What the team and the alert deliveries tell a case (never refused: they are news).
NOTICES = (
    cmd.KeyWorkerAssigned,
    cmd.PlacedOnWaitlist,
    cmd.EscalateAlert,
    cmd.KeyWorkerReassigned,
    cmd.ReturnedToWaitlist,
    cmd.KeyWorkerCovered,
    cmd.KeyWorkerUncovered,
    cmd.TransferAdmitted,
)

HANDLERS: dict[type[cmd.Command], Decider] = {
    **intake.HANDLERS,
    **handover.HANDLERS,
    **corrections.HANDLERS,
    **intensive.HANDLERS,
    **follow_up.HANDLERS,
    **episode.HANDLERS,
    **measures.HANDLERS,
}
