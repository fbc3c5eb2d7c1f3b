"""Deadlines: what each pending deadline causes when it passes, and when the next
falls. Timers are derived from state, so rescheduling moves a timer and meeting a
condition cancels it, with nothing to forget."""

from __future__ import annotations

from datetime import datetime, timedelta

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.vocabulary import (
    EpisodeEndReason,
    EscalationReason,
)
from workflows.alerts import escalates as alert_escalates
from workflows.lifecycle.handover import cover_deadlines
from workflows.lifecycle.state import CaseState, Phase, ReviewStatus, start_of


def _deadlines(state: CaseState) -> list[tuple[datetime, DomainEvent]]:
    """Every pending deadline with the event it causes when it passes."""
    out: list[tuple[datetime, DomainEvent]] = []
    p = state.policy
    if (
        state.phase is Phase.ALLOCATED
        and state.first_meeting_due_at
        and not state.first_meeting_overdue
    ):
        out.append(
            (state.first_meeting_due_at, ev.FirstMeetingOverdue(due_at=state.first_meeting_due_at))
        )
    if state.phase is Phase.INTENSIVE:
        assert state.intensive_started_on and state.intensive_ends_on and state.last_contact_at
        if state.no_contact_flagged_for != state.last_contact_at:
            out.append(
                (
                    state.last_contact_at + timedelta(days=p.no_contact_days),
                    ev.NoContactThresholdPassed(
                        last_contact_at=state.last_contact_at, days=p.no_contact_days
                    ),
                )
            )
        if not state.warning_flagged:
            out.append(
                (
                    start_of(
                        state, state.intensive_started_on + timedelta(days=p.intensive_warning_day)
                    ),
                    ev.IntensivePhaseEndApproaching(
                        day=p.intensive_warning_day, ends_on=state.intensive_ends_on
                    ),
                )
            )
        if state.overrun_flagged_for != state.intensive_ends_on:
            out.append(
                (
                    start_of(state, state.intensive_ends_on + timedelta(days=1)),
                    ev.IntensivePhaseOverrun(ends_on=state.intensive_ends_on),
                )
            )
    if state.phase is Phase.FOLLOW_UP:
        for review in state.reviews.values():
            if (
                state.alert_timers
                and review.status is ReviewStatus.SCHEDULED
                and review.reminded_for != review.due_on
            ):
                out.append(
                    (
                        start_of(state, review.due_on - timedelta(days=p.review_due_soon_days)),
                        ev.FollowUpReviewApproaching(
                            review_id=review.review_id,
                            due_on=review.due_on,
                            days=p.review_due_soon_days,
                        ),
                    )
                )
            if review.status is ReviewStatus.SCHEDULED:
                out.append(
                    (
                        start_of(state, review.due_on),
                        ev.FollowUpReviewDue(review_id=review.review_id, due_on=review.due_on),
                    )
                )
            elif review.status is ReviewStatus.DUE:
                out.append(
                    (
                        start_of(state, review.due_on + timedelta(days=p.review_grace_days)),
                        ev.FollowUpReviewOverdue(
                            review_id=review.review_id,
                            due_on=review.due_on,
                            grace_days=p.review_grace_days,
                        ),
                    )
                )
    if state.alert_timers and not state.ended:
        for booster in state.boosters.values():
            if booster.delivered_at is None and not booster.overdue:
                out.append(
                    (
                        start_of(state, booster.due_by + timedelta(days=1)),
                        ev.BoosterOverdue(booster_id=booster.booster_id, due_by=booster.due_by),
                    )
                )
        pending = state.pending_boosters()
        if (
            state.follow_up_rules
            and state.phase is Phase.FOLLOW_UP
            and pending
            and all(r.done for r in state.reviews.values())
        ):
            # Only boosters hold the episode open now: it ends when the last window lapses
            # (each lapse recorded first, as BoosterOverdue).
            lapse = max(start_of(state, b.due_by + timedelta(days=1)) for b in pending)
            out.append((lapse, ev.EpisodeEnded(reason=EpisodeEndReason.FOLLOW_UP_COMPLETED)))
        for alert in state.open_alerts.values():
            if state.team_id and alert_escalates(p, alert):
                assert alert.acknowledge_by is not None
                out.append(
                    (
                        alert.acknowledge_by,
                        ev.AlertEscalated(
                            alert_id=alert.alert_id,
                            to_supervisors_of_team=state.team_id,
                            reason=EscalationReason.NOT_ACKNOWLEDGED,
                        ),
                    )
                )
    return cover_deadlines(state) + out  # a cover's end first: alerts due then go back


def due(state: CaseState, now: datetime) -> list[DomainEvent]:
    """Events whose deadlines have passed by ``now``, in deadline order."""
    return [event for at, event in sorted(_deadlines(state), key=lambda d: d[0]) if at <= now]


def next_wakeup(state: CaseState) -> datetime | None:
    """When the earliest pending deadline falls (None: nothing to wait for)."""
    return min((at for at, _ in _deadlines(state)), default=None)
