"""Many commands for one case at once: this process sends a few at a time (Temporal turns
away more than 10 updates in flight per workflow, and the client's retries of those ran
up to the request's deadline), and a refusal for that reason says the case is busy, not
that Temporal is down."""

from __future__ import annotations

import asyncio

from temporalio.service import RPCError, RPCStatusCode

from api.commands import temporal_down
from workflows import client


async def test_a_case_takes_a_few_commands_at_a_time_from_one_process() -> None:
    inside = {"c1": 0, "c2": 0}
    most = dict(inside)
    done = []

    async def command(case_id: str, n: int) -> None:
        async with client._turn_for(case_id):
            inside[case_id] += 1
            most[case_id] = max(most[case_id], inside[case_id])
            await asyncio.sleep(0.01)
            inside[case_id] -= 1
        done.append((case_id, n))

    await asyncio.gather(*(command("c1", n) for n in range(30)), command("c2", 0))
    assert len(done) == 31
    assert most == {"c1": client.IN_FLIGHT_PER_CASE, "c2": 1}  # one case never holds up another
    assert client._case_gates == {}  # nothing kept once a case is quiet
    order = [n for case_id, n in done if case_id == "c1"]
    assert order == sorted(order)  # queued in the order they came


def test_temporal_busy_is_told_apart_from_temporal_down() -> None:
    busy = temporal_down(RPCError("in-flight updates", RPCStatusCode.RESOURCE_EXHAUSTED, b""))
    assert busy.status_code == 503 and busy.headers == {"Retry-After": "2"}
    assert "busy" in busy.rule and "nothing was recorded" in busy.rule
    down = temporal_down(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""))
    assert down.status_code == 503 and "not answering" in down.rule
