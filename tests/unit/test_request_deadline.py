"""The API's request deadline: a request the engine does not answer in time is a 503, the
time a body takes to arrive does not count, and an answer begun is let finish."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api import guards
from api.guards import Deadline


def app_that(wait_before: float, wait_during: float = 0.0, read_body: bool = False) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if read_body:
            while (await receive()).get("more_body"):
                pass
        await asyncio.sleep(wait_before)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(wait_during)
        await send({"type": "http.response.body", "body": b"done"})

    return Deadline(app)


async def ask(app: Any, **request: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ifss") as http:
        return await http.post("/x", **request)


@pytest.fixture(autouse=True)
def short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guards, "REQUEST_SECONDS", 0.3)


async def test_a_request_the_engine_does_not_answer_in_time_is_a_503() -> None:
    late = await ask(app_that(wait_before=2))
    assert late.status_code == 503 and late.headers["retry-after"] == "30"
    assert late.json()["field"] == "request" and "may still be recorded" in late.json()["rule"]


async def test_an_answer_in_time_or_begun_in_time_is_untouched() -> None:
    assert (await ask(app_that(wait_before=0.05))).text == "done"
    slow_to_finish = await ask(app_that(wait_before=0.05, wait_during=0.6))
    assert slow_to_finish.status_code == 200 and slow_to_finish.text == "done"


async def test_the_time_a_body_takes_to_arrive_does_not_count() -> None:
    async def trickle() -> Any:
        for _ in range(3):
            await asyncio.sleep(0.25)
            yield b"x"

    slow_body = await ask(app_that(wait_before=0.1, read_body=True), content=trickle())
    assert slow_body.status_code == 200 and slow_body.text == "done"
