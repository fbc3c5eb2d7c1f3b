"""What the evaluation data set counts beyond the milestones, as rules (pure): the family
plan, the programme's outcome measures, feedback, spot purchases, joint work, and a
referral's programme with its own eligible grounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from events import catalogue as ev
from events.errors import InvalidInput
from events.vocabulary import GoalRating, SubstanceUseStatus
from reports.service import load_costs
from tests.case_rules import CM, Case, allocated_case, closed_case, intensive_case, referral
from workflows import commands as cmd
from workflows.lifecycle import CommandRejected
from workflows.lifecycle.state import Phase


def types(events: list[ev.DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_a_family_plan_is_agreed_once_from_the_first_meeting_on() -> None:
    with pytest.raises(
        CommandRejected, match="cannot agree a family plan while the case is allocated"
    ):
        allocated_case().do(cmd.AgreeFamilyPlan(actor=CM, plan_id="p1"))
    case = intensive_case()
    (plan,) = case.do(cmd.AgreeFamilyPlan(actor=CM, plan_id="p1", notes="Mornings calm"))
    assert isinstance(plan, ev.FamilyPlanAgreed) and plan.agreed_on == case.now.date()
    assert plan.personal is not None  # the notes are the family's: sealed like every note
    with pytest.raises(CommandRejected, match="plan p1 is already recorded"):
        case.do(cmd.AgreeFamilyPlan(actor=CM, plan_id="p1"))
    with pytest.raises(CommandRejected, match="future") as future:
        case.do(cmd.AgreeFamilyPlan(actor=CM, plan_id="p2", agreed_on=date(2027, 1, 1)))
    assert future.value.field == "agreed_on"
    with pytest.raises(CommandRejected, match="before the referral") as early:
        case.do(cmd.AgreeFamilyPlan(actor=CM, plan_id="p2", agreed_on=date(2025, 12, 1)))
    assert early.value.field == "agreed_on"


def test_measures_are_the_programmes_within_range_once_per_stage() -> None:
    case = allocated_case()
    taken = cmd.RecordMeasures(
        actor=CM, stage="referral", measures={"school_attendance": 62, "substance_use": 3}
    )
    (event,) = case.do(taken)
    assert isinstance(event, ev.MeasuresRecorded)
    assert [(m.code, m.value) for m in event.measures] == [
        ("school_attendance", 62),
        ("substance_use", 3),
    ]
    with pytest.raises(CommandRejected, match="measures at referral are already recorded"):
        case.do(taken)
    wrong = cmd.RecordMeasures(actor=CM, stage="referral", measures={"eviction_threat": 1})
    with pytest.raises(CommandRejected, match="not a measure of programme ifss") as other:
        Case.do(_fresh_allocated(), wrong)
    assert other.value.field == "measures.eviction_threat"
    too_much = cmd.RecordMeasures(actor=CM, stage="referral", measures={"school_attendance": 101})
    with pytest.raises(CommandRejected, match="between 0 and 100") as high:
        Case.do(_fresh_allocated(), too_much)
    assert high.value.field == "measures.school_attendance"
    closure = cmd.RecordMeasures(actor=CM, stage="closure", measures={"school_attendance": 90})
    with pytest.raises(CommandRejected, match="while the case is allocated"):
        case.do(closure)


def _fresh_allocated() -> Case:
    return allocated_case()


def test_measures_at_a_review_need_the_review_held() -> None:
    case = closed_case()
    assert case.state.phase is Phase.FOLLOW_UP
    case.do(cmd.RecordMeasures(actor=CM, stage="closure", measures={"substance_use": 1}))
    at_review = cmd.RecordMeasures(actor=CM, stage="review", month=1, measures={"substance_use": 1})
    with pytest.raises(CommandRejected, match="1-month review has not been held"):
        case.do(at_review)
    with pytest.raises(CommandRejected, match="name the review") as unnamed:
        case.do(cmd.RecordMeasures(actor=CM, stage="review", measures={"substance_use": 1}))
    assert unnamed.value.field == "month"
    with pytest.raises(CommandRejected, match="only measures taken at a review"):
        case.do(
            cmd.RecordMeasures(actor=CM, stage="closure", month=3, measures={"substance_use": 1})
        )
    due = case.state.reviews["m1"].due_on
    case.advance_to(datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10))
    case.do(
        cmd.CompleteReview(
            actor=CM,
            review_id="m1",
            ratings={"g1": GoalRating.MAINTAINED, "g2": GoalRating.MAINTAINED},
            family_staying_together=True,
            substance_use_status=SubstanceUseStatus.REDUCED,
        )
    )
    assert types(case.do(at_review)) == ["MeasuresRecorded"]


def test_feedback_purchases_and_joint_work_are_recorded_in_order() -> None:
    case = intensive_case()
    feedback = cmd.RecordFeedback(actor=CM, feedback_id="f1", source="family", rating="satisfied")
    assert types(case.do(feedback)) == ["FeedbackRecorded"]
    with pytest.raises(CommandRejected, match="feedback f1 is already recorded"):
        case.do(feedback)
    bought = cmd.RecordSpotPurchase(
        actor=CM, purchase_id="b1", service="counselling", provider="acme", cost_pence=12550
    )
    assert types(case.do(bought)) == ["ServicePurchased"]
    with pytest.raises(CommandRejected, match="purchase b1 is already recorded"):
        case.do(bought)
    got = cmd.RecordJointWork(actor=CM, work_id="j1", service="housing", outcome="obtained")
    with pytest.raises(CommandRejected, match="never requested") as first:
        case.do(got)
    assert first.value.field == "outcome"
    case.do(got.model_copy(update={"outcome": "requested"}))
    with pytest.raises(CommandRejected, match="already requested"):
        case.do(got.model_copy(update={"outcome": "requested"}))
    assert types(case.do(got)) == ["JointWorkRecorded"]
    with pytest.raises(CommandRejected, match="already obtained"):
        case.do(got.model_copy(update={"outcome": "refused"}))
    bs = cmd.RecordFeedback.model_validate(
        {"actor": {"id": "bs-price", "role": "business_support"}, "feedback_id": "f2",
         "source": "referrer", "rating": "neutral"}
    )  # fmt: skip
    with pytest.raises(CommandRejected, match="only case_manager") as role:
        case.do(bs)
    assert role.value.kind == "forbidden"


def test_bad_values_are_refused_by_the_commands_model() -> None:
    for fields in (
        {"purchase_id": "b1", "service": "x", "provider": "y", "cost_pence": -1},
        {"purchase_id": "b1", "service": "x", "provider": "y", "cost_pence": True},
        {"purchase_id": "b1", "service": "x y", "provider": "y", "cost_pence": 1},
        {"purchase_id": "b1", "service": "x\x00", "provider": "y", "cost_pence": 1},
    ):
        with pytest.raises(ValueError):
            cmd.RecordSpotPurchase.model_validate({"actor": CM.model_dump(), **fields})
    with pytest.raises(ValueError):
        cmd.RecordMeasures.model_validate(
            {"actor": CM.model_dump(), "stage": "referral", "measures": {}}
        )
    with pytest.raises(ValueError):
        cmd.RecordMeasures.model_validate(
            {"actor": CM.model_dump(), "stage": "referral", "measures": {"school_attendance": 1.5}}
        )


def test_a_referral_names_its_programme_and_the_programme_its_eligible_grounds() -> None:
    fip = Case()
    events = fip.refer(referral(programme="fip", referral_grounds=["antisocial_behaviour"]))
    assert types(events) == ["ReferralReceived"]
    assert fip.state.programme == "fip"
    ifss = Case()
    events = ifss.refer(referral(referral_grounds=["threat_of_eviction"]))
    assert types(events) == ["ReferralReceived", "ReferralRejected", "EpisodeEnded"]
    assert events[1].reason == "no_eligible_ground"  # type: ignore[attr-defined]
    with pytest.raises(CommandRejected, match="no programme pilot is defined") as unknown:
        Case().refer(referral(programme="pilot"))
    assert unknown.value.field == "programme"
    fip.do(cmd.AcceptReferral(actor=CM))
    (measured,) = fip.do(
        cmd.RecordMeasures(actor=CM, stage="referral", measures={"eviction_threat": 1})
    )
    assert isinstance(measured, ev.MeasuresRecorded)


def test_the_costs_file_is_refused_naming_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    for text, field in (
        ('[{"team_id": "a", "from": "2025-04-01", "to": "2026-03-31", "staff": true}]', "costs[0].staff"),
        ('[{"team_id": "a", "from": "2025-04-01", "to": "2024-03-31", "staff": 1}]', "costs[0]"),
        ('{"unit_costs": [{"measure": "x", "cost": -1, "source": "s"}]}', "costs.unit_costs[0].cost"),
        ('{"teams": [{"team_id": "a", "from": "0001-01-01", "to": "2026-03-31", "staff": 1}]}', "costs.teams[0].from"),
        ("not json", "costs"),
        ("3", "costs"),
        ('{"teams": [], "extra": 1}', "costs.extra"),
    ):  # fmt: skip
        path.write_text(text)
        with pytest.raises(InvalidInput) as refused:
            load_costs(path)
        assert refused.value.field == field, (text, refused.value)
    with pytest.raises(InvalidInput, match="cannot read"):
        load_costs(tmp_path / "missing.json")
    path.write_text(
        '{"teams": [{"team_id": "a", "from": "2025-04-01", "to": "2026-03-31", "staff": 10,'
        ' "overheads": 2.5}], "unit_costs": [{"measure": "eviction_threat", "cost": 75,'
        ' "source": "DfE"}]}'
    )
    costs = load_costs(path)
    assert costs.teams[0].staff == 10 and costs.teams[0].overheads == 2.5
    assert costs.unit_costs[0][0] == "eviction_threat"
