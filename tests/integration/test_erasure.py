"""Erasure by destroying the family's keys, when its retention has ended: through the
read models and a rebuild, with the chain intact and the coded facts kept; refused (and
recorded) while the record must be kept; the daily review lists who is due."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime

import asyncpg
import pytest

from events.catalogue import EpisodeEnded, FamilyDataErased, FamilyErasureRefused, RetentionReviewed
from events.envelope import Actor
from events.keys import ERASED, open_personal
from events.policy import DEFAULT_POLICY
from events.retention import (
    KEEP_LOOKED_AFTER,
    KEEP_LOOKED_AFTER_NO_BIRTH,
    KEEP_OPEN,
    KEEP_YEARS,
    ErasureRefused,
    erase_family,
    families_due,
)
from events.store import EventStore
from events.vocabulary import EpisodeEndReason, Role
from projections.models import PROJECTIONS
from projections.queries import case_summary
from projections.runner import rebuild
from tests.api_client import Api
from tests.factories import T0, referral, wrap
from tests.projector_harness import catch_up
from tests.temporal_harness import Harness
from workflows.retention_workflow import RetentionReviewWorkflow

pytestmark = pytest.mark.integration

ADMIN = Actor(id="ad-root", role=Role.ADMIN)
LONG_AFTER = date(2040, 1, 1)


def child(status: str = "cin", born: str | None = "2016-04-01") -> dict[str, object]:
    personal: dict[str, object] = {"name": "Zephyrine Quillfeather"}
    if born:
        personal["date_of_birth"] = born
    return {"child_id": "ch1", "statutory_status": status, "personal": personal}


async def ended_case(
    store: EventStore, case_id: str, family: str, **referral_fields: object
) -> None:
    event = referral(
        case_id,
        family_id=family,
        personal={"family_name": "Quillfeather", "address": "7 Lôn Eirlys"},
        **referral_fields,
    )
    ended = EpisodeEnded(reason=EpisodeEndReason.REFERRAL_REJECTED)
    await store.append(f"case-{case_id}", 0, [wrap(event), wrap(ended, at=T0)])


async def test_erasure_after_retention_destroys_the_keys_and_keeps_the_coded_facts(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await ended_case(store, "c1", "fam-q", children=[child()])
    await catch_up(pool, store)
    # Before the end: refused with the rule and the date, and the request recorded.
    with pytest.raises(ErasureRefused, match=rf"must be kept until 2033-01-05 \({KEEP_YEARS}\)"):
        await erase_family(store, "fam-q", ADMIN, DEFAULT_POLICY, today=date(2030, 1, 1))
    [refused] = await store.read_stream("family-fam-q")
    assert isinstance(refused.event, FamilyErasureRefused)
    assert refused.event.keep_until == date(2033, 1, 5)
    assert await families_due(store, DEFAULT_POLICY, date(2033, 1, 4)) == []
    assert await families_due(store, DEFAULT_POLICY, date(2033, 1, 5)) == ["fam-q"]

    erased = await erase_family(store, "fam-q", ADMIN, DEFAULT_POLICY, today=LONG_AFTER)
    assert (erased.case_ids, erased.rule, erased.keys_destroyed) == (["c1"], KEEP_YEARS, 1)
    assert await pool.fetchval("SELECT count(*) FROM family_keys WHERE wrapped IS NOT NULL") == 0
    events = await store.read_stream("case-c1")
    [opened, _] = await open_personal(
        store.keyring, pool, [(e.stream_id, e.event_id, e.stored_data) for e in events]
    )
    assert opened["personal"] == ERASED and opened["children"][0]["personal"] == ERASED
    assert (await store.verify()).intact
    # Asking again answers with the erasure already made; nothing new is recorded.
    again = await erase_family(store, "fam-q", ADMIN, DEFAULT_POLICY, today=LONG_AFTER)
    assert again == erased
    assert [e.type for e in await store.read_stream("family-fam-q")] == [
        "FamilyErasureRefused",
        "FamilyDataErased",
    ]
    # Two erasures at once: one destroys the keys, the other answers with its erasure.
    await ended_case(store, "c9", "fam-two", children=[child()])
    both = await asyncio.gather(
        *(erase_family(store, "fam-two", ADMIN, DEFAULT_POLICY, today=LONG_AFTER) for _ in range(2))
    )
    assert both[0] == both[1]
    assert [e.type for e in await store.read_stream("family-fam-two")] == ["FamilyDataErased"]
    assert await families_due(store, DEFAULT_POLICY, LONG_AFTER) == []

    # Referred again after the erasure: a new key, kept, and erased anew when its time comes.
    await ended_case(store, "c2", "fam-q", children=[child()])
    assert await families_due(store, DEFAULT_POLICY, LONG_AFTER) == ["fam-q"]
    anew = await erase_family(store, "fam-q", ADMIN, DEFAULT_POLICY, today=LONG_AFTER)
    assert (anew.case_ids, anew.keys_destroyed) == (["c1", "c2"], 1)
    assert await families_due(store, DEFAULT_POLICY, LONG_AFTER) == []

    # The read models: "erased" in place of personal data, also after a rebuild; the coded
    # facts (the anonymous KPIs) are all still there.
    await catch_up(pool, store)
    summary = await case_summary(pool, "c1")
    assert summary is not None
    assert summary["personal_data"] == "erased" and summary["phase"] == "ended"
    assert summary["referring_agency"] == "childrens_services"
    await rebuild(pool, store, PROJECTIONS)
    again_summary = await case_summary(pool, "c1")
    assert again_summary is not None and again_summary["personal_data"] == "erased"


async def test_statute_keeps_open_and_looked_after_records(store: EventStore) -> None:
    await store.append("case-o1", 0, [wrap(referral("o1", family_id="fam-open"))])
    with pytest.raises(ErasureRefused, match=KEEP_OPEN):
        await erase_family(store, "fam-open", ADMIN, DEFAULT_POLICY, today=LONG_AFTER)
    # A looked-after child: kept to their 75th birthday.
    await ended_case(store, "l1", "fam-lac", children=[child("lac", "2016-04-01")])
    with pytest.raises(ErasureRefused, match=rf"until 2091-04-01 \({KEEP_LOOKED_AFTER}\)"):
        await erase_family(store, "fam-lac", ADMIN, DEFAULT_POLICY, today=LONG_AFTER)
    # Looked after, and no date of birth to count from: kept, without a date.
    await ended_case(store, "n1", "fam-nodob", children=[child("lac", None)])
    with pytest.raises(ErasureRefused, match=KEEP_LOOKED_AFTER_NO_BIRTH):
        await erase_family(store, "fam-nodob", ADMIN, DEFAULT_POLICY, today=date(2200, 1, 1))
    refusals = [
        (await store.read_stream(f"family-{f}"))[0].event
        for f in ("fam-open", "fam-lac", "fam-nodob")
    ]
    assert [r.rule for r in refusals] == [  # type: ignore[attr-defined]
        KEEP_OPEN,
        KEEP_LOOKED_AFTER,
        KEEP_LOOKED_AFTER_NO_BIRTH,
    ]


async def test_the_daily_review_lists_the_families_due(harness: Harness, store: EventStore) -> None:
    await ended_case(store, "c1", "fam-old")
    ended_at = await store.pool.fetchval("SELECT max(occurred_at) FROM events")
    assert ended_at.date() == T0.date()
    due = await harness.client.execute_workflow(
        RetentionReviewWorkflow.run, id=f"retention-{uuid.uuid4()}", task_queue=harness.task_queue
    )
    # Run today (2026), nobody is due yet; the review is recorded either way.
    assert due == []
    [reviewed] = await store.read_stream("retention")
    assert isinstance(reviewed.event, RetentionReviewed) and reviewed.event.due == []
    assert reviewed.event.as_of >= datetime(2026, 11, 1).date()


async def test_erasure_over_http_is_for_admins_and_names_the_rule(api: Api) -> None:
    await ended_case(api.h.store, "c7", "fam-7")
    assert (await api.post("sup-evans", "/families/fam-7/erasure", {})).status_code == 403
    refused = await api.post("ad-root", "/families/fam-7/erasure", {})
    assert refused.status_code == 409
    assert (
        refused.json()["detail"] == f"family_id: fam-7 must be kept until 2033-01-05 ({KEEP_YEARS})"
    )
    unknown = await api.post("ad-root", "/families/nobody/erasure", {})
    assert unknown.status_code == 404 and "no referral names family nobody" in unknown.text
    spelt = await api.post("ad-root", "/families/FAM-7/erasure", {})  # fam-7, spelt otherwise
    assert spelt.status_code == 404
    assert (
        spelt.json()["detail"]
        == "family_id: no referral names family FAM-7; it is on record as fam-7"
    )
    assert (await api.post("ad-root", "/families/fam-7/erasure", {"x": 1})).status_code == 422
    listed = await api.get("ad-root", "/retention/due")
    assert listed.status_code == 200 and listed.json()["families"] == []
    assert (await api.get("au-khan", "/retention/due")).status_code == 403
    [recorded] = await api.h.store.read_stream("family-fam-7")
    assert recorded.metadata.actor.id == "ad-root"
    assert not any(
        isinstance(e.event, FamilyDataErased) for e in await api.h.store.read_stream("family-fam-7")
    )
