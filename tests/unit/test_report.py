"""The evaluation report's figures on small hand-made episodes: each definition, its
denominator and who it leaves out (pure: folds and counting, no database)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.errors import InvalidInput
from events.records import canonical_json
from projections.models.outcomes import fold_facts, new_facts
from reports.charts import bar_chart, line_chart
from reports.evaluation import (
    Costs,
    Period,
    Report,
    UnitCost,
    evaluate,
    wilson,
    working_days_between,
)
from reports.render import digest, to_csv, to_html, to_json
from reports.service import ReportCosts, _all_costs
from tests.factories import recorded, referral

YEAR = Period(date(2026, 4, 1), date(2027, 3, 31))
META = canonical_json({"actor": {"id": "cm-jones", "role": "case_manager"}})
ACCEPTED_AT = datetime(2026, 4, 6, 9, tzinfo=UTC)


def fold(case_id: str, *steps: tuple[DomainEvent, datetime]) -> dict[str, Any]:
    facts = new_facts(case_id)
    for version, (event, at) in enumerate(steps, 1):
        fold_facts(facts, recorded(event, version, at, f"case-{case_id}"))
    return facts


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def episode(
    case_id: str,
    *,
    goals: tuple[tuple[str, str, int, int], ...] = (("g1", "parenting", 3, 7),),
    reviews: tuple[Any, ...] = (),
    children: list[dict[str, Any]] | None = None,
    closure: str = "planned",
    extra: tuple[tuple[DomainEvent, datetime], ...] = (),
    **referral_fields: Any,
) -> dict[str, Any]:
    """A family referred, accepted, met, with ``goals`` (id, category, baseline, closing),
    closed on 2026-05-29, then ``reviews`` (each a month and an event)."""
    steps: list[tuple[DomainEvent, datetime]] = [
        (
            referral(
                case_id,
                received_on=date(2026, 4, 2),
                children=children or [{"child_id": "ch1", "statutory_status": "cin"}],
                **referral_fields,
            ),
            at(date(2026, 4, 2)),
        ),
        (ev.ReferralAccepted(), ACCEPTED_AT),
        (
            ev.KeyWorkerAllocated(
                key_worker_id="kw1", team_id="cardiff", first_meeting_due_at=ACCEPTED_AT
            ),
            ACCEPTED_AT,
        ),
        (
            ev.FirstMeetingHeld(held_at=at(date(2026, 4, 8)), intensive_ends_on=date(2026, 5, 29)),
            at(date(2026, 4, 8)),
        ),
    ]
    for goal_id, category, baseline, _ in goals:
        steps.append(
            (
                ev.GoalAgreed(goal_id=goal_id, category=category, baseline=baseline, target=8),
                at(date(2026, 4, 10)),
            )
        )
    steps.append(
        (
            ev.IntensivePhaseClosed(
                kind=closure,
                unplanned_reason="family_disengaged" if closure == "unplanned" else None,
                closed_on=date(2026, 5, 29),
                closing_scores=[{"goal_id": g, "score": s} for g, _, _, s in goals],
                onward_referrals=["health"],
            ),
            at(date(2026, 5, 29)),
        )
    )
    for month, due in ((1, date(2026, 6, 29)), (3, date(2026, 8, 28))):
        steps.append(
            (
                ev.FollowUpReviewScheduled(review_id=f"m{month}", month=month, due_on=due),
                at(date(2026, 5, 29)),
            )
        )
    steps += list(reviews) + list(extra)
    return fold(case_id, *steps)


def held(
    month: int,
    ratings: dict[str, tuple[str, int | None]],
    *,
    together: bool = True,
    substance: str = "reduced",
    on: date = date(2026, 7, 1),
    children: list[dict[str, str]] | None = None,
) -> tuple[DomainEvent, datetime]:
    return (
        ev.FollowUpReviewCompleted(
            review_id=f"m{month}",
            month=month,
            ratings=[
                {"goal_id": g, "rating": rating, "score": score}
                for g, (rating, score) in ratings.items()
            ],
            family_staying_together=together,
            substance_use_status=substance,
            children_statuses=children or [],
        ),
        at(on),
    )


def report(*episodes: dict[str, Any], **kw: Any) -> Report:
    kw.setdefault("as_of", datetime(2027, 4, 1, tzinfo=UTC))
    return evaluate(list(episodes), YEAR, **kw)


TWO_GOALS = (("g1", "parenting", 3, 7), ("g2", "substance_use", 2, 6))


def test_goals_are_counted_once_each_at_the_latest_review_held_in_the_period() -> None:
    family = episode(
        "c1",
        goals=TWO_GOALS,
        reviews=(
            held(1, {"g1": ("maintained", 7), "g2": ("regressed", 4)}, on=date(2026, 7, 1)),
            held(3, {"g1": ("exceeded", 8), "g2": ("maintained", 6)}, on=date(2026, 9, 1)),
        ),
    )
    r = report(family)
    goals = r.figure("goals_maintained")
    assert (goals.numerator, goals.denominator, goals.value) == (2, 2, 1.0)
    substance = r.figure("substance_goals_maintained")
    assert (substance.numerator, substance.denominator) == (1, 1)
    assert r.figure("families_achieving_goals").numerator == 1
    # Only the 1-month review falls in a period that ends in August: g2 had regressed then.
    august = evaluate([family], Period(date(2026, 4, 1), date(2026, 8, 31)))
    assert (
        august.figure("goals_maintained").numerator,
        august.figure("goals_maintained").denominator,
    ) == (1, 2)
    assert august.figure("substance_goals_maintained").numerator == 0
    assert august.figure("families_achieving_goals").value == 0


def test_a_family_lost_to_follow_up_is_counted_as_lost_not_dropped_and_not_in_the_denominator() -> (
    None
):
    kept = episode("c1", reviews=(held(1, {"g1": ("maintained", 7)}),))
    lost = episode(
        "c2",
        goals=TWO_GOALS,
        reviews=(
            (
                ev.FollowUpReviewNotHeld(review_id="m1", month=1, reason="could_not_contact"),
                at(date(2026, 7, 2)),
            ),
        ),
    )
    r = report(kept, lost)
    goals = r.figure("goals_maintained")
    assert (goals.numerator, goals.denominator) == (1, 1)
    assert goals.excluded == {"goals of families lost to follow-up: could_not_contact": 2}
    assert goals.note is not None and "33%" in goals.note  # 1 of 3 goals if the lost failed
    assert r.figure("lost_to_follow_up").value == 1
    together = r.figure("families_together")
    assert (together.numerator, together.denominator) == (1, 1)
    assert together.note is not None and "50%" in together.note


def test_a_review_past_due_and_never_recorded_is_a_family_lost_to_follow_up() -> None:
    silent = episode("c1")  # reviews scheduled for June and August, nothing recorded
    r = report(silent)
    assert r.figure("lost_to_follow_up").excluded == {"review not recorded": 1}
    assert r.figure("goals_maintained").denominator == 0
    assert r.figure("goals_maintained").value is None
    # Before the review fell due it is not lost: only a due date already past counts.
    early = evaluate([silent], YEAR, as_of=datetime(2026, 6, 1, tzinfo=UTC))
    assert early.figure("lost_to_follow_up").value == 0


def test_a_family_with_no_goals_is_reviewed_on_what_it_has() -> None:
    no_goals = episode(
        "c1", goals=(), reviews=(held(1, {}, together=False, substance="abstinent"),)
    )
    r = report(no_goals)
    assert r.figure("goals_maintained").denominator == 0
    assert (r.figure("families_together").numerator, r.figure("families_together").denominator) == (
        0,
        1,
    )
    achieving = r.figure("families_achieving_goals")
    assert achieving.denominator == 0
    assert achieving.excluded == {"families with no goals to rate": 1}
    assert r.figure("substance_use_abstinent").numerator == 1


def test_a_review_not_held_for_want_of_goals_is_not_a_loss_of_contact() -> None:
    not_held = episode(
        "c1",
        goals=(),
        reviews=(
            (
                ev.FollowUpReviewNotHeld(review_id="m1", month=1, reason="no_goals_to_review"),
                at(date(2026, 7, 1)),
            ),
        ),
    )
    r = evaluate([not_held], YEAR, as_of=datetime(2026, 7, 2, tzinfo=UTC))
    assert r.figure("lost_to_follow_up").excluded == {"no_goals_to_review": 1}


def test_a_child_who_became_looked_after_counts_from_the_effective_date() -> None:
    family = episode(
        "c1",
        children=[
            {"child_id": "a", "statutory_status": "cpr"},
            {"child_id": "b", "statutory_status": "cpr"},
            {"child_id": "c", "statutory_status": "cin"},
        ],
        extra=(
            (
                ev.ChildStatusChanged(
                    child_id="a",
                    previous_status="cpr",
                    status="lac",
                    effective_on=date(2026, 6, 1),
                ),
                at(date(2026, 6, 3)),
            ),
            (
                ev.ChildStatusChanged(
                    child_id="b", previous_status="cpr", status="cin", effective_on=date(2026, 6, 1)
                ),
                at(date(2026, 6, 3)),
            ),
        ),
    )
    r = report(family)
    assert r.figure("became_lac").value == 1
    removed = r.figure("cpr_removed")
    assert (removed.numerator, removed.denominator) == (1, 2)
    not_lac = r.figure("cpr_not_lac")
    assert (not_lac.numerator, not_lac.denominator) == (1, 2)
    cin = r.figure("cin_not_escalated")
    assert (cin.numerator, cin.denominator) == (1, 1)
    assert family["children"]["a"]["history"] == [
        ["cpr", "2026-04-02", "referral"],
        ["lac", "2026-06-01", "change"],
    ]
    # A period that ended before the change took effect sees the child still on the register.
    may = evaluate([family], Period(date(2026, 4, 1), date(2026, 5, 31)))
    assert may.figure("became_lac").value == 0


def test_a_correction_supersedes_what_the_review_recorded() -> None:
    family = episode(
        "c1",
        reviews=(held(1, {"g1": ("maintained", 7)}, together=False),),
        extra=(
            (
                ev.EntryCorrected(
                    corrects_version=9,  # the review: referral .. closure, 2 schedules, review
                    corrects_type="FollowUpReviewCompleted",
                    changes=[{"field": "family_staying_together", "value": True}],
                    reason="typing_error",
                ),
                at(date(2026, 7, 3)),
            ),
        ),
    )
    assert report(family).figure("families_together").numerator == 1


def test_intake_figures_and_the_time_to_first_meeting_skip_a_bank_holiday() -> None:
    # Accepted Thursday 2026-04-02; Good Friday and Easter Monday are bank holidays.
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 2)) == 0
    family = episode("c1", referring_agency="police", previous_case_id="c0")
    r = report(
        family,
        fold(
            "c2",
            (referral("c2", received_on=date(2026, 5, 1)), at(date(2026, 5, 1))),
            (ev.ReferralRejected(reason="service_full"), at(date(2026, 5, 2))),
        ),
        fold("c3", (referral("c3", received_on=date(2026, 3, 30)), at(date(2026, 3, 30)))),
    )
    assert r.figure("referrals").value == 2  # c3 was referred in the year before
    assert r.figure("accepted").value == 1
    assert r.figure("turned_away_full").value == 1
    assert r.figure("re_referrals").value == 1
    assert r.figure("completed").value == 1 and r.figure("unplanned_exits").value == 0
    assert r.figure("onward_referrals").value == 1
    # Accepted on Easter Monday 2026-04-06 (a bank holiday), met on Wednesday: 2 working
    # days (Tuesday, Wednesday), within the target.
    assert r.figure("first_meeting_median_days").value == 2
    assert r.figure("first_meeting_within_target").value == 1.0
    assert r.table("referrals_by_agency").rows == [["childrens_services", 1], ["police", 1]]
    assert ["service_full", 1] in r.table("rejection_reasons").rows


def test_average_maintained_change_uses_every_stage_of_the_cohorts_trajectories() -> None:
    family = episode(
        "c1",
        goals=TWO_GOALS,
        reviews=(held(1, {"g1": ("maintained", 7), "g2": ("maintained", None)}),),
    )
    rows = {row[0]: row[1:] for row in report(family).table("average_maintained_change").rows}
    assert rows["Goals set"] == [2, 2.5]
    assert rows["Closure"] == [2, 6.5]
    assert rows["1 month"] == [1, 7.0]  # g2 was rated without a score
    assert rows["12 months"] == [0, None]


def test_the_filters_choose_by_team_area_and_agency() -> None:
    a = episode("c1")
    b = episode("c2", area="vale", team_id="vale", referring_agency="police")
    assert report(a, b, area="vale").episodes == 1
    assert report(a, b, team="vale").episodes == 1
    assert report(a, b, agency="police").episodes == 1
    assert report(a, b).table("by_area").rows == [
        ["cardiff", 1, 1, 1, "0/0"],
        ["vale", 1, 1, 1, "0/0"],
    ]


def test_cost_per_case_prorates_costs_across_the_periods_edge() -> None:
    closed = [episode(f"c{i}") for i in range(4)] + [episode("c9", closure="unplanned")]
    costs = [Costs("cardiff", date(2026, 4, 1), date(2027, 3, 31), 100_000, 40_000)]
    r = report(*closed, costs=costs)
    assert r.figure("total_cost").value == 140_000
    assert r.figure("cost_per_case").value == 28_000
    assert r.figure("cost_per_completion").value == 35_000
    half = Costs("cardiff", date(2026, 10, 1), date(2027, 9, 30), 365_000, 0)
    assert half.within(YEAR) == pytest.approx(365_000 * 182 / 365)
    assert report(*closed).figure("cost_per_case").recorded is False
    assert r.figure("total_cost").note == "from 0 recorded cost records and 1 line of a costs file"
    assert report(*closed, costs=[half]).figure("total_cost").note == (
        "from 0 recorded cost records and 1 line of a costs file; "
        "costs cover only cardiff 182 of 365 days"
    )


def test_a_costs_file_line_for_days_already_recorded_is_refused_as_counted_twice() -> None:
    recorded = ev.TeamCostsRecorded(
        costs_id="fy26",
        period_start=date(2026, 4, 1),
        period_end=date(2027, 3, 31),
        staff_pence=10_000_000,
        source="ledger",
    )
    other_team = Costs("newport", date(2026, 4, 1), date(2027, 3, 31), 5.0, 0.0)
    same_days = Costs("cardiff", date(2027, 3, 31), date(2027, 4, 30), 5.0, 0.0)
    kept = _all_costs([("cardiff", recorded)], ReportCosts(teams=(other_team,)))
    assert [(c.team_id, c.staff, c.recorded) for c in kept] == [
        ("cardiff", 100_000.0, True),
        ("newport", 5.0, False),
    ]
    with pytest.raises(InvalidInput) as refused:
        _all_costs([("cardiff", recorded)], ReportCosts(teams=(other_team, same_days)))
    assert refused.value.field == "costs[1]"
    assert "2026-04-01 to 2027-03-31 are recorded already" in refused.value.rule


def test_wilson_interval_and_the_financial_year() -> None:
    low, high = wilson(81, 100)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.7222, 0.8749)
    assert wilson(0, 0) is None
    assert wilson(0, 5)[0] == 0.0  # type: ignore[index]
    assert Period.financial_year(date(2027, 3, 31)) == Period(date(2026, 4, 1), date(2027, 3, 31))
    assert Period.financial_year(date(2026, 4, 1)) == Period(date(2026, 4, 1), date(2027, 3, 31))
    with pytest.raises(ValueError, match="ends before it starts"):
        Period(date(2026, 4, 2), date(2026, 4, 1))


def test_items_the_engine_does_not_record_say_so_rather_than_showing_zero() -> None:
    missing = [f for f in report().figures if not f.recorded]
    assert {f.key for f in missing} == {"cost_per_case"}  # no team costs given
    assert all(f.value is None and f.definition.startswith("Not recorded") for f in missing)


def test_children_by_age_band_and_families_by_language_count_what_was_not_asked() -> None:
    """The coded profile: each child's band (a child joining later counts too), each
    family's language; a family whose language was not asked is left out of the Welsh
    figure's denominator and named as left out, never counted as English."""
    welsh = episode(
        "c1",
        language_preference="welsh",
        children=[
            {"child_id": "ch1", "age_band": "5_to_9"},
            {"child_id": "ch2", "expected_on": "2026-09-01", "age_band": "unborn"},
        ],
        extra=(
            (
                ev.ChildJoined(child_id="ch3", age_band="16_plus"),
                at(date(2026, 5, 1)),
            ),
        ),
    )
    both = episode("c2", language_preference="bilingual", children=[{"child_id": "ch1"}])
    english = episode("c3", language_preference="english")
    unasked = episode("c4")
    r = report(welsh, both, english, unasked)
    language = r.figure("welsh_language")
    assert (language.numerator, language.denominator) == (2, 3)
    assert language.excluded == {"language not recorded": 1}
    assert language.interval is not None
    assert r.table("families_by_language").rows == [
        ["welsh", 1],
        ["english", 1],
        ["bilingual", 1],
        ["not recorded", 1],
    ]
    assert r.table("children_by_age_band").rows == [
        ["unborn", 1],
        ["5_to_9", 1],
        ["16_plus", 1],
        ["not recorded", 3],
    ]
    banded = r.figure("children_with_age_band")
    assert (banded.value, banded.note) == (3, "3 not recorded")


