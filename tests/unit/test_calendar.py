"""The UK calendar: dates in Wales, bank holidays of England and Wales, closure days, and
the clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from events.calendar import (
    add_uk_working_days,
    add_working_days,
    is_working_day,
    local_day,
    local_midnight,
)
from events.envelope import Actor
from events.policy import DEFAULT_POLICY
from events.vocabulary import ClosureKind
from tests.case_rules import CM, SUP, Case, referral
from workflows import commands as cmd
from workflows.lifecycle import CaseState, next_wakeup


def test_a_date_is_the_date_in_wales() -> None:
    just_after_midnight_bst = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 July
    assert local_day(just_after_midnight_bst) == date(2026, 7, 2)
    assert local_day(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)  # GMT
    assert local_midnight(date(2026, 7, 2)) == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    assert local_midnight(date(2026, 1, 2)) == datetime(2026, 1, 2, 0, 0, tzinfo=UTC)


def test_bank_holidays_and_closure_days_are_not_working_days() -> None:
    assert not is_working_day(date(2026, 12, 25))  # Christmas Day, a Friday
    assert not is_working_day(date(2026, 12, 28))  # Boxing Day's substitute Monday
    assert not is_working_day(date(2026, 8, 31))  # late summer bank holiday (not Scotland's)
    assert is_working_day(date(2026, 8, 3))  # Scotland's summer holiday is not Wales's
    assert is_working_day(date(2026, 12, 29))
    assert not is_working_day(date(2026, 12, 29), closures={date(2026, 12, 29)})


def test_working_days_skip_christmas_and_keep_the_local_time() -> None:
    christmas_eve = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # Thursday, 10:00 GMT
    assert add_uk_working_days(christmas_eve, 2) == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)
    assert add_working_days(christmas_eve, 2) == datetime(2026, 12, 28, 10, 0, tzinfo=UTC)
    closed = {date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)}
    assert add_uk_working_days(christmas_eve, 2, closed) == datetime(2027, 1, 5, 10, 0, tzinfo=UTC)


def test_working_days_across_the_clock_change_keep_nine_oclock() -> None:
    friday_gmt = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)  # 09:00 GMT; clocks go forward Sunday
    tuesday_bst = add_uk_working_days(friday_gmt, 2)
    assert tuesday_bst == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)  # 09:00 BST
    # a year later Good Friday and Easter Monday sit either side of the change
    good_friday = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
    assert add_uk_working_days(good_friday, 2) == datetime(2027, 3, 31, 8, 0, tzinfo=UTC)
    autumn = datetime(2027, 10, 29, 8, 0, tzinfo=UTC)  # Friday 09:00 BST; back on Sunday
    assert add_uk_working_days(autumn, 1) == datetime(2027, 11, 1, 9, 0, tzinfo=UTC)


def _uk_case() -> Case:
    case = Case()
    case.state = CaseState(case_id="c1", policy=DEFAULT_POLICY, uk_calendar=True)
    return case


def test_a_first_meeting_is_not_due_on_a_bank_holiday() -> None:
    case = _uk_case()
    case.now = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    case.refer(referral(received_on=date(2026, 12, 24)))
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    assert case.state.first_meeting_due_at == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)
    assert next_wakeup(case.state) == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)
    # before the UK calendar the same allocation was due on the substitute bank holiday
    old = Case()
    old.now = case.now
    old.refer(referral(received_on=date(2026, 12, 24)))
    old.do(cmd.AcceptReferral(actor=SUP))
    old.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    assert old.state.first_meeting_due_at == datetime(2026, 12, 28, 10, 0, tzinfo=UTC)


def test_a_closure_just_after_midnight_in_summer_is_dated_that_day() -> None:
    case = _uk_case()
    case.now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    case.refer(referral(received_on=date(2026, 5, 1)))
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    closing = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 July in Wales
    case.now = closing
    case.do(cmd.CloseIntensivePhase(actor=SUP, kind=ClosureKind.PLANNED))
    assert case.state.closed_on == date(2026, 7, 1)  # the first of the financial quarter
    assert case.state.reviews["m1"].due_on == date(2026, 8, 1)
    # the review falls due at midnight in Wales: 23:00 UTC the day before, in summer
    assert next_wakeup(case.state) == datetime(2026, 7, 31, 23, 0, tzinfo=UTC)


def _met_on_2_march() -> Case:
    """Under the UK calendar: referred, allocated and first met on Monday 2 March 2026."""
    case = _uk_case()
    case.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case.refer(referral(received_on=date(2026, 3, 2)))
    case.do(cmd.AcceptReferral(actor=SUP))
    case.do(cmd.KeyWorkerAssigned(actor=Actor.system(), key_worker_id="cm-jones"))
    case.do(cmd.RecordFirstMeeting(actor=CM, held_at=case.now))
    return case


def test_effective_dates_may_be_recorded_late_within_the_policys_limit() -> None:
    from events.vocabulary import SessionKind, StatutoryStatus
    from workflows.lifecycle import CommandRejected, decide

    case = _met_on_2_march()
    case.now = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)
    late = cmd.RecordSession(
        actor=CM,
        session_id="s1",
        held_at=case.now - timedelta(days=15),
        kind=SessionKind.HOME_VISIT,
        duration_minutes=60,
    )
    with pytest.raises(CommandRejected, match="more than 14 days before") as refused:
        decide(case.state, late, case.now)
    assert refused.value.field == "held_at"
    case.do(late.model_copy(update={"held_at": case.now - timedelta(days=14)}))  # within
    status = cmd.ChangeChildStatus(
        actor=CM, child_id="ch1", status=StatutoryStatus.CPR, effective_on=date(2026, 4, 1)
    )
    with pytest.raises(CommandRejected, match="backdate_days"):
        decide(case.state, status, case.now)
    # a closure recorded late is dated the day it closed; the reviews count from then
    closing = cmd.CloseIntensivePhase(
        actor=SUP, kind=ClosureKind.PLANNED, closed_on=date(2026, 4, 10)
    )
    case.do(closing)
    assert case.state.closed_on == date(2026, 4, 10)
    assert case.state.reviews["m1"].due_on == date(2026, 5, 10)


def test_a_late_closure_is_not_dated_before_the_work_began_or_ahead() -> None:
    from workflows.lifecycle import CommandRejected, decide

    case = _met_on_2_march()
    for closed_on, rule in (
        (date(2026, 3, 1), "before the first meeting"),
        (date(2026, 3, 3), "future"),
    ):
        closing = cmd.CloseIntensivePhase(actor=SUP, kind=ClosureKind.PLANNED, closed_on=closed_on)
        with pytest.raises(CommandRejected, match=rule) as refused:
            decide(case.state, closing, case.now)
        assert refused.value.field == "closed_on"


def test_the_cli_shows_times_and_days_as_in_wales_with_the_zone_named() -> None:
    from cli.readers import _cell

    # 00:30 on the morning the clocks go back is still summer time: that day, not the one
    # before (as UTC would show it, against what the rules decided).
    summer_night = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert _cell(summer_night) == "2026-10-25 00:30 BST"
    assert _cell(summer_night, days=True) == "2026-10-25"
    assert _cell(datetime(2026, 12, 1, 9, tzinfo=UTC)) == "2026-12-01 09:00 GMT"
