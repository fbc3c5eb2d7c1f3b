"""Messages from a case to its team's workflow, started on first use (signal-with-start)."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from workflows.team_io import TeamInput
from workflows.team_protocol import RequestAllocation, TeamMessage
from workflows.team_workflow import TeamWorkflow


class TeamActivities:
    """Needs a Temporal client; built once in the worker's composition root."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    @activity.defn(name="message_team")
    async def message_team(self, message: TeamMessage) -> None:
        """Signal the team workflow, starting it if this team has none running yet (on the
        policy of the case that asks for a place first)."""
        policy = message.policy if isinstance(message, RequestAllocation) else None
        await self._client.start_workflow(
            TeamWorkflow.run,
            TeamInput(team_id=message.team_id, policy=policy),
            id=f"team-{message.team_id}",
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=TeamWorkflow.case_message.__name__,
            start_signal_args=[message],
        )