def test_the_report_renders_as_html_csv_and_json_with_every_figure() -> None:
    family = episode(
        "c1",
        referring_agency="police",
        reviews=(held(1, {"g1": ("maintained", 7)}),),
    )
    r = report(family)
    page = to_html(r)
    for f in r.figures:
        assert f.label.replace("'", "&#39;") in page
    assert page.count("<svg") == 4 and '<title id="average_maintained_change-title">' in page
    assert "Goals set: 3.0; Closure: 7.0; 1 month: 7.0" in page  # the chart's description
    rows = list(csv.reader(io.StringIO(to_csv(r))))
    assert ["figure", "label", "value"] == rows[7][:3]
    assert any(
        row[:3] == ["goals_maintained", "Goals exceeded or maintained", "1.0"] for row in rows
    )
    data = orjson.loads(to_json(r))
    assert data["period"] == {"from": "2026-04-01", "to": "2027-03-31"}
    assert {f["key"] for f in data["figures"]} == {f.key for f in r.figures}
    assert digest(r) == digest(report(family))


def test_what_a_reader_typed_cannot_become_markup_or_a_formula() -> None:
    # Codes cannot hold either (the catalogue's pattern); the report escapes them anyway.
    family = episode("c1")
    family.update(area='=HYPERLINK("x")', team_id="<script>x</script>")
    r = report(family)
    page = to_html(r)
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert any(row and row[0] == '\'=HYPERLINK("x")' for row in csv.reader(io.StringIO(to_csv(r))))
    svg = bar_chart(r.table("by_team"))
    assert "<script>" not in svg
    assert "<polyline" in line_chart(r.table("average_maintained_change"))


