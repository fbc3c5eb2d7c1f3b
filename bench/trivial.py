"""References for bench/lifecycle.py.

``TrivialWorkflow`` runs one activity: the ratio's denominator. ``UpdateFloorWorkflow``
takes one update per command and does nothing else (or runs one activity, or one local
activity, per update: the shape of ``append_events``): what *any* design with one update per command costs, so the
figures show how much of an episode's cost is the shape and how much is this project's
code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop(n: int) -> int:
    return n


@workflow.defn
class TrivialWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(
            noop, n, start_to_close_timeout=timedelta(seconds=30)
        )


@workflow.defn
class UpdateFloorWorkflow:
    """Counts updates until told to finish. ``mode`` "activity" or "local": each update
    awaits one activity or local activity, as a command awaits its append; "none": nothing."""

    @workflow.init
    def __init__(self, mode: str) -> None:
        self._mode = mode
        self._count = 0
        self._finished = False

    @workflow.run
    async def run(self, mode: str) -> int:
        await workflow.wait_condition(lambda: self._finished)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._count

    @workflow.update
    async def step(self, n: int) -> int:
        if self._mode == "activity":
            await workflow.execute_activity(noop, n, start_to_close_timeout=timedelta(seconds=30))
        elif self._mode == "local":
            await workflow.execute_local_activity(
                noop, n, start_to_close_timeout=timedelta(seconds=30)
            )
        self._count += 1
        return self._count

    @workflow.signal
    def finish(self) -> None:
        self._finished = True
