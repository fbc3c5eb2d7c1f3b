"""What the evaluation data set counts beyond the episode's milestones: the family plan,
the programme's outcome measures at referral, closure and each review, feedback from the
family and the referrer, services spot purchased, and joint work to reach a service."""

from __future__ import annotations

from datetime import date, datetime

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.programmes import programme
from events.vocabulary import JointWorkOutcome, MeasureStage
from workflows import commands as cmd
from workflows.lifecycle.guards import (
    PRACTITIONERS,
    TODAY_SOMEWHERE,
    not_too_long_ago,
    require_phase,
    require_role,
)
from workflows.lifecycle.state import (
    CaseState,
    CommandRejected,
    Decider,
    Phase,
    ReviewStatus,
    day_of,
    measure_key,
)
from workflows.wording import one_of

# From the first meeting until the episode ends.
WORKING = {Phase.INTENSIVE, Phase.FOLLOW_UP}
# A referral's measures can be taken from the referral on.
REFERRED_ON = {
    Phase.REFERRED,
    Phase.ACCEPTED,
    Phase.WAITLISTED,
    Phase.ALLOCATED,
    Phase.INTENSIVE,
    Phase.FOLLOW_UP,
}


def _day(state: CaseState, given: date | None, now: datetime, field: str) -> date:
    """A day the command names (today by default): not in the future, not before the
    referral, within the policy's backdating limit."""
    day = given or day_of(state, now)
    if day > (day_of(state, now) if state.late_dates else (now + TODAY_SOMEWHERE).date()):
        raise CommandRejected(field, "cannot be in the future")
    if state.referred_on is not None and day < state.referred_on:
        raise CommandRejected(field, "cannot be before the referral ({day})", "invalid",
                              day=state.referred_on.isoformat())  # fmt: skip
    not_too_long_ago(state, day, now, field)
    return day


def _notes(notes: str | None) -> ev.NotesPersonal | None:
    return ev.NotesPersonal(notes=notes) if notes else None


def _agree_plan(state: CaseState, c: cmd.AgreeFamilyPlan, now: datetime) -> list[DomainEvent]:
    require_phase(state, WORKING, "agree a family plan")
    require_role(c, PRACTITIONERS, "agree a family plan")
    if c.plan_id in state.plan_ids:
        raise CommandRejected("plan_id", "plan {plan_id} is already recorded", plan_id=c.plan_id)
    day = _day(state, c.agreed_on, now, "agreed_on")
    return [ev.FamilyPlanAgreed(plan_id=c.plan_id, agreed_on=day, personal=_notes(c.notes))]


def _measures(state: CaseState, c: cmd.RecordMeasures, now: datetime) -> list[DomainEvent]:
    require_phase(state, REFERRED_ON if c.stage is MeasureStage.REFERRAL else {Phase.FOLLOW_UP},
                  "record outcome measures")  # fmt: skip
    require_role(c, PRACTITIONERS, "record outcome measures")
    if c.stage is MeasureStage.REVIEW:
        if c.month is None:
            raise CommandRejected("month", "name the review the measures were taken at", "invalid")
        held = [r for r in state.reviews.values() if r.month == c.month]
        if not held or held[0].status is not ReviewStatus.COMPLETED:
            raise CommandRejected(
                "month", "the {month}-month review has not been held", month=c.month
            )
    elif c.month is not None:
        raise CommandRejected("month", "only measures taken at a review name its month", "invalid")
    key = measure_key(c.stage, c.month)
    if key in state.measured:
        raise CommandRejected(
            "stage", "the measures at {stage} are already recorded", stage=key.replace("-", " ")
        )
    defined = programme(state.programme)
    for code, value in c.measures.items():
        measure = defined.measure(code)
        if measure is None:
            raise CommandRejected(
                f"measures.{code}",
                "is not a measure of programme {programme} (it measures {codes})",
                "invalid",
                programme=defined.programme_id,
                codes=one_of(sorted(m.code for m in defined.measures)),
            )
        if not measure.minimum <= value <= measure.maximum:
            raise CommandRejected(
                f"measures.{code}",
                "must be between {minimum} and {maximum}",
                "invalid",
                minimum=measure.minimum,
                maximum=measure.maximum,
            )
    day = _day(state, c.measured_on, now, "measured_on")
    if c.stage is MeasureStage.CLOSURE and state.closed_on is not None and day < state.closed_on:
        raise CommandRejected("measured_on", "cannot be before the intensive phase closed",
                              "invalid")  # fmt: skip
    return [
        ev.MeasuresRecorded(
            stage=c.stage,
            month=c.month,
            measured_on=day,
            measures=[ev.MeasureValue(code=k, value=v) for k, v in sorted(c.measures.items())],
        )
    ]


def _feedback(state: CaseState, c: cmd.RecordFeedback, now: datetime) -> list[DomainEvent]:
    require_phase(state, WORKING, "record feedback")
    require_role(c, PRACTITIONERS, "record feedback")
    if c.feedback_id in state.feedback_ids:
        raise CommandRejected(
            "feedback_id", "feedback {feedback_id} is already recorded", feedback_id=c.feedback_id
        )
    return [
        ev.FeedbackRecorded(
            feedback_id=c.feedback_id, source=c.source, rating=c.rating, personal=_notes(c.notes)
        )
    ]


def _purchase(state: CaseState, c: cmd.RecordSpotPurchase, now: datetime) -> list[DomainEvent]:
    require_phase(state, WORKING, "record a spot purchase")
    require_role(c, PRACTITIONERS, "record a spot purchase")
    if c.purchase_id in state.purchase_ids:
        raise CommandRejected(
            "purchase_id", "purchase {purchase_id} is already recorded", purchase_id=c.purchase_id
        )
    return [
        ev.ServicePurchased(
            purchase_id=c.purchase_id,
            service=c.service,
            provider=c.provider,
            cost_pence=c.cost_pence,
            personal=_notes(c.notes),
        )
    ]


def _joint_work(state: CaseState, c: cmd.RecordJointWork, now: datetime) -> list[DomainEvent]:
    require_phase(state, WORKING, "record joint work")
    require_role(c, PRACTITIONERS, "record joint work")
    before = state.joint_work.get(c.work_id)
    if before is None and c.outcome != JointWorkOutcome.REQUESTED:
        raise CommandRejected(
            "outcome", "joint work {work_id} was never requested: record the request first",
            work_id=c.work_id,
        )  # fmt: skip
    if before is not None and before != JointWorkOutcome.REQUESTED:
        raise CommandRejected(
            "work_id", "joint work {work_id} is already {outcome}", work_id=c.work_id,
            outcome=before,
        )  # fmt: skip
    if before == JointWorkOutcome.REQUESTED and c.outcome == JointWorkOutcome.REQUESTED:
        raise CommandRejected(
            "outcome", "joint work {work_id} is already requested: record obtained or refused",
            work_id=c.work_id,
        )  # fmt: skip
    return [
        ev.JointWorkRecorded(
            work_id=c.work_id, service=c.service, outcome=c.outcome, personal=_notes(c.notes)
        )
    ]


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.AgreeFamilyPlan: _agree_plan,
    cmd.RecordMeasures: _measures,
    cmd.RecordFeedback: _feedback,
    cmd.RecordSpotPurchase: _purchase,
    cmd.RecordJointWork: _joint_work,
}