def test_docs_reports_md_is_current() -> None:
    from pathlib import Path

    from reports import docs

    root = Path(__file__).resolve().parents[2] / "docs"
    assert (root / "reports.md").read_text(encoding="utf-8") == docs.render(), (
        "docs/reports.md is stale: run `ifss docs reports`"
    )
    assert (root / docs.CHART).read_text(encoding="utf-8") == docs.sample_report_chart()


def measures(
    stage: str, on: date, month: int | None = None, **values: int
) -> tuple[DomainEvent, datetime]:
    return (
        ev.MeasuresRecorded(
            stage=stage,
            month=month,
            measured_on=on,
            measures=[{"code": k, "value": v} for k, v in values.items()],
        ),
        at(on),
    )


def test_measures_improved_against_referral_each_way_better() -> None:
    better = episode(
        "c1",
        extra=(
            measures("referral", date(2026, 4, 2), school_attendance=60, substance_use=3),
            measures("closure", date(2026, 6, 1), school_attendance=85, substance_use=1),
        ),
    )
    worse = episode(
        "c2",
        extra=(
            measures("referral", date(2026, 4, 2), school_attendance=90, substance_use=1),
            measures("closure", date(2026, 6, 1), school_attendance=80, substance_use=1),
        ),
    )
    no_baseline = episode(
        "c3", extra=(measures("closure", date(2026, 6, 1), school_attendance=70),)
    )
    at_review = episode(
        "c4",
        reviews=(held(1, {"g1": ("maintained", 7)}),),
        extra=(
            measures("referral", date(2026, 4, 2), medical_appointments=40),
            measures("review", date(2026, 7, 1), month=1, medical_appointments=75),
        ),
    )
    r = report(better, worse, no_baseline, at_review)
    school = r.figure("improved_school_attendance")
    assert (school.numerator, school.denominator) == (1, 2)
    assert school.excluded == {"measured later but not at referral": 1}
    substance = r.figure("improved_substance_use")  # lower is better; unchanged is not
    assert (substance.numerator, substance.denominator) == (1, 2)
    medical = r.figure("improved_medical_appointments")
    assert (medical.numerator, medical.denominator) == (1, 1)
    rows = {row[0]: row[1:] for row in r.table("measures_before_after").rows}
    assert rows["School attendance"] == [2, 75.0, 82.5]


