"""Follow-up: reviews completed or rescheduled, boosters where a goal slipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from events import catalogue as ev
from events.calendar import local_day
from events.catalogue import DomainEvent
from events.vocabulary import (
    EpisodeEndReason,
    GoalRating,
)
from workflows import commands as cmd
from workflows.lifecycle.guards import PRACTITIONERS, not_in_future, require_phase, require_role
from workflows.lifecycle.state import (
    CaseState,
    CommandRejected,
    Decider,
    Phase,
    ReviewStatus,
    day_of,
)


def _complete_review(state: CaseState, c: cmd.CompleteReview, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "complete a review")
    require_role(c, PRACTITIONERS, "complete a review")
    review = state.reviews.get(c.review_id)
    if review is None:
        raise CommandRejected("review_id", f"no review {c.review_id} in this case")
    if review.status is ReviewStatus.COMPLETED:
        raise CommandRejected("review_id", f"review {c.review_id} is already completed")
    first_open = state.next_review()
    if first_open is not None and first_open.review_id != review.review_id:
        raise CommandRejected("review_id", f"complete review {first_open.review_id} first")
    missing = sorted(set(state.goals) - set(c.ratings))
    if missing:
        raise CommandRejected("ratings", f"every goal must be rated; missing {', '.join(missing)}")
    unknown = sorted(set(c.ratings) - set(state.goals))
    if unknown:
        raise CommandRejected("ratings", f"no goal {', '.join(unknown)} in this case")
    ratings = [ev.GoalReviewRating(goal_id=g, rating=r) for g, r in sorted(c.ratings.items())]
    events: list[DomainEvent] = [
        ev.FollowUpReviewCompleted(
            review_id=review.review_id,
            month=review.month,
            ratings=ratings,
            family_staying_together=c.family_staying_together,
            substance_use_status=c.substance_use_status,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]
    regressed = [g for g, r in sorted(c.ratings.items()) if r is GoalRating.REGRESSED]
    if regressed:
        events.append(
            ev.BoosterScheduled(
                booster_id=f"b-{review.review_id}",
                goal_ids=regressed,
                review_id=review.review_id,
                due_by=day_of(state, now) + timedelta(days=state.policy.booster_window_days),
            )
        )
    remaining = [
        r
        for r in state.reviews.values()
        if r.status is not ReviewStatus.COMPLETED and r.review_id != review.review_id
    ]
    if not remaining:
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED))
    return events


def _reschedule(state: CaseState, c: cmd.RescheduleReview, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "reschedule a review")
    require_role(c, PRACTITIONERS, "reschedule a review")
    review = state.reviews.get(c.review_id)
    if review is None:
        raise CommandRejected("review_id", f"no review {c.review_id} in this case")
    if review.status is ReviewStatus.COMPLETED:
        raise CommandRejected("review_id", f"review {c.review_id} is already completed")
    if c.due_on <= day_of(state, now):
        raise CommandRejected("due_on", "must be a date after today")
    if c.due_on == review.due_on:
        raise CommandRejected("due_on", "is the date the review is already due")
    return [
        ev.FollowUpReviewRescheduled(
            review_id=c.review_id,
            previous_due_on=review.due_on,
            due_on=c.due_on,
            personal=ev.NotesPersonal(notes=c.reason),
        )
    ]


def _booster(state: CaseState, c: cmd.RecordBooster, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "record a booster")
    require_role(c, PRACTITIONERS, "record a booster")
    not_in_future(c.delivered_at, now, "delivered_at")
    booster = state.boosters.get(c.booster_id)
    if booster is None:
        raise CommandRejected("booster_id", f"no booster {c.booster_id} is scheduled")
    if booster.delivered_at is not None:
        raise CommandRejected("booster_id", f"booster {c.booster_id} is already delivered")
    delivered_on = (  # the same calendar as closed_on
        local_day(c.delivered_at) if state.uk_calendar else c.delivered_at.astimezone(UTC).date()
    )
    if state.input_bounds and state.closed_on is not None and delivered_on < state.closed_on:
        raise CommandRejected(
            "delivered_at", "cannot be before the intensive phase closed", "invalid"
        )
    return [
        ev.BoosterDelivered(
            booster_id=c.booster_id,
            delivered_at=c.delivered_at,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.CompleteReview: _complete_review,
    cmd.RescheduleReview: _reschedule,
    cmd.RecordBooster: _booster,
}
