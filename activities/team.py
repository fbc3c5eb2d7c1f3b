"""Messages from a case to its team's workflow, started on first use (signal-with-start)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy


class TeamMessage(BaseModel):
    team_id: str
    kind: Literal["request_allocation", "release"]
    case_id: str
    priority: int = 3
    referred_on: date | None = None


class TeamActivities:
    """Needs a Temporal client; built once in the worker's composition root."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="message_team")
    async def message_team(self, message: TeamMessage) -> None:
        """Signal the team workflow, starting it if this team has none running yet."""
        from workflows.team_workflow import TeamInput, TeamWorkflow

        await self._client.start_workflow(
            TeamWorkflow.run,
            TeamInput(team_id=message.team_id),
            id=f"team-{message.team_id}",
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="case_message",
            start_signal_args=[message],
        )