def test_plans_feedback_spot_purchases_and_joint_work_are_counted_in_their_period() -> None:
    family = episode(
        "c1",
        extra=(
            (ev.FamilyPlanAgreed(plan_id="p1", agreed_on=date(2026, 4, 9)), at(date(2026, 4, 9))),
            (ev.FamilyPlanAgreed(plan_id="p2", agreed_on=date(2026, 5, 9)), at(date(2026, 5, 9))),
            (ev.FeedbackRecorded(feedback_id="f1", source="family", rating="very_satisfied"), at(date(2026, 6, 1))),
            (ev.FeedbackRecorded(feedback_id="f2", source="family", rating="dissatisfied"), at(date(2026, 6, 2))),
            (ev.FeedbackRecorded(feedback_id="f3", source="referrer", rating="satisfied"), at(date(2026, 6, 2))),
            (ev.ServicePurchased(purchase_id="b1", service="counselling", provider="acme", cost_pence=12550), at(date(2026, 5, 1))),
            (ev.ServicePurchased(purchase_id="b2", service="childcare", provider="acme", cost_pence=4000), at(date(2025, 5, 1))),
            (ev.JointWorkRecorded(work_id="j1", service="housing", outcome="requested"), at(date(2026, 4, 20))),
            (ev.JointWorkRecorded(work_id="j1", service="housing", outcome="obtained"), at(date(2026, 5, 20))),
        ),
    )  # fmt: skip
    r = report(family)
    assert r.figure("family_plans").value == 2
    assert r.figure("spot_purchases").value == 1  # the other was bought the year before
    assert r.figure("spot_purchase_cost").value == 125.5
    assert (r.figure("joint_work_requested").value, r.figure("joint_work_obtained").value) == (1, 1)
    assert r.figure("joint_work_refused").value == 0
    families = r.figure("feedback_family_satisfied")
    assert (families.numerator, families.denominator) == (1, 2)
    assert r.table("feedback").rows[1] == ["referrer", 0, 1, 0, 0, 0]


