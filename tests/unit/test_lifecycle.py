"""The lifecycle rules, driven without Temporal or PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from events import catalogue as ev
from events.calendar import add_months, add_working_days
from events.envelope import Actor
from events.vocabulary import (
    ClosureKind,
    ConsentScope,
    EpisodeEndReason,
    GoalCategory,
    GoalRating,
    RejectionReason,
    Role,
    SessionKind,
    StatutoryStatus,
    SubstanceUseStatus,
    UnplannedExitReason,
    WithdrawalReason,
)
from tests.case_rules import (
    CM,
    MON,
    SUP,
    Case,
    allocated_case,
    closed_case,
    intensive_case,
    referral,
    session,
)
from workflows import commands as cmd
from workflows.lifecycle import (
    CommandRejected,
    Phase,
    ReviewStatus,
    decide,
    next_wakeup,
)
from workflows.team_protocol import Release, ReleaseReason, team_message


def rate(
    case: Case, review_id: str, g1: GoalRating = GoalRating.MAINTAINED
) -> list[ev.DomainEvent]:
    return case.do(
        cmd.CompleteReview(
            actor=CM,
            review_id=review_id,
            ratings={"g1": g1, "g2": GoalRating.EXCEEDED},
            family_staying_together=True,
            substance_use_status=SubstanceUseStatus.REDUCED,
        )
    )


def test_the_planned_path_from_referral_to_episode_end() -> None:
    case = closed_case()
    closed_on = case.state.closed_on
    assert closed_on == date(2026, 2, 9)  # the day of the last session, day 34 of the phase
    assert {r.review_id: r.due_on for r in case.state.reviews.values()} == {
        "m1": date(2026, 3, 9),
        "m3": date(2026, 5, 9),
        "m6": date(2026, 8, 9),
        "m12": date(2027, 2, 9),
    }
    for review_id in ("m1", "m3", "m6", "m12"):
        due_on = case.state.reviews[review_id].due_on
        fired = case.advance_to(
            datetime.combine(due_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
        )
        assert [type(e).__name__ for e in fired] == ["FollowUpReviewDue"]
        rate(case, review_id)
    assert case.state.phase is Phase.ENDED
    assert case.state.end_reason is EpisodeEndReason.FOLLOW_UP_COMPLETED
    assert next_wakeup(case.state) is None
    types = case.types()
    assert types[:4] == [
        "ReferralReceived",
        "ReferralAccepted",
        "KeyWorkerAllocated",
        "FirstMeetingHeld",
    ]
    assert types.count("FollowUpReviewScheduled") == 4
    assert types.count("FollowUpReviewCompleted") == 4
    assert "IntensivePhaseEndApproaching" not in types  # closed on day 34, before the warning
    assert types[-1] == "EpisodeEnded"


def test_referral_without_eligible_ground_is_rejected_automatically() -> None:
    case = Case()
    events = case.refer(referral(referral_grounds=[]))
    assert [type(e).__name__ for e in events] == [
        "ReferralReceived",
        "ReferralRejected",
        "EpisodeEnded",
    ]
    # The rule decided (the case records it as the system's act, naming the rule).
    assert events[1] == ev.ReferralRejected(
        reason=RejectionReason.NO_ELIGIBLE_GROUND, rule="referral-needs-a-statutory-ground"
    )
    assert case.state.ended


def test_rejection_with_coded_reason_ends_the_episode() -> None:
    case = Case()
    case.refer()
    case.do(cmd.RejectReferral(actor=SUP, reason=RejectionReason.OUTSIDE_AREA))
    assert case.state.end_reason is EpisodeEndReason.REFERRAL_REJECTED


def test_first_meeting_overdue_counts_working_days() -> None:
    case = Case()
    case.now = datetime(2026, 1, 9, 15, tzinfo=UTC)  # Friday afternoon
    case.refer()
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    assert case.state.first_meeting_due_at == datetime(2026, 1, 13, 15, tzinfo=UTC)  # Tuesday
    assert case.advance_to(datetime(2026, 1, 13, 14, tzinfo=UTC)) == []
    fired = case.advance_to(datetime(2026, 1, 14, tzinfo=UTC))
    assert fired == [ev.FirstMeetingOverdue(due_at=datetime(2026, 1, 13, 15, tzinfo=UTC))]
    assert case.advance_to(datetime(2026, 2, 1, tzinfo=UTC)) == []  # once only


def test_first_meeting_in_time_cancels_the_overdue_timer() -> None:
    case = allocated_case()
    case.now = MON + timedelta(days=1)
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    assert "FirstMeetingOverdue" not in [
        type(e).__name__ for e in case.advance_to(MON + timedelta(days=5))
    ]


def test_no_contact_fires_once_per_gap() -> None:
    case = intensive_case()
    fired = case.advance_to(MON + timedelta(days=9))
    assert [type(e).__name__ for e in fired] == ["NoContactThresholdPassed"]
    assert case.advance_to(MON + timedelta(days=10)) == []
    session(case, 1)  # contact resumes; a new gap starts
    fired = case.advance_to(MON + timedelta(days=18))
    assert [type(e).__name__ for e in fired] == ["NoContactThresholdPassed"]


def test_intensive_phase_warning_and_overrun_without_extension() -> None:
    case = intensive_case()
    fired = case.advance_to(MON + timedelta(days=50))
    names = [type(e).__name__ for e in fired]
    assert names.count("IntensivePhaseEndApproaching") == 1
    assert names.count("IntensivePhaseOverrun") == 1
    overrun = next(e for e in fired if isinstance(e, ev.IntensivePhaseOverrun))
    assert overrun.ends_on == date(2026, 2, 17)  # first meeting 6 Jan + 42 days


def test_approved_extension_moves_the_overrun() -> None:
    case = intensive_case()
    case.do(cmd.RequestExtension(actor=CM, request_id="x1", days=14, reason="Court date"))
    case.do(cmd.DecideExtension(actor=SUP, request_id="x1", approved=True))
    assert case.state.intensive_ends_on == date(2026, 3, 3)
    fired = case.advance_to(datetime(2026, 3, 3, 23, tzinfo=UTC))
    assert "IntensivePhaseOverrun" not in [type(e).__name__ for e in fired]
    assert [type(e).__name__ for e in case.advance_to(datetime(2026, 3, 4, 1, tzinfo=UTC))] == [
        "IntensivePhaseOverrun"
    ]


def test_refused_extension_keeps_the_end_date() -> None:
    case = intensive_case()
    case.do(cmd.RequestExtension(actor=CM, request_id="x1", days=14, reason="Court date"))
    events = case.do(cmd.DecideExtension(actor=SUP, request_id="x1", approved=False))
    assert events == [ev.ExtensionDecided(request_id="x1", approved=False, days=0)]
    assert case.state.intensive_ends_on == date(2026, 2, 17)


def test_regression_at_a_review_schedules_a_booster() -> None:
    case = closed_case()
    case.advance_to(datetime(2026, 3, 10, tzinfo=UTC))
    rate(case, "m1")
    case.advance_to(datetime(2026, 5, 8, tzinfo=UTC))
    events = rate(case, "m3", g1=GoalRating.REGRESSED)
    booster = events[-1]
    assert isinstance(booster, ev.BoosterScheduled)
    assert booster.goal_ids == ["g1"] and booster.due_by == date(2026, 5, 22)
    case.do(cmd.RecordBooster(actor=CM, booster_id=booster.booster_id, delivered_at=case.now))
    assert case.state.boosters[booster.booster_id].delivered_at == case.now


def test_overdue_review_after_grace_and_rescheduling_moves_the_timer() -> None:
    case = closed_case()
    fired = case.advance_to(datetime(2026, 3, 23, tzinfo=UTC))  # due 9 Mar + 14 days grace
    assert [type(e).__name__ for e in fired] == ["FollowUpReviewDue", "FollowUpReviewOverdue"]
    assert case.state.reviews["m1"].status is ReviewStatus.OVERDUE
    case.do(
        cmd.RescheduleReview(
            actor=CM, review_id="m1", due_on=date(2026, 4, 1), reason="Family away"
        )
    )
    assert case.state.reviews["m1"].status is ReviewStatus.SCHEDULED
    assert case.advance_to(datetime(2026, 3, 31, tzinfo=UTC)) == []
    assert [type(e).__name__ for e in case.advance_to(datetime(2026, 4, 1, 1, tzinfo=UTC))] == [
        "FollowUpReviewDue"
    ]


def test_unplanned_exit_without_follow_up_consent_ends_the_episode() -> None:
    case = intensive_case()
    case.do(cmd.WithdrawConsent(actor=CM, scope=ConsentScope.FOLLOW_UP))
    events = case.do(
        cmd.CloseIntensivePhase(
            actor=CM, kind=ClosureKind.UNPLANNED, unplanned_reason=UnplannedExitReason.MOVED_AWAY
        )
    )
    assert [type(e).__name__ for e in events] == ["IntensivePhaseClosed", "EpisodeEnded"]
    assert case.state.end_reason is EpisodeEndReason.NO_FOLLOW_UP_CONSENT


def test_unplanned_exit_with_consent_gets_follow_ups() -> None:
    case = intensive_case()
    events = case.do(
        cmd.CloseIntensivePhase(
            actor=CM,
            kind=ClosureKind.UNPLANNED,
            unplanned_reason=UnplannedExitReason.FAMILY_DISENGAGED,
        )
    )
    assert [type(e).__name__ for e in events].count("FollowUpReviewScheduled") == 4


def test_supervisor_closes_follow_up_early() -> None:
    case = closed_case()
    with pytest.raises(CommandRejected, match="only supervisor"):
        case.do(cmd.CloseEpisode(actor=CM, reason="Family moved abroad"))
    case.do(cmd.CloseEpisode(actor=SUP, reason="Family moved abroad"))
    assert case.state.end_reason is EpisodeEndReason.CLOSED_BY_SUPERVISOR


def test_child_status_change() -> None:
    case = intensive_case()
    events = case.do(cmd.ChangeChildStatus(actor=CM, child_id="ch1", status=StatutoryStatus.CPR))
    assert events == [
        ev.ChildStatusChanged(
            child_id="ch1",
            previous_status=StatutoryStatus.CIN,
            status=StatutoryStatus.CPR,
            effective_on=case.now.date(),  # left out: the day it was recorded
        )
    ]


@pytest.mark.parametrize(
    ("build", "command", "field", "rule"),
    [
        (
            closed_case,
            lambda c: cmd.AgreeGoal(
                actor=CM,
                goal_id="g9",
                category=GoalCategory.HEALTH,
                description="GP",
                baseline=1,
                target=5,
            ),
            "phase",
            "cannot agree a goal while the case is follow_up",
        ),
        (
            intensive_case,
            lambda c: cmd.CompleteReview(
                actor=CM,
                review_id="m1",
                ratings={"g1": "maintained"},
                family_staying_together=True,
                substance_use_status="reduced",
            ),
            "phase",
            "cannot complete a review while the case is intensive",
        ),
        (
            intensive_case,
            lambda c: cmd.AgreeGoal(
                actor=CM,
                goal_id="g1",
                category=GoalCategory.HEALTH,
                description="again",
                baseline=1,
                target=5,
            ),
            "goal_id",
            "goal g1 is already agreed",
        ),
        (
            closed_case,
            lambda c: cmd.CloseIntensivePhase(actor=CM, kind=ClosureKind.PLANNED),
            "phase",
            "cannot close the intensive phase while the case is follow_up",
        ),
        (
            closed_case,
            lambda c: cmd.RescheduleReview(
                actor=CM, review_id="m1", due_on=c.now.date() - timedelta(days=1), reason="x"
            ),
            "due_on",
            "must be a date after today",
        ),
        (
            intensive_case,
            lambda c: cmd.DecideExtension(actor=CM, request_id="x1", approved=True),
            "actor.role",
            "only supervisor may decide an extension",
        ),
        (
            intensive_case,
            lambda c: cmd.ChangeChildStatus(actor=CM, child_id="ch9", status=StatutoryStatus.LAC),
            "child_id",
            "no child ch9 in this family",
        ),
        (
            intensive_case,
            lambda c: cmd.ScoreGoals(actor=CM, scores=[ev.GoalScore(goal_id="g7", score=3)]),
            "scores[0].goal_id",
            "no goal g7",
        ),
        (
            intensive_case,
            lambda c: cmd.CloseIntensivePhase(actor=CM, kind=ClosureKind.PLANNED),
            "kind",
            "needs a supervisor",
        ),
        (
            intensive_case,
            lambda c: cmd.RecordSession(
                actor=CM,
                session_id="s1",
                held_at=c.now + timedelta(days=2),
                kind=SessionKind.PHONE,
                duration_minutes=10,
            ),
            "held_at",
            "cannot be in the future",
        ),
        (
            closed_case,
            lambda c: cmd.CompleteReview(
                actor=CM,
                review_id="m3",
                ratings={"g1": "maintained", "g2": "maintained"},
                family_staying_together=True,
                substance_use_status="reduced",
            ),
            "review_id",
            "complete review m1 first",
        ),
        (
            closed_case,
            lambda c: cmd.CompleteReview(
                actor=CM,
                review_id="m1",
                ratings={"g1": "maintained"},
                family_staying_together=True,
                substance_use_status="reduced",
            ),
            "ratings",
            "missing g2",
        ),
        (
            allocated_case,
            lambda c: cmd.AcceptReferral(actor=SUP),
            "phase",
            "cannot accept a referral while the case is allocated",
        ),
        (Case, lambda c: cmd.AcceptReferral(actor=SUP), "case_id", "no case c1 has been referred"),
    ],
)
def test_bad_commands_are_refused_with_field_and_rule(build, command, field, rule) -> None:  # type: ignore[no-untyped-def]
    case = build()
    before = case.state
    with pytest.raises(CommandRejected) as raised:
        decide(case.state, command(case), case.now)
    assert raised.value.field == field
    assert rule in raised.value.rule
    assert case.state == before


def test_scores_out_of_range_are_refused_by_the_command_model() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="baseline"):
        cmd.AgreeGoal(
            actor=CM,
            goal_id="g1",
            category=GoalCategory.HEALTH,
            description="x",
            baseline=11,
            target=5,
        )


def test_calendar_helpers() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert add_working_days(datetime(2026, 1, 9, tzinfo=UTC), 1) == datetime(
        2026, 1, 12, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("fields", "field", "rule"),
    [
        ({"kind": "unplanned"}, "unplanned_reason", "is required for an unplanned exit"),
        (
            {"kind": "planned", "unplanned_reason": "moved_away"},
            "unplanned_reason",
            "only an unplanned exit has one",
        ),
    ],
)
def test_a_closure_s_reason_is_the_command_model_s_rule(
    fields: dict[str, str], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        cmd.CloseIntensivePhase.model_validate({"actor": CM, **fields})
    [error] = refused.value.errors()
    assert (error["loc"], error["msg"]) == ((field,), rule)


def test_children_of_a_referral_are_named_once() -> None:
    with pytest.raises(ValidationError, match="child ids must be unique"):
        referral(children=[{"child_id": "ch1"}, {"child_id": "ch1"}])


def _referred() -> Case:
    case = Case()
    case.refer()
    return case


def _accepted() -> Case:
    case = _referred()
    case.do(cmd.AcceptReferral(actor=SUP))
    return case


def _waitlisted() -> Case:
    case = _accepted()
    case.do(cmd.PlacedOnWaitlist(actor=Actor.system(), position=1, priority=3))
    return case


@pytest.mark.parametrize("start", [_referred, _accepted, _waitlisted, allocated_case])
def test_a_family_can_withdraw_from_every_phase_before_the_work_began(start: object) -> None:
    case = start()  # type: ignore[operator]
    withdraw = cmd.WithdrawFamily(
        actor=SUP, reason=WithdrawalReason.FAMILY_DECLINED, notes="Said no at the door"
    )
    events = case.do(withdraw)
    assert [type(e).__name__ for e in events] == ["FamilyWithdrew", "EpisodeEnded"]
    withdrew = events[0]
    assert isinstance(withdrew, ev.FamilyWithdrew)
    assert withdrew.personal is not None and withdrew.personal.notes == "Said no at the door"
    assert case.state.phase is Phase.ENDED
    assert case.state.end_reason is EpisodeEndReason.WITHDRAWN_BEFORE_START
    assert next_wakeup(case.state) is None  # no first-meeting deadline left behind


def test_a_withdrawal_frees_the_place_with_its_reason() -> None:
    case = allocated_case()
    before = case.state
    events = case.do(cmd.WithdrawFamily(actor=CM, reason=WithdrawalReason.DID_NOT_ENGAGE))
    message = team_message(before, case.state, events)
    assert isinstance(message, Release) and message.reason is ReleaseReason.WITHDRAWN


def test_a_withdrawal_is_refused_once_the_work_began_or_by_the_wrong_role() -> None:
    case = intensive_case()
    with pytest.raises(CommandRejected, match="before the work began") as refused:
        decide(case.state, cmd.WithdrawFamily(actor=SUP, reason=WithdrawalReason.MOVED_AWAY), MON)
    assert refused.value.field == "phase"
    business_support = Actor(id="bs-price", role=Role.BUSINESS_SUPPORT)
    with pytest.raises(CommandRejected, match="only case_manager, supervisor") as forbidden:
        decide(
            _accepted().state,
            cmd.WithdrawFamily(actor=business_support, reason=WithdrawalReason.MOVED_AWAY),
            MON,
        )
    assert forbidden.value.kind == "forbidden"
    with pytest.raises(ValidationError, match="reason"):
        cmd.WithdrawFamily.model_validate({"actor": SUP, "reason": "fed_up"})


def test_a_family_with_an_open_episode_is_refused_naming_it() -> None:
    from workflows.lifecycle import refer

    case = Case()
    with pytest.raises(CommandRejected, match=r"open episode \(case c0\)") as refused:
        refer(case.state, referral(), "c0", MON, open_case_id="c0")
    assert refused.value.field == "family_id" and refused.value.kind == "conflict"
    events = refer(case.state, referral(), "c0", MON)  # the earlier one ended: linked
    assert isinstance(events[0], ev.ReferralReceived) and events[0].previous_case_id == "c0"


def test_a_family_on_record_under_another_spelling_is_refused_naming_it() -> None:
    from workflows.lifecycle import refer

    case = Case()
    with pytest.raises(CommandRejected, match=r"on record as FAM-1 .*use FAM-1") as refused:
        refer(case.state, referral(), None, MON, known_as="FAM-1")
    assert refused.value.field == "family_id" and refused.value.kind == "conflict"  # 409


def test_a_child_or_adult_joins_the_family_after_the_referral() -> None:
    case = intensive_case()
    unborn = cmd.AddChild(
        actor=CM,
        child_id="ch2",
        expected_on=(case.now + timedelta(days=120)).date(),
        personal={"name": "Baby Jones"},  # type: ignore[arg-type]
    )
    [joined] = case.do(unborn)
    assert isinstance(joined, ev.ChildJoined) and joined.expected_on is not None
    assert joined.personal is not None  # kept in the personal part, out of the timeline
    assert case.state.children["ch2"] is StatutoryStatus.NONE
    case.do(cmd.ChangeChildStatus(actor=CM, child_id="ch2", status=StatutoryStatus.CPR))
    [adult] = case.do(cmd.AddAdult(actor=CM, person_id="ad2", relationship="stepfather"))
    assert isinstance(adult, ev.AdultJoined) and "ad2" in case.state.adults
    with pytest.raises(CommandRejected, match="already in this family") as again:
        decide(case.state, cmd.AddAdult(actor=CM, person_id="ch1", relationship="aunt"), MON)
    assert again.value.field == "person_id"
    far = cmd.AddChild(
        actor=CM, child_id="ch3", expected_on=(case.now + timedelta(days=400)).date()
    )
    with pytest.raises(CommandRejected, match="300 days ahead") as too_far:
        decide(case.state, far, case.now)
    assert too_far.value.field == "expected_on"
    past = cmd.AddChild(actor=CM, child_id="ch3", expected_on=(case.now - timedelta(days=1)).date())
    with pytest.raises(CommandRejected, match="between today"):
        decide(case.state, past, case.now)


def test_a_persons_id_differing_only_by_case_is_refused_under_its_rule() -> None:
    """ "CH1" beside "ch1" is the same person spelt two ways: refused, naming the id on
    record, in a referral and when someone joins; under ``person_ids_fold_case`` (its
    patch), so a workflow replaying an older history decides as it did."""
    from workflows.lifecycle import refer

    case = intensive_case()  # ch1 and ad1 in the family
    checked = case.state.model_copy(update={"person_ids_fold_case": True})
    for command, field, rule in (
        (cmd.AddChild(actor=CM, child_id="CH1"), "child_id", "CH1 is ch1 in this family"),
        (cmd.AddAdult(actor=CM, person_id="Ad1", relationship="aunt"), "person_id", "Ad1 is ad1"),
        (cmd.AddAdult(actor=CM, person_id="cH1", relationship="aunt"), "person_id", "cH1 is ch1"),
    ):
        with pytest.raises(CommandRejected, match=rule) as refused:
            decide(checked, command, case.now)
        assert refused.value.field == field and refused.value.kind == "conflict"  # 409
        assert decide(case.state, command, case.now)  # as histories recorded before it
    fresh = Case()
    twice = referral().model_copy(
        update={
            "children": [
                ev.Child(child_id="ch1", statutory_status=StatutoryStatus.CIN),
                ev.Child(child_id="CH1", statutory_status=StatutoryStatus.CIN),
            ]
        }
    )
    newest = fresh.state.model_copy(update={"person_ids_fold_case": True})
    with pytest.raises(CommandRejected, match=r"children\.1\.child_id: CH1 is ch1"):
        refer(newest, twice, None, MON)
    assert refer(fresh.state, twice, None, MON)


def test_the_reasons_for_closing_early_and_refusing_an_extension_are_kept() -> None:
    case = intensive_case()
    case.do(cmd.RequestExtension(actor=CM, request_id="x1", days=7, reason="School holidays"))
    [refused] = case.do(
        cmd.DecideExtension(actor=SUP, request_id="x1", approved=False, reason="Goals are met")
    )
    assert isinstance(refused, ev.ExtensionDecided) and not refused.approved
    assert refused.personal is not None and refused.personal.notes == "Goals are met"
    followed = closed_case()
    [ended] = followed.do(cmd.CloseEpisode(actor=SUP, reason="Family moved abroad"))
    assert isinstance(ended, ev.EpisodeEnded)
    assert ended.reason is EpisodeEndReason.CLOSED_BY_SUPERVISOR
    assert ended.personal is not None and ended.personal.notes == "Family moved abroad"


def test_a_priority_change_is_recorded_with_its_reason_and_tells_a_waiting_team() -> None:
    from workflows.team_protocol import Reprioritise

    case = Case()
    case.refer()
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.PlacedOnWaitlist(actor=Actor.system(), position=2, priority=3))
    before = case.state
    events = case.do(cmd.ChangePriority(actor=SUP, priority=1, reason="Child on a CP plan"))
    [changed] = events
    assert isinstance(changed, ev.PriorityChanged) and (changed.previous, changed.priority) == (
        3,
        1,
    )
    assert changed.personal is not None and changed.personal.notes == "Child on a CP plan"
    message = team_message(before, case.state, events)
    assert isinstance(message, Reprioritise) and message.priority == 1
    with pytest.raises(CommandRejected, match="priority is 1 already"):
        decide(case.state, cmd.ChangePriority(actor=SUP, priority=1, reason="again"), MON)
    business_support = Actor(id="bs-price", role=Role.BUSINESS_SUPPORT)
    with pytest.raises(CommandRejected, match="only case_manager, supervisor"):
        decide(case.state, cmd.ChangePriority(actor=business_support, priority=2, reason="x"), MON)
    allocated = allocated_case()  # an allocated family's priority is recorded, the team not told
    before = allocated.state
    events = allocated.do(cmd.ChangePriority(actor=SUP, priority=2, reason="Stable now"))
    assert team_message(before, allocated.state, events) is None


def test_a_childs_status_change_carries_the_day_it_took_effect() -> None:
    case = intensive_case()
    [changed] = case.do(
        cmd.ChangeChildStatus(
            actor=CM, child_id="ch1", status=StatutoryStatus.CPR, effective_on=MON.date()
        )
    )
    assert isinstance(changed, ev.ChildStatusChanged) and changed.effective_on == MON.date()
    [today] = case.do(cmd.ChangeChildStatus(actor=CM, child_id="ch1", status=StatutoryStatus.LAC))
    assert isinstance(today, ev.ChildStatusChanged) and today.effective_on == case.now.date()
    future = cmd.ChangeChildStatus(
        actor=CM,
        child_id="ch1",
        status=StatutoryStatus.CIN,
        effective_on=(case.now + timedelta(days=2)).date(),
    )
    with pytest.raises(CommandRejected, match="future") as ahead:
        decide(case.state, future, case.now)
    assert ahead.value.field == "effective_on"
    before = future.model_copy(update={"effective_on": MON.date() - timedelta(days=1)})
    with pytest.raises(CommandRejected, match="before the referral"):
        decide(case.state, before, case.now)


def test_consent_is_kept_per_person_and_per_purpose() -> None:
    case = intensive_case()
    case.state = case.state.model_copy(update={"consent_per_person": True})
    sharing = ConsentScope.INFORMATION_SHARING
    with pytest.raises(CommandRejected, match="person_id: no person ad9"):
        case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ad9"))
    # the mother withdraws consent to sharing: the family's is withdrawn, hers recorded
    case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ad1"))
    assert case.state.consents[sharing] is False
    assert case.state.person_consents == {"ad1": {sharing: False}}
    with pytest.raises(CommandRejected, match="already withdrawn for ad1"):
        case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ad1"))
    # and gives it again later; her answer for another purpose is her own
    case.do(cmd.RecordConsent(actor=CM, scope=sharing, person_id="ad1"))
    case.do(cmd.RecordConsent(actor=CM, scope=ConsentScope.FOLLOW_UP, person_id="ad1"))
    assert case.state.person_consents["ad1"] == {sharing: True, ConsentScope.FOLLOW_UP: True}
    with pytest.raises(CommandRejected, match="already recorded for ad1"):
        case.do(cmd.RecordConsent(actor=CM, scope=ConsentScope.FOLLOW_UP, person_id="ad1"))

    # while one person's withdrawal stands, another's consent does not restore the family's
    case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ad1"))
    case.do(cmd.RecordConsent(actor=CM, scope=sharing, person_id="ch1"))
    assert case.state.consents[sharing] is False
    with pytest.raises(CommandRejected, match="stays withdrawn while ad1 withdraw it"):
        case.do(cmd.RecordConsent(actor=CM, scope=sharing))
    case.do(cmd.RecordConsent(actor=CM, scope=sharing, person_id="ad1"))
    assert case.state.consents[sharing] is True


def test_older_episodes_keep_one_answer_per_family() -> None:
    case = intensive_case()  # before consent per person: the last answer wins, as it did
    sharing = ConsentScope.INFORMATION_SHARING
    with pytest.raises(CommandRejected, match=r"already recorded$"):  # the family's, given
        case.do(cmd.RecordConsent(actor=CM, scope=ConsentScope.FOLLOW_UP, person_id="ad1"))
    case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ad1"))
    case.do(cmd.RecordConsent(actor=CM, scope=sharing, person_id="ad1"))
    case.do(cmd.WithdrawConsent(actor=CM, scope=sharing, person_id="ch1"))
    case.do(cmd.RecordConsent(actor=CM, scope=sharing, person_id="ad1"))
    assert case.state.consents[sharing] is True and case.state.person_consents == {}
