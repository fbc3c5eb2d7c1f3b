"""The alert inbox over HTTP: who sees which alerts, acknowledging, and the errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api_client import Api
from tests.temporal_harness import SUP

pytestmark = pytest.mark.integration


async def two_overdue_first_meetings(api: Api) -> None:
    h = api.h
    await h.add_key_worker("cardiff", "cm-jones", limit=1)
    await h.add_key_worker("cardiff", "cm-other", limit=1)
    for case_id in ("c1", "c2"):
        await h.refer(case_id)
        await h.do(case_id, "accept", actor=SUP)
    views = [await h.settle(c, "allocated") for c in ("c1", "c2")]
    assert [v.key_worker_id for v in views] == ["cm-jones", "cm-other"]
    due = max(v.first_meeting_due_at for v in views if v.first_meeting_due_at)
    await h.sleep(seconds=(due + timedelta(hours=1) - await h.now()).total_seconds())
    for case_id in ("c1", "c2"):
        assert "AlertRaised" in await h.types(case_id)
    await api.settle()


def refs(response: object) -> list[str]:
    return [a["alert_ref"] for a in response.json()]  # type: ignore[attr-defined]


async def test_inbox_visibility_follows_roles(api: Api) -> None:
    await two_overdue_first_meetings(api)
    assert refs(await api.get("cm-jones", "/alerts")) == ["case-c1:a1"]
    assert refs(await api.get("cm-other", "/alerts")) == ["case-c2:a1"]
    assert sorted(refs(await api.get("sup-evans", "/alerts"))) == ["case-c1:a1", "case-c2:a1"]
    assert refs(await api.get("sup-far", "/alerts")) == []  # another team
    assert sorted(refs(await api.get("au-khan", "/alerts"))) == ["case-c1:a1", "case-c2:a1"]
    refused = await api.get("bs-price", "/alerts")
    assert refused.status_code == 403 and "has no alert inbox" in refused.json()["detail"]
    assert (await api.get(None, "/alerts")).status_code == 401
    [alert] = (await api.get("cm-jones", "/alerts")).json()
    assert (alert["rule"], alert["severity"], alert["to_key_worker"], alert["team_id"]) == (
        "first_meeting_overdue",
        "high",
        "cm-jones",
        "cardiff",
    )
    assert alert["acknowledged_at"] is None and alert["deliveries"] == []


async def test_acknowledging_removes_an_alert_from_the_open_list(api: Api) -> None:
    await two_overdue_first_meetings(api)
    other = await api.post("cm-jones", "/alerts/case-c2:a1/acknowledge", {})
    assert other.status_code == 404  # not theirs: as if it did not exist
    assert "no alert case-c2:a1 in your inbox" in other.json()["detail"]
    assert (await api.post("cm-jones", "/alerts/case-c9:a1/acknowledge", {})).status_code == 404
    done = await api.post("cm-jones", "/alerts/case-c1:a1/acknowledge", {})
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_by"] == "cm-jones"
    await api.settle()
    assert refs(await api.get("cm-jones", "/alerts")) == []
    [closed] = (await api.get("cm-jones", "/alerts", all="true")).json()
    assert (closed["alert_ref"], closed["acknowledged_by"]) == ("case-c1:a1", "cm-jones")
    again = await api.post("cm-jones", "/alerts/case-c1:a1/acknowledge", {})
    assert again.status_code == 409 and "acknowledged already" in again.json()["detail"]
    # a supervisor acknowledges one of the team's; it escalates no more
    assert (await api.post("sup-evans", "/alerts/case-c2:a1/acknowledge", {})).status_code == 200
    await api.h.sleep(days=3)
    assert "AlertEscalated" not in await api.h.types("c2")
    assert "AlertEscalated" not in await api.h.types("c1")
    stream = await api.h.stream("c1")
    assert stream[-1].type == "AlertAcknowledged" and stream[-1].metadata.actor.id == "cm-jones"
