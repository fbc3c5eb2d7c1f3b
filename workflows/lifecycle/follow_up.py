"""Follow-up: reviews completed or rescheduled, boosters where a goal slipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from events import catalogue as ev
from events.calendar import local_day
from events.catalogue import DomainEvent
from events.vocabulary import (
    EpisodeEndReason,
    GoalRating,
)
from workflows import commands as cmd
from workflows.lifecycle.guards import (
    PRACTITIONERS,
    SUPERVISORS,
    not_in_future,
    not_too_long_ago,
    require_phase,
    require_role,
)
from workflows.lifecycle.state import (
    CaseState,
    CommandRejected,
    Decider,
    Phase,
    Review,
    day_of,
)


def _review_to_hold(state: CaseState, review_id: str, now: datetime, what: str) -> Review:
    """The review ``review_id``, if it can be held (or recorded as not held) now."""
    require_phase(state, {Phase.FOLLOW_UP}, what)
    review = state.reviews.get(review_id)
    if review is None:
        raise CommandRejected(
            "review_id", "no review {review_id} in this case", review_id=review_id
        )
    if review.done:
        raise CommandRejected(
            "review_id", "review {review_id} is already done with", review_id=review_id
        )
    if state.follow_up_rules:  # each review stands alone, within its window
        opens = review.due_on - timedelta(days=state.policy.review_window_days)
        if day_of(state, now) < opens:
            raise CommandRejected(
                "review_id",
                "review {review_id} is due on {due_on}; it can be held from {opens} "
                "({window} days before)",
                review_id=review_id,
                due_on=review.due_on,
                opens=opens,
                window=state.policy.review_window_days,
            )
    else:
        first_open = state.next_review()
        if first_open is not None and first_open.review_id != review.review_id:
            raise CommandRejected(
                "review_id", "complete review {review_id} first", review_id=first_open.review_id
            )
    return review


def _episode_over(state: CaseState, review: Review, boosters_pending: bool) -> bool:
    """Whether doing ``review`` leaves nothing to follow up: no other review, and (under
    the follow-up rules) no booster still to deliver."""
    others = [r for r in state.reviews.values() if not r.done and r.review_id != review.review_id]
    return not others and not (state.follow_up_rules and boosters_pending)


def _complete_review(state: CaseState, c: cmd.CompleteReview, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "complete a review")
    require_role(c, PRACTITIONERS, "complete a review")
    review = _review_to_hold(state, c.review_id, now, "complete a review")
    missing = sorted(set(state.goals) - set(c.ratings))
    if missing:
        raise CommandRejected("ratings", "every goal must be rated; missing {goals}", goals=missing)
    unknown = sorted(set(c.ratings) - set(state.goals))
    if unknown:
        raise CommandRejected("ratings", "no goal {goals} in this case", goals=unknown)
    if not c.ratings and not state.follow_up_rules:
        raise CommandRejected("ratings", "must rate at least one goal")
    strangers = sorted(set(c.children_statuses) - set(state.children))
    if strangers:
        raise CommandRejected(
            "children_statuses", "no child {children} in this family", "invalid", children=strangers
        )
    ratings = [ev.GoalReviewRating(goal_id=g, rating=r) for g, r in sorted(c.ratings.items())]
    found = sorted(c.children_statuses.items())
    events: list[DomainEvent] = [
        ev.FollowUpReviewCompleted(
            review_id=review.review_id,
            month=review.month,
            ratings=ratings,
            family_staying_together=c.family_staying_together,
            substance_use_status=c.substance_use_status,
            children_statuses=[ev.ChildReviewStatus(child_id=i, status=s) for i, s in found],
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]
    today = day_of(state, now)
    events += [
        ev.ChildStatusChanged(
            child_id=child_id,
            previous_status=state.children[child_id],
            status=status,
            effective_on=today,
        )
        for child_id, status in found
        if state.children[child_id] is not status
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
    if _episode_over(state, review, bool(regressed or state.pending_boosters())):
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED))
    return events


def _not_held(state: CaseState, c: cmd.RecordReviewNotHeld, now: datetime) -> list[DomainEvent]:
    require_role(c, PRACTITIONERS, "record that a review was not held")
    if not state.follow_up_rules:
        raise CommandRejected("command", "this episode predates reviews recorded as not held")
    review = _review_to_hold(state, c.review_id, now, "record that a review was not held")
    events: list[DomainEvent] = [
        ev.FollowUpReviewNotHeld(
            review_id=review.review_id,
            month=review.month,
            reason=c.reason,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]
    if _episode_over(state, review, bool(state.pending_boosters())):
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED))
    return events


def _maintenance_contact(
    state: CaseState, c: cmd.RecordMaintenanceContact, now: datetime
) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "record a maintenance contact")
    require_role(c, PRACTITIONERS, "record a maintenance contact")
    not_in_future(c.held_at, now, "held_at")
    not_too_long_ago(state, day_of(state, c.held_at), now, "held_at")
    if c.contact_id in state.contact_ids:
        raise CommandRejected(
            "contact_id", "contact {contact_id} is already recorded", contact_id=c.contact_id
        )
    if state.closed_on is not None and day_of(state, c.held_at) < state.closed_on:
        raise CommandRejected("held_at", "cannot be before the intensive phase closed", "invalid")
    return [
        ev.MaintenanceContactRecorded(
            contact_id=c.contact_id,
            held_at=c.held_at,
            kind=c.kind,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]


def _offer_booster(state: CaseState, c: cmd.OfferBooster, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "offer a booster")
    require_role(c, PRACTITIONERS, "offer a booster")
    if c.booster_id in state.boosters:
        raise CommandRejected(
            "booster_id", "booster {booster_id} already exists", booster_id=c.booster_id
        )
    unknown = sorted(set(c.goal_ids) - set(state.goals))
    if unknown:
        raise CommandRejected("goal_ids", "no goal {goals} in this case", goals=unknown)
    return [
        ev.BoosterScheduled(
            booster_id=c.booster_id,
            goal_ids=c.goal_ids,
            due_by=day_of(state, now) + timedelta(days=state.policy.booster_window_days),
        )
    ]


def _movable(state: CaseState, review_id: str, due_on: date, now: datetime) -> Review:
    """The review, if it may be moved to ``due_on`` now; raises naming the rule."""
    review = state.reviews.get(review_id)
    if review is None:
        raise CommandRejected(
            "review_id", "no review {review_id} in this case", review_id=review_id
        )
    if review.done:
        raise CommandRejected(
            "review_id", "review {review_id} is already done with", review_id=review_id
        )
    if due_on <= day_of(state, now):
        raise CommandRejected("due_on", "must be a date after today")
    if due_on == review.due_on:
        raise CommandRejected("due_on", "is the date the review is already due")
    if state.review_requests:
        statutory = review.statutory_on or review.due_on
        limit = state.policy.review_move_max_days
        if abs((due_on - statutory).days) > limit:
            raise CommandRejected(
                "due_on",
                "must be within {limit} days of the review's statutory date {statutory} "
                "(from {earliest} to {latest})",
                "invalid",
                limit=limit,
                statutory=statutory,
                earliest=statutory - timedelta(days=limit),
                latest=statutory + timedelta(days=limit),
            )
    return review


def _reschedule(state: CaseState, c: cmd.RescheduleReview, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "reschedule a review")
    if state.review_requests:
        require_role(c, SUPERVISORS, "reschedule a review (a key worker asks: request_review_move)")
    else:
        require_role(c, PRACTITIONERS, "reschedule a review")
    review = _movable(state, c.review_id, c.due_on, now)
    if review.move_requested_to is not None:
        raise CommandRejected(
            "review_id",
            "a move of review {review_id} to {due_on} awaits a decision: "
            "decide it first (decide_review_move)",
            review_id=c.review_id,
            due_on=review.move_requested_to,
        )
    return [
        ev.FollowUpReviewRescheduled(
            review_id=c.review_id,
            previous_due_on=review.due_on,
            due_on=c.due_on,
            personal=ev.NotesPersonal(notes=c.reason),
        )
    ]


def _request_move(state: CaseState, c: cmd.RequestReviewMove, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "ask to move a review")
    require_role(c, PRACTITIONERS, "ask to move a review")
    if not state.review_requests:
        raise CommandRejected("command", "this episode moves reviews with reschedule_review")
    review = _movable(state, c.review_id, c.due_on, now)
    if review.move_requested_to is not None:
        raise CommandRejected(
            "review_id",
            "a move of review {review_id} to {due_on} awaits a supervisor's decision",
            review_id=c.review_id,
            due_on=review.move_requested_to,
        )
    return [
        ev.FollowUpReviewMoveRequested(
            review_id=c.review_id, due_on=c.due_on, personal=ev.NotesPersonal(notes=c.reason)
        )
    ]


def _decide_move(state: CaseState, c: cmd.DecideReviewMove, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "decide a review move")
    require_role(c, SUPERVISORS, "decide a review move")
    review = state.reviews.get(c.review_id)
    if review is None:
        raise CommandRejected(
            "review_id", "no review {review_id} in this case", review_id=c.review_id
        )
    asked = review.move_requested_to
    if asked is None:
        raise CommandRejected(
            "review_id", "no move of review {review_id} awaits a decision", review_id=c.review_id
        )
    personal = ev.NotesPersonal(notes=c.reason) if c.reason else None
    decided = ev.FollowUpReviewMoveDecided(
        review_id=c.review_id, due_on=asked, approved=c.approved, personal=personal
    )
    if not c.approved:
        return [decided]
    if asked <= day_of(state, now):
        raise CommandRejected(
            "approved",
            "the date asked for, {asked}, has passed: refuse the request (approved=false) "
            "and ask for another date",
            asked=asked,
        )
    _movable(state, c.review_id, asked, now)  # still within the limit
    moved = ev.FollowUpReviewRescheduled(
        review_id=c.review_id, previous_due_on=review.due_on, due_on=asked, personal=personal
    )
    return [decided, moved]


def _booster(state: CaseState, c: cmd.RecordBooster, now: datetime) -> list[DomainEvent]:
    require_phase(state, {Phase.FOLLOW_UP}, "record a booster")
    require_role(c, PRACTITIONERS, "record a booster")
    not_in_future(c.delivered_at, now, "delivered_at")
    booster = state.boosters.get(c.booster_id)
    if booster is None:
        raise CommandRejected(
            "booster_id", "no booster {booster_id} is scheduled", booster_id=c.booster_id
        )
    if booster.delivered_at is not None:
        raise CommandRejected(
            "booster_id", "booster {booster_id} is already delivered", booster_id=c.booster_id
        )
    delivered_on = (  # the same calendar as closed_on
        local_day(c.delivered_at) if state.uk_calendar else c.delivered_at.astimezone(UTC).date()
    )
    if state.input_bounds and state.closed_on is not None and delivered_on < state.closed_on:
        raise CommandRejected(
            "delivered_at", "cannot be before the intensive phase closed", "invalid"
        )
    not_too_long_ago(state, day_of(state, c.delivered_at), now, "delivered_at")
    events: list[DomainEvent] = [
        ev.BoosterDelivered(
            booster_id=c.booster_id,
            delivered_at=c.delivered_at,
            personal=ev.NotesPersonal(notes=c.notes) if c.notes else None,
        )
    ]
    others = [b for b in state.pending_boosters() if b.booster_id != c.booster_id]
    reviews_done = all(r.done for r in state.reviews.values())
    if state.follow_up_rules and reviews_done and not others:
        events.append(ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED))
    return events


# The commands this module decides.
HANDLERS: dict[type[cmd.Command], Decider] = {
    cmd.CompleteReview: _complete_review,
    cmd.RescheduleReview: _reschedule,
    cmd.RequestReviewMove: _request_move,
    cmd.DecideReviewMove: _decide_move,
    cmd.RecordBooster: _booster,
    cmd.RecordReviewNotHeld: _not_held,
    cmd.RecordMaintenanceContact: _maintenance_contact,
    cmd.OfferBooster: _offer_booster,
}
