"""On a real Temporal dev server, a refused update leaves the workflow history untouched."""

from __future__ import annotations

import pytest

from events.store import EventStore
from tests.temporal_harness import SUP, running_worker, start_dev_server
from workflows.client import CommandRefused

pytestmark = pytest.mark.e2e


async def test_refused_update_writes_no_history_on_the_dev_server(store: EventStore) -> None:
    env = await start_dev_server()
    try:
        async with running_worker(env, store) as h:
            await h.refer("c1")
            await h.do("c1", "accept", actor=SUP)
            await h.settle("c1", "waitlisted")  # the team has no key workers yet
            handle = h.client.get_workflow_handle("case-c1")
            before = len((await handle.fetch_history()).events)
            stream_before = len(await h.stream("c1"))
            with pytest.raises(
                CommandRefused, match="cannot accept a referral while the case is waitlisted"
            ):
                await h.do("c1", "accept", actor=SUP)
            assert len((await handle.fetch_history()).events) == before
            assert len(await h.stream("c1")) == stream_before
    finally:
        await env.shutdown()
