"""The follow-up rules: review windows, reviews standing alone, "not held", boosters that
keep the episode open, maintenance contacts and offered boosters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import catalogue as ev
from events.vocabulary import (
    EpisodeEndReason,
    GoalRating,
    ReviewNotHeldReason,
    SessionKind,
    SubstanceUseStatus,
)
from tests.case_rules import CM, SUP, Case, allocated_case, closed_case
from workflows import commands as cmd
from workflows.alerts import triggers
from workflows.lifecycle import CommandRejected, Phase, ReviewStatus, decide


def followed_up() -> Case:
    case = closed_case()
    case.state = case.state.model_copy(update={"follow_up_rules": True, "alert_timers": True})
    return case


def at_review(case: Case, review_id: str) -> None:
    due = case.state.reviews[review_id].due_on
    case.advance_to(datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10))


def review(case: Case, review_id: str, g1: GoalRating = GoalRating.MAINTAINED) -> list[str]:
    events = case.do(
        cmd.CompleteReview(
            actor=CM,
            review_id=review_id,
            ratings={"g1": g1, "g2": GoalRating.MAINTAINED},
            family_staying_together=True,
            substance_use_status=SubstanceUseStatus.REDUCED,
        )
    )
    return [type(e).__name__ for e in events]


def through_m6(case: Case) -> None:
    for review_id in ("m1", "m3", "m6"):
        at_review(case, review_id)
        review(case, review_id)


def test_a_regression_at_the_last_review_keeps_the_episode_open_until_the_booster() -> None:
    case = followed_up()
    through_m6(case)
    at_review(case, "m12")
    assert review(case, "m12", GoalRating.REGRESSED) == [
        "FollowUpReviewCompleted",
        "BoosterScheduled",
    ]
    assert case.state.phase is Phase.FOLLOW_UP  # not ended: the booster can be recorded
    done = case.do(cmd.RecordBooster(actor=CM, booster_id="b-m12", delivered_at=case.now))
    assert [type(e).__name__ for e in done] == ["BoosterDelivered", "EpisodeEnded"]
    assert case.state.end_reason is EpisodeEndReason.FOLLOW_UP_COMPLETED


def test_a_booster_window_that_lapses_after_the_last_review_ends_the_episode() -> None:
    case = followed_up()
    through_m6(case)
    at_review(case, "m12")
    review(case, "m12", GoalRating.REGRESSED)
    fired = case.advance_to(case.now + timedelta(days=30))
    names = [type(e).__name__ for e in fired]
    assert names[-2:] == ["BoosterOverdue", "EpisodeEnded"]  # the lapse recorded, then the end
    assert case.state.phase is Phase.ENDED


def test_before_the_rules_a_regression_at_the_last_review_ended_the_episode_at_once() -> None:
    case = closed_case()  # an episode begun under the older rules
    for review_id in ("m1", "m3", "m6"):
        at_review(case, review_id)
        review(case, review_id)
    at_review(case, "m12")
    assert review(case, "m12", GoalRating.REGRESSED)[-1] == "EpisodeEnded"


def test_a_review_is_held_within_its_window_and_stands_alone() -> None:
    case = followed_up()
    m3 = case.state.reviews["m3"]
    with pytest.raises(CommandRejected, match="can be held from") as early:
        review(case, "m3")  # months early
    assert early.value.field == "review_id" and str(m3.due_on) in early.value.rule
    # within its window (14 days before), m3 is held though m1 never was
    case.advance_to(
        datetime.combine(m3.due_on - timedelta(days=14), datetime.min.time(), tzinfo=UTC)
        + timedelta(hours=10)
    )
    assert review(case, "m3") == ["FollowUpReviewCompleted"]
    assert case.state.reviews["m1"].status is not ReviewStatus.COMPLETED


def test_a_review_not_held_is_done_with_and_the_last_one_ends_the_episode() -> None:
    case = followed_up()
    through_m6(case)
    at_review(case, "m12")
    events = case.do(
        cmd.RecordReviewNotHeld(
            actor=CM, review_id="m12", reason=ReviewNotHeldReason.MOVED_AWAY, notes="Left Wales"
        )
    )
    assert [type(e).__name__ for e in events] == ["FollowUpReviewNotHeld", "EpisodeEnded"]
    assert case.state.reviews["m12"].status is ReviewStatus.NOT_HELD
    with pytest.raises(CommandRejected, match="ended"):
        review(case, "m12")


def test_a_family_without_goals_is_reviewed_on_what_it_has() -> None:
    case = allocated_case()
    case.state = case.state.model_copy(update={"follow_up_rules": True})
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    case.do(cmd.CloseIntensivePhase(actor=CM, kind="unplanned", unplanned_reason="moved_away"))
    assert case.state.phase is Phase.FOLLOW_UP and not case.state.goals
    at_review(case, "m1")
    events = case.do(
        cmd.CompleteReview(
            actor=CM,
            review_id="m1",
            ratings={},
            family_staying_together=False,
            substance_use_status=SubstanceUseStatus.UNCHANGED,
        )
    )
    assert isinstance(events[0], ev.FollowUpReviewCompleted) and events[0].ratings == []


def test_maintenance_contacts_are_recorded_once_and_never_before_the_closure() -> None:
    case = followed_up()
    contact = cmd.RecordMaintenanceContact(
        actor=CM, contact_id="mc1", held_at=case.now, kind=SessionKind.PHONE
    )
    assert [type(e).__name__ for e in case.do(contact)] == ["MaintenanceContactRecorded"]
    with pytest.raises(CommandRejected, match="already recorded"):
        case.do(contact)
    early = contact.model_copy(
        update={"contact_id": "mc2", "held_at": case.now - timedelta(days=90)}
    )
    with pytest.raises(CommandRejected, match="before the intensive phase closed"):
        decide(case.state, early, case.now)
    later = contact.model_copy(
        update={"contact_id": "mc3", "held_at": case.now + timedelta(days=1)}
    )
    with pytest.raises(CommandRejected, match="future"):
        decide(case.state, later, case.now)


def test_an_offered_booster_keeps_the_episode_open_and_raises_no_regression_alert() -> None:
    case = followed_up()
    through_m6(case)
    at_review(case, "m12")
    offered = case.do(cmd.OfferBooster(actor=CM, booster_id="extra", goal_ids=["g2"]))
    [scheduled] = offered
    assert isinstance(scheduled, ev.BoosterScheduled) and scheduled.review_id is None
    assert triggers(scheduled) is None  # no "goal regressed" alert for an offer
    with pytest.raises(CommandRejected, match="no goal g9"):
        decide(case.state, cmd.OfferBooster(actor=CM, booster_id="x", goal_ids=["g9"]), case.now)
    with pytest.raises(CommandRejected, match="already exists"):
        decide(
            case.state, cmd.OfferBooster(actor=CM, booster_id="extra", goal_ids=["g1"]), case.now
        )
    assert review(case, "m12") == ["FollowUpReviewCompleted"]  # the offer is still open
    done = case.do(cmd.RecordBooster(actor=CM, booster_id="extra", delivered_at=case.now))
    assert [type(e).__name__ for e in done][-1] == "EpisodeEnded"


def test_withdrawing_consent_to_follow_up_cancels_the_reviews_not_yet_held() -> None:
    from events.vocabulary import ConsentScope

    case = followed_up()
    at_review(case, "m1")
    review(case, "m1")
    events = case.do(cmd.WithdrawConsent(actor=CM, scope=ConsentScope.FOLLOW_UP))
    assert [type(e).__name__ for e in events] == [
        "ConsentWithdrawn",
        "FollowUpReviewCancelled",
        "FollowUpReviewCancelled",
        "FollowUpReviewCancelled",
        "EpisodeEnded",
    ]
    assert [e.review_id for e in events if isinstance(e, ev.FollowUpReviewCancelled)] == [
        "m3",
        "m6",
        "m12",
    ]
    assert case.state.end_reason is EpisodeEndReason.NO_FOLLOW_UP_CONSENT
    assert case.state.reviews["m1"].status is ReviewStatus.COMPLETED  # held: it stands


def test_a_planned_closure_without_consent_to_follow_up_schedules_no_reviews() -> None:
    from events.vocabulary import ClosureKind, ConsentScope
    from tests.case_rules import SUP, intensive_case

    case = intensive_case()
    case.state = case.state.model_copy(update={"follow_up_rules": True})
    case.do(cmd.WithdrawConsent(actor=CM, scope=ConsentScope.FOLLOW_UP))
    events = case.do(cmd.CloseIntensivePhase(actor=SUP, kind=ClosureKind.PLANNED))
    assert [type(e).__name__ for e in events] == ["IntensivePhaseClosed", "EpisodeEnded"]
    assert case.state.end_reason is EpisodeEndReason.NO_FOLLOW_UP_CONSENT


def test_a_referral_states_consent_to_follow_up() -> None:
    from pydantic import ValidationError

    from tests.case_rules import referral

    fields = referral().model_dump()
    del fields["consent_to_follow_up"]
    with pytest.raises(ValidationError, match="consent_to_follow_up"):
        cmd.ReferFamily.model_validate(fields)


# --- moving a review: a request a supervisor decides --------------------------------------


def with_requests() -> Case:
    case = followed_up()
    case.state = case.state.model_copy(update={"review_requests": True})
    return case


def test_a_key_worker_asks_to_move_a_review_and_a_supervisor_decides() -> None:
    case = with_requests()
    m1 = case.state.reviews["m1"]
    # overdue: the alert's condition stands while the request waits
    case.advance_to(
        datetime.combine(m1.due_on + timedelta(days=15), datetime.min.time(), tzinfo=UTC)
    )
    assert case.state.reviews["m1"].status is ReviewStatus.OVERDUE
    later = case.now.date() + timedelta(days=5)
    move = cmd.RescheduleReview(actor=CM, review_id="m1", due_on=later, reason="Away")
    with pytest.raises(CommandRejected, match="request_review_move"):
        case.do(move)
    asked = case.do(cmd.RequestReviewMove(actor=CM, review_id="m1", due_on=later, reason="Away"))
    assert [type(e).__name__ for e in asked] == ["FollowUpReviewMoveRequested"]
    assert case.state.reviews["m1"].status is ReviewStatus.OVERDUE  # not moved yet
    with pytest.raises(CommandRejected, match="awaits a supervisor's decision"):
        case.do(cmd.RequestReviewMove(actor=CM, review_id="m1", due_on=later, reason="Again"))
    with pytest.raises(CommandRejected, match=r"actor\.role"):
        case.do(cmd.DecideReviewMove(actor=CM, review_id="m1", approved=True))
    refused = case.do(cmd.DecideReviewMove(actor=SUP, review_id="m1", approved=False, reason="No"))
    assert [type(e).__name__ for e in refused] == ["FollowUpReviewMoveDecided"]
    assert case.state.reviews["m1"].due_on == m1.due_on
    with pytest.raises(CommandRejected, match="no move of review m1 awaits a decision"):
        case.do(cmd.DecideReviewMove(actor=SUP, review_id="m1", approved=True))
    case.do(cmd.RequestReviewMove(actor=CM, review_id="m1", due_on=later, reason="Away"))
    approved = case.do(cmd.DecideReviewMove(actor=SUP, review_id="m1", approved=True))
    assert [type(e).__name__ for e in approved] == [
        "FollowUpReviewMoveDecided",
        "FollowUpReviewRescheduled",
    ]
    assert case.state.reviews["m1"].due_on == later
    assert case.state.reviews["m1"].status is ReviewStatus.SCHEDULED


def test_a_review_moves_only_within_the_policys_limit_of_its_statutory_date() -> None:
    case = with_requests()
    m3 = case.state.reviews["m3"]
    limit = case.state.policy.review_move_max_days
    too_far = m3.due_on + timedelta(days=limit + 1)
    for command in (
        cmd.RequestReviewMove(actor=CM, review_id="m3", due_on=too_far, reason="Away"),
        cmd.RescheduleReview(actor=SUP, review_id="m3", due_on=too_far, reason="Away"),
    ):
        with pytest.raises(CommandRejected, match=f"must be within {limit} days"):
            case.do(command)
    # moved once to the edge, it cannot creep further: the limit is from the statutory date
    edge = m3.due_on + timedelta(days=limit)
    case.do(cmd.RescheduleReview(actor=SUP, review_id="m3", due_on=edge, reason="Away"))
    with pytest.raises(CommandRejected, match="statutory date"):
        case.do(
            cmd.RescheduleReview(
                actor=SUP, review_id="m3", due_on=edge + timedelta(days=1), reason="Away"
            )
        )


def test_older_episodes_move_reviews_as_they_did() -> None:
    case = followed_up()  # started before review requests
    m3 = case.state.reviews["m3"]
    far = m3.due_on + timedelta(days=200)
    case.do(cmd.RescheduleReview(actor=CM, review_id="m3", due_on=far, reason="Away"))
    assert case.state.reviews["m3"].due_on == far
    with pytest.raises(CommandRejected, match="reschedule_review"):
        case.do(cmd.RequestReviewMove(actor=CM, review_id="m1", due_on=far, reason="Away"))


def test_a_review_records_each_childs_status_and_changes_where_it_moved() -> None:
    case = followed_up()
    at_review(case, "m1")
    base = dict(
        actor=CM,
        review_id="m1",
        ratings={"g1": GoalRating.MAINTAINED, "g2": GoalRating.MAINTAINED},
        family_staying_together=True,
        substance_use_status=SubstanceUseStatus.REDUCED,
    )
    with pytest.raises(CommandRejected, match="children_statuses: no child ch9 in this family"):
        case.do(cmd.CompleteReview(**base, children_statuses={"ch9": "cin"}))
    events = case.do(cmd.CompleteReview(**base, children_statuses={"ch1": "cpr"}))
    [held, changed] = events
    assert isinstance(held, ev.FollowUpReviewCompleted)
    assert held.children_statuses == [ev.ChildReviewStatus(child_id="ch1", status="cpr")]
    assert changed == ev.ChildStatusChanged(
        child_id="ch1", previous_status="cin", status="cpr", effective_on=case.now.date()
    )
    assert triggers(changed) is not None  # an escalation: the supervisors hear of it


def test_a_pending_request_is_decided_before_a_supervisor_moves_the_review() -> None:
    case = with_requests()
    m3 = case.state.reviews["m3"]
    later = m3.due_on + timedelta(days=7)
    case.do(cmd.RequestReviewMove(actor=CM, review_id="m3", due_on=later, reason="Away"))
    with pytest.raises(CommandRejected, match="awaits a decision: decide it first"):
        case.do(cmd.RescheduleReview(actor=SUP, review_id="m3", due_on=later, reason="Away"))
    # a request whose date has passed before the decision is refused, not approved
    case.advance_to(datetime.combine(later, datetime.min.time(), tzinfo=UTC) + timedelta(days=1))
    with pytest.raises(CommandRejected, match=r"approved: the date asked for, .* has passed"):
        case.do(cmd.DecideReviewMove(actor=SUP, review_id="m3", approved=True))
    refused = case.do(cmd.DecideReviewMove(actor=SUP, review_id="m3", approved=False))
    assert [type(e).__name__ for e in refused] == ["FollowUpReviewMoveDecided"]
