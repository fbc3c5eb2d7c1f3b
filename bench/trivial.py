"""The reference for bench/lifecycle.py: a workflow that runs one activity."""

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
