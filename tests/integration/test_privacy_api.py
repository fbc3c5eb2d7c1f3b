"""Personal data read back through the API by those allowed, every read in the access log
with its purpose; list reads logged naming the cases they returned."""

from __future__ import annotations

import base64

import pytest
from structlog.testing import capture_logs
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest

from api.guards import BAD_TOKEN_MAX_DELAY_SECONDS, BAD_TOKENS_FREE, RefusalThrottle
from tests.api_client import REFERRAL, Api
from tests.integration.conftest import TEMPORAL_UI

pytestmark = pytest.mark.integration

NAMED = {
    **REFERRAL,
    "children": [
        {
            "child_id": "ch1",
            "statutory_status": "cin",
            "personal": {"name": "Zephyrine Quillfeather", "date_of_birth": "2016-04-01"},
        }
    ],
    "adults": [{"person_id": "a1", "relationship": "mother", "personal": {"name": "Ffion 🦊"}}],
    "personal": {"family_name": "Quillfeather", "address": "7 Lôn Eirlys, Aberdaron"},
}


async def referred(api: Api) -> None:
    await api.h.add_key_worker("cardiff", "cm-jones")
    created = await api.post("bs-price", "/referrals", {"case_id": "c9", "referral": NAMED})
    assert created.status_code == 201, created.text
    assert (await api.post("sup-evans", "/cases/c9/commands/accept", {})).status_code == 200
    await api.h.settle("c9", "allocated")
    await api.settle()


async def test_the_key_worker_and_supervisor_read_personal_data_and_it_is_logged(
    api: Api,
) -> None:
    await referred(api)
    mine = await api.get("cm-jones", "/cases/c9/personal", purpose="direct_work")
    assert mine.status_code == 200, mine.text
    [referral] = [e for e in mine.json()["entries"] if e["type"] == "ReferralReceived"]
    assert referral["personal"]["family_name"] == "Quillfeather"
    assert referral["personal"]["address"] == "7 Lôn Eirlys, Aberdaron"
    people = {p["id"]: p["personal"] for p in referral["people"]}
    assert people["ch1"] == {"name": "Zephyrine Quillfeather", "date_of_birth": "2016-04-01"}
    assert people["a1"]["name"] == "Ffion 🦊"
    assert (
        await api.get("sup-evans", "/cases/c9/personal", purpose="supervision")
    ).status_code == 200
    # The coded record never carries them.
    history = (await api.get("sup-evans", "/cases/c9/history")).text
    assert "Quillfeather" not in history and "Zephyrine" not in history

    # Who may not: another key worker (as if the case did not exist), business support,
    # an admin; an auditor without a reason. Each attempt is logged as refused.
    assert (
        await api.get("cm-other", "/cases/c9/personal", purpose="direct_work")
    ).status_code == 404
    refused = await api.get("bs-price", "/cases/c9/personal", purpose="direct_work")
    assert refused.status_code == 403
    assert "business_support sees the coded record only" in refused.json()["detail"]
    assert (await api.get("ad-root", "/cases/c9/personal", purpose="audit")).status_code == 403
    no_reason = await api.get("au-khan", "/cases/c9/personal", purpose="audit")
    assert no_reason.status_code == 403
    assert (
        no_reason.json()["detail"] == "reason: an auditor opens personal data only giving a reason"
    )
    for invisible in ("   ", "\u200e", "\u202e\u202c", "\u00ad\u3164"):  # shows nothing
        unseen = await api.get("au-khan", "/cases/c9/personal", purpose="audit", reason=invisible)
        assert unseen.status_code == 422 and unseen.json()["field"] == "reason", invisible
    audited = await api.get(
        "au-khan", "/cases/c9/personal", purpose="complaint", reason="complaint ref C-2026-17"
    )
    assert audited.status_code == 200

    await api.settle()
    log = [
        (e["actor_id"], e["purpose"], e["reason"], e["allowed"])
        for e in (await api.get("sup-evans", "/cases/c9/access-log")).json()
        if e["view"] == "personal"
    ]
    assert log == [
        ("cm-jones", "direct_work", None, True),
        ("sup-evans", "supervision", None, True),
        ("cm-other", "direct_work", None, False),
        ("bs-price", "direct_work", None, False),
        ("ad-root", "audit", None, False),
        ("au-khan", "audit", None, False),
        ("au-khan", "complaint", "complaint ref C-2026-17", True),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "purpose"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"purpose": "audit", "reason": "two\nlines"}, "reason"),
        ({"purpose": "audit", "reason": "x" * 201}, "reason"),
        ({"purpose": "audit", "reason": "   "}, "reason"),
        ({"purpose": "audit", "reason": "next\u0085line \u2028"}, "reason"),  # schemathesis
    ],
)
async def test_a_personal_read_without_a_sound_purpose_is_refused(
    api: Api, params: dict[str, str], field: str
) -> None:
    await referred(api)
    got = await api.get("au-khan", "/cases/c9/personal", **params)
    assert got.status_code == 422
    assert field in got.text