def test_a_fip_report_counts_its_own_families_measures_and_costs_avoided() -> None:
    fip = episode(
        "c1",
        programme="fip",
        referral_grounds=["antisocial_behaviour"],
        extra=(
            measures("referral", date(2026, 4, 2), antisocial_behaviour=4, eviction_threat=1),
            measures("closure", date(2026, 6, 1), antisocial_behaviour=0, eviction_threat=1),
        ),
    )
    ifss = episode("c2")
    assert report(fip, ifss).episodes == 1  # the IFSS report: its own families only
    r = report(fip, ifss, programme="fip")
    assert r.episodes == 1 and r.title.startswith("Family Intervention Project")
    assert r.figure("improved_antisocial_behaviour").value == 1.0
    assert r.figure("improved_eviction_threat").value == 0.0
    avoided = r.figure("avoided_antisocial_behaviour")
    assert (avoided.recorded, avoided.numerator, avoided.value) == (False, 1, None)
    costed = report(
        fip, programme="fip", unit_costs={"antisocial_behaviour": UnitCost(3000.0, "DfE tool 2011")}
    ).figure("avoided_antisocial_behaviour")
    assert (costed.value, costed.recorded) == (3000.0, True)
    assert "£3,000.00" in costed.definition and "DfE tool 2011" in costed.definition


