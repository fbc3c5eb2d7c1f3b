"""The read models' folds, pure: rows from events, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from events import catalogue as ev
from events.catalogue import DomainEvent
from events.records import RecordedEvent, canonical_json
from projections.models import fold_summary
from tests.factories import recorded, referral

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
META = canonical_json({"actor": {"id": "cm-jones", "role": "case_manager"}})


def summary(*events: DomainEvent) -> dict[str, Any] | None:
    row = None
    for version, event in enumerate(events, 1):
        row = fold_summary(row, recorded(event, version, T0 + timedelta(hours=version)))
    return row


def test_the_summary_follows_an_episode_and_reads_its_deadlines_from_the_events() -> None:
    due = T0 + timedelta(days=4)
    row = summary(
        referral("c1"),
        ev.ReferralAccepted(),
        ev.KeyWorkerAllocated(key_worker_id="kw1", team_id="cardiff", first_meeting_due_at=due),
    )
    assert row is not None
    assert (row["phase"], row["key_worker_id"], row["first_meeting_due_at"]) == (
        "allocated",
        "kw1",
        due,
    )
    row = fold_summary(row, recorded(ev.FirstMeetingOverdue(due_at=due), 4))
    assert row is not None and row["first_meeting_overdue"]
    held = ev.FirstMeetingHeld(held_at=T0 + timedelta(days=5), intensive_ends_on=date(2026, 3, 1))
    row = fold_summary(row, recorded(held, 5))
    assert row is not None
    assert (row["phase"], row["intensive_ends_on"], row["first_meeting_overdue"]) == (
        "intensive",
        date(2026, 3, 1),
        False,
    )
    closed = ev.IntensivePhaseClosed(kind="planned", closed_on=date(2026, 2, 20))
    row = fold_summary(row, recorded(closed, 6))
    scheduled = ev.FollowUpReviewScheduled(review_id="m1", month=1, due_on=date(2026, 3, 20))
    row = fold_summary(row, recorded(scheduled, 7))
    assert row is not None
    assert (row["phase"], row["next_review_id"], row["next_review_due_on"]) == (
        "follow_up",
        "m1",
        date(2026, 3, 20),
    )
    row = fold_summary(row, recorded(ev.EpisodeEnded(reason="closed_by_supervisor"), 8))
    assert row is not None
    assert (row["phase"], row["next_review_id"], row["version"]) == ("ended", None, 8)


def test_an_event_before_the_referral_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="SessionRecorded before the case's referral"):
        summary(ev.SessionRecorded(session_id="s1", held_at=T0, kind="phone", duration_minutes=5))
    with pytest.raises(ValueError, match="GoalAgreed before the case's referral"):
        summary(ev.GoalAgreed(goal_id="g1", category="parenting", baseline=1, target=5))


def test_the_waitlist_follows_a_waiting_familys_new_priority() -> None:
    from dataclasses import replace

    from projections.models.team import Waitlist

    model = Waitlist()

    def on_team(event: DomainEvent, version: int) -> RecordedEvent:
        return replace(recorded(event, version), stream_id="team-cardiff")

    waiting = ev.TeamCaseWaitlisted(
        case_id="c1", priority=3, referred_on=date(2026, 1, 5), position=2
    )
    row = model.fold(None, on_team(waiting, 1))
    assert row is not None and row["priority"] == 3
    urgent = on_team(ev.TeamCaseReprioritised(case_id="c1", priority=1), 2)
    assert model.key_of(urgent) == ("c1",)
    row = model.fold(row, urgent)
    assert row is not None and row["priority"] == 1
    assert model.fold(None, urgent) is None  # allocated meanwhile: stays off the list


def test_a_family_waiting_in_its_new_team_stays_listed_when_its_old_team_lets_it_go() -> None:
    from dataclasses import replace

    from projections.models.team import Waitlist

    model = Waitlist()

    def on(team: str, event: DomainEvent, version: int) -> RecordedEvent:
        return replace(recorded(event, version), stream_id=f"team-{team}")

    # A transfer: the receiving team waitlists the family before the team it left records
    # its release (each team records on its own stream, in its own time).
    waiting = ev.TeamCaseWaitlisted(
        case_id="b3", priority=2, referred_on=date(2026, 1, 5), position=2
    )
    row = model.fold(None, on("t1", waiting, 1))
    released = ev.TeamCaseReleased(case_id="b3", key_worker_id="cm-6")
    row = model.fold(row, on("t3", released, 1))
    assert row is not None and (row["team_id"], row["priority"]) == ("t1", 2)
    row = model.fold(row, on("t3", ev.TeamCaseReprioritised(case_id="b3", priority=1), 2))
    assert row is not None and row["priority"] == 2  # not the old team's to change
    assert model.fold(row, on("t1", released, 2)) is None  # released by its own team


def test_an_imported_case_s_row_begins_with_its_referral_and_quiet_alerts_are_not_delivered() -> (
    None
):
    from events.vocabulary import AlertRule, AlertSeverity
    from workers.dispatcher import notice_of

    imported = ev.CaseImported(source_system="legacy", source_record="F-1", phase="referred")
    row = summary(imported, referral())
    assert row is not None and row["phase"] == "referred" and row["version"] == 2
    alert = ev.AlertRaised(
        alert_id="a1",
        rule=AlertRule.FIRST_MEETING_OVERDUE,
        severity=AlertSeverity.HIGH,
        to_key_worker="kw-a",
        acknowledge_by=T0,
    )
    times = {"retry_first_seconds": 1.0, "retry_hours": 1.0}
    assert notice_of(recorded(alert, 3), None, **times) is not None
    quiet = alert.model_copy(update={"quiet": True})
    assert notice_of(recorded(quiet, 3), None, **times) is None