async def test_list_reads_are_logged_naming_the_cases_they_returned(api: Api) -> None:
    await referred(api)
    assert [c["case_id"] for c in (await api.get("cm-jones", "/cases")).json()] == ["c9"]
    assert (await api.get("sup-evans", "/reviews", due_before="2030-01-01")).status_code == 200
    assert (await api.get("sup-evans", "/waitlist")).status_code == 200
    assert (await api.get("cm-jones", "/calendar.ics")).status_code == 200
    assert (await api.get("cm-other", "/cases")).json() == []  # nothing returned: nothing named
    await api.settle()
    views = [
        (e["actor_id"], e["view"])
        for e in (await api.get("au-khan", "/cases/c9/access-log")).json()
        if e["view"].startswith("list:")
    ]
    assert views == [("cm-jones", "list:cases"), ("cm-jones", "list:calendar")]


async def test_temporal_holds_no_plaintext_and_the_codec_endpoint_opens_it_for_admins(
    api: Api,
) -> None:
    await referred(api)
    # The case's whole history, raw, as the Temporal server keeps it.
    history = await api.h.client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(
            namespace=api.h.client.namespace,
            execution=WorkflowExecution(workflow_id="case-c9"),
        )
    )
    raw = history.SerializeToString()
    for name in ("Quillfeather", "Zephyrine", "Aberdaron", "Ffion"):
        assert name.encode() not in raw
    assert b"binary/ifss-sealed" in raw

    # The first sealed payload (the workflow's start input), opened by an admin.
    sealed = next(
        e.workflow_execution_started_event_attributes.input.payloads[0]
        for e in history.history.events
        if e.HasField("workflow_execution_started_event_attributes")
    )
    body = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                "data": base64.b64encode(sealed.data).decode(),
            }
        ]
    }
    opened = await api.post("ad-root", "/codec/decode", body)
    assert opened.status_code == 200, opened.text
    [payload] = opened.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) != b"binary/ifss-sealed"
    with capture_logs() as logs:
        round_trip = await api.post("ad-root", "/codec/encode", opened.json())
    assert round_trip.status_code == 200
    assert [(e["event"], e["actor"]) for e in logs if e["event"].startswith("codec_")] == [
        ("codec_encoded", "ad-root")
    ]
    again = await api.post("ad-root", "/codec/decode", round_trip.json())
    assert again.json() == opened.json()
    # Nobody else; no one without a token; nonsense refused with the field named.
    assert (await api.post("cm-jones", "/codec/decode", body)).status_code == 403
    assert (await api.post("au-khan", "/codec/decode", body)).status_code == 403
    assert (await api.http.post("/codec/decode", json=body)).status_code == 401
    bad = await api.post("ad-root", "/codec/decode", {"payloads": [{"data": "%%%"}]})
    assert bad.status_code == 422 and "payloads[0]" in bad.text
    forged = {"payloads": [{**body["payloads"][0], "data": base64.b64encode(b"x" * 40).decode()}]}
    with capture_logs() as logs:
        tampered = await api.post("ad-root", "/codec/decode", forged)
    assert tampered.status_code == 422 and "altered" in tampered.text
    [refusal] = [e for e in logs if e["event"] == "codec_decode_refused"]
    assert (refusal["actor"], refusal["payloads"]) == ("ad-root", 1)
    # A payload in clear (from before the codec, or sent to Temporal by someone without
    # the key) is shown as it is: a workflow would not take it, a person may read it.
    clear = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'{"forged": true}').decode(),
            }
        ]
    }
    shown = await api.post("ad-root", "/codec/decode", clear)
    assert shown.status_code == 200 and shown.json() == clear


async def test_cors_admits_only_the_temporal_ui_and_answers_carry_security_headers(
    api: Api,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = await api.http.options("/codec/decode", headers={"Origin": TEMPORAL_UI, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == TEMPORAL_UI
    other = await api.http.options(
        "/codec/decode", headers={"Origin": "https://evil.example", **preflight}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    # Only the codec, and without credentials: a page read from the UI's origin with the
    # session cookie (same site) gets no leave to be read by the UI's scripts.
    assert "access-control-allow-credentials" not in ok.headers
    page = await api.http.get("/app/sign-in", headers={"Origin": TEMPORAL_UI})
    assert "access-control-allow-origin" not in page.headers
    listed = await api.http.get(
        "/cases", headers={"Origin": TEMPORAL_UI, "Authorization": "Bearer nonsense"}
    )
    assert "access-control-allow-origin" not in listed.headers

    answer = await api.get("cm-jones", "/cases")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "strict-transport-security" not in answer.headers  # plain HTTP here
    refused = await api.get(None, "/cases")
    assert refused.status_code == 401 and refused.headers["x-frame-options"] == "DENY"
    docs = await api.http.get("/docs")
    assert "content-security-policy" not in docs.headers  # its scripts come from a CDN


def test_bad_tokens_from_one_address_are_slowed_after_the_free_ones() -> None:
    throttle = RefusalThrottle()
    delays = [throttle.failed("203.0.113.9")[1] for _ in range(BAD_TOKENS_FREE + 6)]
    assert delays[:BAD_TOKENS_FREE] == [0.0] * BAD_TOKENS_FREE
    assert delays[BAD_TOKENS_FREE:] == sorted(delays[BAD_TOKENS_FREE:])
    assert 0 < delays[BAD_TOKENS_FREE] < delays[-1] <= BAD_TOKEN_MAX_DELAY_SECONDS
    assert throttle.failed("198.51.100.1") == (1, 0.0)  # another address is not slowed
