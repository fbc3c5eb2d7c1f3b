"""review_schedule: one row per follow-up review, with its due date and status."""

from __future__ import annotations

from typing import ClassVar

from events import catalogue as ev
from events.records import RecordedEvent
from projections.base import Key, KeyedProjection, Row
from projections.models.common import case_of, day_of, names

REVIEW_EVENTS = names(
    ev.FollowUpReviewScheduled,
    ev.FollowUpReviewRescheduled,
    ev.FollowUpReviewDue,
    ev.FollowUpReviewOverdue,
    ev.FollowUpReviewCompleted,
    ev.FollowUpReviewNotHeld,
    ev.FollowUpReviewCancelled,
)


class ReviewSchedule(KeyedProjection):
    name: ClassVar[str] = "review_schedule"
    tables: ClassVar[tuple[str, ...]] = ("review_schedule",)
    handles: ClassVar[frozenset[str]] = REVIEW_EVENTS
    key: ClassVar[tuple[str, ...]] = ("case_id", "review_id")
    columns: ClassVar[tuple[str, ...]] = (
        "case_id",
        "review_id",
        "month",
        "due_on",
        "original_due_on",
        "status",
        "rescheduled",
        "completed_at",
        "regressed_goals",
    )

    def key_of(self, event: RecordedEvent) -> Key | None:
        case_id = case_of(event.stream_id)
        return (case_id, event.data["review_id"]) if case_id else None

    def fold(self, row: Row | None, event: RecordedEvent) -> Row | None:
        d, t = event.data, event.type
        if t == "FollowUpReviewScheduled":
            due = day_of(d["due_on"])
            return {
                "case_id": case_of(event.stream_id),
                "review_id": d["review_id"],
                "month": d["month"],
                "due_on": due,
                "original_due_on": due,
                "status": "scheduled",
                "rescheduled": False,
                "completed_at": None,
                "regressed_goals": 0,
            }
        if row is None:
            raise ValueError(f"{t} for a review never scheduled")
        r = row
        if t == "FollowUpReviewRescheduled":
            r.update(due_on=day_of(d["due_on"]), status="scheduled", rescheduled=True)
        elif t == "FollowUpReviewDue":
            r["status"] = "due"
        elif t == "FollowUpReviewOverdue":
            r["status"] = "overdue"
        elif t == "FollowUpReviewCancelled":
            r["status"] = "cancelled"
        elif t == "FollowUpReviewNotHeld":
            r.update(status="not_held", completed_at=event.occurred_at)
        elif t == "FollowUpReviewCompleted":
            r.update(
                status="completed",
                completed_at=event.occurred_at,
                regressed_goals=sum(1 for x in d["ratings"] if x["rating"] == "regressed"),
            )
        return r
