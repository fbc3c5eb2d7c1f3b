"""Every saved history replays on today's workflow code: a non-deterministic change fails CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.temporal import workflow_runner
from workflows.case_workflow import CaseWorkflow
from workflows.team_workflow import TeamWorkflow

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_histories_are_saved() -> None:
    names = {p.name for p in HISTORIES}
    assert {"v1-case-planned.json", "v1-team-cardiff.json"} <= names
    assert {"v2-case-planned.json", "v2-case-waiting.json"} <= names  # with alert markers
    assert {"v3-case-planned.json", "v3-team-cardiff.json"} <= names  # with alert timers
    assert {"v4-case-planned.json", "v4-team-cardiff.json"} <= names  # input bounds patch
    assert {"v5-case-planned.json", "v5-team-cardiff.json"} <= names  # teams' policies
    assert {"v6-case-planned.json", "v6-case-withdrawn.json"} <= names  # UK calendar, claims
    assert {"v7-case-planned.json", "v7-team-cardiff.json"} <= names  # follow-up rules
    assert {"v8-case-waiting.json", "v8-case-moving.json", "v8-team-east.json"} <= names  # handover
    assert {"v9-case-planned.json", "v9-team-cardiff.json"} <= names  # moves asked, corrections
    assert {"v10-case-imported.json", "v10-team-cardiff.json"} <= names  # registered, imported
    assert {"v11-case-planned.json", "v11-case-waiting.json"} <= names  # edge rules patch
    assert {"v12-case-planned.json", "v12-case-waiting.json"} <= names  # late dates patch
    assert {"v13-case-imported.json", "v13-team-cardiff.json"} <= names  # import days patch
    assert {"v14-case-planned.json", "v14-case-imported.json"} <= names  # all patches, one marker


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    workflow_id = path.stem.split("-", 1)[1]
    history = WorkflowHistory.from_json(workflow_id, json.loads(path.read_text(encoding="utf-8")))
    replayer = Replayer(
        workflows=[CaseWorkflow, TeamWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
