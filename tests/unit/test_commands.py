"""The command registry, the workflows' updates and signals: one set of names."""

from __future__ import annotations

from temporalio import workflow

from workflows import commands as cmd
from workflows.case_workflow import CaseWorkflow
from workflows.delivery import ESCALATE_ALERT
from workflows.lifecycle.imports import ImportCase
from workflows.team_protocol import CASE_SIGNALS


def test_every_command_is_an_update_of_the_case_and_every_update_a_command() -> None:
    updates = workflow._Definition.from_class(CaseWorkflow).updates
    # The two that open a case (a referral, an import) start its workflow; the rest are
    # commands to a case that exists.
    assert set(updates) - {"refer", "import_case"} == set(cmd.COMMANDS)
    for name, model in cmd.COMMANDS.items():
        assert updates[name].arg_types == [model], name
    assert updates["refer"].arg_types == [cmd.ReferFamily]
    assert updates["import_case"].arg_types == [ImportCase]


def test_what_the_team_tells_a_case_arrives_on_the_case_s_own_signals() -> None:
    signals = workflow._Definition.from_class(CaseWorkflow).signals
    for notice, name in CASE_SIGNALS.items():
        assert signals[name].arg_types == [notice], name


def test_an_undelivered_alert_escalates_on_the_case_s_own_signal() -> None:
    # The delivery workflow signals by name (importing the case workflow into its sandbox
    # would copy it for every delivery): the name is the case's signal, for that notice.
    signals = workflow._Definition.from_class(CaseWorkflow).signals
    assert signals[ESCALATE_ALERT].arg_types == [cmd.EscalateAlert]


def test_each_case_command_is_decided_by_exactly_one_concept_module() -> None:
    from workflows.lifecycle import (
        corrections,
        episode,
        follow_up,
        handover,
        intake,
        intensive,
        measures,
    )
    from workflows.lifecycle.decide import HANDLERS

    modules = [
        intake.HANDLERS,
        intensive.HANDLERS,
        follow_up.HANDLERS,
        episode.HANDLERS,
        handover.HANDLERS,
        corrections.HANDLERS,
        measures.HANDLERS,
    ]
    assert sum(len(m) for m in modules) == len(HANDLERS)  # no command in two modules
    # The referral and the handovers ask another party first (the family index, a team),
    # so each has its own update; every other command is decided here.
    asking = {cmd.ReferFamily, *handover.ASKS_A_TEAM}
    assert set(cmd.COMMANDS.values()) - asking <= set(HANDLERS)
    assert not asking & set(HANDLERS)
