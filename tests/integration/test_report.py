"""The evaluation report on real PostgreSQL: the outcomes read model, the report as of a
moment (a late-recorded review changes the live report, not the one as of before it), the
rebuild, and the API's rules for who reads which report."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, date, datetime

import asyncpg
import orjson
import pytest

from events import catalogue as ev
from events.calendar import local_day
from events.catalogue import DomainEvent
from events.errors import InvalidInput
from events.records import NewEvent
from events.store import EventStore
from projections.models import PROJECTIONS
from projections.runner import rebuild
from reports.evaluation import Period
from reports.render import digest, to_json
from reports.service import produce
from tests.api_client import Api
from tests.factories import referral, wrap
from tests.projector_harness import catch_up
from tests.temporal_harness import SUP, Harness, to_intensive
from tests.web_client import Web

YEAR = Period(date(2025, 4, 1), date(2026, 3, 31))


def on(day: date, event: DomainEvent) -> NewEvent:
    return wrap(event, at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC))


def episode(case_id: str) -> list[NewEvent]:
    """Referred in May 2025, closed at the end of June with one substance goal, the
    1-month review held in July with the goal maintained."""
    accepted = datetime(2025, 5, 2, 10, tzinfo=UTC)
    return [
        on(date(2025, 5, 1), referral(case_id, received_on=date(2025, 5, 1))),
        on(date(2025, 5, 2), ev.ReferralAccepted()),
        on(
            date(2025, 5, 2),
            ev.KeyWorkerAllocated(
                key_worker_id="cm-jones", team_id="cardiff", first_meeting_due_at=accepted
            ),
        ),
        on(
            date(2025, 5, 6),
            ev.FirstMeetingHeld(
                held_at=datetime(2025, 5, 6, 10, tzinfo=UTC), intensive_ends_on=date(2025, 6, 30)
            ),
        ),
        on(
            date(2025, 5, 8),
            ev.GoalAgreed(goal_id="g1", category="substance_use", baseline=2, target=8),
        ),
        on(
            date(2025, 6, 30),
            ev.IntensivePhaseClosed(
                kind="planned",
                closed_on=date(2025, 6, 30),
                closing_scores=[{"goal_id": "g1", "score": 7}],
            ),
        ),
        on(
            date(2025, 6, 30),
            ev.FollowUpReviewScheduled(review_id="m1", month=1, due_on=date(2025, 7, 30)),
        ),
        on(
            date(2025, 6, 30),
            ev.FollowUpReviewScheduled(review_id="m3", month=3, due_on=date(2025, 9, 30)),
        ),
        on(date(2025, 7, 30), review(1, "maintained", 7)),
    ]


def review(month: int, rating: str, score: int) -> ev.FollowUpReviewCompleted:
    return ev.FollowUpReviewCompleted(
        review_id=f"m{month}",
        month=month,
        ratings=[{"goal_id": "g1", "rating": rating, "score": score}],
        family_staying_together=True,
        substance_use_status="reduced",
    )


async def test_a_late_recorded_review_changes_the_live_report_but_not_the_one_as_of_before_it(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await store.append("case-r1", 0, episode("r1"))
    await store.append("case-r2", 0, episode("r2")[:4])  # met, nothing since
    await catch_up(pool, store)
    before = await produce(pool, store, YEAR)
    goals = before.figure("goals_maintained")
    assert (goals.numerator, goals.denominator) == (1, 1)
    assert before.figure("referrals").value == 2
    assert before.table("average_maintained_change").rows[2] == ["1 month", 1, 7.0]

    moment = await pool.fetchval("SELECT clock_timestamp()")
    await asyncio.sleep(0.01)
    # The 3-month review, held in September, recorded only now: the goal had slipped.
    late = on(date(2025, 9, 30), review(3, "regressed", 4))
    await store.append("case-r1", len(episode("r1")), [late])
    await catch_up(pool, store)

    live = await produce(pool, store, YEAR)
    assert (
        live.figure("goals_maintained").numerator,
        live.figure("goals_maintained").denominator,
    ) == (0, 1)
    assert live.table("average_maintained_change").rows[3] == ["3 months", 1, 4.0]

    then = await produce(pool, store, YEAR, as_of=moment)
    assert [f for f in then.figures] == [f for f in before.figures]
    assert then.tables == before.tables
    # As of now, the events give what the read model gives.
    now = await produce(pool, store, YEAR, as_of=await pool.fetchval("SELECT clock_timestamp()"))
    assert now.figures == live.figures and now.tables == live.tables
    # And the same report produced again as of that moment is the same, byte for byte.
    again = await produce(pool, store, YEAR, as_of=moment)
    assert to_json(again) == to_json(then)


async def test_the_outcomes_read_model_rebuilds_to_the_same_rows(
    pool: asyncpg.Pool, store: EventStore
) -> None:
    await store.append("case-r1", 0, episode("r1"))
    await catch_up(pool, store)
    rows = await pool.fetch("SELECT * FROM episode_outcomes ORDER BY case_id")
    await rebuild(pool, store, [p for p in PROJECTIONS if p.name == "episode_outcomes"])
    assert await pool.fetch("SELECT * FROM episode_outcomes ORDER BY case_id") == rows
    goal = orjson.loads(await pool.fetchval("SELECT facts FROM episode_outcomes"))["goals"]["g1"]
    assert goal["closing"] == 7 and goal["reviews"]["1"] == {"rating": "maintained", "score": 7}


async def test_who_reads_which_report_and_bad_periods(api: Api) -> None:
    await api.h.store.append("case-r1", 0, episode("r1"))
    await catch_up(api.pool, api.h.store)
    refused = await api.get("cm-jones", "/reports/evaluation")
    assert refused.status_code == 403
    assert refused.json()["field"] == "role"
    other = await api.get("sup-evans", "/reports/evaluation", team="newport")
    assert (other.status_code, other.json()["field"]) == (403, "team")

    own = await api.get("sup-evans", "/reports/evaluation", **{"from": "2025-04-01"})
    assert own.status_code == 200, own.text
    body = own.json()
    assert body["scope"]["team"] == "cardiff"  # a supervisor's report is their team's
    assert body["period"] == {"from": "2025-04-01", "to": "2026-03-31"}
    assert {f["key"]: f["value"] for f in body["figures"]}["goals_maintained"] == 1.0

    everyone = await api.get("au-khan", "/reports/evaluation", **{"from": "2025-04-01"})
    assert everyone.json()["scope"]["team"] is None

    csv = await api.get("ad-root", "/reports/evaluation", format="csv", to="2026-03-31")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "goals_maintained" in csv.text
    html = await api.get("ad-root", "/reports/evaluation", format="html", to="2026-03-31")
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    # Its one inline style is allowed by its hash; nothing else may load or run.
    style = html.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest_of_style = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = html.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest_of_style}'" in csp and "default-src 'none'" in csp

    for params, field in (
        ({"from": "2026-04-01", "to": "2026-03-31"}, "to"),
        ({"from": "1899-12-31"}, "from"),
        ({"from": "2025-04-01", "to": "2099-03-31"}, "to"),
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ({"as_of": "2030-01-01T00:00:00Z"}, "as_of"),
        ({"format": "pdf"}, "format"),
        ({"team": "a b"}, "team"),
    ):
        bad = await api.get("ad-root", "/reports/evaluation", **params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["field"] == field, (params, bad.json())


async def test_the_facts_the_report_needs_travel_through_the_case_workflow(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    await harness.add_key_worker("cardiff", "cm-jones")
    await to_intensive(harness, "w1")
    await harness.do("w1", "agree_family_plan", plan_id="p1", notes="Calm mornings")
    await harness.do(
        "w1", "record_measures", stage="referral",
        measures={"school_attendance": 55, "medical_appointments": 40, "substance_use": 3},
    )  # fmt: skip
    await harness.do(
        "w1", "record_feedback", feedback_id="f1", source="referrer", rating="satisfied"
    )
    await harness.do(
        "w1", "record_spot_purchase", purchase_id="b1", service="counselling",
        provider="acme", cost_pence=25000,
    )  # fmt: skip
    await harness.do(
        "w1", "record_joint_work", work_id="j1", service="housing", outcome="requested"
    )
    await harness.do("w1", "record_joint_work", work_id="j1", service="housing", outcome="obtained")
    await harness.do("w1", "close_intensive_phase", kind="planned", actor=SUP)
    await harness.do(
        "w1", "record_measures", stage="closure",
        measures={"school_attendance": 80, "medical_appointments": 40, "substance_use": 1},
    )  # fmt: skip
    await catch_up(pool, harness.store)
    today = local_day(await harness.now())
    report = await produce(pool, harness.store, Period.financial_year(today))
    assert report.figure("family_plans").value == 1
    assert report.figure("improved_school_attendance").numerator == 1
    assert report.figure("improved_medical_appointments").numerator == 0  # unchanged
    assert report.figure("improved_substance_use").numerator == 1
    assert report.figure("spot_purchase_cost").value == 250.0
    assert report.figure("joint_work_obtained").value == 1
    assert report.figure("feedback_referrer_satisfied").numerator == 1
    assert report.figure("completed").value == 1
    stored = [e.type for e in await harness.stream("w1")]
    assert {"FamilyPlanAgreed", "MeasuresRecorded", "FeedbackRecorded", "ServicePurchased",
            "JointWorkRecorded"} <= set(stored)  # fmt: skip
    plan = next(e for e in await harness.stream("w1") if e.type == "FamilyPlanAgreed")
    assert "Calm mornings" not in plan.data_json  # the notes are sealed with the family's key


async def test_the_monthly_snapshot_is_recorded_once_and_shows_what_changed_since(
    harness: Harness, store: EventStore, pool: asyncpg.Pool
) -> None:
    from reports.snapshots import SNAPSHOT_STREAM, record_snapshot, snapshots
    from workflows.report_workflow import ReportSnapshotWorkflow

    await store.append("case-r1", 0, episode("r1"))
    await catch_up(pool, store)
    digests = await harness.client.execute_workflow(
        ReportSnapshotWorkflow.run, id=f"snapshot-{uuid.uuid4()}", task_queue=harness.task_queue
    )
    assert len(digests) == 2  # one per programme: fip and ifss
    taken = await snapshots(store, "ifss")
    assert len(taken) == 1 and taken[0]["digest"] == digests[1]
    # The same report as of the same moment, again: the same digest, recorded once.
    moment = datetime.fromisoformat(taken[0]["as_of"])
    period = Period(
        date.fromisoformat(taken[0]["period_from"]), date.fromisoformat(taken[0]["period_to"])
    )
    again = await produce(pool, store, period, as_of=moment)
    assert digest(again) == taken[0]["digest"]
    assert not await record_snapshot(store, again, "ifss")
    assert len(await store.read_stream(SNAPSHOT_STREAM)) == 2

    # A report of last year, taken as of now, then a late review: what changed since.
    snap = await produce(pool, store, YEAR, as_of=await pool.fetchval("SELECT clock_timestamp()"))
    assert await record_snapshot(store, snap, "ifss")
    await store.append(
        "case-r1", len(episode("r1")), [on(date(2025, 9, 30), review(3, "regressed", 4))]
    )
    await catch_up(pool, store)
    latest = await produce(pool, store, YEAR, compare_snapshot=0)
    changes = {row[0]: row[1:] for row in latest.table("changes_since_snapshot").rows}
    assert changes["Goals exceeded or maintained"] == ["1", "0", "changed"]
    assert changes["Referrals received"] == ["1", "1", ""]
    with pytest.raises(InvalidInput, match="ask for that period") as other:
        await produce(pool, store, Period(date(2024, 4, 1), date(2025, 3, 31)), compare_snapshot=0)
    assert other.value.field == "compare_snapshot"
    with pytest.raises(InvalidInput, match="no snapshot 99"):
        await produce(pool, store, YEAR, compare_snapshot=99)


async def test_the_report_page_for_those_who_read_reports(web: Web) -> None:
    await web.h.store.append("case-r1", 0, episode("r1"))
    await catch_up(web.pool, web.h.store)
    for user in ("sup-evans", "au-khan", "cm-jones", "ad-root"):
        await web.sign_in(user)
    page = await web.get("sup-evans", "/app/report", year="2025")
    assert page.status_code == 200, page.text
    assert "Goals exceeded or maintained" in page.text and "<svg" in page.text
    assert 'href="/app/report"' in page.text  # in the menu
    assert '<select class="govuk-select" id="team"' not in page.text  # a supervisor: own team
    other = await web.get("sup-evans", "/app/report", year="2025", team="newport")
    assert other.status_code == 422 and "your own team" in other.text  # as the API: refused
    csv = await web.get("sup-evans", "/app/report.csv", year="2025")
    assert csv.headers["content-type"].startswith("text/csv") and "goals_maintained" in csv.text
    data = await web.get("au-khan", "/app/report.json", year="2025", team="cardiff")
    assert data.json()["scope"]["team"] == "cardiff"
    assert (await web.get("cm-jones", "/app/report")).status_code == 403
    for year in ("9" * 5000, "١٢٣٤", "2025\x00"):  # no crash: a choice to make again
        assert (await web.get("ad-root", "/app/report", year=year)).status_code == 422
    bad = await web.get("ad-root", "/app/report", as_of="2999-01-01", year="12")
    assert bad.status_code == 422
    assert 'href="#as_of"' in bad.text and 'href="#year"' in bad.text
    await web.get("sup-evans", "/app/language", to="cy", next="/app/report")
    welsh = await web.get("sup-evans", "/app/report", year="2025")
    assert welsh.status_code == 200 and '<html lang="cy"' in welsh.text


async def test_the_teams_consultations_and_training_are_recorded_and_counted(api: Api) -> None:
    consultation = {"consultation_id": "k1", "given_on": "2025-06-02", "agency": "school",
                    "practitioners": 6}  # fmt: skip
    training = {"training_id": "t1", "given_on": "2025-07-10", "sessions": 3, "attendees": 40,
                "model": "motivational_interviewing"}  # fmt: skip
    made = await api.post("sup-evans", "/teams/cardiff/consultations", consultation)
    assert made.status_code == 201, made.text
    assert (await api.post("sup-evans", "/teams/cardiff/training", training)).status_code == 201
    again = await api.post("sup-evans", "/teams/cardiff/consultations", consultation)
    assert (again.status_code, again.json()["field"]) == (409, "consultation_id")
    other = await api.post("sup-far", "/teams/cardiff/training", training)
    assert other.status_code == 403
    assert other.json()["rule"] == "only a supervisor of team cardiff may record its work"
    assert (await api.post("cm-jones", "/teams/cardiff/training", training)).status_code == 403
    for bad, field in (
        ({**consultation, "consultation_id": "k2", "practitioners": 0}, "practitioners"),
        ({**consultation, "consultation_id": "k2", "practitioners": True}, "practitioners"),
        ({**consultation, "consultation_id": "k2", "given_on": "2999-01-01"}, "given_on"),
        ({**consultation, "consultation_id": "k2", "given_on": "2100-01-01"}, "given_on"),
        ({**consultation, "consultation_id": "k\x00"}, "consultation_id"),
        ({**consultation, "consultation_id": "k2", "agency": "🙂"}, "agency"),
    ):
        refused = await api.post("sup-evans", "/teams/cardiff/consultations", bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in refused.json()["field"], (bad, refused.json())
    stored = await api.h.store.read_stream("team-work-cardiff")
    assert [e.type for e in stored] == ["ConsultationGiven", "TrainingGiven"]
    assert stored[0].metadata.actor.id == "sup-evans"
    body = (await api.get("sup-evans", "/reports/evaluation", **{"from": "2025-04-01"})).json()
    figures = {f["key"]: f["value"] for f in body["figures"]}
    assert (figures["consultations"], figures["practitioners_advised"]) == (1, 6)
    assert (figures["training_sessions"], figures["training_attendees"]) == (3, 40)
    far = (await api.get("sup-far", "/reports/evaluation", **{"from": "2025-04-01"})).json()
    assert {f["key"]: f["value"] for f in far["figures"]}["consultations"] == 0  # newport's
    before = (
        await api.get("au-khan", "/reports/evaluation", **{"from": "2025-04-01", "as_of": "2026-01-01T00:00:00Z"})
    ).json()  # fmt: skip
    assert {f["key"]: f["value"] for f in before["figures"]}["consultations"] == 0


async def test_the_teams_costs_are_recorded_by_an_admin_and_give_cost_per_case(api: Api) -> None:
    """Costs are facts like any other: recorded (an admin, with their source), never two for
    the same days of a team, corrected by superseding, and the report's cost figures come
    from them, live and as of a moment (before they were recorded: none)."""
    first = {"costs_id": "fy25-h1", "period_start": "2025-04-01", "period_end": "2025-09-30",
             "staff_pence": 20_000_000, "overheads_pence": 1_000_000,
             "source": "ledger 2025-26, cost centre 4411 🙂"}  # fmt: skip
    before = datetime.now(UTC)
    made = await api.post("ad-root", "/teams/cardiff/costs", first)
    assert made.status_code == 201, made.text
    again = await api.post("ad-root", "/teams/cardiff/costs", first)
    assert (again.status_code, again.json()["field"]) == (409, "costs_id")
    overlapping = {**first, "costs_id": "fy25-q2", "period_start": "2025-09-01"}
    refused = await api.post("ad-root", "/teams/cardiff/costs", overlapping)
    assert (refused.status_code, refused.json()["field"]) == (409, "period_start")
    assert "overlaps costs fy25-h1" in refused.json()["detail"]
    for who in ("sup-evans", "cm-jones", "au-khan"):
        assert (await api.post(who, "/teams/cardiff/costs", overlapping)).status_code == 403
    for bad, field in (
        ({**first, "costs_id": "x", "period_end": "2025-03-31"}, "period_end"),
        ({**first, "costs_id": "x", "staff_pence": -1}, "staff_pence"),
        ({**first, "costs_id": "x", "staff_pence": True}, "staff_pence"),
        ({**first, "costs_id": "x", "staff_pence": 1.5}, "staff_pence"),
        ({**first, "costs_id": "x", "source": "a\x00b"}, "source"),
        ({**first, "costs_id": "x", "period_start": "0001-01-01"}, "period_start"),
    ):
        wrong = await api.post("ad-root", "/teams/cardiff/costs", bad)
        assert wrong.status_code == 422, (bad, wrong.text)
        assert field in wrong.json()["field"], (bad, wrong.json())
    nobody = await api.post("ad-root", "/teams/nowhere/costs", {**first, "costs_id": "n1"})
    assert nobody.status_code == 404
    stale = {**first, "costs_id": "fy25-h1b", "supersedes": "nothing"}
    assert (await api.post("ad-root", "/teams/cardiff/costs", stale)).json()["field"] == (
        "supersedes"
    )
    corrected = {**first, "costs_id": "fy25-h1b", "staff_pence": 30_000_000,
                 "supersedes": "fy25-h1"}  # fmt: skip
    assert (await api.post("ad-root", "/teams/cardiff/costs", corrected)).status_code == 201
    stored = await api.h.store.read_stream("team-work-cardiff")
    assert [e.type for e in stored] == ["TeamCostsRecorded", "TeamCostsRecorded"]
    assert stored[0].metadata.actor.id == "ad-root"
    period = {"from": "2025-04-01", "to": "2026-03-31"}
    live = (await api.get("ad-root", "/reports/evaluation", **period)).json()
    total = next(f for f in live["figures"] if f["key"] == "total_cost")
    assert total["value"] == 310_000.0  # the correction counts, the record it replaced not
    assert total["note"] == "from 1 recorded cost record; costs cover only cardiff 183 of 365 days"
    then = (
        await api.get("ad-root", "/reports/evaluation", **period, as_of=before.isoformat())
    ).json()
    assert next(f for f in then["figures"] if f["key"] == "cost_per_case")["recorded"] is False
