"""Dates the rules decide: working days and calendar months, in the UK.

Pure functions of dates, shared by the rules that decide deadlines (``workflows``) and the
upcasters that give old events the deadline they implied (``events.upcasters``).

The service runs in Wales: every date a rule decides is a date in Europe/London (a
closure recorded at 00:30 on a summer night belongs to that day, not to the day before as
in UTC), deadlines fall at local midnight, and working days skip weekends, the bank
holidays of England and Wales (from the maintained ``holidays`` package) and the
service's own closure days. ``add_working_days`` is the rule episodes recorded before the
UK calendar still follow: weekdays only, in UTC.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

SERVICE_ZONE = ZoneInfo("Europe/London")
# Built once, when the module is imported (outside any workflow sandbox); the years it
# needs are filled in as they are asked for.
_BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="WLS")


def local_day(moment: datetime) -> date:
    """The date in Wales at ``moment``."""
    return moment.astimezone(SERVICE_ZONE).date()


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in Wales, in UTC (23:00 the day before in summer)."""
    return datetime.combine(day, time.min, SERVICE_ZONE).astimezone(UTC)


def is_bank_holiday(day: date) -> bool:
    """A bank holiday in England and Wales (substitute days included)."""
    return day in _BANK_HOLIDAYS


def is_working_day(day: date, closures: Collection[date] = ()) -> bool:
    """Monday to Friday, not a bank holiday, not one of the service's closure days."""
    return day.weekday() < 5 and not is_bank_holiday(day) and day not in closures


def add_uk_working_days(start: datetime, days: int, closures: Collection[date] = ()) -> datetime:
    """``days`` working days after ``start``, at the same local time of day (so a
    deadline set at 09:00 in winter falls at 09:00 in summer too), in UTC."""
    local = start.astimezone(SERVICE_ZONE)
    day, remaining = local.date(), days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, closures):
            remaining -= 1
    return datetime.combine(day, local.time().replace(tzinfo=None), SERVICE_ZONE).astimezone(UTC)


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` plus ``days`` weekdays, same time of day. Bank holidays are not modelled."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")