def test_the_outcomes_fold_handles_what_it_declares() -> None:
    from projections.models.outcomes import _FOLDS, OUTCOME_EVENTS

    assert set(_FOLDS) == OUTCOME_EVENTS


def test_the_teams_consultations_and_training_are_counted_in_their_period_and_team() -> None:
    work = [
        {"team_id": "cardiff", "type": "ConsultationGiven", "given_on": "2026-05-01",
         "agency": "school", "practitioners": 5},
        {"team_id": "cardiff", "type": "ConsultationGiven", "given_on": "2026-03-31",
         "agency": "health", "practitioners": 9},  # the year before
        {"team_id": "vale", "type": "ConsultationGiven", "given_on": "2026-06-01",
         "agency": "health", "practitioners": 2},
        {"team_id": "cardiff", "type": "TrainingGiven", "given_on": "2026-09-01",
         "sessions": 4, "attendees": 30, "model": "motivational_interviewing"},
    ]  # fmt: skip
    everyone = report(team_work=work)
    assert (
        everyone.figure("consultations").value,
        everyone.figure("practitioners_advised").value,
    ) == (2, 7)
    assert everyone.table("consultations_by_agency").rows == [["health", 1], ["school", 1]]
    cardiff = report(team_work=work, team="cardiff")
    assert (cardiff.figure("consultations").value, cardiff.figure("training_sessions").value) == (
        1,
        4,
    )
    assert cardiff.figure("training_attendees").value == 30
    assert cardiff.table("training_by_model").rows == [["motivational_interviewing", 4, 30]]
