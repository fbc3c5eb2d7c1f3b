"""How the API answers a command the engine could not confirm."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from api.commands import run_command
from api.problems import ApiError


async def test_a_command_not_answered_in_time_is_503_not_confirmed() -> None:
    """No worker answered the update (none running, or a stop in progress): not a server
    error, and not a refusal: the command may yet be recorded, so the client is told to
    look before sending it again."""

    async def unanswered() -> int:
        raise WorkflowUpdateRPCTimeoutOrCancelledError()

    with pytest.raises(ApiError) as raised:
        await run_command(unanswered())
    assert raised.value.status_code == 503
    assert raised.value.field == "command"
    assert "not confirmed" in raised.value.rule and "look at the case" in raised.value.rule
    assert raised.value.headers == {"Retry-After": "30"}
